//! Keyed seals: what makes an event ifinsure's own. Each event written
//! carries in its metadata `previous` (the seal — or, for the first one
//! after the cut-over, the SHA-256 hash — of its aggregate's event before
//! it), `recorded_at` (the moment the writer recorded it, which the
//! `recorded_at` column repeats) and `seal`: HMAC-SHA256 under `CHAIN_KEY`
//! (kept outside the database) over the canonical JSON of its aggregate,
//! sequence, type, version, payload and metadata (less the seal). Without
//! the key nobody can write, insert or rewrite an event that passes.
//!
//! Events written before sealing began keep their SHA-256 chain
//! ([`super::chain`]); the **cut-over** (`event_seal_cutover`) marks where
//! the sealed part starts: every event after it must carry a seal. The
//! cut-over row is signed with the key the first time a process reads it,
//! and only if no sealed event lies at or before it; a cut-over that is
//! missing or does not verify counts as "everything is sealed", so a moved
//! cut-over makes the old events fail loudly rather than let forged ones in.
//!
//! Every reader checks what it reads: a command's load and time travel
//! walk the aggregate's chain ([`Walk`]), subscriptions check each event's
//! own seal ([`Seals::check`]); an event that fails stops the reader, so a
//! forged event never reaches a read model, a report or a decision.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Sha256;
use sqlx::PgConnection;
use tokio::sync::OnceCell;

use super::chain::{self, Link};
use crate::stored_event::{StoredEvent, StreamPosition};

/// The metadata field holding the seal.
pub const SEAL: &str = "seal";
/// The metadata field naming the aggregate's event before.
pub const PREVIOUS: &str = "previous";
/// The metadata field holding when the event was recorded.
pub const RECORDED_AT: &str = "recorded_at";

/// `CHAIN_KEY`: the key of seals and checkpoints.
#[derive(Clone)]
pub struct SealKey(Arc<[u8]>);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(..)")
    }
}

impl SealKey {
    /// The key `bytes`.
    pub fn new(bytes: &[u8]) -> Self {
        Self(Arc::from(bytes))
    }

    /// Its bytes (checkpoint signatures use the same key).
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// Hex HMAC-SHA256 of the canonical JSON of `value`.
    pub fn mac(&self, value: &Value) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(chain::canonical(value).as_bytes());
        domain::signatures::hex(&mac.finalize().into_bytes())
    }

    /// The seal `link` should carry (its metadata's own seal left out).
    fn seal_of(&self, link: Link<'_>) -> String {
        self.mac(&chain::covered(link, SEAL))
    }

    /// `link`'s metadata sealed: with `previous`, `recorded_at` and the
    /// seal over all of it.
    pub fn sealed(&self, link: Link<'_>, previous: &str, recorded_at: DateTime<Utc>) -> Value {
        let mut metadata = link.metadata.clone();
        if let Value::Object(map) = &mut metadata {
            map.remove(chain::HASH);
            map.remove(SEAL);
        }
        metadata[PREVIOUS] = json!(previous);
        metadata[RECORDED_AT] = json!(timestamp(recorded_at));
        let seal = self.seal_of(Link {
            metadata: &metadata,
            ..link
        });
        metadata[SEAL] = json!(seal);
        metadata
    }

    /// Whether `link` carries the seal this key gives it.
    pub fn verifies(&self, link: Link<'_>) -> bool {
        link.metadata
            .get(SEAL)
            .and_then(Value::as_str)
            .is_some_and(|seal| {
                domain::signatures::constant_time_eq(seal.as_bytes(), self.seal_of(link).as_bytes())
            })
    }
}

/// `at` as the seal records it (RFC 3339, microseconds, UTC), which is
/// what the database keeps of a timestamp.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Now, to the microsecond (what the `recorded_at` column keeps).
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// What the aggregate's next event names as `previous`: this one's seal,
/// or its SHA-256 hash before the cut-over.
pub fn link_value(metadata: &Value) -> Option<&str> {
    metadata
        .get(SEAL)
        .or_else(|| metadata.get(chain::HASH))
        .and_then(Value::as_str)
}

/// What is wrong with an event, or a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Broken {
    /// The event's global position, when an event is at fault.
    pub position: Option<i64>,
    /// Its aggregate's type.
    pub aggregate_type: String,
    /// Its aggregate.
    pub aggregate_id: String,
    /// The sequence at fault.
    pub sequence: i64,
    /// What is wrong.
    pub reason: String,
}

