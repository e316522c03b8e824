//! Deciding the commands queued for one aggregate and appending all their
//! events in one transaction.

use std::collections::HashMap;
use std::time::Duration;

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{EventStoreAggregateContext, SerializedEvent};
use cqrs_es::{Aggregate, EventEnvelope};
use tokio::sync::oneshot;

use super::seal::{self, Walk};
use super::stripes::{Key, Stripe};
use super::{Committed, Conditions, EventStore, ExecuteError, Guard, UniqueClaim};
use crate::metadata::{CommandMetadata, BUSINESS_DATE};
use crate::stored_event::StreamPosition;

/// How many times commands are decided before a conflict is reported.
pub(super) const MAX_ATTEMPTS: u32 = 8;

/// Where an appended event landed, and when it was recorded.
type Landed = (StreamPosition, chrono::DateTime<chrono::Utc>);

type Reply<A> = oneshot::Sender<Result<Committed<A>, ExecuteError<<A as Aggregate>::Error>>>;

/// A command waiting for its aggregate.
pub(crate) struct Pending<A: Aggregate> {
    pub(super) command: A::Command,
    pub(super) conditions: Conditions,
    pub(super) metadata: CommandMetadata,
    /// The business date the command was decided on (recorded with its
    /// events as `business_date`, the date reports count them on).
    pub(super) business_date: chrono::NaiveDate,
    pub(super) reply: Reply<A>,
}

/// What deciding one command gave.
enum Outcome<A: Aggregate> {
    Refused(ExecuteError<A::Error>),
    Unchanged {
        aggregate: A,
        version: u64,
    },
    Appended {
        aggregate: A,
        version: u64,
        events: Vec<EventEnvelope<A>>,
    },
}

impl EventStore {
    /// Decides `queued` (commands on one aggregate, in arrival order) and
    /// appends every resulting event in one transaction, then replies to each.
    pub(super) async fn decide_and_append<A>(
        &self,
        stripe: &mut Stripe,
        key: &Key,
        mut queued: Vec<Pending<A>>,
    ) where
        A: Aggregate<Services = ()> + Clone + 'static,
        A::Command: Clone + Send + Sync,
        A::Error: Send,
    {
        // Commands whose caller is gone are not run.
        queued.retain(|p| !p.reply.is_closed());
        if queued.is_empty() {
            return;
        }
        for attempt in 1..=MAX_ATTEMPTS {
            let context = if attempt == 1 && queued[0].conditions.fresh {
                Ok((
                    EventStoreAggregateContext {
                        aggregate_id: key.1.clone(),
                        aggregate: A::default(),
                        current_sequence: 0,
                        current_snapshot: None,
                    },
                    Some(String::new()),
                ))
            } else {
                self.load_context::<A>(stripe, key).await
            };
            let (context, last_hash) = match context {
                Ok(loaded) => loaded,
                Err(Failure::Store(error)) => return reply_all(queued, &error),
                Err(Failure::Tampered(broken)) => return tampered(queued, &broken),
            };
            let decided = match decide(context, &queued).await {
                Ok(decided) => decided,
                Err(error) => return reply_all(queued, &error),
            };
            if decided.serialized.is_empty() {
                return answer(queued, decided.outcomes, &HashMap::new());
            }
            let Decided {
                outcomes,
                serialized,
                claims,
                guards,
                state,
                version,
            } = decided;
            match self
                .append(key, &serialized, &claims, &guards, last_hash)
                .await
            {
                Ok((positions, hash)) => {
                    stripe.remember(key, state, version, Some(hash));
                    if let Some(notifier) = &self.notifier {
                        notifier.appended();
                    }
                    return answer(queued, outcomes, &positions);
                }
                Err(Appending::Conflict) => {
                    tracing::debug!(
                        attempt,
                        "lost a concurrent write; deciding again on fresh state"
                    );
                    backoff(attempt).await;
                }
                Err(Appending::ClaimTaken) => {
                    // Refuse the commands whose claims are held elsewhere and
                    // decide the others again.
                    let taken = match self.taken(&claims).await {
                        Ok(taken) => taken,
                        Err(error) => return reply_all(queued, &error.to_string()),
                    };
                    queued = refuse(queued, |conditions| {
                        let claim = conditions.claims.iter().find(|c| taken.contains(c))?;
                        Some(ExecuteError::Taken {
                            kind: claim.kind.to_string(),
                            value: claim.value.clone(),
                        })
                    });
                    if queued.is_empty() {
                        return;
                    }
                }
                Err(Appending::Changed(changed)) => {
                    // Refuse the commands decided on an aggregate that has
                    // changed since, and decide the others again.
                    queued = refuse(queued, |conditions| {
                        let guard = conditions.guards.iter().find(|g| changed.contains(g))?;
                        Some(ExecuteError::Changed {
                            aggregate_type: guard.aggregate_type,
                            aggregate_id: guard.aggregate_id.clone(),
                        })
                    });
                    if queued.is_empty() {
                        return;
                    }
                }
                Err(Appending::Failed(error)) => {
                    stripe.forget(key);
                    return reply_all(queued, &error.to_string());
                }
            }
        }
        for pending in queued {
            let _ = pending.reply.send(Err(ExecuteError::Conflict));
        }
    }

