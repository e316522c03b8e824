//! Signed checkpoints (`chain_checkpoints`): what one signs and how its
//! signature is made. Format 1 signed the heads of the aggregates written
//! since the last one and the previous signature; format 2 also signs the
//! stretch of the stream it covers (from and to `tx_id`, how many events,
//! their digest), the seal cut-over, when it was made, and the integrity
//! alarms acknowledged when it was.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::PgConnection;

use crate::event_store::chain;
use crate::event_store::seal::{self, SealKey};

/// The format checkpoints are written in now.
pub const FORMAT: i16 = 2;

/// One checkpoint, as the database and the anchor hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Its number: 1, 2, 3, … with no gap.
    pub id: i64,
    /// 1 or 2 (see the module).
    pub format: i16,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// The stretch starts at this `tx_id` (format 2).
    pub from_tx: Option<String>,
    /// Events of transactions older than this `tx_id` are covered.
    pub up_to_tx: String,
    /// `[[type, id, sequence, seal or hash], …]` of every aggregate written
    /// in the stretch.
    pub heads: Value,
    /// Events in the stretch (format 2).
    pub events: Option<i64>,
    /// Their digest (format 2).
    pub order_digest: Option<String>,
    /// The seal cut-over `[tx_id, global_position]` (format 2).
    pub cutover: Option<Value>,
    /// Integrity alarms acknowledged when it was made (format 2).
    pub acknowledged: Option<Value>,
    /// The signature of the checkpoint before it (`""` for the first).
    pub previous_signature: String,
    /// HMAC-SHA256 under `CHAIN_KEY` of all of the above.
    pub signature: String,
}

impl Checkpoint {
    /// The signature it should carry under `key`.
    pub fn expected_signature(&self, key: &SealKey) -> String {
        if self.format < 2 {
            let covered = json!({
                "id": self.id,
                "up_to_tx": self.up_to_tx,
                "heads": self.heads,
                "previous_signature": self.previous_signature,
            });
            return key.mac(&covered);
        }
        key.mac(&json!({
            "format": self.format,
            "id": self.id,
            "created_at": seal::timestamp(self.created_at),
            "from_tx": self.from_tx,
            "up_to_tx": self.up_to_tx,
            "heads": self.heads,
            "events": self.events,
            "order_digest": self.order_digest,
            "cutover": self.cutover,
            "acknowledged": self.acknowledged,
            "previous_signature": self.previous_signature,
        }))
    }

    /// Whether it carries the signature `key` gives it.
    pub fn verifies(&self, key: &SealKey) -> bool {
        domain::signatures::constant_time_eq(
            self.signature.as_bytes(),
            self.expected_signature(key).as_bytes(),
        )
    }

    /// `[[type, id, sequence, seal or hash], …]` as a list.
    pub fn heads(&self) -> Vec<(String, String, i64, String)> {
        self.heads
            .as_array()
            .map(|rows| {
                rows.iter()
                    .filter_map(|h| {
                        Some((
                            h.get(0)?.as_str()?.to_string(),
                            h.get(1)?.as_str()?.to_string(),
                            h.get(2)?.as_i64()?,
                            h.get(3)?.as_str().unwrap_or_default().to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Its canonical JSON, as the anchor keeps it.
    pub fn to_json(&self) -> String {
        chain::canonical(&serde_json::to_value(self).unwrap_or_default())
    }
}

/// Every checkpoint, oldest first.
///
/// # Errors
/// When the database fails.
pub async fn all(conn: &mut PgConnection) -> Result<Vec<Checkpoint>, sqlx::Error> {
    sqlx::query_as!(
        Checkpoint,
        r#"SELECT id, format, created_at, from_tx, up_to_tx, heads, events, order_digest, cutover,
                  acknowledged, previous_signature, signature
           FROM chain_checkpoints ORDER BY id"#
    )
    .fetch_all(&mut *conn)
    .await
}

/// The newest checkpoint, and how many there are.
///
/// # Errors
/// When the database fails.
pub async fn newest(conn: &mut PgConnection) -> Result<(Option<Checkpoint>, i64), sqlx::Error> {
    let newest = sqlx::query_as!(
        Checkpoint,
        r#"SELECT id, format, created_at, from_tx, up_to_tx, heads, events, order_digest, cutover,
                  acknowledged, previous_signature, signature
           FROM chain_checkpoints ORDER BY id DESC LIMIT 1"#
    )
    .fetch_optional(&mut *conn)
    .await?;
    let count = sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM chain_checkpoints"#)
        .fetch_one(&mut *conn)
        .await?;
    Ok((newest, count))
}

/// Stores `checkpoint` unless its number is taken (another process made
/// it first); returns whether it was stored.
///
/// # Errors
/// When the database fails.
pub async fn insert(conn: &mut PgConnection, checkpoint: &Checkpoint) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        r#"INSERT INTO chain_checkpoints (id, format, created_at, from_tx, up_to_tx, heads, events,
               order_digest, cutover, acknowledged, previous_signature, signature)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (id) DO NOTHING"#,
        checkpoint.id,
        checkpoint.format,
        checkpoint.created_at,
        checkpoint.from_tx,
        checkpoint.up_to_tx,
        checkpoint.heads,
        checkpoint.events,
        checkpoint.order_digest,
        checkpoint.cutover,
        checkpoint.acknowledged,
        checkpoint.previous_signature,
        checkpoint.signature
    )
    .execute(&mut *conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}
