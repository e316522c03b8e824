//! Settings from the environment (and `.env`). Every variable is documented
//! in `.env.example`; the names are part of the contract.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use domain::periods::Periods;
use projections::clock::{Clock, SystemClock};
use projections::documents::DocumentStoreConfig;
use projections::vault::{MasterKey, Vault};
use secrecy::SecretString;
use workers::notifications::templates::Branding;

/// Everything the process is configured with.
#[derive(Clone)]
pub struct Settings {
    /// PostgreSQL URL; `None` starts a private temporary cluster.
    pub database_url: Option<String>,
    /// Pool size.
    pub database_max_connections: u32,
    /// Where the API listens.
    pub listen_addr: SocketAddr,
    /// Where the operations listener (health, `/metrics`, no token) listens.
    pub metrics_addr: Option<SocketAddr>,
    /// `TRUSTED_PROXIES`: the proxies whose forwarding headers are believed.
    pub trusted_proxies: Vec<api::client_address::Cidr>,
    /// The address providers call back on; `None`: the API's own address.
    pub public_base_url: Option<String>,
    /// HS256 key for access tokens; `None` only allowed for `demo`.
    pub jwt_secret: Option<SecretString>,
    /// Access token lifetime.
    pub access_token_ttl: Duration,
    /// Refresh token lifetime.
    pub refresh_token_ttl: Duration,
    /// Auth requests per minute per client IP.
    pub auth_rate_limit_per_minute: u32,
    /// Unverified webhook deliveries per minute per client IP.
    pub webhook_rejections_per_minute: u32,
    /// Longest a command waits for its read model.
    pub read_your_writes_timeout: Duration,
    /// Events per subscription batch.
    pub subscription_batch_size: i64,
    /// Fallback poll of subscriptions.
    pub subscription_poll_interval: Duration,
    /// Connections of the subscriptions' pool; `None`: 2 + 2 per subscription.
    pub subscription_pool_size: Option<u32>,
    /// How long idempotent responses are kept.
    pub idempotency_key_retention: Duration,
    /// Due dates, grace and notice periods of the policy lifecycle.
    pub periods: Periods,
    /// Where today's business date comes from.
    pub clock: Arc<dyn Clock>,
    /// The provider used when a payment names none and no configuration is
    /// enabled; `None` (production, unset): such a payment is refused.
    pub default_payment_provider: Option<String>,
    /// Signing secret of sandbox webhooks; `None`: derived from the JWT secret.
    pub sandbox_webhook_secret: Option<SecretString>,
    /// Delay of the sandbox's webhook; `None`: it never calls back.
    pub sandbox_webhook_delay: Option<Duration>,
    /// Oldest webhook timestamp accepted.
    pub webhook_tolerance: Duration,
    /// How long a payment may go without an outcome before reconciliation.
    pub payment_reconcile_after: Duration,
    /// How long an unanswered payment request may stay uncertain.
    pub payment_uncertain_for: Duration,
    /// How often the scheduler runs.
    pub scheduler_interval: Duration,
    /// Submissions tried before a payment job is given up on (dead letter).
    pub payment_max_attempts: i32,
    /// How often the payment worker looks for due jobs when nothing wakes
    /// it (tests park it with a long one).
    pub payment_poll: Duration,
    /// The most staff may approve on one claim (claim currency).
    pub claims_authority_limit: rust_decimal::Decimal,
    /// Above this an approval needs a second person (default half the
    /// authority limit).
    pub claims_dual_control_limit: Option<rust_decimal::Decimal>,
    /// Where claim documents are kept.
    pub document_store: DocumentStoreConfig,
    /// Where the sandbox writes the notifications it "sends".
    pub notification_outbox: std::path::PathBuf,
    /// The first retry's wait for a notification (doubling after).
    pub notification_retry_base: Duration,
    /// The insurer's name, logo, colour and support contacts in messages.
    pub branding: Branding,
    /// `BUSINESS_UTC_OFFSET_MINUTES`: the business day's offset from UTC.
    pub business_utc_offset_minutes: i32,
    /// The rest of the settings admins may save, as the environment gives
    /// them until they do.
    pub saved_defaults: SavedDefaults,
    /// Where the staff queue's notices go; `None` (`STAFF_QUEUE_EMAIL=off`): nowhere.
    pub staff_queue_email: Option<String>,
    /// How long integration-log rows and notification bodies are kept.
    pub log_retention: Duration,
    /// How often every enabled integration's connection is tested.
    pub connectivity_check_interval: Duration,
    /// `IFINSURE_ENV=production`: secrets must be configured, nothing derived.
    pub production: bool,
    /// `INTEGRATION_ALLOWED_HOSTS`: hosts provider calls may go to beyond
    /// the catalogue's (in production).
    pub integration_allowed_hosts: String,
    /// The key signing the events' chain checkpoints; `None`: derived from
    /// the JWT secret.
    pub chain_key: Option<SecretString>,
    /// How often a signed checkpoint of the chains' heads is recorded.
    pub chain_checkpoint_interval: Duration,
    /// Where each checkpoint is also kept, outside the database.
    pub chain_anchor: ChainAnchor,
    /// The master key of the credential vault (32 bytes, base64).
    pub master_key: Option<SecretString>,
    /// Earlier master keys, still accepted for opening (rotation).
    pub previous_master_keys: Vec<SecretString>,
}