    /// The aggregate's state: the cached one brought up to date with the
    /// events appended since (by other processes), or a full replay, every
    /// event read checked against its seal and the one before it; and its
    /// last event's seal (what the next one names as `previous`).
    async fn load_context<A>(
        &self,
        stripe: &Stripe,
        key: &Key,
    ) -> Result<(EventStoreAggregateContext<A>, Option<String>), Failure>
    where
        A: Aggregate + Clone + 'static,
    {
        let (mut aggregate, walk) = match stripe.cached::<A>(key) {
            Some((aggregate, version, head)) => (
                aggregate,
                Walk::resume(version as i64, head.unwrap_or_default()),
            ),
            None => (A::default(), Walk::default()),
        };
        let (walk, newer) = self
            .checked_events::<A::Error>(key.0, &key.1, walk)
            .await
            .map_err(|error| match error {
                ExecuteError::Tampered(broken) => Failure::Tampered(broken),
                other => Failure::Store(other.to_string()),
            })?;
        for event in newer {
            aggregate.apply(
                event
                    .decode()
                    .map_err(|e| Failure::Store(format!("event {}: {e}", event.global_position)))?,
            );
        }
        let context = EventStoreAggregateContext {
            aggregate_id: key.1.clone(),
            aggregate,
            current_sequence: walk.version() as usize,
            current_snapshot: None,
        };
        Ok((context, Some(walk.head().to_string())))
    }

