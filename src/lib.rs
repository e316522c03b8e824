//! The composition root of ifinsure: configuration, the database (external or
//! a private temporary cluster), telemetry, and wiring the API, projections
//! and workers into one running process. No business logic lives here.

pub mod app;
pub mod database;
pub mod seed;
pub mod settings;
pub mod setup_error;
pub mod stop_signal;
pub mod telemetry;
