//! Subscription checkpoints: where each subscription stands, and its lag.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool, Row};

use crate::stored_event::StreamPosition;

/// Makes sure `name` has a checkpoint row (at the start of the stream).
///
/// # Errors
/// When the database fails.
pub async fn ensure(conn: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO subscription_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(name)
        .execute(conn)
        .await?;
    Ok(())
}

/// The checkpoint of `name` (the start of the stream if it has none).
///
/// # Errors
/// When the database fails.
pub async fn load(conn: &mut PgConnection, name: &str) -> Result<StreamPosition, sqlx::Error> {
    let row =
        sqlx::query("SELECT tx_id, global_position FROM subscription_checkpoints WHERE name = $1")
            .bind(name)
            .fetch_optional(conn)
            .await?;
    Ok(row.map_or(StreamPosition::default(), |row| StreamPosition {
        tx_id: row.get("tx_id"),
        position: row.get("global_position"),
    }))
}

/// Moves `name` from `from` to `to`, counting `handled` events, and tells
/// other processes (`ifinsure_checkpoints`). Compare-and-set: returns
/// `false` when another consumer moved it first, so the caller must roll back.
///
/// # Errors
/// When the database fails.
pub async fn advance(
    conn: &mut PgConnection,
    name: &str,
    from: StreamPosition,
    to: StreamPosition,
    handled: i64,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE subscription_checkpoints \
         SET tx_id = $4, global_position = $5, events_handled = events_handled + $6, updated_at = now() \
         WHERE name = $1 AND tx_id = $2 AND global_position = $3",
    )
    .bind(name)
    .bind(from.tx_id)
    .bind(from.position)
    .bind(to.tx_id)
    .bind(to.position)
    .bind(handled)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated == 1 {
        sqlx::query("SELECT pg_notify('ifinsure_checkpoints', $1)")
            .bind(format!("{name} {} {}", to.tx_id, to.position))
            .execute(&mut *conn)
            .await?;
    }
    Ok(updated == 1)
}

/// Sets `name`'s checkpoint outright (rebuild swaps), creating it if needed.
///
/// # Errors
/// When the database fails.
pub async fn set(
    conn: &mut PgConnection,
    name: &str,
    to: StreamPosition,
    handled: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO subscription_checkpoints (name, tx_id, global_position, events_handled) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name) DO UPDATE SET tx_id = $2, global_position = $3, \
             events_handled = $4, updated_at = now()",
    )
    .bind(name)
    .bind(to.tx_id)
    .bind(to.position)
    .bind(handled)
    .execute(&mut *conn)
    .await?;
    sqlx::query("SELECT pg_notify('ifinsure_checkpoints', $1)")
        .bind(format!("{name} {} {}", to.tx_id, to.position))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Where one subscription stands.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionStatus {
    /// Its name.
    pub name: String,
    /// The global position of the last event handled (0: none yet).
    pub position: i64,
    /// Events handled since it started (or was rebuilt).
    pub events_handled: i64,
    /// Events appended but not yet handled.
    pub lag_events: i64,
    /// Age of the oldest event not yet handled, in seconds (0: caught up).
    pub lag_seconds: f64,
    /// When its checkpoint last moved.
    pub updated_at: Option<DateTime<Utc>>,
}

/// The status of each named subscription, including ones that never ran.
///
/// # Errors
/// When the database fails.
pub async fn status(
    pool: &PgPool,
    names: &[String],
) -> Result<Vec<SubscriptionStatus>, sqlx::Error> {
    let mut statuses = Vec::with_capacity(names.len());
    for name in names {
        let row = sqlx::query(
            "SELECT c.global_position, c.events_handled, c.updated_at, lag.events, lag.oldest \
             FROM (SELECT $1::text AS name) n \
             LEFT JOIN subscription_checkpoints c ON c.name = n.name \
             CROSS JOIN LATERAL ( \
                 SELECT count(*) AS events, min(e.recorded_at) AS oldest FROM events e \
                 WHERE (e.tx_id, e.global_position) > \
                       (coalesce(c.tx_id, 0)::text::xid8, coalesce(c.global_position, 0)) \
             ) lag",
        )
        .bind(name)
        .fetch_one(pool)
        .await?;
        let oldest: Option<DateTime<Utc>> = row.get("oldest");
        let lag_seconds = oldest.map_or(0.0, |t| {
            (Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0
        });
        statuses.push(SubscriptionStatus {
            name: name.clone(),
            position: row.get::<Option<i64>, _>("global_position").unwrap_or(0),
            events_handled: row.get::<Option<i64>, _>("events_handled").unwrap_or(0),
            lag_events: row.get("events"),
            lag_seconds,
            updated_at: row.get("updated_at"),
        });
    }
    Ok(statuses)
}
