//! ifinsure's workers: subscribers that react to events (process managers,
//! provider integrations) and periodic jobs.
//!
//! Workers run as named subscriptions of the same runtime that feeds the
//! read models (see `projections::subscription`), so they get checkpoints,
//! gap safety, wake-up and single-consumer failover for free.

pub mod maintenance;

use std::sync::Arc;

use projections::subscription::Subscriber;

/// Every event-driven worker, each a named subscription.
///
/// The process managers of the policy lifecycle (approval → invoice,
/// payment → activation, ...) join this list as their aggregates land.
pub fn subscribers() -> Vec<Arc<dyn Subscriber>> {
    Vec::new()
}
