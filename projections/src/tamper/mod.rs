//! Tamper evidence: verifying the whole history, and signing checkpoints of
//! it.
//!
//! Every event after the seal cut-over carries a keyed seal
//! ([`crate::event_store::seal`]); events before it, their SHA-256 chain
//! ([`crate::event_store::chain`]). Every `CHAIN_CHECKPOINT_SECS` a
//! checkpoint ([`checkpoint`]) signs, with `CHAIN_KEY`, the heads of the
//! aggregates written since the last one, the stretch of the stream it
//! covers ([`range`]) and the checkpoint before it; each checkpoint is also
//! kept outside the database ([`anchor`]) and written to the log.
//!
//! [`verify`] answers whether anything was changed, naming the first thing
//! found. It catches, without the key: an event changed, inserted, removed,
//! renumbered, moved in time or in the stream, or appended with a forged
//! hash; a checkpoint removed, altered or missing from a run of them; the
//! newest checkpoints removed (the anchor still has them, and events left
//! uncovered for longer than twice the interval fail); the cut-over moved.
//! It does not catch what someone holding `CHAIN_KEY` does, nor the
//! removal of events newer than the newest checkpoint (the interval bounds
//! that window), nor, without an anchor, a run of newest checkpoints
//! removed together with the events they covered within twice the interval.
//!
//! [`record`] refuses to sign over anything broken: it raises an integrity
//! alarm (an event) instead, until an admin acknowledges it.

pub mod alarms;
pub mod anchor;
pub mod checkpoint;
pub mod range;

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use domain::integrity_alarm::{IntegrityAlarm, IntegrityAlarmCommand};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use sqlx::{PgConnection, PgPool};

pub use crate::event_store::seal::Broken;
use crate::event_store::seal::{Seals, Walk};
use crate::stored_event::StoredEvent;
use crate::{CommandMetadata, EventStore};
use anchor::Anchor;
use checkpoint::Checkpoint;

/// Events checked per query.
const PAGE: i64 = 5000;

/// The result of a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Nothing is wrong.
    pub ok: bool,
    /// Events checked.
    pub events_checked: i64,
    /// Of them, checked by their keyed seal.
    pub sealed: i64,
    /// Of them, written before the cut-over and checked by their SHA-256
    /// chain only (anyone can recompute it: only checkpoints protect them).
    pub hashed: i64,
    /// Of them, written before chaining began (nothing to check).
    pub unhashed: i64,
    /// Signed checkpoints checked.
    pub checkpoints_checked: i64,
    /// Events not yet covered by a checkpoint.
    pub uncovered: i64,
    /// Checkpoints found in the anchor, when one was compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anchored: Option<i64>,
    /// The first problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken: Option<Broken>,
}

/// What to compare the database with.
#[derive(Debug, Clone, Default)]
pub struct Against<'a> {
    /// The copy of the checkpoints kept outside the database.
    pub anchor: Option<&'a Anchor>,
    /// Events left uncovered by checkpoints for longer than this mean the
    /// checkpoints stopped or were removed (twice `CHAIN_CHECKPOINT_SECS`).
    pub stale_after: Option<Duration>,
}

/// Checks every event, every checkpoint, and the anchor.
///
/// # Errors
/// When the database or the anchor fails.
pub async fn verify(
    pool: &PgPool,
    seals: &Seals,
    against: Against<'_>,
) -> anyhow::Result<Verification> {
    let mut conn = pool.acquire().await?;
    let mut result = Verification {
        ok: true,
        events_checked: 0,
        sealed: 0,
        hashed: 0,
        unhashed: 0,
        checkpoints_checked: 0,
        uncovered: 0,
        anchored: None,
        first_broken: None,
    };
    let broken = async {
        if let Err(problem) = seals.cutover_row(&mut conn).await? {
            return Ok(Some(problem));
        }
        if let Some(problem) = walk_every_aggregate(&mut conn, seals, &mut result).await? {
            return Ok(Some(problem));
        }
        let checkpoints = checkpoint::all(&mut conn).await?;
        if let Some(problem) =
            check_checkpoints(&mut conn, seals, &checkpoints, &mut result).await?
        {
            return Ok(Some(problem));
        }
        if let Some(problem) =
            check_uncovered(&mut conn, &checkpoints, &against, &mut result).await?
        {
            return Ok(Some(problem));
        }
        if let Some(anchor) = against.anchor {
            return check_anchor(anchor, &checkpoints, &mut result).await;
        }
        anyhow::Ok(None)
    }
    .await?;
    result.ok = broken.is_none();
    result.first_broken = broken;
    Ok(result)
}

