//! Connection tests: a configuration's adapter calls its provider's
//! cheapest authenticated endpoint (an OAuth token, the balance, the
//! account), and the result says whether the credentials work.

use std::time::Instant;

use domain::integration::catalogue::Category;
use domain::integration::ConnectionTest;
use projections::documents::{DocumentStore, DocumentStoreConfig};
use uuid::Uuid;

use super::config;
use super::ProviderError;
use crate::context::WorkerContext;

/// Why a configuration could not be tested at all.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// No such configuration.
    #[error("no such configuration")]
    NotFound,
    /// ifinsure has no adapter for its provider.
    #[error("ifinsure has no adapter for {0} yet")]
    NoAdapter(String),
    /// The database or the vault failed.
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// Tests configuration `id` (enabled or not) against its provider.
///
/// # Errors
/// [`TestError`]; a refused credential is a failed test, not an error.
#[tracing::instrument(skip(ctx))]
pub async fn test_connection(ctx: &WorkerContext, id: Uuid) -> Result<ConnectionTest, TestError> {
    let config = config::load(&ctx.pool, &ctx.vault, id)
        .await?
        .ok_or(TestError::NotFound)?;
    if !config.entry.adapter {
        return Err(TestError::NoAdapter(config.entry.slug.to_string()));
    }
    let started = Instant::now();
    let result = match config.entry.category {
        Category::Payment => match ctx.payment_adapter(&config) {
            Ok(adapter) => adapter.test_connection().await,
            Err(error) => Err(error),
        },
        Category::Sms => match ctx.sms_adapter(&config) {
            Ok(adapter) => adapter.test_connection().await,
            Err(error) => Err(error),
        },
        Category::Email => match ctx.email_adapter(&config) {
            Ok(adapter) => adapter.test_connection().await,
            Err(error) => Err(error),
        },
        Category::Storage => probe_store(&config).await,
    };
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let secrets = config.secrets();
    Ok(match result {
        Ok(detail) => ConnectionTest {
            ok: true,
            latency_ms,
            detail,
        },
        Err(
            ProviderError::Rejected(detail)
            | ProviderError::Unavailable(detail)
            | ProviderError::Uncertain(detail),
        ) => ConnectionTest {
            ok: false,
            latency_ms,
            detail: secrets.text(&detail),
        },
    })
}

/// Opens the store a storage configuration describes and writes, reads back
/// and removes a probe object.
async fn probe_store(config: &super::ProviderConfig) -> Result<String, ProviderError> {
    let fields = DocumentStoreConfig::from_fields(config.provider(), |name| {
        config.value(name).map(str::to_string)
    })
    .map_err(|e| ProviderError::Rejected(format!("{e:#}")))?;
    let store =
        DocumentStore::open(&fields).map_err(|e| ProviderError::Rejected(format!("{e:#}")))?;
    store
        .probe()
        .await
        .map_err(|e| ProviderError::Unavailable(format!("{e:#}")))?;
    Ok(format!(
        "the {} store took, returned and removed a probe object",
        config.provider()
    ))
}
