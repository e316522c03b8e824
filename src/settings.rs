//! Settings from the environment (and `.env`). Every variable is documented
//! in `.env.example`; the names are part of the contract.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context as _};
use secrecy::SecretString;

/// Everything the process is configured with.
#[derive(Clone)]
pub struct Settings {
    /// PostgreSQL URL; `None` starts a private temporary cluster.
    pub database_url: Option<String>,
    /// Pool size.
    pub database_max_connections: u32,
    /// Where the API listens.
    pub listen_addr: SocketAddr,
    /// The address providers call back on.
    pub public_base_url: String,
    /// HS256 key for access tokens; `None` only allowed for `demo`.
    pub jwt_secret: Option<SecretString>,
    /// Access token lifetime.
    pub access_token_ttl: Duration,
    /// Refresh token lifetime.
    pub refresh_token_ttl: Duration,
    /// Auth requests per minute per client IP.
    pub auth_rate_limit_per_minute: u32,
    /// Longest a command waits for its read model.
    pub read_your_writes_timeout: Duration,
    /// Events per subscription batch.
    pub subscription_batch_size: i64,
    /// Fallback poll of subscriptions.
    pub subscription_poll_interval: Duration,
    /// How long idempotent responses are kept.
    pub idempotency_key_retention: Duration,
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
        let public_base_url =
            var("PUBLIC_BASE_URL").unwrap_or_else(|| format!("http://{listen_addr}"));
        if !(public_base_url.starts_with("http://") || public_base_url.starts_with("https://")) {
            bail!("PUBLIC_BASE_URL must start with http:// or https://");
        }
        let jwt_secret = var("JWT_SECRET").map(SecretString::from);
        Ok(Self {
            database_url: var("DATABASE_URL"),
            database_max_connections: parsed("DATABASE_MAX_CONNECTIONS", 20)?,
            listen_addr,
            public_base_url: public_base_url.trim_end_matches('/').to_string(),
            jwt_secret,
            access_token_ttl: seconds("ACCESS_TOKEN_TTL_SECS", 15 * 60)?,
            refresh_token_ttl: seconds("REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?,
            auth_rate_limit_per_minute: parsed("AUTH_RATE_LIMIT_PER_MINUTE", 30)?,
            read_your_writes_timeout: Duration::from_millis(parsed(
                "READ_YOUR_WRITES_TIMEOUT_MS",
                5000,
            )?),
            subscription_batch_size: parsed("SUBSCRIPTION_BATCH_SIZE", 500)?,
            subscription_poll_interval: Duration::from_millis(parsed(
                "SUBSCRIPTION_POLL_MS",
                2000,
            )?),
            idempotency_key_retention: seconds("IDEMPOTENCY_KEY_RETENTION_SECS", 24 * 3600)?,
        })
        .and_then(|s: Settings| {
            if s.subscription_batch_size < 1 {
                bail!("SUBSCRIPTION_BATCH_SIZE must be at least 1");
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
        config.access_token_ttl = self.access_token_ttl;
        config.refresh_token_ttl = self.refresh_token_ttl;
        config.auth_rate_limit_per_minute = self.auth_rate_limit_per_minute;
        config.read_your_writes_timeout = self.read_your_writes_timeout;
        Ok(config)
    }
}