impl Default for Settings {
    /// The documented defaults (`.env.example`), with no database URL and no
    /// JWT secret.
    fn default() -> Self {
        Self {
            database_url: None,
            database_max_connections: 20,
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_addr: None,
            trusted_proxies: Vec::new(),
            public_base_url: None,
            jwt_secret: None,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            auth_rate_limit_per_minute: 30,
            webhook_rejections_per_minute: 20,
            read_your_writes_timeout: Duration::from_secs(5),
            subscription_batch_size: 500,
            subscription_poll_interval: Duration::from_secs(2),
            subscription_pool_size: None,
            idempotency_key_retention: Duration::from_secs(24 * 3600),
            periods: Periods::default(),
            clock: Arc::new(SystemClock::default()),
            default_payment_provider: Some("sandbox".into()),
            sandbox_webhook_secret: None,
            sandbox_webhook_delay: Some(Duration::from_secs(1)),
            webhook_tolerance: Duration::from_secs(300),
            payment_reconcile_after: Duration::from_secs(60),
            payment_uncertain_for: Duration::from_secs(600),
            scheduler_interval: Duration::from_secs(60),
            payment_max_attempts: 15,
            payment_poll: Duration::from_millis(500),
            claims_authority_limit: rust_decimal::Decimal::from(500_000),
            claims_dual_control_limit: None,
            document_store: DocumentStoreConfig::Local("data/documents".into()),
            notification_outbox: "data/outbox".into(),
            notification_retry_base: Duration::from_secs(1),
            branding: Branding::default(),
            business_utc_offset_minutes: 180,
            saved_defaults: SavedDefaults::default(),
            staff_queue_email: Some(Branding::default().support_email),
            log_retention: Duration::from_secs(90 * 24 * 3600),
            connectivity_check_interval: Duration::from_secs(3600),
            production: false,
            integration_allowed_hosts: String::new(),
            chain_key: None,
            chain_checkpoint_interval: Duration::from_secs(300),
            chain_anchor: ChainAnchor::Directory(DEFAULT_ANCHOR.into()),
            master_key: None,
            previous_master_keys: Vec::new(),
        }
    }
}

/// The environment's values of the settings admins may save (Settings
/// pages, `PUT /settings/{section}`) that nothing else reads: in force
/// until a section is saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedDefaults {
    /// `COMPANY_NAME`; `None`: the brand name.
    pub company_name: Option<String>,
    /// `DEFAULT_CURRENCY`.
    pub default_currency: String,
    /// `EMAIL_FROM_NAME`; `None`: the brand name.
    pub email_from_name: Option<String>,
    /// `EMAIL_FROM_ADDRESS`.
    pub email_from_address: String,
    /// `EMAIL_REPLY_TO`.
    pub email_reply_to: Option<String>,
    /// `EMAIL_FOOTER`.
    pub email_footer: String,
    /// `PASSWORD_MIN_LENGTH` (12 at least).
    pub password_min_length: u32,
    /// `LOCKOUT_THRESHOLD`: failed sign-ins before an account locks.
    pub lockout_threshold: u32,
    /// `LOCKOUT_MINUTES`.
    pub lockout_minutes: u32,
    /// `SESSION_IDLE_MINUTES`: a console session unused this long ends.
    pub session_idle_minutes: u32,
}

