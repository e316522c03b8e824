//! What every payment provider adapter does.

use async_trait::async_trait;
use projections::payment_jobs::{NextAction, Outcome, PaymentJob};

pub use crate::integrations::ProviderError;

/// What a provider said when it took a job: its reference, and for a
/// charge the payer still has to complete, what the payer does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// The provider's reference.
    pub reference: String,
    /// The payer's next step, if any.
    pub next_action: Option<NextAction>,
}

impl Submission {
    /// Taken under `reference`, nothing for the payer to do.
    pub fn done(reference: impl Into<String>) -> Self {
        Self {
            reference: reference.into(),
            next_action: None,
        }
    }

    /// With `action` for the payer.
    #[must_use]
    pub fn then(mut self, action: NextAction) -> Self {
        self.next_action = Some(action);
        self
    }
}

impl From<&str> for Submission {
    fn from(reference: &str) -> Self {
        Self::done(reference)
    }
}

/// A payment provider adapter.
///
/// Guarantee: **idempotent**. `submit` sends the job's idempotency key, so
/// submitting one job any number of times moves money at most once.
#[async_trait]
pub trait PaymentProvider: Send + Sync + 'static {
    /// The provider's name in jobs and webhooks (`sandbox`, `mpesa`, ...).
    fn name(&self) -> &'static str;

    /// Asks the provider to carry out `job` (a charge or a refund); returns
    /// the provider's reference and the payer's next step. The outcome
    /// arrives later, by webhook or by [`PaymentProvider::status`].
    ///
    /// # Errors
    /// See [`ProviderError`].
    async fn submit(&self, job: &PaymentJob) -> Result<Submission, ProviderError>;

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