impl Broken {
    /// `event` is wrong because of `reason`.
    pub fn event(event: &StoredEvent, reason: impl Into<String>) -> Self {
        Self {
            position: Some(event.global_position),
            aggregate_type: event.aggregate_type.clone(),
            aggregate_id: event.aggregate_id.clone(),
            sequence: event.sequence,
            reason: reason.into(),
        }
    }

    /// Something wrong that is not one event (a checkpoint, the cut-over).
    pub fn other(reason: impl Into<String>) -> Self {
        Self {
            position: None,
            aggregate_type: String::new(),
            aggregate_id: String::new(),
            sequence: 0,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.position {
            Some(position) => write!(
                f,
                "event {position} ({} {} #{}): {}",
                self.aggregate_type, self.aggregate_id, self.sequence, self.reason
            ),
            None => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for Broken {}

fn link(event: &StoredEvent) -> Link<'_> {
    Link {
        aggregate_type: &event.aggregate_type,
        aggregate_id: &event.aggregate_id,
        sequence: event.sequence,
        event_type: &event.event_type,
        event_version: &event.event_version,
        payload: &event.payload,
        metadata: &event.metadata,
    }
}

/// The key and the cut-over, as every reader checks events with them.
#[derive(Clone, Debug)]
pub struct Seals {
    key: SealKey,
    cutover: Arc<OnceCell<StreamPosition>>,
}

impl Seals {
    /// Seals under `key`.
    pub fn new(key: SealKey) -> Self {
        Self {
            key,
            cutover: Arc::new(OnceCell::new()),
        }
    }

    /// The key.
    pub fn key(&self) -> &SealKey {
        &self.key
    }

    /// The cut-over: events after it must be sealed. Read (and, the first
    /// time, signed) once per process.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn cutover(&self, conn: &mut PgConnection) -> Result<StreamPosition, sqlx::Error> {
        self.cutover
            .get_or_try_init(|| async {
                let (at, problem) = cutover::load(conn, &self.key).await?;
                if let Some(problem) = problem {
                    tracing::error!(problem, "every event must be sealed");
                }
                Ok(at)
            })
            .await
            .copied()
    }

    /// The cut-over as the database holds it now (not the one this process
    /// read at its start), or what is wrong with it.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn cutover_row(
        &self,
        conn: &mut PgConnection,
    ) -> Result<Result<StreamPosition, Broken>, sqlx::Error> {
        let (at, problem) = cutover::load(conn, &self.key).await?;
        Ok(match problem {
            Some(problem) => Err(Broken::other(problem)),
            None => Ok(at),
        })
    }

    /// Checks each of `events` on its own ([`Seals::check`]).
    ///
    /// # Errors
    /// The database fails, or the first event that fails its check.
    pub async fn check_all(
        &self,
        conn: &mut PgConnection,
        events: &[&StoredEvent],
    ) -> anyhow::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let cutover = self.cutover(conn).await?;
        for event in events {
            if let Err(broken) = self.check(cutover, event) {
                tracing::error!(%broken, "tampering detected: the event is not read");
                return Err(broken.into());
            }
        }
        Ok(())
    }

    /// Checks `event` on its own, as a subscription reads it: after the
    /// cut-over it must carry a seal made with the key, whose `recorded_at`
    /// the column repeats.
    ///
    /// # Errors
    /// What is wrong with it.
    pub fn check(&self, cutover: StreamPosition, event: &StoredEvent) -> Result<(), Broken> {
        if event.stream_position() <= cutover {
            return Ok(());
        }
        check_sealed(&self.key, event)
    }
}

/// The checks of a sealed event on its own.
fn check_sealed(key: &SealKey, event: &StoredEvent) -> Result<(), Broken> {
    if event.metadata.get(SEAL).is_none() {
        return Err(Broken::event(
            event,
            "the event has no seal, though it was written after sealing began: it was not written by ifinsure",
        ));
    }
    if !key.verifies(link(event)) {
        return Err(Broken::event(
            event,
            "the event does not match its seal: it was changed, or written without the chain key",
        ));
    }
    let sealed_at = event
        .metadata
        .get(RECORDED_AT)
        .and_then(Value::as_str)
        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
        .map(|at| at.with_timezone(&Utc));
    if sealed_at != Some(event.recorded_at) {
        return Err(Broken::event(
            event,
            "the event's recorded_at differs from the moment its seal records: it was moved in time",
        ));
    }
    Ok(())
}