impl Default for SavedDefaults {
    fn default() -> Self {
        Self {
            company_name: None,
            default_currency: "KES".into(),
            email_from_name: None,
            email_from_address: "no-reply@ifinsure.example".into(),
            email_reply_to: None,
            email_footer: String::new(),
            password_min_length: 12,
            lockout_threshold: 5,
            lockout_minutes: 15,
            session_idle_minutes: 60,
        }
    }
}

impl SavedDefaults {
    fn from_env() -> anyhow::Result<Self> {
        let default = Self::default();
        Ok(Self {
            company_name: var("COMPANY_NAME"),
            default_currency: var("DEFAULT_CURRENCY").unwrap_or(default.default_currency),
            email_from_name: var("EMAIL_FROM_NAME"),
            email_from_address: var("EMAIL_FROM_ADDRESS").unwrap_or(default.email_from_address),
            email_reply_to: var("EMAIL_REPLY_TO"),
            email_footer: var("EMAIL_FOOTER").unwrap_or_default(),
            password_min_length: parsed("PASSWORD_MIN_LENGTH", default.password_min_length)?,
            lockout_threshold: parsed("LOCKOUT_THRESHOLD", default.lockout_threshold)?,
            lockout_minutes: parsed("LOCKOUT_MINUTES", default.lockout_minutes)?,
            session_idle_minutes: parsed("SESSION_IDLE_MINUTES", default.session_idle_minutes)?,
        })
    }
}

impl Settings {
    /// The settings admins may save, as the environment gives them: in
    /// force until a section is saved.
    ///
    /// # Errors
    /// When an environment value breaks the rule a saved one would
    /// (a colour that is not `#rrggbb`, a lockout threshold of 0, ...).
    pub fn settings_defaults(&self) -> anyhow::Result<domain::settings::SettingsValues> {
        use domain::settings::*;
        let d = &self.saved_defaults;
        let b = &self.branding;
        let invalid = |section: &str, errors: domain::ValidationErrors| {
            let fields: Vec<String> = errors
                .0
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            anyhow::anyhow!(
                "the environment's {section} settings: {}",
                fields.join("; ")
            )
        };
        Ok(SettingsValues {
            general: GeneralSettings {
                company_name: d.company_name.clone().unwrap_or_else(|| b.name.clone()),
                default_currency: d.default_currency.clone(),
                business_utc_offset_minutes: self.business_utc_offset_minutes,
                support_email: b.support_email.clone(),
                support_phone: b.support_phone.clone(),
            }
            .validated()
            .map_err(|e| invalid("general", e))?,
            branding: BrandingSettings {
                brand_name: b.name.clone(),
                logo_url: b.logo_url.clone(),
                primary_colour: b.primary_colour.clone(),
            }
            .validated()
            .map_err(|e| invalid("branding (BRAND_*)", e))?,
            email: EmailSettings {
                from_name: d.email_from_name.clone().unwrap_or_else(|| b.name.clone()),
                from_address: d.email_from_address.clone(),
                reply_to: d.email_reply_to.clone(),
                footer: d.email_footer.clone(),
            }
            .validated()
            .map_err(|e| invalid("email (EMAIL_*)", e))?,
            security: SecuritySettings {
                password_min_length: d.password_min_length,
                lockout_threshold: d.lockout_threshold,
                lockout_minutes: d.lockout_minutes,
                session_idle_minutes: d.session_idle_minutes,
                access_token_ttl_secs: u32::try_from(self.access_token_ttl.as_secs())
                    .unwrap_or(u32::MAX),
            }
            .validated()
            .map_err(|e| invalid("security", e))?,
        })
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parsed<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e| anyhow::anyhow!("{name}={raw:?} is invalid: {e}")),
    }
}

