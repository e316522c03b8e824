//! An event as stored, with its place in the global stream.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Where an event stands in the stream: `(tx_id, global_position)`, the order
/// in which subscribers read. Ordered lexicographically.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamPosition {
    /// The writing transaction.
    pub tx_id: i64,
    /// The global position.
    pub position: i64,
}

/// One event read from the store (an `events` row, `tx_id` as bigint).
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// The writing transaction.
    pub tx_id: i64,
    /// The global position.
    pub global_position: i64,
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

/// The id the event at `global_position` is known by in causation chains
/// and dead letters: `event:<global position>`.
pub fn event_id(global_position: i64) -> String {
    format!("event:{global_position}")
}

/// The global position an [`event_id`] names.
pub fn position_of(event_id: &str) -> Option<i64> {
    event_id.strip_prefix("event:")?.parse().ok()
}

impl StoredEvent {
    /// Its [`event_id`].
    pub fn id(&self) -> String {
        event_id(self.global_position)
    }

    /// Its place in the stream.
    pub fn stream_position(&self) -> StreamPosition {
        StreamPosition {
            tx_id: self.tx_id,
            position: self.global_position,
        }
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

    /// The business date it happened on: as stamped by the event store, or
    /// for events stored before stamping began, the date it was recorded in
    /// East Africa Time.
    pub fn business_date(&self) -> NaiveDate {
        self.metadata_str(crate::metadata::BUSINESS_DATE)
            .and_then(|date| date.parse().ok())
            .unwrap_or_else(|| {
                let eat = FixedOffset::east_opt(3 * 3600).expect("+03:00 is a valid offset");
                self.recorded_at.with_timezone(&eat).date_naive()
            })
    }
}