    /// Appends `events` (all of `key`, consecutive sequences), reserves
    /// `claims` for it, and returns where each event landed in the stream,
    /// by sequence; only if every one of `guards` still holds.
    ///
    /// Without guards this is postgres-es's insert made one round trip: the
    /// same table and columns, every row in one `INSERT ... SELECT FROM
    /// unnest(...)`, an implicit transaction, and the positions
    /// `RETURNING`ed instead of read back. A sequence already taken (the
    /// events' primary key) means another process appended first; a claim
    /// already taken refuses the statement whole, so no claim is ever held
    /// without its events. Every append holds its aggregate's advisory lock
    /// until it commits (see [`Self::append_guarded`] for why).
    async fn append(
        &self,
        key: &Key,
        events: &[SerializedEvent],
        claims: &[UniqueClaim],
        guards: &[Guard],
        previous: Option<String>,
    ) -> Result<(HashMap<usize, Landed>, String), Appending> {
        let recorded_at = seal::now();
        let metadata = self
            .sealed(key, events, previous, recorded_at)
            .await
            .map_err(Appending::Failed)?;
        let last_hash = metadata
            .last()
            .and_then(seal::link_value)
            .unwrap_or_default()
            .to_string();
        let rows = if guards.is_empty() {
            insert(&self.pool, key, events, &metadata, recorded_at, claims)
                .await
                .map(Ok)
        } else {
            self.append_guarded(key, events, &metadata, recorded_at, claims, guards)
                .await
        }
        .map_err(|error| match &error {
            sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
                if db.constraint() == Some("unique_claims_pkey") {
                    Appending::ClaimTaken
                } else {
                    Appending::Conflict
                }
            }
            _ => Appending::Failed(error),
        })?;
        let rows = match rows {
            Ok(rows) => rows,
            Err(changed) => return Err(Appending::Changed(changed)),
        };
        Ok((rows.into_iter().collect(), last_hash))
    }

    /// The guarded append, in one transaction: the advisory locks of the
    /// guarded aggregates and of this one (in one order, so two guarded
    /// appends cannot deadlock), then the guarded aggregates' versions
    /// read, then the insert. A write to a guarded aggregate holds its lock
    /// from before its insert to its commit, so it either committed before
    /// the versions were read (and is seen) or waits until this append
    /// has committed (and comes after it in the stream).
    async fn append_guarded(
        &self,
        key: &Key,
        events: &[SerializedEvent],
        metadata: &[serde_json::Value],
        recorded_at: chrono::DateTime<chrono::Utc>,
        claims: &[UniqueClaim],
        guards: &[Guard],
    ) -> Result<Result<Vec<(usize, Landed)>, Vec<Guard>>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let mut locks: Vec<String> = guards
            .iter()
            .map(|g| lock_name(g.aggregate_type, &g.aggregate_id))
            .chain(std::iter::once(lock_name(key.0, &key.1)))
            .collect();
        locks.sort();
        locks.dedup();
        for lock in &locks {
            sqlx::query!(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                AGGREGATE_LOCKS,
                lock
            )
            .execute(&mut *tx)
            .await?;
        }
        let types: Vec<String> = guards
            .iter()
            .map(|g| g.aggregate_type.to_string())
            .collect();
        let ids: Vec<String> = guards.iter().map(|g| g.aggregate_id.clone()).collect();
        let current = sqlx::query!(
            r#"SELECT g.aggregate_type AS "aggregate_type!", g.aggregate_id AS "aggregate_id!",
                      coalesce(max(e.sequence), 0) AS "version!"
               FROM unnest($1::text[], $2::text[]) AS g(aggregate_type, aggregate_id)
               LEFT JOIN events e
                 ON e.aggregate_type = g.aggregate_type AND e.aggregate_id = g.aggregate_id
               GROUP BY 1, 2"#,
            &types,
            &ids
        )
        .fetch_all(&mut *tx)
        .await?;
        let changed: Vec<Guard> = guards
            .iter()
            .filter(|g| {
                !current.iter().any(|c| {
                    c.aggregate_type == g.aggregate_type
                        && c.aggregate_id == g.aggregate_id
                        && c.version == g.version as i64
                })
            })
            .cloned()
            .collect();
        if !changed.is_empty() {
            return Ok(Err(changed));
        }
        let rows = insert(&mut *tx, key, events, metadata, recorded_at, claims).await?;
        tx.commit().await?;
        Ok(Ok(rows))
    }

    /// `events`' metadata sealed ([`seal`]), each naming the one before,
    /// from `previous` (the seal of the event before the first of them,
    /// read here when not known), all recorded at `recorded_at`. If another
    /// process appends that event meanwhile, the insert loses the race on
    /// its sequence and is decided again.
    async fn sealed(
        &self,
        key: &Key,
        events: &[SerializedEvent],
        previous: Option<String>,
        recorded_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<serde_json::Value>, sqlx::Error> {
        let first = events.first().map_or(1, |e| e.sequence as i64);
        let mut previous = if let Some(known) = previous {
            known
        } else if first > 1 {
            sqlx::query_scalar!(
                r#"SELECT coalesce(metadata ->> 'seal', metadata ->> 'hash') AS link FROM events
                   WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence = $3"#,
                key.0,
                key.1,
                first - 1
            )
            .fetch_optional(&self.pool)
            .await?
            .flatten()
            .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(events
            .iter()
            .map(|event| {
                let metadata = self.seals.key().sealed(
                    super::chain::Link {
                        aggregate_type: key.0,
                        aggregate_id: &key.1,
                        sequence: event.sequence as i64,
                        event_type: &event.event_type,
                        event_version: &event.event_version,
                        payload: &event.payload,
                        metadata: &event.metadata,
                    },
                    &previous,
                    recorded_at,
                );
                previous = metadata[seal::SEAL]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                metadata
            })
            .collect())
    }

    /// Which of `claims` are held already.
    async fn taken(&self, claims: &[UniqueClaim]) -> Result<Vec<UniqueClaim>, sqlx::Error> {
        let kinds: Vec<String> = claims.iter().map(|c| c.kind.to_string()).collect();
        let values: Vec<String> = claims.iter().map(|c| c.value.clone()).collect();
        let held = sqlx::query!(
            r#"SELECT u.kind, u.value FROM unique_claims u
               JOIN unnest($1::text[], $2::text[]) AS c(kind, value)
                 ON u.kind = c.kind AND u.value = c.value"#,
            &kinds,
            &values
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(claims
            .iter()
            .filter(|c| held.iter().any(|h| h.kind == c.kind && h.value == c.value))
            .cloned()
            .collect())
    }
}

/// The advisory lock class of aggregates (the two-key form, apart from the
/// one-key locks of subscriptions and jobs).
const AGGREGATE_LOCKS: i32 = 1701;

/// The name whose hash is an aggregate's lock.
fn lock_name(aggregate_type: &str, aggregate_id: &str) -> String {
    format!("{aggregate_type}/{aggregate_id}")
}

/// The insert of [`EventStore::append`] (through `executor`, a pool or a
/// transaction): the aggregate's lock, the claims and the events in one
/// statement. The lock is an init plan, taken before any row is written.
async fn insert<'c>(
    executor: impl sqlx::PgExecutor<'c>,
    key: &Key,
    events: &[SerializedEvent],
    metadata: &[serde_json::Value],
    recorded_at: chrono::DateTime<chrono::Utc>,
    claims: &[UniqueClaim],
) -> Result<Vec<(usize, Landed)>, sqlx::Error> {
    let sequences: Vec<i64> = events.iter().map(|e| e.sequence as i64).collect();
    let event_types: Vec<String> = events.iter().map(|e| e.event_type.clone()).collect();
    let event_versions: Vec<String> = events.iter().map(|e| e.event_version.clone()).collect();
    let payloads: Vec<serde_json::Value> = events.iter().map(|e| e.payload.clone()).collect();
    let claim_kinds: Vec<String> = claims.iter().map(|c| c.kind.to_string()).collect();
    let claim_values: Vec<String> = claims.iter().map(|c| c.value.clone()).collect();
    let rows = sqlx::query!(
        r#"WITH claimed AS (
               INSERT INTO unique_claims (kind, value, aggregate_id)
               SELECT c.kind, c.value, $2 FROM unnest($8::text[], $9::text[]) AS c(kind, value)
           )
           INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata,
                               recorded_at)
           SELECT $1, $2, e.sequence, e.event_type, e.event_version, e.payload, e.metadata, $11
           FROM unnest($3::bigint[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[])
                AS e(sequence, event_type, event_version, payload, metadata)
           WHERE (SELECT pg_advisory_xact_lock($10, hashtext($1 || '/' || $2))) IS NOT NULL
           RETURNING sequence, tx_id::text::bigint AS "tx_id!", global_position, recorded_at"#,
        key.0,
        key.1,
        &sequences,
        &event_types,
        &event_versions,
        &payloads,
        metadata,
        &claim_kinds,
        &claim_values,
        AGGREGATE_LOCKS,
        recorded_at
    )
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let position = StreamPosition {
                tx_id: r.tx_id,
                position: r.global_position,
            };
            (r.sequence as usize, (position, r.recorded_at))
        })
        .collect())
}