fn branding() -> Branding {
    let default = Branding::default();
    Branding {
        name: var("BRAND_NAME").unwrap_or(default.name),
        logo_url: var("BRAND_LOGO_URL"),
        primary_colour: var("BRAND_PRIMARY_COLOUR").unwrap_or(default.primary_colour),
        support_email: var("SUPPORT_EMAIL").unwrap_or(default.support_email),
        support_phone: var("SUPPORT_PHONE"),
    }
}

/// The anchor's directory unless `CHAIN_ANCHOR_PATH` names another.
pub const DEFAULT_ANCHOR: &str = "data/anchors";

/// Where checkpoints are kept outside the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainAnchor {
    /// Files in a directory, written once (`CHAIN_ANCHOR_PATH`).
    Directory(std::path::PathBuf),
    /// The deployment's document store (`DOCUMENT_STORE*`).
    DocumentStore,
    /// Nowhere (verification then cannot tell removed newest checkpoints).
    None,
}

/// `CHAIN_ANCHOR`: `directory` (default, `CHAIN_ANCHOR_PATH`, default
/// `data/anchors`), `document_store` or `none`.
fn chain_anchor() -> anyhow::Result<ChainAnchor> {
    Ok(
        match var("CHAIN_ANCHOR").as_deref().unwrap_or("directory") {
            "directory" => ChainAnchor::Directory(
                var("CHAIN_ANCHOR_PATH")
                    .unwrap_or_else(|| DEFAULT_ANCHOR.into())
                    .into(),
            ),
            "document_store" => ChainAnchor::DocumentStore,
            "none" => ChainAnchor::None,
            other => bail!("CHAIN_ANCHOR={other:?}: use directory, document_store or none"),
        },
    )
}

impl Settings {
    /// The anchor checkpoints are kept in, if any.
    ///
    /// # Errors
    /// When its directory or store cannot be opened.
    pub fn anchor(&self) -> anyhow::Result<Option<projections::tamper::anchor::Anchor>> {
        use projections::tamper::anchor::Anchor;
        Ok(match &self.chain_anchor {
            ChainAnchor::Directory(path) => Some(Anchor::directory(path)?),
            ChainAnchor::DocumentStore => Some(Anchor::in_store(
                projections::documents::DocumentStore::open(&self.document_store)?,
            )),
            ChainAnchor::None => None,
        })
    }
}

fn document_store() -> anyhow::Result<DocumentStoreConfig> {
    let bucket = || {
        var("DOCUMENT_STORE_BUCKET")
            .ok_or_else(|| anyhow::anyhow!("DOCUMENT_STORE_BUCKET is required for s3 and gcs"))
    };
    Ok(match var("DOCUMENT_STORE").as_deref().unwrap_or("local") {
        "local" => DocumentStoreConfig::Local(
            var("DOCUMENT_STORE_PATH")
                .unwrap_or_else(|| "data/documents".into())
                .into(),
        ),
        "s3" => DocumentStoreConfig::S3 {
            bucket: bucket()?,
            region: None,
            access_key_id: None,
            secret_access_key: None,
            endpoint: None,
        },
        "gcs" => DocumentStoreConfig::Gcs {
            bucket: bucket()?,
            service_account_key: None,
        },
        other => bail!("DOCUMENT_STORE={other:?}: use local, s3 or gcs"),
    })
}

/// `DEFAULT_PAYMENT_PROVIDER`: the sandbox by default in development; in
/// production nothing by default, and never the sandbox (it settles
/// payments without moving money).
fn default_payment_provider(production: bool) -> anyhow::Result<Option<String>> {
    match (var("DEFAULT_PAYMENT_PROVIDER"), production) {
        (Some(name), true) if name.trim() == "sandbox" => bail!(
            "DEFAULT_PAYMENT_PROVIDER=sandbox with IFINSURE_ENV=production: the sandbox settles \
             payments without moving money and does not exist in production; name a configured \
             provider (mpesa, stripe, paystack, flutterwave) or leave it unset to use the primary \
             enabled configuration"
        ),
        (Some(name), _) => Ok(Some(name.trim().to_string())),
        (None, true) => Ok(None),
        (None, false) => Ok(Some("sandbox".into())),
    }
}

