//! What every worker shares: the event store, the database, the business
//! clock, the lifecycle periods, the provider configurations and where
//! provider calls are logged.

use std::sync::Arc;
use std::time::Duration;

use domain::periods::Periods;
use projections::clock::Clock;
use projections::EventStore;
use sqlx::PgPool;

use projections::vault::Vault;

use crate::integrations::{CallRecorder, ProviderConfig};
use crate::payments::flutterwave::Flutterwave;
use crate::payments::mpesa::{oauth::TokenCache, Mpesa};
use crate::payments::paystack::Paystack;
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
    /// Submissions tried before a payment job is given up on (dead letter).
    pub payment_max_attempts: i32,
    /// How long a submitted payment may go without an outcome before the
    /// provider is asked for its status.
    pub reconcile_after: Duration,
    /// How long a request that went unanswered (and may have been acted
    /// on) waits to be found at its provider or named by its callback
    /// before a charge is failed or anything else becomes a dead letter.
    pub payment_uncertain_for: Duration,
    /// How often the scheduler runs.
    pub scheduler_interval: Duration,
    /// Where providers call us back (`https://api.example.com`).
    pub public_base_url: String,
    /// Where the sandbox writes the notifications it "sends" when no
    /// provider of their channel is enabled; `None` (production): nowhere,
    /// they wait for a provider.
    pub notification_outbox: Option<std::path::PathBuf>,
    /// The first retry's wait for a notification (doubling after).
    pub notification_retry_base: Duration,
    /// Where the staff queue's notices go (new applications and claims);
    /// `None`: nowhere.
    pub staff_queue_email: Option<String>,
    /// How long integration-log rows and notification bodies are kept.
    pub log_retention: Duration,
    /// How often every enabled integration's connection is tested.
    pub connectivity_check_interval: Duration,
    /// How often a signed checkpoint of the events' chains is recorded.
    pub chain_checkpoint_interval: Duration,
    /// Where provider calls (and credentials) may go.
    pub egress: domain::integration::egress::Egress,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            periods: Periods::default(),
            payment_poll: Duration::from_millis(500),
            payment_lease: Duration::from_secs(60),
            payment_max_attempts: 15,
            reconcile_after: Duration::from_secs(60),
            payment_uncertain_for: Duration::from_secs(600),
            scheduler_interval: Duration::from_secs(60),
            public_base_url: "http://localhost:8080".into(),
            notification_outbox: Some("data/outbox".into()),
            notification_retry_base: Duration::from_secs(1),
            staff_queue_email: None,
            log_retention: Duration::from_secs(90 * 24 * 3600),
            connectivity_check_interval: Duration::from_secs(3600),
            chain_checkpoint_interval: Duration::from_secs(300),
            egress: domain::integration::egress::Egress::default(),
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
    /// Where provider calls are logged.
    pub recorder: Arc<dyn CallRecorder>,
    /// M-Pesa OAuth tokens, shared by every M-Pesa adapter.
    pub mpesa_tokens: Arc<TokenCache>,
    /// The notification templates, checked at start.
    pub templates: Arc<crate::notifications::templates::Templates>,
    /// The settings in force (branding, email sender and footer).
    pub settings: Arc<projections::live_settings::LiveSettings>,
    /// Wakes the notification worker when something is queued.
    pub notification_wakeup: Arc<tokio::sync::Notify>,
    /// Derives password-reset tokens (the API derives the same).
    pub password_reset_secret: secrecy::SecretString,
    /// Signs unsubscribe links (the API checks them with the same).
    pub unsubscribe_secret: secrecy::SecretString,
    /// Where chain checkpoints are kept outside the database.
    pub anchor: Option<projections::tamper::anchor::Anchor>,
}

impl WorkerContext {
    /// The adapter of configuration `config`, calling through the logged
    /// HTTP client.
    ///
    /// # Errors
    /// `Rejected` when ifinsure has no payment adapter for its provider or
    /// the configuration lacks something the adapter needs.
    pub fn payment_adapter(
        &self,
        config: &ProviderConfig,
    ) -> Result<Arc<dyn PaymentProvider>, ProviderError> {
        let http = config.http(self.recorder.clone(), &self.config.egress)?;
        Ok(match config.provider() {
            "stripe" => Arc::new(Stripe::from_config(
                config,
                http,
                &self.config.public_base_url,
            )?),
            "paystack" => Arc::new(Paystack::from_config(
                config,
                http,
                &self.config.public_base_url,
            )?),
            "flutterwave" => Arc::new(Flutterwave::from_config(
                config,
                http,
                &self.config.public_base_url,
            )?),
            "mpesa" => Arc::new(Mpesa::from_config(
                config,
                http,
                &self.config.public_base_url,
                self.mpesa_tokens.clone(),
            )?),
            other => {
                return Err(ProviderError::Rejected(format!(
                    "ifinsure has no payment adapter for {other}"
                )))
            }
        })
    }
}
