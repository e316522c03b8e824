//! What every worker shares: the event store, the database, the business
//! clock, the lifecycle periods and the payment providers.

use std::sync::Arc;
use std::time::Duration;

use domain::periods::Periods;
use projections::clock::Clock;
use projections::EventStore;
use sqlx::PgPool;

use crate::payments::Providers;

/// Tuning of the payment worker, reconciliation and scheduler.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Due dates, grace and notice periods.
    pub periods: Periods,
    /// How often the payment worker looks for due jobs without a wake-up.
    pub payment_poll: Duration,
    /// How long a claimed job is leased before another process may retry it.
    pub payment_lease: Duration,
    /// How long a submitted payment may go without an outcome before the
    /// provider is asked for its status.
    pub reconcile_after: Duration,
    /// How often the scheduler runs.
    pub scheduler_interval: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            periods: Periods::default(),
            payment_poll: Duration::from_millis(500),
            payment_lease: Duration::from_secs(60),
            reconcile_after: Duration::from_secs(60),
            scheduler_interval: Duration::from_secs(60),
        }
    }
}

/// The workers' shared context.
#[derive(Clone)]
pub struct WorkerContext {
    /// Commands go here.
    pub store: EventStore,
    /// The database.
    pub pool: PgPool,
    /// Today's business date.
    pub clock: Arc<dyn Clock>,
    /// Settings.
    pub config: WorkerConfig,
    /// Payment providers by name.
    pub providers: Providers,
    /// Wakes the payment worker when a job is recorded.
    pub payment_wakeup: Arc<tokio::sync::Notify>,
}
