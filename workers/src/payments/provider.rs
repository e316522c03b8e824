//! What every payment provider adapter does.

use async_trait::async_trait;
use projections::payment_jobs::{Outcome, PaymentJob};

pub use crate::integrations::ProviderError;

/// A payment provider adapter.
///
/// Guarantee: **idempotent**. `submit` sends the job's idempotency key, so
/// submitting one job any number of times moves money at most once.
#[async_trait]
pub trait PaymentProvider: Send + Sync + 'static {
    /// The provider's name in jobs and webhooks (`sandbox`, `mpesa`, ...).
    fn name(&self) -> &'static str;

    /// Asks the provider to carry out `job` (a charge or a refund); returns
    /// the provider's reference. The outcome arrives later, by webhook or by
    /// [`PaymentProvider::status`].
    ///
    /// # Errors
    /// See [`ProviderError`].
    async fn submit(&self, job: &PaymentJob) -> Result<String, ProviderError>;

    /// What the provider knows of `job`: `None` while it is still pending.
    ///
    /// # Errors
    /// See [`ProviderError`].
    async fn status(&self, job: &PaymentJob) -> Result<Option<Outcome>, ProviderError>;

    /// Whether it can carry `job` at all (its currency, the payer contact it
    /// needs): routing passes over the adapters that cannot.
    fn can_serve(&self, job: &PaymentJob) -> bool {
        let _ = job;
        true
    }

    /// Calls the provider's cheapest authenticated endpoint; returns what
    /// it said.
    ///
    /// # Errors
    /// `Rejected` when the credentials are refused, `Unavailable` when the
    /// provider cannot be reached.
    async fn test_connection(&self) -> Result<String, ProviderError>;
}
