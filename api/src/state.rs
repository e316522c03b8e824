//! What every handler shares.

use std::sync::Arc;
use std::time::Duration;

use projections::clock::Clock;
use projections::document_stores::DocumentStores;
use projections::live_settings::LiveSettings;
use projections::subscription::Progress;
use projections::vault::Vault;
use projections::EventStore;
use sqlx::PgPool;

use crate::auth::rate_limit::RateLimiter;
use crate::config::ApiConfig;
use crate::document_templates::DocumentTemplates;
use crate::integrations::testing::ConnectionTester;
use crate::metrics::Metrics;

/// The API's shared state.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub pool: PgPool,
    /// The event store (command side).
    pub store: EventStore,
    /// How far each subscription has got (read-your-writes).
    pub progress: Progress,
    /// Settings.
    pub config: Arc<ApiConfig>,
    /// Request metrics.
    pub metrics: Arc<Metrics>,
    /// Per-IP limiter of the auth endpoints.
    pub auth_limiter: Arc<RateLimiter>,
    /// Per-IP limiter of webhook deliveries that fail to verify.
    pub webhook_rejections: Arc<RateLimiter>,
    /// Which sessions are live (checked at most once a second each).
    pub sessions: Arc<crate::auth::sessions::Sessions>,
    /// Names of every subscription, for health and metrics.
    pub subscriptions: Arc<Vec<String>>,
    /// Today's business date.
    pub clock: Arc<dyn Clock>,
    /// Where claim documents are kept.
    pub documents: DocumentStores,
    /// Integration credentials, encrypted at rest.
    pub vault: Vault,
    /// Tests integration configurations against their providers.
    pub tester: Arc<dyn ConnectionTester>,
    /// The document templates, with the branding.
    pub templates: Arc<DocumentTemplates>,
    /// The policies in force, decoded once per version (premium figures).
    pub in_force: Arc<projections::read_models::policies::InForceBook>,
    /// The settings in force (saved by admins over the environment's).
    pub settings: Arc<LiveSettings>,
}

/// The security settings in force, in the units the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Security {
    /// The shortest password accepted.
    pub password_min_length: u32,
    /// Failed sign-ins before an account locks.
    pub lockout_threshold: i32,
    /// How long a locked account stays locked.
    pub lockout_duration: Duration,
    /// A console session unused this long ends.
    pub session_idle: Duration,
    /// An access token's lifetime.
    pub access_token_ttl: Duration,
}

/// What the API uses besides the database and the event store.
pub struct Resources {
    /// Today's business date.
    pub clock: Arc<dyn Clock>,
    /// Where claim documents are kept.
    pub documents: DocumentStores,
    /// Integration credentials, encrypted at rest.
    pub vault: Vault,
    /// Tests integration configurations against their providers.
    pub tester: Arc<dyn ConnectionTester>,
    /// The settings in force.
    pub settings: Arc<LiveSettings>,
}

impl AppState {
    /// The security settings in force now.
    pub fn security(&self) -> Security {
        let saved = self.settings.current().security;
        Security {
            password_min_length: saved.password_min_length,
            lockout_threshold: i32::try_from(saved.lockout_threshold).unwrap_or(i32::MAX),
            lockout_duration: Duration::from_secs(u64::from(saved.lockout_minutes) * 60),
            session_idle: Duration::from_secs(u64::from(saved.session_idle_minutes) * 60),
            access_token_ttl: Duration::from_secs(u64::from(saved.access_token_ttl_secs)),
        }
    }

    /// State over `pool` and `store` with `config`.
    pub fn new(
        pool: PgPool,
        store: EventStore,
        progress: Progress,
        config: ApiConfig,
        subscriptions: Vec<String>,
        resources: Resources,
    ) -> Self {
        let auth_limiter = Arc::new(RateLimiter::per_minute(config.auth_rate_limit_per_minute));
        let webhook_rejections = Arc::new(RateLimiter::per_minute(
            config.webhook_rejections_per_minute,
        ));
        let templates = Arc::new(
            DocumentTemplates::new(config.branding.clone()).following(resources.settings.clone()),
        );
        Self {
            store,
            pool,
            progress,
            config: Arc::new(config),
            metrics: Arc::new(Metrics::default()),
            auth_limiter,
            webhook_rejections,
            sessions: Arc::default(),
            subscriptions: Arc::new(subscriptions),
            clock: resources.clock,
            documents: resources.documents,
            vault: resources.vault,
            tester: resources.tester,
            templates,
            in_force: Arc::default(),
            settings: resources.settings,
        }
    }
}
