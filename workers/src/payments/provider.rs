//! What every payment provider adapter does.

use async_trait::async_trait;
use projections::payment_jobs::{NextAction, Outcome, PaymentJob};

pub use crate::integrations::ProviderError;

/// What a provider said when it took a job: its reference, for a charge
/// the payer still has to complete what the payer does next, and the
/// outcome when its answer already gave it (a refund completed at once).
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    /// The provider's reference.
    pub reference: String,
    /// The payer's next step, if any.
    pub next_action: Option<NextAction>,
    /// The outcome, when the answer to the request already says it.
    pub outcome: Option<Outcome>,
}

impl Submission {
    /// Taken under `reference`, nothing for the payer to do.
    pub fn done(reference: impl Into<String>) -> Self {
        Self {
            reference: reference.into(),
            next_action: None,
            outcome: None,
        }
    }

    /// With `action` for the payer.
    #[must_use]
    pub fn then(mut self, action: NextAction) -> Self {
        self.next_action = Some(action);
        self
    }

    /// Already settled as `outcome`.
    #[must_use]
    pub fn settled(mut self, outcome: Outcome) -> Self {
        self.outcome = Some(outcome);
        self
    }
}

impl From<&str> for Submission {
    fn from(reference: &str) -> Self {
        Self::done(reference)
    }
}

/// What a provider's own record shows of a request that went out
/// unanswered ([`ProviderError::Uncertain`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// It was made: the job is submitted under this.
    Made(Submission),
    /// It was not: the job may be sent again.
    NotMade,
    /// The provider offers no way to tell (yet): its callback may still
    /// name it; a person decides if none does.
    Unknown,
}

/// A payment provider adapter.
///
/// Guarantee: **idempotent**. `submit` sends the job's idempotency key
/// where the provider takes one, so submitting one job any number of times
/// moves money at most once; a request the provider does not deduplicate
/// is sent with [`crate::integrations::Call::not_idempotent`], and when it
/// goes unanswered `submit` says `Uncertain` and the job is looked up
/// ([`PaymentProvider::look_up`]), never sent again blindly.
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

    /// Whether the provider deduplicates a repeat of `job`'s request (an
    /// idempotency key, our reference). When it does not, the worker marks
    /// the request as sent before sending it, so a process that stops
    /// mid-request leaves the job uncertain, not to be sent again.
    fn deduplicates(&self, job: &PaymentJob) -> bool {
        let _ = job;
        true
    }

    /// Looks in the provider's own record for what an unanswered request
    /// of `job` ([`ProviderError::Uncertain`]) left there. Only a record
    /// that proves the request was not made may answer `NotMade`: the job
    /// is sent again then.
    ///
    /// # Errors
    /// See [`ProviderError`].
    async fn look_up(&self, job: &PaymentJob) -> Result<Lookup, ProviderError> {
        let _ = job;
        Ok(Lookup::Unknown)
    }

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
