//! An event as stored, with its place in the global stream.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::Row;

/// Where an event stands in the stream: `(tx_id, global_position)`, the order
/// in which subscribers read. Ordered lexicographically.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamPosition {
    /// The writing transaction.
    pub tx_id: i64,
    /// The global position.
    pub position: i64,
}

/// One event read from the store.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// Its place in the stream.
    pub stream_position: StreamPosition,
    /// `Product`, `User`, ...
    pub aggregate_type: String,
    /// The aggregate's id.
    pub aggregate_id: String,
    /// 1-based sequence within the aggregate (its version after this event).
    pub sequence: i64,
    /// `ProductDefined`, ...
    pub event_type: String,
    /// Schema version of the payload.
    pub event_version: String,
    /// The event.
    pub payload: Value,
    /// Who and why.
    pub metadata: Value,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// The columns [`StoredEvent::from_row`] reads, for `SELECT`s.
pub const STORED_EVENT_COLUMNS: &str = "tx_id::text::bigint AS tx_id, global_position, \
    aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, recorded_at";

impl StoredEvent {
    /// Reads a row selected with [`STORED_EVENT_COLUMNS`].
    ///
    /// # Errors
    /// When a column is missing or of another type.
    pub fn from_row(row: &PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            stream_position: StreamPosition {
                tx_id: row.try_get("tx_id")?,
                position: row.try_get("global_position")?,
            },
            aggregate_type: row.try_get("aggregate_type")?,
            aggregate_id: row.try_get("aggregate_id")?,
            sequence: row.try_get("sequence")?,
            event_type: row.try_get("event_type")?,
            event_version: row.try_get("event_version")?,
            payload: row.try_get("payload")?,
            metadata: row.try_get("metadata")?,
            recorded_at: row.try_get("recorded_at")?,
        })
    }

    /// The payload as the aggregate's event type.
    ///
    /// # Errors
    /// When the payload does not match the type (an upcaster is missing).
    pub fn decode<E: DeserializeOwned>(&self) -> Result<E, serde_json::Error> {
        serde_json::from_value(self.payload.clone())
    }

    /// A metadata field as text, if present.
    pub fn metadata_str(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).and_then(Value::as_str)
    }
}