fn seconds(name: &str, default: u64) -> anyhow::Result<Duration> {
    parsed(name, default).map(Duration::from_secs)
}

impl Settings {
    /// Reads the environment.
    ///
    /// # Errors
    /// When a variable is set to something unusable.
    pub fn from_env() -> anyhow::Result<Self> {
        let listen_addr: SocketAddr =
            parsed("LISTEN_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)))?;
        let public_base_url = var("PUBLIC_BASE_URL");
        if let Some(url) = &public_base_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bail!("PUBLIC_BASE_URL must start with http:// or https://");
            }
        }
        let sandbox_webhook_delay = match var("SANDBOX_WEBHOOK_DELAY_MS").as_deref() {
            Some("off") => None,
            _ => Some(Duration::from_millis(parsed(
                "SANDBOX_WEBHOOK_DELAY_MS",
                1000,
            )?)),
        };
        let periods = Periods {
            invoice_due_days: parsed("INVOICE_DUE_DAYS", 14)?,
            lapse_grace_days: parsed("LAPSE_GRACE_DAYS", 30)?,
            renewal_notice_days: parsed("RENEWAL_NOTICE_DAYS", 30)?,
            max_backdate_days: parsed("MAX_BACKDATE_DAYS", 7)?,
            claim_reporting_days: parsed("CLAIM_REPORTING_DAYS", 90)?,
        };
        let offset: i32 = parsed("BUSINESS_UTC_OFFSET_MINUTES", 180)?;
        if !(-14 * 60..=14 * 60).contains(&offset) {
            bail!("BUSINESS_UTC_OFFSET_MINUTES must be between -840 and 840");
        }
        let production = match var("IFINSURE_ENV").as_deref() {
            None | Some("development") => false,
            Some("production") => true,
            Some(other) => bail!("IFINSURE_ENV={other:?}: use development or production"),
        };
        let branding = branding();
        let jwt_secret = var("JWT_SECRET").map(SecretString::from);
        Ok(Self {
            database_url: var("DATABASE_URL"),
            database_max_connections: parsed("DATABASE_MAX_CONNECTIONS", 20)?,
            listen_addr,
            metrics_addr: var("METRICS_ADDR")
                .map(|raw| {
                    raw.trim()
                        .parse()
                        .map_err(|e| anyhow::anyhow!("METRICS_ADDR={raw:?} is invalid: {e}"))
                })
                .transpose()?,
            trusted_proxies: api::client_address::parse_trusted(
                &var("TRUSTED_PROXIES").unwrap_or_default(),
            )
            .map_err(|e| anyhow::anyhow!("TRUSTED_PROXIES: {e}"))?,
            public_base_url: public_base_url.map(|u| u.trim_end_matches('/').to_string()),
            jwt_secret,
            access_token_ttl: seconds("ACCESS_TOKEN_TTL_SECS", 15 * 60)?,
            refresh_token_ttl: seconds("REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?,
            auth_rate_limit_per_minute: parsed("AUTH_RATE_LIMIT_PER_MINUTE", 30)?,
            webhook_rejections_per_minute: parsed("WEBHOOK_REJECTIONS_PER_MINUTE", 20)?,
            read_your_writes_timeout: Duration::from_millis(parsed(
                "READ_YOUR_WRITES_TIMEOUT_MS",
                5000,
            )?),
            subscription_batch_size: parsed("SUBSCRIPTION_BATCH_SIZE", 500)?,
            subscription_poll_interval: Duration::from_millis(parsed(
                "SUBSCRIPTION_POLL_MS",
                2000,
            )?),
            subscription_pool_size: var("SUBSCRIPTION_POOL_SIZE")
                .map(|raw| {
                    raw.trim()
                        .parse::<u32>()
                        .ok()
                        .filter(|n| *n >= 2)
                        .ok_or_else(|| {
                            anyhow::anyhow!(
                                "SUBSCRIPTION_POOL_SIZE={raw:?}: use a number of at least 2"
                            )
                        })
                })
                .transpose()?,
            idempotency_key_retention: seconds("IDEMPOTENCY_KEY_RETENTION_SECS", 24 * 3600)?,
            periods,
            clock: Arc::new(SystemClock::with_offset_minutes(offset)),
            default_payment_provider: default_payment_provider(production)?,
            sandbox_webhook_secret: var("SANDBOX_WEBHOOK_SECRET").map(SecretString::from),
            sandbox_webhook_delay,
            webhook_tolerance: seconds("WEBHOOK_TOLERANCE_SECS", 300)?,
            payment_reconcile_after: seconds("PAYMENT_RECONCILE_AFTER_SECS", 60)?,
            payment_uncertain_for: seconds("PAYMENT_UNCERTAIN_SECS", 600)?,
            scheduler_interval: seconds("SCHEDULER_INTERVAL_SECS", 60)?,
            payment_max_attempts: parsed("PAYMENT_MAX_ATTEMPTS", 15)?,
            payment_poll: Duration::from_millis(500),
            claims_authority_limit: parsed(
                "CLAIMS_AUTHORITY_LIMIT",
                rust_decimal::Decimal::from(500_000),
            )?,
            claims_dual_control_limit: var("CLAIMS_DUAL_CONTROL_LIMIT")
                .map(|raw| {
                    raw.trim().parse().map_err(|e| {
                        anyhow::anyhow!("CLAIMS_DUAL_CONTROL_LIMIT={raw:?} is invalid: {e}")
                    })
                })
                .transpose()?,
            document_store: document_store()?,
            notification_outbox: var("NOTIFICATION_OUTBOX_DIR")
                .unwrap_or_else(|| "data/outbox".into())
                .into(),
            notification_retry_base: Duration::from_millis(parsed(
                "NOTIFICATION_RETRY_BASE_MS",
                1000,
            )?),
            staff_queue_email: match var("STAFF_QUEUE_EMAIL") {
                Some(off) if off.eq_ignore_ascii_case("off") => None,
                Some(address) => Some(address),
                None => Some(branding.support_email.clone()),
            },
            log_retention: seconds("LOG_RETENTION_DAYS", 90)? * (24 * 3600),
            connectivity_check_interval: seconds("CONNECTIVITY_CHECK_SECS", 3600)?,
            branding,
            business_utc_offset_minutes: offset,
            saved_defaults: SavedDefaults::from_env()?,
            production,
            integration_allowed_hosts: var("INTEGRATION_ALLOWED_HOSTS").unwrap_or_default(),
            chain_key: var("CHAIN_KEY").map(SecretString::from),
            chain_checkpoint_interval: seconds("CHAIN_CHECKPOINT_SECS", 300)?,
            chain_anchor: chain_anchor()?,
            master_key: var("IFINSURE_MASTER_KEY").map(SecretString::from),
            previous_master_keys: var("IFINSURE_PREVIOUS_MASTER_KEYS")
                .map(|keys| {
                    keys.split(',')
                        .map(|k| SecretString::from(k.trim().to_string()))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .and_then(|s: Settings| {
            if s.subscription_batch_size < 1 {
                bail!("SUBSCRIPTION_BATCH_SIZE must be at least 1");
            }
            if s.payment_max_attempts < 1 {
                bail!("PAYMENT_MAX_ATTEMPTS must be at least 1");
            }
            Ok(s)
        })
        .context("reading configuration")
    }

    /// The API settings, with `jwt_secret` (checked for length).
    ///
    /// # Errors
    /// When the secret is shorter than 32 bytes.
    pub fn api_config(&self, jwt_secret: SecretString) -> anyhow::Result<api::ApiConfig> {
        let mut config = api::ApiConfig::new(jwt_secret)?;
        config.refresh_token_ttl = self.refresh_token_ttl;
        config.auth_rate_limit_per_minute = self.auth_rate_limit_per_minute;
        config.webhook_rejections_per_minute = self.webhook_rejections_per_minute;
        config.read_your_writes_timeout = self.read_your_writes_timeout;
        config.periods = self.periods;
        config.default_payment_provider = self.default_payment_provider.clone();
        config.sandbox = !self.production;
        config.egress = self.egress();
        config.trusted_proxies = self.trusted_proxies.clone();
        config.sandbox_webhook_secret = self.sandbox_secret(&config.jwt_secret);
        config.webhook_tolerance = self.webhook_tolerance;
        config.claims_authority_limit = self.claims_authority_limit;
        config.claims_dual_control_limit = self
            .claims_dual_control_limit
            .unwrap_or(self.claims_authority_limit / rust_decimal::Decimal::TWO);
        config.chain_anchor = self.anchor()?;
        config.chain_checkpoint_interval = self.chain_checkpoint_interval;
        config.branding = self.branding.clone();
        Ok(config)
    }

    /// In production, nothing is derived from `JWT_SECRET`: the chain
    /// checkpoints' key must be given (and kept outside the database), the
    /// vault's master key too.
    ///
    /// # Errors
    /// Naming what is missing.
    pub fn check_production(&self) -> Result<(), crate::setup_error::SetupError> {
        if !self.production {
            return Ok(());
        }
        if self.chain_key.is_none() {
            return Err(crate::setup_error::SetupError::new(
                "CHAIN_KEY is required when IFINSURE_ENV=production (nothing is derived from \
                 JWT_SECRET there): set it to a random string (`openssl rand -base64 48`) kept \
                 outside the database, so that whoever holds the database cannot re-sign history",
            ));
        }
        if self.master_key.is_none() {
            return Err(crate::setup_error::SetupError::new(
                "IFINSURE_MASTER_KEY is required when IFINSURE_ENV=production \
                 (`openssl rand -base64 32`)",
            ));
        }
        Ok(())
    }

    /// Where provider calls may go: production's rules and the allow-list.
    pub fn egress(&self) -> domain::integration::egress::Egress {
        domain::integration::egress::Egress::new(self.production, &self.integration_allowed_hosts)
    }

    /// The key of the chain checkpoints: `CHAIN_KEY`, else derived from the
    /// JWT secret.
    pub fn chain_key(&self, jwt_secret: &SecretString) -> SecretString {
        self.chain_key
            .clone()
            .unwrap_or_else(|| api::config::derived_secret(jwt_secret, "event chain"))
    }

    /// The credential vault: the configured master key (required in
    /// production), else in development one derived from the JWT secret.
    ///
    /// # Errors
    /// When a key is malformed, or missing in production.
    pub fn vault(&self, jwt_secret: &SecretString) -> anyhow::Result<Vault> {
        use secrecy::ExposeSecret;
        let current = match (&self.master_key, self.production) {
            (Some(key), _) => MasterKey::from_base64(key.expose_secret())
                .context("IFINSURE_MASTER_KEY must be 32 bytes, base64-encoded (openssl rand -base64 32)")?,
            (None, true) => bail!("IFINSURE_MASTER_KEY is required when IFINSURE_ENV=production (openssl rand -base64 32)"),
            (None, false) => {
                tracing::warn!("IFINSURE_MASTER_KEY is not set: integration credentials are encrypted under a key derived from JWT_SECRET (development only)");
                let derived = api::config::derived_secret(jwt_secret, "credential vault master key");
                let digest = <sha2::Sha256 as sha2::Digest>::digest(derived.expose_secret().as_bytes());
                MasterKey::from_bytes(&digest.into())
            }
        };
        let previous = self
            .previous_master_keys
            .iter()
            .map(|k| MasterKey::from_base64(k.expose_secret()))
            .collect::<Result<Vec<_>, _>>()
            .context("IFINSURE_PREVIOUS_MASTER_KEYS must be comma-separated 32-byte base64 keys")?;
        Ok(Vault::new(current, previous))
    }

    /// The sandbox webhook secret: as configured, else derived from the JWT
    /// secret (see [`api::config::derived_secret`]).
    pub fn sandbox_secret(&self, jwt_secret: &SecretString) -> SecretString {
        self.sandbox_webhook_secret
            .clone()
            .unwrap_or_else(|| api::config::derived_secret(jwt_secret, "sandbox webhook"))
    }
}
