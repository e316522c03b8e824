//! Gap-safe reading of the global stream.
//!
//! With concurrent writers a smaller global position can commit after a
//! larger one. A reader that simply followed positions would skip it forever.
//! So a reader only takes events whose writing transaction is older than
//! every transaction still in flight (`tx_id < pg_snapshot_xmin(...)`): those
//! are all committed and no older one can appear. It orders by
//! `(tx_id, global_position)`, the order checkpoints use.
//!
//! Subscriptions check each event they handle against its seal (see
//! `runtime`); a dead letter's event, read again here, is checked too.

use sqlx::PgConnection;

use crate::event_store::seal::Seals;
use crate::stored_event::{StoredEvent, StreamPosition};

/// Up to `limit` events after `after`, oldest first, never skipping one that
/// commits late.
///
/// # Errors
/// When the database fails.
pub async fn read_after(
    conn: &mut PgConnection,
    after: StreamPosition,
    limit: i64,
) -> anyhow::Result<Vec<StoredEvent>> {
    let events = sqlx::query_as!(
        StoredEvent,
        r#"SELECT tx_id::text::bigint AS "tx_id!", global_position, aggregate_type, aggregate_id,
                  sequence, event_type, event_version, payload, metadata, recorded_at
           FROM events
           WHERE (tx_id, global_position) > ($1::text::xid8, $2)
             AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
           ORDER BY tx_id, global_position
           LIMIT $3"#,
        after.tx_id.to_string(),
        after.position,
        limit
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(events)
}

/// The event at `global_position` (a dead letter's, handled again),
/// checked against its seal.
///
/// # Errors
/// When the database fails, or the event fails its check.
pub async fn at(
    conn: &mut PgConnection,
    seals: &Seals,
    global_position: i64,
) -> anyhow::Result<Option<StoredEvent>> {
    let event = sqlx::query_as!(
        StoredEvent,
        r#"SELECT tx_id::text::bigint AS "tx_id!", global_position, aggregate_type, aggregate_id,
                  sequence, event_type, event_version, payload, metadata, recorded_at
           FROM events WHERE global_position = $1"#,
        global_position
    )
    .fetch_optional(&mut *conn)
    .await?;
    seals
        .check_all(conn, &event.iter().collect::<Vec<_>>())
        .await?;
    Ok(event)
}

/// Whether events exist that are committed or in flight but not yet safe to
/// read, so the reader should look again soon rather than wait for a poll.
///
/// # Errors
/// When the database fails.
pub async fn has_unsettled(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM events
           WHERE tx_id >= pg_snapshot_xmin(pg_current_snapshot())) AS "unsettled!""#
    )
    .fetch_one(&mut *conn)
    .await
}
