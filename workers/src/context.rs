//! What every worker shares: the event store, the database, the business
//! clock, the lifecycle periods and the payment providers.

use std::sync::Arc;
use std::time::Duration;

use domain::periods::Periods;
use projections::clock::Clock;
use projections::EventStore;
use sqlx::PgPool;

use domain::integration::catalogue;
use domain::integration::Environment;
use projections::read_models::integrations::{self, IntegrationFilter};
use projections::vault::Vault;
use secrecy::SecretString;

use crate::payments::stripe::Stripe;
use crate::payments::{PaymentProvider, ProviderError, Providers};

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
    /// Built-in (or test) payment providers by name; configured ones are
    /// looked up by [`WorkerContext::provider`].
    pub providers: Providers,
    /// Wakes the payment worker when a job is recorded.
    pub payment_wakeup: Arc<tokio::sync::Notify>,
    /// Credentials of configured providers.
    pub vault: Vault,
}

impl WorkerContext {
    /// The adapter for `name`: a built-in one (the sandbox), else one made
    /// from the enabled configuration of that provider (the primary first,
    /// then by priority) with its decrypted credentials.
    ///
    /// # Errors
    /// `Rejected` when nothing usable is configured for it.
    pub async fn provider(&self, name: &str) -> Result<Arc<dyn PaymentProvider>, ProviderError> {
        if let Some(provider) = self.providers.get(name) {
            return Ok(provider.clone());
        }
        let unavailable = |e: String| ProviderError::Unavailable(e);
        let filter = IntegrationFilter {
            category: Some("payment".into()),
            provider: Some(name.to_string()),
            environment: None,
        };
        let mut configs: Vec<_> = integrations::list(&self.pool, &filter, None, 50)
            .await
            .map_err(|e| unavailable(e.to_string()))?
            .into_iter()
            .filter_map(|row| row.state.details.clone().map(|d| (row.id, d)))
            .filter(|(_, d)| d.enabled)
            .collect();
        configs.sort_by_key(|(_, d)| (!d.is_primary, d.priority));
        let Some((id, details)) = configs.into_iter().next() else {
            return Err(ProviderError::Rejected(format!(
                "no enabled {name} configuration"
            )));
        };
        let credentials = self
            .vault
            .load(&self.pool, id)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let base_url = details.settings.get("base_url").cloned().or_else(|| {
            let entry = catalogue::provider(name)?;
            match details.environment {
                Environment::Sandbox => entry.sandbox_base_url,
                Environment::Production => entry.production_base_url,
            }
            .map(str::to_string)
        });
        match (name, base_url, credentials.get("secret_key")) {
            ("stripe", Some(base_url), Some(key)) => Ok(Arc::new(Stripe::new(
                &base_url,
                SecretString::from(key.clone()),
            ))),
            _ => Err(ProviderError::Rejected(format!(
                "payments through {name} are not available yet"
            ))),
        }
    }
}