/// A walk through one aggregate's events in sequence order, checking each
/// against the one before it: no sequence missing, each sealed event's
/// seal and `previous`, and before the cut-over the SHA-256 chain.
#[derive(Debug, Clone)]
pub struct Walk {
    expected: i64,
    previous: String,
    hashed: bool,
    /// Events before the cut-over with no hash at all (written before
    /// chaining began).
    pub unhashed: i64,
    /// Events before the cut-over checked by their SHA-256 chain.
    pub hashed_only: i64,
    /// Events checked by their seal.
    pub sealed: i64,
}

impl Default for Walk {
    fn default() -> Self {
        Self {
            expected: 1,
            previous: String::new(),
            hashed: false,
            unhashed: 0,
            hashed_only: 0,
            sealed: 0,
        }
    }
}

impl Walk {
    /// A walk that has passed `version` events, the last one's seal (or
    /// hash) `head`.
    pub fn resume(version: i64, head: String) -> Self {
        Self {
            expected: version + 1,
            hashed: !head.is_empty(),
            previous: head,
            ..Self::default()
        }
    }

    /// Checks `event`, the aggregate's next one.
    ///
    /// # Errors
    /// What is wrong with it.
    pub fn step(
        &mut self,
        key: &SealKey,
        cutover: StreamPosition,
        event: &StoredEvent,
    ) -> Result<(), Broken> {
        if event.sequence != self.expected {
            return Err(Broken::event(
                event,
                format!(
                    "event #{} of this aggregate is missing",
                    self.expected.min(event.sequence)
                ),
            ));
        }
        self.expected += 1;
        if event.stream_position() > cutover {
            check_sealed(key, event)?;
            let previous = event.metadata.get(PREVIOUS).and_then(Value::as_str);
            if previous != Some(self.previous.as_str()) {
                return Err(Broken::event(
                    event,
                    "the event does not follow the aggregate's event before it: an event before it was changed, inserted or removed",
                ));
            }
            self.previous = event.metadata[SEAL].as_str().unwrap_or_default().into();
            self.sealed += 1;
            return Ok(());
        }
        match chain::recorded(&event.metadata) {
            Some(recorded) => {
                if chain::hash(link(event), &self.previous) != recorded {
                    return Err(Broken::event(
                        event,
                        "the event does not match its hash: it, or the event before it, was changed",
                    ));
                }
                self.previous = recorded.to_string();
                self.hashed = true;
                self.hashed_only += 1;
            }
            None if self.hashed => {
                return Err(Broken::event(
                    event,
                    "the event has no hash, but events before it do",
                ))
            }
            None => self.unhashed += 1,
        }
        Ok(())
    }

    /// The aggregate's version so far.
    pub fn version(&self) -> i64 {
        self.expected - 1
    }

    /// What the aggregate's next event must name as `previous`.
    pub fn head(&self) -> &str {
        &self.previous
    }
}

/// The signed cut-over row.
mod cutover {
    use serde_json::json;
    use sqlx::PgConnection;

    use super::SealKey;
    use crate::stored_event::StreamPosition;

    /// Everything is sealed: what a missing or forged cut-over counts as.
    const STRICT: StreamPosition = StreamPosition {
        tx_id: 0,
        position: 0,
    };

    fn signature(key: &SealKey, at: StreamPosition) -> String {
        key.mac(&json!({"cutover": [at.tx_id, at.position]}))
    }