/// Why an append did not happen.
enum Appending {
    /// Another process appended to the aggregate first.
    Conflict,
    /// A unique claim is held by another aggregate.
    ClaimTaken,
    /// These guarded aggregates have changed.
    Changed(Vec<Guard>),
    /// The database failed.
    Failed(sqlx::Error),
}

/// The commands of a batch decided: each one's outcome, the events to
/// append and what their append must reserve and check.
struct Decided<A: Aggregate> {
    outcomes: Vec<Outcome<A>>,
    serialized: Vec<SerializedEvent>,
    claims: Vec<UniqueClaim>,
    guards: Vec<Guard>,
    state: A,
    version: usize,
}

/// Decides each command on the state the previous ones left.
async fn decide<A>(
    context: EventStoreAggregateContext<A>,
    queued: &[Pending<A>],
) -> Result<Decided<A>, String>
where
    A: Aggregate<Services = ()> + Clone,
    A::Command: Clone,
{
    let mut state = context.aggregate;
    let mut version = context.current_sequence;
    let mut outcomes = Vec::with_capacity(queued.len());
    let mut serialized = Vec::new();
    let mut claims = Vec::new();
    let mut guards: Vec<Guard> = Vec::new();
    for pending in queued {
        if let Some(expected) = pending.conditions.expected_version {
            if expected != version as u64 {
                outcomes.push(Outcome::Refused(ExecuteError::VersionMismatch {
                    expected,
                    actual: version as u64,
                }));
                continue;
            }
        }
        let mut candidate = state.clone();
        let sink = EventSink::default();
        if let Err(error) = candidate.handle(pending.command.clone(), &(), &sink).await {
            outcomes.push(Outcome::Refused(ExecuteError::Domain(error)));
            continue;
        }
        let events = sink.collect().await;
        if events.is_empty() {
            outcomes.push(Outcome::Unchanged {
                aggregate: state.clone(),
                version: version as u64,
            });
            continue;
        }
        let mut metadata = pending.metadata.to_map();
        metadata.insert(BUSINESS_DATE.to_string(), pending.business_date.to_string());
        let envelopes: Vec<EventEnvelope<A>> = events
            .into_iter()
            .map(|payload| {
                version += 1;
                EventEnvelope {
                    aggregate_id: context.aggregate_id.clone(),
                    sequence: version,
                    payload,
                    metadata: metadata.clone(),
                }
            })
            .collect();
        for envelope in &envelopes {
            serialized.push(SerializedEvent::try_from(envelope).map_err(|e| e.to_string())?);
        }
        claims.extend(pending.conditions.claims.iter().cloned());
        for guard in &pending.conditions.guards {
            if !guards.contains(guard) {
                guards.push(guard.clone());
            }
        }
        state = candidate;
        outcomes.push(Outcome::Appended {
            aggregate: state.clone(),
            version: version as u64,
            events: envelopes,
        });
    }
    Ok(Decided {
        outcomes,
        serialized,
        claims,
        guards,
        state,
        version,
    })
}

