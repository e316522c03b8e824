//! What auditors read: the global stream with every event's metadata,
//! filtered and paged in stream order, and any aggregate's state as it was
//! at a version or an instant, replayed from its events with the same
//! `apply` the command side uses.
//!
//! Pages only hold events whose transaction is older than every one still
//! in flight (as subscriptions read), ordered by `(tx_id, global_position)`:
//! an event that commits late can never land behind a cursor a reader
//! already passed.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use domain::claim::Claim;
use domain::integration::IntegrationConfig;
use domain::invoice::Invoice;
use domain::policy::Policy;
use domain::product::Product;
use domain::user::User;
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;

use crate::event_store::seal::{Broken, Seals, Walk};
use crate::stored_event::{StoredEvent, StreamPosition};

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Of this aggregate type.
    pub aggregate_type: Option<String>,
    /// Of this aggregate.
    pub aggregate_id: Option<String>,
    /// Caused by this user.
    pub user_id: Option<String>,
    /// Of this business flow.
    pub correlation_id: Option<String>,
    /// Recorded at or after.
    pub from: Option<DateTime<Utc>>,
    /// Recorded before.
    pub to: Option<DateTime<Utc>>,
}

/// Where the event at global position `position` stands in the stream.
///
/// # Errors
/// When the database fails.
pub async fn stream_position(
    pool: &PgPool,
    position: i64,
) -> Result<Option<StreamPosition>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT tx_id::text::bigint AS "tx_id!", global_position FROM events WHERE global_position = $1"#,
        position
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| StreamPosition {
        tx_id: r.tx_id,
        position: r.global_position,
    }))
}

/// Up to `limit` settled events matching `filter` after `after`, in stream
/// order.
///
/// # Errors
/// When the database fails.
pub async fn events(
    pool: &PgPool,
    filter: &Filter,
    after: Option<StreamPosition>,
    limit: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let after = after.unwrap_or_default();
    sqlx::query_as!(
        StoredEvent,
        r#"SELECT tx_id::text::bigint AS "tx_id!", global_position, aggregate_type, aggregate_id,
                  sequence, event_type, event_version, payload, metadata, recorded_at
           FROM events
           WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot())
             AND (tx_id, global_position) > ($1::text::xid8, $2)
             AND ($3::text IS NULL OR aggregate_type = $3)
             AND ($4::text IS NULL OR aggregate_id = $4)
             AND ($5::text IS NULL OR metadata ->> 'user_id' = $5)
             AND ($6::text IS NULL OR metadata ->> 'correlation_id' = $6)
             AND ($7::timestamptz IS NULL OR recorded_at >= $7)
             AND ($8::timestamptz IS NULL OR recorded_at < $8)
           ORDER BY tx_id, global_position
           LIMIT $9"#,
        after.tx_id.to_string(),
        after.position,
        filter.aggregate_type,
        filter.aggregate_id,
        filter.user_id,
        filter.correlation_id,
        filter.from,
        filter.to,
        limit
    )
    .fetch_all(pool)
    .await
}

/// The events matching a filter, read a page at a time in stream order
/// (the audit trail's NDJSON stream and `ifinsure audit export`), at most
/// `limit` of them.
#[derive(Debug, Clone)]
pub struct Pages {
    filter: Filter,
    after: Option<StreamPosition>,
    left: i64,
    read: i64,
}

impl Pages {
    /// Pages of the events matching `filter` after `after`.
    pub fn new(filter: Filter, after: Option<StreamPosition>, limit: Option<i64>) -> Self {
        Self {
            filter,
            after,
            left: limit.unwrap_or(i64::MAX),
            read: 0,
        }
    }

    /// Events read so far.
    pub fn read(&self) -> i64 {
        self.read
    }

    /// How far the pages reached: the gap-safe horizon now, and how many
    /// matching events after the last one read are committed but held back
    /// behind it by a transaction still running.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn reach(&self, pool: &PgPool) -> Result<Reach, sqlx::Error> {
        let after = self.after.unwrap_or_default();
        let filter = &self.filter;
        let row = sqlx::query!(
            r#"SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS "horizon!",
                      (SELECT count(*) FROM events
                       WHERE tx_id >= pg_snapshot_xmin(pg_current_snapshot())
                         AND (tx_id, global_position) > ($1::text::xid8, $2)
                         AND ($3::text IS NULL OR aggregate_type = $3)
                         AND ($4::text IS NULL OR aggregate_id = $4)
                         AND ($5::text IS NULL OR metadata ->> 'user_id' = $5)
                         AND ($6::text IS NULL OR metadata ->> 'correlation_id' = $6)
                         AND ($7::timestamptz IS NULL OR recorded_at >= $7)
                         AND ($8::timestamptz IS NULL OR recorded_at < $8)) AS "held_back!""#,
            after.tx_id.to_string(),
            after.position,
            filter.aggregate_type,
            filter.aggregate_id,
            filter.user_id,
            filter.correlation_id,
            filter.from,
            filter.to
        )
        .fetch_one(pool)
        .await?;
        Ok(Reach {
            events: self.read,
            horizon_tx: row.horizon,
            held_back: row.held_back,
            complete: row.held_back == 0,
        })
    }

    /// Reads on past the end reached before: pages that ended while events
    /// were held back continue where they stopped.
    pub fn resume(&mut self, limit: Option<i64>) {
        self.left = limit.map_or(i64::MAX, |l| (l - self.read).max(0));
    }

    /// The next page of at most `size` events; `None` once all are read.
    ///
    /// # Errors
    /// When the database fails (the pages end there).
    pub async fn next(
        &mut self,
        pool: &PgPool,
        size: i64,
    ) -> Result<Option<Vec<StoredEvent>>, sqlx::Error> {
        if self.left <= 0 {
            return Ok(None);
        }
        let size = size.min(self.left);
        let rows = match events(pool, &self.filter, self.after, size).await {
            Ok(rows) => rows,
            Err(error) => {
                self.left = 0;
                return Err(error);
            }
        };
        // A short page is the last one.
        self.left = if (rows.len() as i64) < size {
            0
        } else {
            self.left - size
        };
        let Some(last) = rows.last() else {
            return Ok(None);
        };
        self.after = Some(last.stream_position());
        self.read += rows.len() as i64;
        Ok(Some(rows))
    }
}

