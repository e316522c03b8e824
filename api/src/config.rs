//! The API's settings (read from the environment by the binary).

use std::time::Duration;

use domain::periods::Periods;
use secrecy::{ExposeSecret, SecretString};

/// Shortest JWT secret accepted, in bytes.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Settings of the HTTP API.
#[derive(Clone)]
pub struct ApiConfig {
    /// HS256 key for access tokens (at least 32 bytes).
    pub jwt_secret: SecretString,
    /// Lifetime of a refresh token.
    pub refresh_token_ttl: Duration,
    /// Requests per minute per client IP on the auth endpoints.
    pub auth_rate_limit_per_minute: u32,
    /// Webhook deliveries per minute per client IP that may fail to verify
    /// before that address is refused (`429`, nothing stored).
    pub webhook_rejections_per_minute: u32,
    /// Longest a command waits for its effect to reach the read model.
    pub read_your_writes_timeout: Duration,
    /// Largest JSON body accepted.
    pub json_body_limit: usize,
    /// Due dates, grace and notice periods of the policy lifecycle.
    pub periods: Periods,
    /// The provider used when a payment names none and no configuration is
    /// enabled; `None`: such a payment is refused.
    pub default_payment_provider: Option<String>,
    /// Whether the built-in sandbox provider exists here (never in
    /// production: it settles payments without moving money).
    pub sandbox: bool,
    /// Where provider calls (and credentials) may go.
    pub egress: domain::integration::egress::Egress,
    /// The deployment's proxies, whose `Forwarded` / `X-Forwarded-For`
    /// say who the client is.
    pub trusted_proxies: Vec<crate::client_address::Cidr>,
    /// The signing secret of sandbox webhooks.
    pub sandbox_webhook_secret: SecretString,
    /// Oldest webhook timestamp accepted.
    pub webhook_tolerance: Duration,
    /// The most staff may approve on one claim, in the claim's currency.
    pub claims_authority_limit: rust_decimal::Decimal,
    /// Above this (in the claim's currency) an approval needs a second
    /// person's confirmation.
    pub claims_dual_control_limit: rust_decimal::Decimal,
    /// The address providers call back on (webhook URLs are shown under it).
    pub public_base_url: String,
    /// Where checkpoints are kept outside the database (verification
    /// compares them).
    pub chain_anchor: Option<projections::tamper::anchor::Anchor>,
    /// How often checkpoints are made (events uncovered for twice this
    /// fail verification).
    pub chain_checkpoint_interval: Duration,
    /// Signs password-reset tokens.
    pub password_reset_secret: SecretString,
    /// Signs unsubscribe links.
    pub unsubscribe_secret: SecretString,
    /// The insurer's name, colour and contacts on every document, as the
    /// environment gives them (the branding settings saved override them;
    /// as do the security settings the access tokens' lifetime and the
    /// lockout: `AppState::security`).
    pub branding: domain::branding::Branding,
}

/// Why the settings can't be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The JWT secret is too short to be safe.
    #[error("JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes (it has {0})")]
    WeakJwtSecret(usize),
}

impl ApiConfig {
    /// Defaults around a given secret.
    ///
    /// # Errors
    /// `WeakJwtSecret` when the secret is shorter than 32 bytes.
    pub fn new(jwt_secret: SecretString) -> Result<Self, ConfigError> {
        let length = jwt_secret.expose_secret().len();
        if length < MIN_JWT_SECRET_BYTES {
            return Err(ConfigError::WeakJwtSecret(length));
        }
        Ok(Self {
            jwt_secret: jwt_secret.clone(),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            auth_rate_limit_per_minute: 30,
            webhook_rejections_per_minute: 20,
            read_your_writes_timeout: Duration::from_secs(5),
            json_body_limit: 1024 * 1024,
            periods: Periods::default(),
            default_payment_provider: Some("sandbox".into()),
            sandbox: true,
            egress: domain::integration::egress::Egress::default(),
            trusted_proxies: Vec::new(),
            sandbox_webhook_secret: derived_secret(&jwt_secret, "sandbox webhook"),
            chain_anchor: None,
            chain_checkpoint_interval: Duration::from_secs(300),
            password_reset_secret: derived_secret(&jwt_secret, "password reset"),
            unsubscribe_secret: derived_secret(&jwt_secret, "unsubscribe"),
            branding: domain::branding::Branding::default(),
            webhook_tolerance: Duration::from_secs(300),
            claims_authority_limit: rust_decimal::Decimal::from(500_000),
            claims_dual_control_limit: rust_decimal::Decimal::from(250_000),
            public_base_url: "http://127.0.0.1:8080".into(),
        })
    }
}

/// A secret for `purpose` derived from the JWT secret (HMAC-SHA256, hex), so
/// every process of one deployment agrees on it without another variable,
/// and it is never the JWT secret itself.
pub fn derived_secret(jwt_secret: &SecretString, purpose: &str) -> SecretString {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(jwt_secret.expose_secret().as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(b"ifinsure derived secret: ");
    mac.update(purpose.as_bytes());
    SecretString::from(domain::signatures::hex(&mac.finalize().into_bytes()))
}