fn answer<A: Aggregate>(
    queued: Vec<Pending<A>>,
    outcomes: Vec<Outcome<A>>,
    positions: &HashMap<usize, Landed>,
) {
    for (pending, outcome) in queued.into_iter().zip(outcomes) {
        let result = match outcome {
            Outcome::Refused(error) => Err(error),
            Outcome::Unchanged { aggregate, version } => Ok(Committed {
                aggregate,
                version,
                events: vec![],
                last_position: None,
                recorded_at: None,
            }),
            Outcome::Appended {
                aggregate,
                version,
                events,
            } => {
                let landed = positions.get(&(version as usize)).copied();
                Ok(Committed {
                    aggregate,
                    version,
                    last_position: landed.map(|(position, _)| position),
                    recorded_at: landed.map(|(_, at)| at),
                    events,
                })
            }
        };
        let _ = pending.reply.send(result);
    }
}

/// Answers the commands `refusal` refuses (with its error) and returns the
/// others, to be decided again.
fn refuse<A: Aggregate>(
    queued: Vec<Pending<A>>,
    refusal: impl Fn(&Conditions) -> Option<ExecuteError<A::Error>>,
) -> Vec<Pending<A>> {
    let mut rest = Vec::with_capacity(queued.len());
    for pending in queued {
        match refusal(&pending.conditions) {
            Some(error) => {
                let _ = pending.reply.send(Err(error));
            }
            None => rest.push(pending),
        }
    }
    rest
}

/// Why an aggregate could not be loaded.
enum Failure {
    /// The database failed, or an event did not deserialize.
    Store(String),
    /// An event failed its check.
    Tampered(super::seal::Broken),
}

fn tampered<A: Aggregate>(queued: Vec<Pending<A>>, broken: &super::seal::Broken) {
    tracing::error!(%broken, "tampering detected: nothing is decided on this aggregate");
    for pending in queued {
        let _ = pending
            .reply
            .send(Err(ExecuteError::Tampered(broken.clone())));
    }
}

fn reply_all<A: Aggregate>(queued: Vec<Pending<A>>, error: &str) {
    tracing::error!(error, "event store failure");
    for pending in queued {
        let _ = pending
            .reply
            .send(Err(ExecuteError::Store(error.to_string())));
    }
}

/// A short, jittered pause so racing writers spread out.
async fn backoff(attempt: u32) {
    let base_us = 1_000u64 << attempt.min(6);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    let jitter_us = nanos % base_us;
    tokio::time::sleep(Duration::from_micros(base_us + jitter_us)).await;
}
