//! The integration log (`integration_log`): every HTTP call made to a
//! provider, one row per attempt, already redacted by the caller; and the
//! circuit breakers, which are derived from it so that every process (the
//! API's `/health/integrations`, each worker) sees the same state.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// One call to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    /// The configuration used, if any (the built-in sandbox has none).
    pub config_id: Option<Uuid>,
    /// The provider slug.
    pub provider: String,
    /// What was asked (`stk_push`, `payment_intent.create`, ...).
    pub action: String,
    /// The request, redacted.
    pub request: Value,
    /// The response, redacted (`None` when none arrived).
    pub response: Option<Value>,
    /// HTTP status, if an answer arrived.
    pub status: Option<u16>,
    /// Whether the provider answered (any status below 500): a 4xx is an
    /// answer; a timeout, a network error or a 5xx is an outage.
    pub ok: bool,
    /// How long the attempt took.
    pub latency_ms: i32,
    /// What the call was for (`payment`, `refund`, `payout`, `connection_test`).
    pub reference_type: Option<String>,
    /// Its id.
    pub reference_id: Option<String>,
    /// What went wrong, redacted.
    pub error: Option<String>,
}

/// A recorded call.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Entry {
    /// Its position in the log.
    pub id: i64,
    /// The configuration used.
    pub config_id: Option<Uuid>,
    /// The provider slug.
    pub provider: String,
    /// What was asked.
    pub action: String,
    /// The request, redacted.
    pub request: Value,
    /// The response, redacted.
    pub response: Option<Value>,
    /// HTTP status.
    pub status: Option<i32>,
    /// Whether the provider answered.
    pub ok: bool,
    /// Milliseconds.
    pub latency_ms: i32,
    /// What the call was for.
    pub reference_type: Option<String>,
    /// Its id.
    pub reference_id: Option<String>,
    /// What went wrong.
    pub error: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Appends `entry`.
///
/// # Errors
/// When the database fails.
pub async fn insert(pool: &PgPool, entry: &NewEntry) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO integration_log (config_id, provider, action, request, response, status, ok,
               latency_ms, reference_type, reference_id, error)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"#,
        entry.config_id,
        entry.provider,
        entry.action,
        entry.request,
        entry.response,
        entry.status.map(i32::from),
        entry.ok,
        entry.latency_ms,
        entry.reference_type,
        entry.reference_id,
        entry.error,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// One configuration.
    pub config_id: Option<Uuid>,
    /// One provider.
    pub provider: Option<String>,
    /// One action.
    pub action: Option<String>,
    /// Only answered (`true`) or failed (`false`) calls.
    pub ok: Option<bool>,
    /// Only calls that succeeded (`true`: answered, and not with an error
    /// status of 400 or more) or did not (`false`: refused or unanswered).
    pub succeeded: Option<bool>,
    /// What the calls were for.
    pub reference_id: Option<String>,
    /// From this time on.
    pub from: Option<DateTime<Utc>>,
    /// Before this time.
    pub to: Option<DateTime<Utc>>,
}

/// Entries matching `filter`, newest first, before position `before`.
///
/// # Errors
/// When the database fails.
pub async fn list(
    pool: &PgPool,
    filter: &Filter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Entry>, sqlx::Error> {
    sqlx::query_as!(
        Entry,
        r#"SELECT id, config_id, provider, action, request, response, status, ok, latency_ms,
                  reference_type, reference_id, error, created_at
           FROM integration_log
           WHERE ($1::uuid IS NULL OR config_id = $1)
             AND ($2::text IS NULL OR provider = $2)
             AND ($3::text IS NULL OR action = $3)
             AND ($4::boolean IS NULL OR ok = $4)
             AND ($5::text IS NULL OR reference_id = $5)
             AND ($6::timestamptz IS NULL OR created_at >= $6)
             AND ($7::timestamptz IS NULL OR created_at < $7)
             AND ($8::bigint IS NULL OR id < $8)
             AND ($10::boolean IS NULL OR (ok AND coalesce(status, 0) < 400) = $10)
           ORDER BY id DESC LIMIT $9"#,
        filter.config_id,
        filter.provider,
        filter.action,
        filter.ok,
        filter.reference_id,
        filter.from,
        filter.to,
        before,
        limit,
        filter.succeeded
    )
    .fetch_all(pool)
    .await
}

/// Consecutive outages that open a breaker.
pub const BREAKER_THRESHOLD: usize = 3;
/// How long an open breaker keeps new calls away before letting one through.
pub const BREAKER_COOLDOWN: Duration = Duration::from_secs(30);

/// A provider configuration's circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Its last calls were outages: new work goes elsewhere until the
    /// cooldown has passed.
    Open,
    /// The cooldown has passed: the next call tries it again, and its result
    /// closes or reopens the breaker.
    HalfOpen,
}

