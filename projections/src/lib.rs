//! ifinsure's storage side: the event store (appending commands' events with
//! retries and metadata), the subscription runtime that feeds read models and
//! workers from the global event stream, and the read models themselves.

pub mod audit;
pub mod clock;
pub mod db;
pub mod dead_letters;
pub mod document_stores;
pub mod documents;
pub mod event_store;
pub mod integration_log;
pub mod live_settings;
pub mod metadata;
pub mod notifications;
pub mod numbers;
pub mod payment_jobs;
pub mod read_models;
pub mod service_secrets;
pub mod stored_event;
pub mod subscription;
pub mod tamper;
pub mod vault;
pub mod webhook_deliveries;
pub mod work_queues;

pub use event_store::{Committed, EventStore, ExecuteError, Guard, UniqueClaim};
pub use metadata::CommandMetadata;
pub use stored_event::StoredEvent;
