//! Housekeeping of tables outside the event store (the event store itself is
//! never pruned): stored idempotent responses past their retention, and
//! refresh tokens long expired or revoked.

use std::time::Duration;

use projections::subscription::Shutdown;
use sqlx::PgPool;

/// Retention settings.
#[derive(Debug, Clone)]
pub struct Retention {
    /// How long an `Idempotency-Key` replays its response.
    pub idempotency_keys: Duration,
    /// How long an expired or revoked refresh token is kept for forensics.
    pub refresh_tokens: Duration,
    /// How often the job runs.
    pub interval: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            idempotency_keys: Duration::from_secs(24 * 3600),
            refresh_tokens: Duration::from_secs(30 * 24 * 3600),
            interval: Duration::from_secs(3600),
        }
    }
}

/// What one run removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pruned {
    /// Idempotency keys removed.
    pub idempotency_keys: u64,
    /// Refresh tokens removed.
    pub refresh_tokens: u64,
}

/// Removes what is past retention, once.
///
/// # Errors
/// When the database fails.
#[tracing::instrument(skip_all)]
pub async fn run_once(pool: &PgPool, retention: &Retention) -> Result<Pruned, sqlx::Error> {
    let idempotency_keys = sqlx::query!(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)",
        retention.idempotency_keys.as_secs_f64()
    )
    .execute(pool)
    .await?
    .rows_affected();
    let refresh_tokens = sqlx::query!(
        r#"DELETE FROM refresh_tokens
           WHERE coalesce(revoked_at, expires_at) < now() - make_interval(secs => $1)"#,
        retention.refresh_tokens.as_secs_f64()
    )
    .execute(pool)
    .await?
    .rows_affected();
    let pruned = Pruned {
        idempotency_keys,
        refresh_tokens,
    };
    tracing::info!(?pruned, "maintenance done");
    Ok(pruned)
}

/// Runs [`run_once`] every `retention.interval` until shutdown.
pub async fn run(pool: PgPool, retention: Retention, shutdown: Shutdown) {
    loop {
        if let Err(error) = run_once(&pool, &retention).await {
            tracing::warn!(%error, "maintenance failed; will retry next interval");
        }
        tokio::select! {
            () = shutdown.wait() => return,
            () = tokio::time::sleep(retention.interval) => {}
        }
    }
}
