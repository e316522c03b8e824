//! ifinsure's workers: subscribers that react to events (process managers,
//! the payment outbox), the payment worker and its provider adapters,
//! reconciliation, the scheduler, and housekeeping.
//!
//! Event-driven workers run as named subscriptions of the same runtime that
//! feeds the read models (see `projections::subscription`), so they get
//! checkpoints, gap safety, wake-up and single-consumer failover for free.
//! Their follow-up commands are idempotent, so handling an event again after
//! a crash changes nothing.

pub mod chain_checkpoints;
pub mod context;
pub mod exclusive;
pub mod follow_up;
pub mod integrations;
pub mod maintenance;
pub mod messaging;
pub mod notifications;
pub mod payments;
pub mod process_managers;
pub mod retry;
pub mod scheduler;

use std::sync::Arc;

use projections::subscription::{Shutdown, Subscriber};
use tokio::task::JoinHandle;

pub use context::{WorkerConfig, WorkerContext};

/// The names of the event-driven workers' subscriptions.
pub const SUBSCRIPTIONS: [&str; 4] = [
    process_managers::billing::NAME,
    process_managers::policy::NAME,
    payments::outbox::NAME,
    notifications::planner::NAME,
];

/// Every event-driven worker, each a named subscription.
pub fn subscribers(ctx: &WorkerContext) -> Vec<Arc<dyn Subscriber>> {
    vec![
        Arc::new(process_managers::billing::BillingProcess::new(ctx.clone())),
        Arc::new(process_managers::policy::PolicyProcess::new(ctx.clone())),
        Arc::new(payments::outbox::PaymentOutbox::new(
            ctx.payment_wakeup.clone(),
        )),
        Arc::new(notifications::planner::NotificationPlanner::new(ctx)),
    ]
}

/// Starts the payment worker, the scheduler, the notification worker, the
/// connectivity check and the chain checkpoints.
pub fn spawn_jobs(ctx: &WorkerContext, shutdown: &Shutdown) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(payments::runner::run(ctx.clone(), shutdown.clone())),
        tokio::spawn(scheduler::run(ctx.clone(), shutdown.clone())),
        tokio::spawn(notifications::sender::run(ctx.clone(), shutdown.clone())),
        tokio::spawn(integrations::connectivity::run(
            ctx.clone(),
            shutdown.clone(),
        )),
        tokio::spawn(chain_checkpoints::run(ctx.clone(), shutdown.clone())),
    ]
}
