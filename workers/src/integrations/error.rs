//! How a provider call can fail, for every category of adapter.

/// Why a provider call did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused the request for good (bad number, declined):
    /// the payment is recorded as failed.
    #[error("refused by the provider: {0}")]
    Rejected(String),
    /// The provider could not be reached or answered with an error worth
    /// retrying: the job is tried again later with the same key.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
    /// A request that is not idempotent at the provider went out and no
    /// answer came back (a timeout, a reset, a server error): the provider
    /// may have acted on it. Never sent again as it is; what it did is
    /// looked up first.
    #[error("no answer from the provider, which may have acted: {0}")]
    Uncertain(String),
}