/// The breaker's state from its most recent calls (newest first, as
/// `(ok, when)`) at `now`. Pure.
pub fn breaker_state(recent: &[(bool, DateTime<Utc>)], now: DateTime<Utc>) -> BreakerState {
    let outages = recent.iter().take_while(|(ok, _)| !ok).count();
    if outages < BREAKER_THRESHOLD {
        return BreakerState::Closed;
    }
    let cooldown = chrono::Duration::from_std(BREAKER_COOLDOWN).unwrap_or_default();
    match recent.first() {
        Some((_, last)) if now - *last < cooldown => BreakerState::Open,
        _ => BreakerState::HalfOpen,
    }
}

/// One configuration's breaker, as `/health/integrations` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breaker {
    /// The configuration.
    pub config_id: Uuid,
    /// Its provider.
    pub provider: String,
    /// The state.
    pub state: BreakerState,
    /// Outages in a row, newest back.
    pub consecutive_failures: usize,
    /// The newest call.
    pub last_call_at: Option<DateTime<Utc>>,
    /// Its error, if it failed.
    pub last_error: Option<String>,
}

/// The breaker of configuration `config_id`.
///
/// # Errors
/// When the database fails.
pub async fn breaker(pool: &PgPool, config_id: Uuid) -> Result<BreakerState, sqlx::Error> {
    let recent = sqlx::query!(
        r#"SELECT ok, created_at FROM integration_log
           WHERE config_id = $1 ORDER BY id DESC LIMIT $2"#,
        config_id,
        BREAKER_THRESHOLD as i64
    )
    .fetch_all(pool)
    .await?;
    let recent: Vec<_> = recent.into_iter().map(|r| (r.ok, r.created_at)).collect();
    Ok(breaker_state(&recent, Utc::now()))
}

/// The breakers of `config_ids` that have called out (each from its last
/// 20 calls, read through the per-configuration index).
///
/// # Errors
/// When the database fails.
pub async fn breakers(pool: &PgPool, config_ids: &[Uuid]) -> Result<Vec<Breaker>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT c.config_id AS "config_id!", l.provider, l.ok, l.created_at, l.error
           FROM unnest($1::uuid[]) AS c(config_id)
           CROSS JOIN LATERAL (
               SELECT provider, ok, created_at, error FROM integration_log
               WHERE config_id = c.config_id ORDER BY id DESC LIMIT 20) l
           ORDER BY c.config_id, l.created_at DESC"#,
        config_ids
    )
    .fetch_all(pool)
    .await?;
    let now = Utc::now();
    let mut breakers: Vec<Breaker> = Vec::new();
    for group in rows.chunk_by(|a, b| a.config_id == b.config_id) {
        let recent: Vec<_> = group.iter().map(|r| (r.ok, r.created_at)).collect();
        breakers.push(Breaker {
            config_id: group[0].config_id,
            provider: group[0].provider.clone(),
            state: breaker_state(&recent, now),
            consecutive_failures: recent.iter().take_while(|(ok, _)| !ok).count(),
            last_call_at: recent.first().map(|(_, at)| *at),
            last_error: group[0].error.clone(),
        });
    }
    Ok(breakers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds_ago: i64, now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::seconds(seconds_ago)
    }

    #[test]
    fn a_breaker_opens_after_three_outages_in_a_row_and_half_opens_after_the_cooldown() {
        let now = Utc::now();
        let two = [(false, at(1, now)), (false, at(2, now)), (true, at(3, now))];
        assert_eq!(breaker_state(&two, now), BreakerState::Closed);
        let three = [
            (false, at(1, now)),
            (false, at(2, now)),
            (false, at(3, now)),
        ];
        assert_eq!(breaker_state(&three, now), BreakerState::Open);
        let cooled = [
            (false, at(31, now)),
            (false, at(32, now)),
            (false, at(33, now)),
        ];
        assert_eq!(breaker_state(&cooled, now), BreakerState::HalfOpen);
        let recovered = [
            (true, at(0, now)),
            (false, at(31, now)),
            (false, at(32, now)),
        ];
        assert_eq!(breaker_state(&recovered, now), BreakerState::Closed);
        assert_eq!(breaker_state(&[], now), BreakerState::Closed);
    }
}
