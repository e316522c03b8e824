//! A provider configuration ready for an adapter: its catalogue entry,
//! settings and decrypted credentials, and the base URL it calls.

use std::sync::Arc;

use domain::integration::catalogue::{self, Category};
use domain::integration::egress::Egress;
use domain::integration::{ConfigDetails, Environment, Settings};
use projections::read_models::integrations::{self, IntegrationFilter};
use projections::vault::{Credentials, Vault};
use sqlx::PgPool;
use uuid::Uuid;

use super::http::Http;
use super::log::CallRecorder;
use super::redact::Secrets;
use super::ProviderError;

/// A configuration with its credentials, for building an adapter.
#[derive(Clone)]
pub struct ProviderConfig {
    /// Its id.
    pub id: Uuid,
    /// Its catalogue entry.
    pub entry: &'static catalogue::Provider,
    /// Sandbox or production.
    pub environment: Environment,
    /// First choice of its category?
    pub is_primary: bool,
    /// Fallback order.
    pub priority: u32,
    /// Non-secret settings.
    pub settings: Settings,
    /// Decrypted credentials. Never logged: [`ProviderConfig::secrets`]
    /// redacts them from everything that is.
    pub credentials: Credentials,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("id", &self.id)
            .field("provider", &self.entry.slug)
            .field("environment", &self.environment)
            .field("credentials", &self.credentials.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ProviderConfig {
    /// A configuration from its recorded details and credentials.
    pub fn new(id: Uuid, details: &ConfigDetails, credentials: Credentials) -> Option<Self> {
        Some(Self {
            id,
            entry: catalogue::provider(&details.provider)?,
            environment: details.environment,
            is_primary: details.is_primary,
            priority: details.priority,
            settings: details.settings.clone(),
            credentials,
        })
    }

    /// The provider slug.
    pub fn provider(&self) -> &'static str {
        self.entry.slug
    }

    /// A field's value: from the credentials, or the settings (identifiers
    /// such as a shortcode may be in either).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.credentials
            .get(name)
            .or_else(|| self.settings.get(name))
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// A field that must be set.
    ///
    /// # Errors
    /// `Rejected` naming the missing field.
    pub fn require(&self, name: &str) -> Result<&str, ProviderError> {
        self.value(name).ok_or_else(|| {
            ProviderError::Rejected(format!(
                "the {} configuration has no {name}",
                self.entry.slug
            ))
        })
    }

    /// Where calls go: `settings.base_url`, else the catalogue's URL for
    /// the configuration's environment.
    pub fn base_url(&self) -> Option<String> {
        self.settings.get("base_url").cloned().or_else(|| {
            match self.environment {
                Environment::Sandbox => self.entry.sandbox_base_url,
                Environment::Production => self.entry.production_base_url,
            }
            .map(str::to_string)
        })
    }

    /// Every credential value, to redact.
    pub fn secrets(&self) -> Secrets {
        let secret_fields = self
            .entry
            .fields
            .iter()
            .filter(|f| f.secret)
            .map(|f| f.name);
        Secrets::new(
            secret_fields
                .filter_map(|name| self.credentials.get(name))
                .map(String::as_str),
        )
    }

    /// The HTTP side of an adapter for this configuration, calling only
    /// where `egress` allows.
    ///
    /// # Errors
    /// `Rejected` when it has no base URL.
    pub fn http(
        &self,
        recorder: Arc<dyn CallRecorder>,
        egress: &Egress,
    ) -> Result<Http, ProviderError> {
        let base_url = self.base_url().ok_or_else(|| {
            ProviderError::Rejected(format!(
                "the {} configuration has no base_url",
                self.entry.slug
            ))
        })?;
        Ok(Http::new(
            self.entry.slug,
            Some(self.id),
            &base_url,
            self.secrets(),
            recorder,
        )
        .with_egress(egress.clone()))
    }

    /// Whether it takes payments in `currency` (its provider's list and its
    /// own `currencies` setting).
    pub fn takes(&self, currency: &str) -> bool {
        domain::integration::takes(self.entry.slug, &self.settings, currency)
    }
}

/// The configuration `id` with its credentials, if it exists.
///
/// # Errors
/// When the database or the vault fails.
pub async fn load(
    pool: &PgPool,
    vault: &Vault,
    id: Uuid,
) -> anyhow::Result<Option<ProviderConfig>> {
    let Some(row) = integrations::get(pool, id).await? else {
        return Ok(None);
    };
    let Some(details) = row.state.details.as_ref() else {
        return Ok(None);
    };
    let credentials = vault.load(pool, id).await?;
    Ok(ProviderConfig::new(id, details, credentials))
}

/// The enabled configurations of `category` (of `provider` only, if given)
/// that ifinsure has an adapter for: the primary first, then by priority.
///
/// # Errors
/// When the database or the vault fails.
pub async fn enabled(
    pool: &PgPool,
    vault: &Vault,
    category: Category,
    provider: Option<&str>,
) -> anyhow::Result<Vec<ProviderConfig>> {
    let filter = IntegrationFilter {
        category: Some(category.as_str().to_string()),
        provider: provider.map(str::to_string),
        environment: None,
    };
    let mut configs = Vec::new();
    for row in integrations::enabled(pool, &filter).await? {
        if let Some(details) = &row.state.details {
            let credentials = vault.load(pool, row.id).await?;
            configs.extend(ProviderConfig::new(row.id, details, credentials));
        }
    }
    Ok(configs)
}
