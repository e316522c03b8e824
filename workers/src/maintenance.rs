//! Housekeeping of tables outside the event store (the event store itself is
//! never pruned): stored idempotent responses past their retention, refresh
//! tokens long expired or revoked, console sessions past their expiry,
//! integration-log rows past the log
//! retention, and the bodies (personal data) of notifications sent or given
//! up on past it. A notification's row itself stays: it is what makes a
//! replayed event send nothing twice.

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
    /// How long integration-log rows and notification bodies are kept.
    pub logs: Duration,
    /// How often the job runs.
    pub interval: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            idempotency_keys: Duration::from_secs(24 * 3600),
            refresh_tokens: Duration::from_secs(30 * 24 * 3600),
            logs: Duration::from_secs(90 * 24 * 3600),
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
    /// Expired console sessions removed.
    pub console_sessions: u64,
    /// Integration-log rows removed.
    pub integration_log: u64,
    /// Notifications whose bodies were removed.
    pub notification_bodies: u64,
    /// Unverified webhook deliveries removed.
    pub rejected_webhooks: u64,
    /// Verified webhook deliveries whose bodies were removed (the rows stay:
    /// they recognise a provider's late duplicate).
    pub webhook_bodies: u64,
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
    let console_sessions = sqlx::query!("DELETE FROM console_sessions WHERE expires_at <= now()")
        .execute(pool)
        .await?
        .rows_affected();
    let logs = retention.logs.as_secs_f64();
    let integration_log = sqlx::query!(
        "DELETE FROM integration_log WHERE created_at < now() - make_interval(secs => $1)",
        logs
    )
    .execute(pool)
    .await?
    .rows_affected();
    let notification_bodies = sqlx::query!(
        r#"UPDATE notifications SET body_text = '', body_html = NULL
           WHERE status IN ('sent', 'delivered', 'failed', 'dead') AND created_at < now() - make_interval(secs => $1)
             AND (body_text <> '' OR body_html IS NOT NULL)"#,
        logs
    )
    .execute(pool)
    .await?
    .rows_affected();
    let rejected_webhooks = sqlx::query!(
        r#"DELETE FROM webhook_deliveries
           WHERE NOT verified AND received_at < now() - make_interval(secs => $1)"#,
        logs
    )
    .execute(pool)
    .await?
    .rows_affected();
    let webhook_bodies = sqlx::query!(
        r#"UPDATE webhook_deliveries SET body = ''::bytea
           WHERE verified AND received_at < now() - make_interval(secs => $1)
             AND length(body) > 0"#,
        logs
    )
    .execute(pool)
    .await?
    .rows_affected();
    let pruned = Pruned {
        idempotency_keys,
        refresh_tokens,
        console_sessions,
        integration_log,
        notification_bodies,
        rejected_webhooks,
        webhook_bodies,
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
        if !shutdown.sleep(retention.interval).await {
            return;
        }
    }
}