/// Walks every aggregate's events in sequence order.
async fn walk_every_aggregate(
    conn: &mut PgConnection,
    seals: &Seals,
    result: &mut Verification,
) -> anyhow::Result<Option<Broken>> {
    let cutover = seals.cutover(conn).await?;
    let mut current: (String, String) = (String::new(), String::new());
    let mut walk = Walk::default();
    let mut after = (String::new(), String::new(), 0i64);
    loop {
        let events = sqlx::query_as!(
            StoredEvent,
            r#"SELECT tx_id::text::bigint AS "tx_id!", global_position, aggregate_type, aggregate_id,
                      sequence, event_type, event_version, payload, metadata, recorded_at
               FROM events WHERE (aggregate_type, aggregate_id, sequence) > ($1, $2, $3)
               ORDER BY aggregate_type, aggregate_id, sequence LIMIT $4"#,
            after.0,
            after.1,
            after.2,
            PAGE
        )
        .fetch_all(&mut *conn)
        .await?;
        let Some(last) = events.last() else {
            add_counts(result, &walk);
            return Ok(None);
        };
        after = (
            last.aggregate_type.clone(),
            last.aggregate_id.clone(),
            last.sequence,
        );
        for event in &events {
            let key = (event.aggregate_type.clone(), event.aggregate_id.clone());
            if key != current {
                add_counts(result, &walk);
                current = key;
                walk = Walk::default();
            }
            result.events_checked += 1;
            if let Err(broken) = walk.step(seals.key(), cutover, event) {
                return Ok(Some(broken));
            }
        }
    }
}

fn add_counts(result: &mut Verification, walk: &Walk) {
    result.sealed += walk.sealed;
    result.hashed += walk.hashed_only;
    result.unhashed += walk.unhashed;
}

/// Checks the run of checkpoints: numbered 1, 2, 3 … with no gap, each
/// signed with the key over the one before, each stretch (format 2) still
/// holding the events it signed, in the same order, and each aggregate's
/// newest signed head still in place.
async fn check_checkpoints(
    conn: &mut PgConnection,
    seals: &Seals,
    checkpoints: &[Checkpoint],
    result: &mut Verification,
) -> anyhow::Result<Option<Broken>> {
    let cutover = seals.cutover(conn).await?;
    let signed_cutover = json!([cutover.tx_id, cutover.position]);
    let mut previous = String::new();
    let mut latest: HashMap<(String, String), (i64, String, i64)> = HashMap::new();
    for (index, checkpoint) in checkpoints.iter().enumerate() {
        result.checkpoints_checked += 1;
        let number = index as i64 + 1;
        if checkpoint.id != number {
            return Ok(Some(Broken::other(format!(
                "checkpoint {number} is missing: checkpoints run {} … {} with a gap",
                checkpoints[0].id, checkpoint.id
            ))));
        }
        if checkpoint.previous_signature != previous || !checkpoint.verifies(seals.key()) {
            return Ok(Some(Broken::other(format!(
                "checkpoint {} is not signed with the chain key over the checkpoint before it",
                checkpoint.id
            ))));
        }
        previous = checkpoint.signature.clone();
        if checkpoint.format >= 2 && checkpoint.cutover.as_ref() != Some(&signed_cutover) {
            return Ok(Some(Broken::other(format!(
                "the seal cut-over is not the one checkpoint {} signed: it was moved",
                checkpoint.id
            ))));
        }
        for (kind, id, sequence, link) in checkpoint.heads() {
            latest.insert((kind, id), (sequence, link, checkpoint.id));
        }
    }
    // The newest signed heads first: they name the aggregate whose tail
    // was removed or rewritten.
    if let Some(problem) = check_heads(conn, &latest).await? {
        return Ok(Some(problem));
    }
    for checkpoint in checkpoints.iter().filter(|c| c.format >= 2) {
        let from = checkpoint.from_tx.as_deref().unwrap_or("0");
        let now = range::digest(conn, from, &checkpoint.up_to_tx).await?;
        if Some(now.count) != checkpoint.events
            || Some(&now.value) != checkpoint.order_digest.as_ref()
        {
            return Ok(Some(Broken::other(format!(
                "the stretch of the stream checkpoint {} covers no longer holds the {} events it signed, in that order (it holds {}): events were moved, renumbered, inserted or removed",
                checkpoint.id,
                checkpoint.events.unwrap_or_default(),
                now.count
            ))));
        }
    }
    Ok(None)
}

