//! Tamper evidence: checking every aggregate's hash chain
//! ([`crate::event_store::chain`]) and keeping signed checkpoints of the
//! chains' heads.
//!
//! What it catches: an event changed, inserted or removed inside an
//! aggregate's history (its hash, or the next one's, no longer matches); a
//! sequence gap; an event stripped of its hash; and, through the
//! checkpoints (HMAC-SHA256 under a key kept outside the database, each
//! covering the one before), the removal of an aggregate's latest events,
//! a rewritten chain (its head no longer matches the checkpoint), and a
//! removed or altered checkpoint.
//!
//! What it does not: someone holding both database access and the key can
//! rewrite history and re-sign; events written after the latest
//! checkpoint can be rewritten consistently (chain recomputed) until the
//! next checkpoint covers them, so the interval bounds that window; a
//! whole aggregate created and removed between two checkpoints leaves no
//! trace; and nothing here stops a change, it only shows one. Keep the key
//! in a secret store, the checkpoints copied off the database (export them),
//! and the database's own access controls tight.

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Sha256;
use sqlx::PgPool;

use crate::event_store::chain::{self, Link};

/// Events checked per query.
const PAGE: i64 = 5000;

/// The first thing found wrong.
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

/// The result of a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Nothing is wrong.
    pub ok: bool,
    /// Events whose links were checked.
    pub events_checked: i64,
    /// Events written before chaining began (no hash, nothing after them
    /// hashed): reported, not counted as broken.
    pub unhashed: i64,
    /// Signed checkpoints checked.
    pub checkpoints_checked: i64,
    /// The first problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken: Option<Broken>,
}

/// Where the walk through one aggregate's events stands.
struct Walk {
    key: (String, String),
    expected: i64,
    previous: String,
    hashed: bool,
}

/// Checks every chain, then every checkpoint against the chains.
///
/// # Errors
/// When the database fails.
pub async fn verify(pool: &PgPool, key: &[u8]) -> Result<Verification, sqlx::Error> {
    let mut result = Verification {
        ok: true,
        events_checked: 0,
        unhashed: 0,
        checkpoints_checked: 0,
        first_broken: None,
    };
    let mut walk = Walk {
        key: (String::new(), String::new()),
        expected: 1,
        previous: String::new(),
        hashed: false,
    };
    let mut after = (String::new(), String::new(), 0i64);
    'pages: loop {
        let rows = sqlx::query!(
            r#"SELECT global_position, aggregate_type, aggregate_id, sequence, event_type,
                      event_version, payload, metadata
               FROM events WHERE (aggregate_type, aggregate_id, sequence) > ($1, $2, $3)
               ORDER BY aggregate_type, aggregate_id, sequence LIMIT $4"#,
            after.0,
            after.1,
            after.2,
            PAGE
        )
        .fetch_all(pool)
        .await?;
        let Some(last) = rows.last() else { break };
        after = (
            last.aggregate_type.clone(),
            last.aggregate_id.clone(),
            last.sequence,
        );
        for row in &rows {
            let key = (row.aggregate_type.clone(), row.aggregate_id.clone());
            if key != walk.key {
                walk = Walk {
                    key,
                    expected: 1,
                    previous: String::new(),
                    hashed: false,
                };
            }
            result.events_checked += 1;
            let broken = |reason: String| Broken {
                position: Some(row.global_position),
                aggregate_type: row.aggregate_type.clone(),
                aggregate_id: row.aggregate_id.clone(),
                sequence: row.sequence,
                reason,
            };
            if row.sequence != walk.expected {
                result.first_broken = Some(broken(format!(
                    "event #{} of this aggregate is missing",
                    walk.expected
                )));
                break 'pages;
            }
            walk.expected += 1;
            match chain::recorded(&row.metadata) {
                Some(recorded) => {
                    let computed = chain::hash(
                        Link {
                            aggregate_type: &row.aggregate_type,
                            aggregate_id: &row.aggregate_id,
                            sequence: row.sequence,
                            event_type: &row.event_type,
                            event_version: &row.event_version,
                            payload: &row.payload,
                            metadata: &row.metadata,
                        },
                        &walk.previous,
                    );
                    if computed != recorded {
                        result.first_broken = Some(broken(
                            "the event does not match its hash: it, or the event before it, was changed".into(),
                        ));
                        break 'pages;
                    }
                    walk.previous = computed;
                    walk.hashed = true;
                }
                None if walk.hashed => {
                    result.first_broken = Some(broken(
                        "the event has no hash, but events before it do".into(),
                    ));
                    break 'pages;
                }
                None => result.unhashed += 1,
            }
        }
    }
    if result.first_broken.is_none() {
        check_checkpoints(pool, key, &mut result).await?;
    }
    result.ok = result.first_broken.is_none();
    Ok(result)
}

/// The signature of a checkpoint.
pub fn sign(
    key: &[u8],
    id: i64,
    up_to_tx: &str,
    heads: &Value,
    previous_signature: &str,
) -> String {
    let covered = json!({
        "id": id,
        "up_to_tx": up_to_tx,
        "heads": heads,
        "previous_signature": previous_signature,
    });
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(chain::canonical(&covered).as_bytes());
    domain::signatures::hex(&mac.finalize().into_bytes())
}

