//! Subscription checkpoints: where each subscription stands, and its lag.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use crate::stored_event::StreamPosition;

/// Makes sure `name` has a checkpoint row (at the start of the stream).
///
/// # Errors
/// When the database fails.
pub async fn ensure(conn: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO subscription_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING",
        name
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The checkpoint of `name` (the start of the stream if it has none).
///
/// # Errors
/// When the database fails.
pub async fn load(conn: &mut PgConnection, name: &str) -> Result<StreamPosition, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT tx_id, global_position FROM subscription_checkpoints WHERE name = $1",
        name
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map_or(StreamPosition::default(), |row| StreamPosition {
        tx_id: row.tx_id,
        position: row.global_position,
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
    let updated = sqlx::query!(
        r#"UPDATE subscription_checkpoints
           SET tx_id = $4, global_position = $5, events_handled = events_handled + $6, updated_at = now()
           WHERE name = $1 AND tx_id = $2 AND global_position = $3"#,
        name,
        from.tx_id,
        from.position,
        to.tx_id,
        to.position,
        handled
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated == 1 {
        announce(conn, name, to).await?;
    }
    Ok(updated == 1)
}

/// Counts `passed` events a batch read but did not handle (its checkpoint
/// already moved past them).
///
/// # Errors
/// When the database fails.
pub async fn count_passed(
    conn: &mut PgConnection,
    name: &str,
    passed: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE subscription_checkpoints SET events_handled = events_handled + $2 WHERE name = $1",
        name,
        passed
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Tells other processes (`ifinsure_checkpoints`) that `name` reached `to`,
/// on commit of the caller's transaction.
async fn announce(
    conn: &mut PgConnection,
    name: &str,
    to: StreamPosition,
) -> Result<(), sqlx::Error> {
    // pg_notify returns void, which the checked macros cannot describe.
    sqlx::query("SELECT pg_notify('ifinsure_checkpoints', $1)")
        .bind(format!("{name} {} {}", to.tx_id, to.position))
        .execute(&mut *conn)
        .await?;
    Ok(())
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
    sqlx::query!(
        r#"INSERT INTO subscription_checkpoints (name, tx_id, global_position, events_handled)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (name) DO UPDATE SET tx_id = $2, global_position = $3,
               events_handled = $4, updated_at = now()"#,
        name,
        to.tx_id,
        to.position,
        handled
    )
    .execute(&mut *conn)
    .await?;
    announce(conn, name, to).await
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
        let row = sqlx::query!(
            r#"SELECT c.global_position AS "global_position?", c.events_handled AS "events_handled?",
                      c.updated_at AS "updated_at?", lag.events AS "events!", lag.oldest
               FROM (SELECT $1::text AS name) n
               LEFT JOIN subscription_checkpoints c ON c.name = n.name
               CROSS JOIN LATERAL (
                   SELECT count(*) AS events, min(e.recorded_at) AS oldest FROM events e
                   WHERE (e.tx_id, e.global_position) >
                         (coalesce(c.tx_id, 0)::text::xid8, coalesce(c.global_position, 0))
               ) lag"#,
            name
        )
        .fetch_one(pool)
        .await?;
        let lag_seconds = row.oldest.map_or(0.0, |t: DateTime<Utc>| {
            (Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0
        });
        statuses.push(SubscriptionStatus {
            name: name.clone(),
            position: row.global_position.unwrap_or(0),
            events_handled: row.events_handled.unwrap_or(0),
            lag_events: row.events,
            lag_seconds,
            updated_at: row.updated_at,
        });
    }
    Ok(statuses)
}