/// Whether each aggregate's newest signed head is still its event at that
/// sequence, with that seal or hash.
async fn check_heads(
    conn: &mut PgConnection,
    latest: &HashMap<(String, String), (i64, String, i64)>,
) -> anyhow::Result<Option<Broken>> {
    let (mut kinds, mut ids, mut sequences) = (Vec::new(), Vec::new(), Vec::new());
    for ((kind, id), (sequence, _, _)) in latest {
        kinds.push(kind.clone());
        ids.push(id.clone());
        sequences.push(*sequence);
    }
    let found = sqlx::query!(
        r#"SELECT h.kind AS "kind!", h.id AS "id!", h.sequence AS "sequence!",
                  coalesce(e.metadata ->> 'seal', e.metadata ->> 'hash') AS link,
                  e.global_position AS "position?"
           FROM unnest($1::text[], $2::text[], $3::bigint[]) AS h(kind, id, sequence)
           LEFT JOIN events e
             ON e.aggregate_type = h.kind AND e.aggregate_id = h.id AND e.sequence = h.sequence"#,
        &kinds,
        &ids,
        &sequences
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in found {
        let Some((sequence, link, checkpoint)) = latest.get(&(row.kind.clone(), row.id.clone()))
        else {
            continue;
        };
        let reason = match (row.position, row.link.as_deref()) {
            (None, _) => format!(
                "event #{sequence} was in checkpoint {checkpoint} but is gone: the aggregate's latest events were removed"
            ),
            (Some(_), found) if found != Some(link.as_str()) => format!(
                "event #{sequence} differs from checkpoint {checkpoint}: the chain was rewritten"
            ),
            _ => continue,
        };
        return Ok(Some(Broken {
            position: row.position,
            aggregate_type: row.kind,
            aggregate_id: row.id,
            sequence: *sequence,
            reason,
        }));
    }
    Ok(None)
}

/// Counts the events no checkpoint covers yet; fails when the oldest of
/// them is older than `stale_after`: checkpoints stopped, or the newest
/// were removed.
async fn check_uncovered(
    conn: &mut PgConnection,
    checkpoints: &[Checkpoint],
    against: &Against<'_>,
    result: &mut Verification,
) -> anyhow::Result<Option<Broken>> {
    let from = checkpoints.last().map_or("0", |c| c.up_to_tx.as_str());
    let row = sqlx::query!(
        r#"SELECT count(*) AS "count!", min(recorded_at) AS oldest FROM events
           WHERE tx_id >= $1::text::xid8"#,
        from
    )
    .fetch_one(&mut *conn)
    .await?;
    result.uncovered = row.count;
    let (Some(stale_after), Some(oldest)) = (against.stale_after, row.oldest) else {
        return Ok(None);
    };
    let limit = Utc::now() - chrono::Duration::from_std(stale_after)?;
    if oldest < limit {
        let newest = checkpoints
            .last()
            .map_or("no checkpoint exists".to_string(), |c| {
                format!("the newest checkpoint is {} of {}", c.id, c.created_at)
            });
        return Ok(Some(Broken::other(format!(
            "{} events, the oldest recorded {oldest}, are covered by no checkpoint though checkpoints are made every {} s ({newest}): checkpoints stopped, or the newest were removed",
            row.count,
            stale_after.as_secs() / 2
        ))));
    }
    Ok(None)
}

/// Compares the database's checkpoints with the anchor's: every anchored
/// checkpoint must be in the database, the same.
async fn check_anchor(
    anchor: &Anchor,
    checkpoints: &[Checkpoint],
    result: &mut Verification,
) -> anyhow::Result<Option<Broken>> {
    let ids = anchor.ids().await?;
    result.anchored = Some(ids.len() as i64);
    for id in ids {
        let kept = anchor.read(id).await?;
        let stored = checkpoints.iter().find(|c| c.id == id);
        match (kept, stored) {
            (Some(kept), Some(stored)) if kept == *stored => {}
            (Some(_), Some(_)) => {
                return Ok(Some(Broken::other(format!(
                    "checkpoint {id} in the database differs from the anchor's copy"
                ))))
            }
            (_, None) => {
                return Ok(Some(Broken::other(format!(
                    "checkpoint {id} is in the anchor but not in the database: it was removed"
                ))))
            }
            (None, Some(_)) => {}
        }
    }
    Ok(None)
}

/// What recording a checkpoint did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Nothing was written since the last one.
    Nothing,
    /// Checkpoint `n` was signed (and anchored, when an anchor is set).
    Signed(i64),
    /// Something is broken: an integrity alarm is raised (its id, the
    /// problem) and nothing was signed.
    Refused {
        /// The alarm's id (the problem's fingerprint).
        alarm: String,
        /// What is broken.
        problem: Broken,
    },
}