/// What a reading of the stream covered: the events it read, the
/// gap-safe horizon when it ended, and the matching events committed past
/// that horizon that a transaction still running held back (`complete`
/// when there are none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Reach {
    /// Events read.
    pub events: i64,
    /// The oldest transaction still running when it ended (events of it
    /// and after were not read).
    pub horizon_tx: i64,
    /// Matching events committed but held back behind it.
    pub held_back: i64,
    /// Nothing was held back.
    pub complete: bool,
}

/// How many events aggregate `id` of `aggregate_type` has (0: none).
///
/// # Errors
/// When the database fails.
pub async fn version(pool: &PgPool, aggregate_type: &str, id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT coalesce(max(sequence), 0) AS "version!" FROM events
           WHERE aggregate_type = $1 AND aggregate_id = $2"#,
        aggregate_type,
        id
    )
    .fetch_one(pool)
    .await
}

/// How far to replay an aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upto {
    /// Its first `n` events.
    Version(i64),
    /// The events recorded at or before this instant.
    AsOf(DateTime<Utc>),
    /// All of them.
    Latest,
}

/// An aggregate's state at some point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PastState {
    /// Its type.
    pub aggregate_type: String,
    /// Its id.
    pub aggregate_id: String,
    /// Events applied (0: it did not exist yet).
    pub version: i64,
    /// When the last applied event was recorded.
    pub recorded_at: Option<DateTime<Utc>>,
    /// The state, as the aggregate holds it.
    pub state: Value,
}

/// Why a state could not be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// Not a type of aggregate ifinsure has.
    #[error("{0} is not an aggregate type")]
    UnknownType(String),
    /// A stored event does not decode as its aggregate's event.
    #[error("event {position} does not decode: {error}")]
    Undecodable {
        /// Its global position.
        position: i64,
        /// Why.
        error: String,
    },
    /// An event of the aggregate fails its check (seal, chain, time).
    #[error("tampering detected: {0}")]
    Tampered(Broken),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// Replays aggregate `id` of `aggregate_type` up to `upto`. Every event of
/// the aggregate is checked first (its seal, its place in the chain, its
/// recorded time), so a moved or forged event fails the replay rather than
/// being left out of it.
///
/// # Errors
/// [`ReplayError`].
pub async fn state_at(
    pool: &PgPool,
    seals: &Seals,
    aggregate_type: &str,
    id: &str,
    upto: Upto,
) -> Result<PastState, ReplayError> {
    let all = sqlx::query_as!(
        StoredEvent,
        r#"SELECT tx_id::text::bigint AS "tx_id!", global_position, aggregate_type, aggregate_id,
                  sequence, event_type, event_version, payload, metadata, recorded_at
           FROM events
           WHERE aggregate_type = $1 AND aggregate_id = $2
           ORDER BY sequence"#,
        aggregate_type,
        id
    )
    .fetch_all(pool)
    .await?;
    let cutover = seals.cutover(&mut *pool.acquire().await?).await?;
    let mut walk = Walk::default();
    for event in &all {
        walk.step(seals.key(), cutover, event)
            .map_err(ReplayError::Tampered)?;
    }
    let events: Vec<StoredEvent> = all
        .into_iter()
        .take_while(|event| match upto {
            Upto::Version(n) => event.sequence <= n,
            Upto::AsOf(at) => event.recorded_at <= at,
            Upto::Latest => true,
        })
        .collect();
    let state = match aggregate_type {
        "Policy" => replay::<Policy>(&events),
        "Invoice" => replay::<Invoice>(&events),
        "Claim" => replay::<Claim>(&events),
        "Product" => replay::<Product>(&events),
        "User" => replay::<User>(&events),
        "IntegrationConfig" => replay::<IntegrationConfig>(&events),
        "IntegrityAlarm" => replay::<domain::integrity_alarm::IntegrityAlarm>(&events),
        other => return Err(ReplayError::UnknownType(other.to_string())),
    }?;
    Ok(PastState {
        aggregate_type: aggregate_type.to_string(),
        aggregate_id: id.to_string(),
        version: events.last().map_or(0, |e| e.sequence),
        recorded_at: events.last().map(|e| e.recorded_at),
        state,
    })
}

/// `events` applied in order to a new `A`, with `A`'s own `apply`.
fn replay<A>(events: &[StoredEvent]) -> Result<Value, ReplayError>
where
    A: Aggregate + Serialize,
{
    let mut aggregate = A::default();
    for event in events {
        let decoded = event
            .decode::<A::Event>()
            .map_err(|e| ReplayError::Undecodable {
                position: event.global_position,
                error: e.to_string(),
            })?;
        aggregate.apply(decoded);
    }
    serde_json::to_value(&aggregate).map_err(|e| ReplayError::Undecodable {
        position: events.last().map_or(0, |e| e.global_position),
        error: e.to_string(),
    })
}
