//! Subscriptions: how projections and workers read the global event stream.
//!
//! Each subscription has a name and a checkpoint. It reads events gap-safely
//! in `(tx_id, global_position)` order ([`reader`]), hands them to its
//! [`Subscriber`] inside one transaction that also advances the checkpoint
//! ([`runtime`]), wakes on `pg_notify` with a slow poll as fallback
//! ([`wakeup`]), runs in one process at a time (an advisory lock, with
//! failover), and publishes its progress so commands can wait for their
//! effects to be visible ([`progress`]). Read models can be rebuilt into
//! shadow tables and swapped in ([`rebuild`]).

pub mod checkpoint;
pub mod progress;
pub mod reader;
pub mod rebuild;
pub mod runtime;
pub mod shutdown;
pub mod wakeup;

use async_trait::async_trait;
use sqlx::PgConnection;

use crate::stored_event::StoredEvent;

pub use checkpoint::SubscriptionStatus;
pub use progress::Progress;
pub use runtime::{RuntimeConfig, SubscriptionRuntime};
pub use shutdown::Shutdown;
pub use wakeup::Wakeups;

/// Something that consumes the event stream under a named checkpoint.
///
/// Guarantee: **transactional**. `handle` runs inside the transaction that
/// also advances the checkpoint, so its database writes happen exactly once
/// per event. It must have no effects outside `conn`; a worker that calls a
/// provider records its intent here and acts on it after commit.
#[async_trait]
pub trait Subscriber: Send + Sync + 'static {
    /// The subscription's name: its checkpoint row and lock.
    fn name(&self) -> &str;

    /// Whether it handles events of `aggregate_type`; the others are passed
    /// over without a transaction.
    fn handles(&self, aggregate_type: &str) -> bool {
        let _ = aggregate_type;
        true
    }

    /// Whether its batches must be flushed to disk before the checkpoint
    /// counts as moved. Read models say no: their rows and checkpoint commit
    /// together, so a crash can only lose both at once, and the events they
    /// came from are durable and handled again. Workers say yes (the default).
    fn durable_commit(&self) -> bool {
        true
    }

    /// After how many failures in a row on one event the subscription gives
    /// up on it: a dead letter records it and the subscription moves past,
    /// so one bad event does not hold up the rest. `None` (the default, and
    /// what read models need, since skipping would leave them wrong): retry
    /// for ever. Workers, whose effects are idempotent commands, give up.
    fn gives_up_after(&self) -> Option<u32> {
        None
    }

    /// Handles one event.
    ///
    /// # Errors
    /// Any error rolls the whole batch back; the event is retried later.
    async fn handle(&self, conn: &mut PgConnection, event: &StoredEvent) -> anyhow::Result<()>;
}