/// `[[type, id, sequence, hash], ...]` as a list.
fn heads_of(heads: &Value) -> Vec<(String, String, i64, String)> {
    heads
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

async fn check_checkpoints(
    pool: &PgPool,
    key: &[u8],
    result: &mut Verification,
) -> Result<(), sqlx::Error> {
    let checkpoints = sqlx::query!(
        "SELECT id, up_to_tx, heads, previous_signature, signature FROM chain_checkpoints ORDER BY id"
    )
    .fetch_all(pool)
    .await?;
    let mut previous = String::new();
    let mut latest: HashMap<(String, String), (i64, String, i64)> = HashMap::new();
    for checkpoint in &checkpoints {
        result.checkpoints_checked += 1;
        let expected = sign(
            key,
            checkpoint.id,
            &checkpoint.up_to_tx,
            &checkpoint.heads,
            &previous,
        );
        if checkpoint.previous_signature != previous || checkpoint.signature != expected {
            result.first_broken = Some(Broken {
                position: None,
                aggregate_type: String::new(),
                aggregate_id: String::new(),
                sequence: 0,
                reason: format!(
                    "checkpoint {} is not signed with the chain key, or a checkpoint before it is missing",
                    checkpoint.id
                ),
            });
            return Ok(());
        }
        previous = checkpoint.signature.clone();
        for (kind, id, sequence, hash) in heads_of(&checkpoint.heads) {
            latest.insert((kind, id), (sequence, hash, checkpoint.id));
        }
    }
    let (mut kinds, mut ids, mut sequences) = (Vec::new(), Vec::new(), Vec::new());
    for ((kind, id), (sequence, _, _)) in &latest {
        kinds.push(kind.clone());
        ids.push(id.clone());
        sequences.push(*sequence);
    }
    let found = sqlx::query!(
        r#"SELECT h.kind AS "kind!", h.id AS "id!", h.sequence AS "sequence!", e.metadata ->> 'hash' AS hash,
                  e.global_position AS "position?"
           FROM unnest($1::text[], $2::text[], $3::bigint[]) AS h(kind, id, sequence)
           LEFT JOIN events e
             ON e.aggregate_type = h.kind AND e.aggregate_id = h.id AND e.sequence = h.sequence"#,
        &kinds,
        &ids,
        &sequences
    )
    .fetch_all(pool)
    .await?;
    for row in found {
        let key = (row.kind.clone(), row.id.clone());
        let Some((sequence, hash, checkpoint)) = latest.get(&key) else {
            continue;
        };
        let reason = match (row.position, row.hash.as_deref()) {
            (None, _) => format!(
                "event #{sequence} was in checkpoint {checkpoint} but is gone: the aggregate's latest events were removed"
            ),
            (Some(_), found) if found != Some(hash.as_str()) => format!(
                "event #{sequence} differs from checkpoint {checkpoint}: the chain was rewritten"
            ),
            _ => continue,
        };
        result.first_broken = Some(Broken {
            position: row.position,
            aggregate_type: row.kind,
            aggregate_id: row.id,
            sequence: *sequence,
            reason,
        });
        return Ok(());
    }
    Ok(())
}

/// Records a signed checkpoint of the heads of every aggregate with events
/// committed since the last one; `None` when there were none (or another
/// process recorded the same checkpoint first).
///
/// # Errors
/// When the database fails.
pub async fn checkpoint(pool: &PgPool, key: &[u8]) -> Result<Option<i64>, sqlx::Error> {
    let last = sqlx::query!(
        "SELECT id, up_to_tx, signature FROM chain_checkpoints ORDER BY id DESC LIMIT 1"
    )
    .fetch_optional(pool)
    .await?;
    let (id, from, previous) = match last {
        Some(last) => (last.id + 1, last.up_to_tx, last.signature),
        None => (1, "0".to_string(), String::new()),
    };
    let horizon: String =
        sqlx::query_scalar!(r#"SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS "xmin!""#)
            .fetch_one(pool)
            .await?;
    let rows = sqlx::query!(
        r#"SELECT DISTINCT ON (aggregate_type, aggregate_id)
                  aggregate_type, aggregate_id, sequence, metadata ->> 'hash' AS hash
           FROM events WHERE tx_id >= $1::text::xid8 AND tx_id < $2::text::xid8
           ORDER BY aggregate_type, aggregate_id, sequence DESC"#,
        from,
        horizon
    )
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let heads = Value::Array(
        rows.into_iter()
            .map(|r| {
                json!([
                    r.aggregate_type,
                    r.aggregate_id,
                    r.sequence,
                    r.hash.unwrap_or_default()
                ])
            })
            .collect(),
    );
    let signature = sign(key, id, &horizon, &heads, &previous);
    let inserted = sqlx::query!(
        r#"INSERT INTO chain_checkpoints (id, up_to_tx, heads, previous_signature, signature)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING"#,
        id,
        horizon,
        heads,
        previous,
        signature
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok((inserted == 1).then_some(id))
}
