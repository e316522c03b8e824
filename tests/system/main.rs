//! End-to-end tests of ifinsure against a real PostgreSQL: the HTTP API on a
//! random port, the subscription runtime, the event store.

mod auth;
mod cli;
mod common;
mod conventions;
mod event_store;
mod products;
mod restart;
mod subscriptions;