    /// The cut-over, signing it the first time if nothing sealed lies at or
    /// before it; with what is wrong with it when it is missing or does not
    /// verify (it then counts as [`STRICT`]: everything is sealed).
    pub(super) async fn load(
        conn: &mut PgConnection,
        key: &SealKey,
    ) -> Result<(StreamPosition, Option<String>), sqlx::Error> {
        let Some(row) = sqlx::query!(
            r#"SELECT up_to_tx::text::bigint AS "tx_id!", up_to_position, signature
               FROM event_seal_cutover"#
        )
        .fetch_optional(&mut *conn)
        .await?
        else {
            return Ok((STRICT, Some("the seal cut-over is missing".into())));
        };
        let at = StreamPosition {
            tx_id: row.tx_id,
            position: row.up_to_position,
        };
        let expected = signature(key, at);
        match row.signature {
            Some(signature) if signature == expected => Ok((at, None)),
            Some(_) => Ok((
                STRICT,
                Some("the seal cut-over is not signed with the chain key: it was moved".into()),
            )),
            None => {
                let sealed_before = sqlx::query_scalar!(
                    r#"SELECT EXISTS (SELECT 1 FROM events
                       WHERE (tx_id, global_position) <= ($1::text::xid8, $2)
                         AND metadata ? 'seal') AS "sealed!""#,
                    at.tx_id.to_string(),
                    at.position
                )
                .fetch_one(&mut *conn)
                .await?;
                if sealed_before {
                    return Ok((
                        STRICT,
                        Some("the seal cut-over was moved past sealed events".into()),
                    ));
                }
                sqlx::query!(
                    "UPDATE event_seal_cutover SET signature = $1 WHERE signature IS NULL",
                    expected
                )
                .execute(&mut *conn)
                .await?;
                Ok((at, None))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(metadata: Value) -> StoredEvent {
        StoredEvent {
            tx_id: 10,
            global_position: 5,
            aggregate_type: "Invoice".into(),
            aggregate_id: "i-1".into(),
            sequence: 1,
            event_type: "InvoiceIssued".into(),
            event_version: "1.0".into(),
            payload: json!({"amount": "15000.00"}),
            metadata,
            recorded_at: "2026-12-07T10:00:00.123456Z".parse().unwrap(),
        }
    }

    fn sealed(key: &SealKey, previous: &str) -> StoredEvent {
        let mut e = event(json!({"user_id": "u-1"}));
        e.metadata = key.sealed(link(&e), previous, e.recorded_at);
        e
    }

    const AFTER: StreamPosition = StreamPosition {
        tx_id: 0,
        position: 0,
    };

    #[test]
    fn a_sealed_event_passes_and_any_change_to_it_fails() {
        let key = SealKey::new(b"chain-key");
        let seals = Seals::new(key.clone());
        let good = sealed(&key, "");
        assert_eq!(seals.check(AFTER, &good), Ok(()));
        let mut changed = good.clone();
        changed.payload = json!({"amount": "6000.00"});
        assert!(seals.check(AFTER, &changed).is_err());
        let mut moved = good.clone();
        moved.recorded_at = "2027-12-07T10:00:00.123456Z".parse().unwrap();
        assert!(seals
            .check(AFTER, &moved)
            .unwrap_err()
            .reason
            .contains("moved in time"));
        let mut renumbered = good.clone();
        renumbered.sequence = 2;
        assert!(seals.check(AFTER, &renumbered).is_err());
        // Without the key, a recomputed SHA-256 hash is no seal.
        let mut forged = event(json!({"user_id": "u-1"}));
        let hash = chain::hash(link(&forged), "");
        forged.metadata["hash"] = json!(hash);
        assert!(seals
            .check(AFTER, &forged)
            .unwrap_err()
            .reason
            .contains("no seal"));
        let other = SealKey::new(b"another key");
        assert!(seals.check(AFTER, &sealed(&other, "")).is_err());
        // Before the cut-over, the SHA-256 chain speaks (a walk checks it).
        let before = StreamPosition {
            tx_id: 10,
            position: 5,
        };
        assert_eq!(seals.check(before, &forged), Ok(()));
    }

    #[test]
    fn a_walk_follows_the_chain_from_hashes_into_seals() {
        let key = SealKey::new(b"chain-key");
        let cutover = StreamPosition {
            tx_id: 10,
            position: 5,
        };
        let mut first = event(json!({"user_id": "u-1"}));
        let hash = chain::hash(link(&first), "");
        first.metadata["hash"] = json!(hash);
        let mut second = event(json!({"user_id": "u-1"}));
        second.sequence = 2;
        second.tx_id = 11;
        second.global_position = 9;
        second.metadata = key.sealed(link(&second), &hash, second.recorded_at);
        let mut walk = Walk::default();
        walk.step(&key, cutover, &first).unwrap();
        walk.step(&key, cutover, &second).unwrap();
        assert_eq!((walk.hashed_only, walk.sealed, walk.version()), (1, 1, 2));
        // A sealed event naming another predecessor breaks the walk.
        let mut third = second.clone();
        third.sequence = 3;
        third.metadata = key.sealed(link(&third), "not the head", third.recorded_at);
        assert!(walk
            .clone()
            .step(&key, cutover, &third)
            .unwrap_err()
            .reason
            .contains("does not follow"));
        // A missing sequence does too.
        let mut fourth = second.clone();
        fourth.sequence = 4;
        assert!(walk
            .step(&key, cutover, &fourth)
            .unwrap_err()
            .reason
            .contains("#3"));
    }
}
