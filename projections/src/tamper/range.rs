//! A stretch of the stream as a checkpoint covers it: the events of
//! transactions from one `tx_id` up to (not including) another, in stream
//! order `(tx_id, global_position)`, and their digest — each event's place,
//! aggregate, sequence and seal chained into one SHA-256 — so that moving,
//! renumbering, inserting or removing an event in a covered stretch changes
//! it.

use std::collections::HashMap;

use sha2::{Digest as _, Sha256};
use sqlx::PgConnection;

use crate::event_store::seal::{self, Broken, Seals};
use crate::stored_event::{StoredEvent, StreamPosition};

/// Events read per query.
const PAGE: i64 = 2000;

/// The digest and count of a stretch, built event by event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digest {
    /// The chained SHA-256 so far (hex; empty before the first event).
    pub value: String,
    /// Events so far.
    pub count: i64,
}

impl Digest {
    /// Adds `event`, the stretch's next.
    pub fn push(&mut self, event: &StoredEvent) {
        let line = format!(
            "{}\n{}:{}:{}:{}:{}:{}",
            self.value,
            event.tx_id,
            event.global_position,
            event.aggregate_type,
            event.aggregate_id,
            event.sequence,
            seal::link_value(&event.metadata).unwrap_or_default()
        );
        self.value = domain::signatures::hex(&Sha256::digest(line.as_bytes()));
        self.count += 1;
    }
}

/// The events of transactions in `[from_tx, to_tx)` (xid8 as text), in
/// stream order, a page at a time.
struct Stretch<'a> {
    from_tx: &'a str,
    to_tx: &'a str,
    after: StreamPosition,
}

impl<'a> Stretch<'a> {
    fn new(from_tx: &'a str, to_tx: &'a str) -> Self {
        Self {
            from_tx,
            to_tx,
            after: StreamPosition::default(),
        }
    }

    /// The next page (empty at the end).
    async fn next(&mut self, conn: &mut PgConnection) -> Result<Vec<StoredEvent>, sqlx::Error> {
        let events = sqlx::query_as!(
            StoredEvent,
            r#"SELECT tx_id::text::bigint AS "tx_id!", global_position, aggregate_type, aggregate_id,
                      sequence, event_type, event_version, payload, metadata, recorded_at
               FROM events
               WHERE tx_id >= $1::text::xid8 AND tx_id < $2::text::xid8
                 AND (tx_id, global_position) > ($3::text::xid8, $4)
               ORDER BY tx_id, global_position LIMIT $5"#,
            self.from_tx,
            self.to_tx,
            self.after.tx_id.to_string(),
            self.after.position,
            PAGE
        )
        .fetch_all(&mut *conn)
        .await?;
        if let Some(last) = events.last() {
            self.after = last.stream_position();
        }
        Ok(events)
    }
}

/// The digest of the stretch `[from_tx, to_tx)` as the events table holds
/// it now.
///
/// # Errors
/// When the database fails.
pub async fn digest(
    conn: &mut PgConnection,
    from_tx: &str,
    to_tx: &str,
) -> Result<Digest, sqlx::Error> {
    let mut digest = Digest::default();
    let mut stretch = Stretch::new(from_tx, to_tx);
    loop {
        let events = stretch.next(conn).await?;
        if events.is_empty() {
            return Ok(digest);
        }
        events.iter().for_each(|e| digest.push(e));
    }
}

/// What checking a stretch found: its digest and the heads it leaves.
#[derive(Debug, Default)]
pub struct Checked {
    /// Its digest and count.
    pub digest: Digest,
    /// Each aggregate's last event in it: `(sequence, seal or hash)`.
    pub heads: HashMap<(String, String), (i64, String)>,
}

/// Checks the stretch `[from_tx, to_tx)` before it is signed: every event
/// passes its own seal (after the cut-over) and follows the aggregate's
/// event before it — which, for the first of each aggregate here, is read
/// from the table — with no sequence missing.
///
/// # Errors
/// The database fails; or the first event that does not pass, as a
/// [`Broken`] inside the error.
pub async fn check(
    conn: &mut PgConnection,
    seals: &Seals,
    from_tx: &str,
    to_tx: &str,
) -> anyhow::Result<Checked> {
    let cutover = seals.cutover(conn).await?;
    let mut checked = Checked::default();
    let mut stretch = Stretch::new(from_tx, to_tx);
    loop {
        let events = stretch.next(conn).await?;
        if events.is_empty() {
            return Ok(checked);
        }
        let before = predecessors(conn, &events, &checked.heads).await?;
        for event in &events {
            let key = (event.aggregate_type.clone(), event.aggregate_id.clone());
            let previous = if event.sequence == 1 {
                Some(String::new())
            } else {
                checked
                    .heads
                    .get(&key)
                    .filter(|(sequence, _)| *sequence == event.sequence - 1)
                    .map(|(_, link)| link.clone())
                    .or_else(|| before.get(&(key.clone(), event.sequence - 1)).cloned())
            };
            let Some(previous) = previous else {
                return Err(Broken::event(
                    event,
                    format!("event #{} of this aggregate is missing", event.sequence - 1),
                )
                .into());
            };
            seal::Walk::resume(event.sequence - 1, previous).step(seals.key(), cutover, event)?;
            checked.digest.push(event);
            let link = seal::link_value(&event.metadata).unwrap_or_default();
            checked
                .heads
                .insert(key, (event.sequence, link.to_string()));
        }
    }
}

/// The seal (or hash) of the event before each of `events` whose
/// predecessor is not among `known`, by `((type, id), sequence)`.
async fn predecessors(
    conn: &mut PgConnection,
    events: &[StoredEvent],
    known: &HashMap<(String, String), (i64, String)>,
) -> anyhow::Result<HashMap<((String, String), i64), String>> {
    let mut in_page: HashMap<(String, String), i64> = HashMap::new();
    let (mut types, mut ids, mut sequences) = (Vec::new(), Vec::new(), Vec::new());
    for event in events {
        let key = (event.aggregate_type.clone(), event.aggregate_id.clone());
        let wanted = event.sequence - 1;
        let known_here = in_page.get(&key) == Some(&wanted)
            || known.get(&key).is_some_and(|(s, _)| *s == wanted);
        if wanted >= 1 && !known_here {
            types.push(event.aggregate_type.clone());
            ids.push(event.aggregate_id.clone());
            sequences.push(wanted);
        }
        in_page.insert(key, event.sequence);
    }
    if types.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query!(
        r#"SELECT e.aggregate_type, e.aggregate_id, e.sequence,
                  coalesce(e.metadata ->> 'seal', e.metadata ->> 'hash', '') AS "link!"
           FROM unnest($1::text[], $2::text[], $3::bigint[]) AS w(aggregate_type, aggregate_id, sequence)
           JOIN events e USING (aggregate_type, aggregate_id, sequence)"#,
        &types,
        &ids,
        &sequences
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (((r.aggregate_type, r.aggregate_id), r.sequence), r.link))
        .collect())
}