/// An alarm's id: a fingerprint of its problem.
pub fn fingerprint(problem: &Broken) -> String {
    let text = format!("{:?}:{}", problem.position, problem.reason);
    domain::signatures::hex(&Sha256::digest(text.as_bytes()))[..32].to_string()
}

/// Signs a checkpoint of the stretch of the stream committed since the
/// newest one, after checking that the newest is this key's and the run
/// of checkpoints has no gap, that the anchor has nothing the database
/// lacks, and that every event in the stretch passes its seal and follows
/// its aggregate's chain. When one of these fails, it signs nothing and
/// raises an integrity alarm instead — unless an admin acknowledged that
/// alarm, when the checkpoint is signed naming it.
///
/// # Errors
/// When the database, the anchor or the event store fails.
pub async fn record(store: &EventStore, anchor: Option<&Anchor>) -> anyhow::Result<Recorded> {
    let seals = store.seals();
    let mut conn = store.pool().acquire().await?;
    let (stored, count) = checkpoint::newest(&mut conn).await?;
    let problem = before_signing(&mut conn, seals, stored.as_ref(), count, anchor).await?;
    // The run goes on from the newest signed checkpoint, wherever it is
    // kept: the database's, or the anchor's when newer ones were removed
    // from the database.
    let newest = match anchor {
        Some(anchor) => newest_anchored(anchor, seals, stored).await?,
        None => stored,
    };
    let from_tx = newest
        .as_ref()
        .map_or("0".to_string(), |c| c.up_to_tx.clone());
    let horizon: String =
        sqlx::query_scalar!(r#"SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS "xmin!""#)
            .fetch_one(&mut *conn)
            .await?;
    let checked = match problem {
        Some(problem) => Err(problem),
        None => match range::check(&mut conn, seals, &from_tx, &horizon).await {
            Ok(checked) => Ok(checked),
            Err(error) => Err(error.downcast::<Broken>()?),
        },
    };
    let (checked, acknowledged) = match checked {
        Ok(checked) => (checked, Vec::new()),
        Err(problem) => {
            let alarm = fingerprint(&problem);
            if !acknowledged(store, &alarm, &problem).await? {
                tracing::error!(%problem, alarm, "integrity alarm: no checkpoint is signed until an admin acknowledges it");
                return Ok(Recorded::Refused { alarm, problem });
            }
            // Acknowledged: sign what is there, naming the alarm.
            let digest = range::digest(&mut conn, &from_tx, &horizon).await?;
            let heads = heads_of(&mut conn, &from_tx, &horizon).await?;
            (range::Checked { digest, heads }, vec![alarm])
        }
    };
    if checked.digest.count == 0 {
        return Ok(Recorded::Nothing);
    }
    let cutover = seals.cutover(&mut conn).await?;
    let mut heads: Vec<Value> = checked
        .heads
        .into_iter()
        .map(|((kind, id), (sequence, link))| json!([kind, id, sequence, link]))
        .collect();
    heads.sort_by_key(|h| h.to_string());
    let mut signed = Checkpoint {
        id: newest.as_ref().map_or(1, |c| c.id + 1),
        format: checkpoint::FORMAT,
        created_at: crate::event_store::seal::now(),
        from_tx: Some(from_tx),
        up_to_tx: horizon,
        heads: Value::Array(heads),
        events: Some(checked.digest.count),
        order_digest: Some(checked.digest.value),
        cutover: Some(json!([cutover.tx_id, cutover.position])),
        acknowledged: (!acknowledged.is_empty()).then(|| json!(acknowledged)),
        previous_signature: newest.map(|c| c.signature).unwrap_or_default(),
        signature: String::new(),
    };
    signed.signature = signed.expected_signature(seals.key());
    if !checkpoint::insert(&mut conn, &signed).await? {
        return Ok(Recorded::Nothing);
    }
    tracing::info!(
        checkpoint = signed.id,
        anchor = %signed.to_json(),
        "chain checkpoint signed"
    );
    if let Some(anchor) = anchor {
        anchor.keep(&signed).await?;
    }
    Ok(Recorded::Signed(signed.id))
}

/// What must hold before anything new is signed: the cut-over is this
/// key's, the newest checkpoint is this key's and has no gap before it, and
/// the anchor has no checkpoint the database lacks (those it lacks are
/// kept now).
async fn before_signing(
    conn: &mut PgConnection,
    seals: &Seals,
    newest: Option<&Checkpoint>,
    count: i64,
    anchor: Option<&Anchor>,
) -> anyhow::Result<Option<Broken>> {
    if let Err(problem) = seals.cutover_row(conn).await? {
        return Ok(Some(problem));
    }
    let newest_id = newest.map_or(0, |c| c.id);
    if count != newest_id {
        return Ok(Some(Broken::other(format!(
            "{} of checkpoints 1 … {newest_id} are missing",
            newest_id - count
        ))));
    }
    if let Some(newest) = newest.filter(|c| !c.verifies(seals.key())) {
        return Ok(Some(Broken::other(format!(
            "checkpoint {} is not signed with the chain key",
            newest.id
        ))));
    }
    let Some(anchor) = anchor else {
        return Ok(None);
    };
    let anchored = anchor.ids().await?;
    if let Some(beyond) = anchored.iter().find(|id| **id > newest_id) {
        return Ok(Some(Broken::other(format!(
            "checkpoint {beyond} is in the anchor but not in the database: it was removed"
        ))));
    }
    // Checkpoints the anchor missed (it was unreachable) are kept now.
    for stored in checkpoint::all(conn).await? {
        if !anchored.contains(&stored.id) && stored.verifies(seals.key()) {
            anchor.keep(&stored).await?;
        }
    }
    Ok(None)
}

/// The newer of `stored` and the anchor's newest checkpoint that carries
/// this key's signature.
async fn newest_anchored(
    anchor: &Anchor,
    seals: &Seals,
    stored: Option<Checkpoint>,
) -> anyhow::Result<Option<Checkpoint>> {
    let stored_id = stored.as_ref().map_or(0, |c| c.id);
    for id in anchor.ids().await?.into_iter().rev() {
        if id <= stored_id {
            break;
        }
        if let Some(kept) = anchor.read(id).await?.filter(|c| c.verifies(seals.key())) {
            return Ok(Some(kept));
        }
    }
    Ok(stored)
}

/// The heads of the stretch `[from_tx, to_tx)` as they are now.
async fn heads_of(
    conn: &mut PgConnection,
    from_tx: &str,
    to_tx: &str,
) -> Result<HashMap<(String, String), (i64, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT DISTINCT ON (aggregate_type, aggregate_id)
                  aggregate_type, aggregate_id, sequence,
                  coalesce(metadata ->> 'seal', metadata ->> 'hash', '') AS "link!"
           FROM events WHERE tx_id >= $1::text::xid8 AND tx_id < $2::text::xid8
           ORDER BY aggregate_type, aggregate_id, sequence DESC"#,
        from_tx,
        to_tx
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ((r.aggregate_type, r.aggregate_id), (r.sequence, r.link)))
        .collect())
}

/// Whether the alarm `id` for `problem` was acknowledged; raises it (an
/// event) when it was not raised yet.
async fn acknowledged(store: &EventStore, id: &str, problem: &Broken) -> anyhow::Result<bool> {
    let metadata = CommandMetadata::system("chain-checkpoints");
    let command = IntegrityAlarmCommand::Raise {
        problem: problem.to_string(),
    };
    let raised = store
        .execute::<IntegrityAlarm>(id, command, None, &metadata)
        .await
        .map_err(|e| anyhow::anyhow!("raising integrity alarm {id}: {e}"))?;
    Ok(raised.aggregate.acknowledged.is_some())
}
