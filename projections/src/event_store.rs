//! Running commands against aggregates and appending their events.
//!
//! cqrs-es's `CqrsFramework::execute` returns nothing and never retries a
//! lost optimistic-concurrency race, so ifinsure drives the `EventStore`
//! trait itself: load, decide, commit; on `AggregateConflict` re-run the
//! command on fresh state a bounded number of times.

use std::any::Any;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{
    EventStoreAggregateContext, PersistedEventRepository as _, PersistedEventStore,
};
use cqrs_es::{Aggregate, AggregateError, EventEnvelope, EventStore as _};
use postgres_es::PostgresEventRepository;
use sqlx::PgPool;
use tokio::sync::Mutex;

use crate::metadata::CommandMetadata;
use crate::stored_event::{EventRow, StoredEvent, StreamPosition};
use crate::subscription::wakeup::AppendNotifier;

/// How many times a command is run before a conflict is reported.
const MAX_ATTEMPTS: u32 = 8;

/// The outcome of a successful command.
#[derive(Debug)]
pub struct Committed<A: Aggregate> {
    /// The aggregate's state after the command.
    pub aggregate: A,
    /// Its version (number of events) after the command.
    pub version: u64,
    /// The events appended (none when the command changed nothing).
    pub events: Vec<EventEnvelope<A>>,
    /// Where the last appended event stands in the stream, if any.
    pub last_position: Option<StreamPosition>,
}

/// Why a command was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError<E: std::error::Error> {
    /// The aggregate refused it.
    #[error(transparent)]
    Domain(E),
    /// `If-Match` named another version than the current one.
    #[error("expected version {expected}, but the current version is {actual}")]
    VersionMismatch {
        /// What the caller expected.
        expected: u64,
        /// What it is.
        actual: u64,
    },
    /// Still losing races after every attempt.
    #[error("the aggregate kept changing concurrently; gave up after {MAX_ATTEMPTS} attempts")]
    Conflict,
    /// The database failed or an event could not be (de)serialized.
    #[error("event store failure: {0}")]
    Store(String),
}

/// Lock stripes serialising commands on one aggregate within this process.
const STRIPES: usize = 1024;
/// Aggregates kept in memory per stripe.
const CACHED_PER_STRIPE: usize = 8;

/// An aggregate's state as of `version`, kept between commands.
struct Cached {
    state: Box<dyn Any + Send + Sync>,
    version: usize,
}

/// One lock stripe and the aggregates it caches.
#[derive(Default)]
struct Stripe {
    cache: HashMap<(&'static str, String), Cached>,
}

/// The event store: one table, every aggregate.
///
/// Commands on the same aggregate are serialised within a process (by a
/// striped lock), so a hot aggregate does not burn its retries on races with
/// itself; races with other processes are retried. Under that lock the
/// aggregate's last state is cached and only newer events are read, so a
/// long-lived aggregate does not replay its whole history on every command.
#[derive(Clone)]
pub struct EventStore {
    pool: PgPool,
    stripes: Arc<Vec<Mutex<Stripe>>>,
    notifier: Option<AppendNotifier>,
}

impl EventStore {
    /// An event store on `pool`.
    pub fn new(pool: PgPool) -> Self {
        let stripes = (0..STRIPES)
            .map(|_| Mutex::new(Stripe::default()))
            .collect();
        Self {
            pool,
            stripes: Arc::new(stripes),
            notifier: None,
        }
    }

    /// Tells `notifier` after every append, so subscriptions wake at once.
    pub fn with_notifier(mut self, notifier: AppendNotifier) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// The pool underneath.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn stripe(&self, aggregate_type: &str, id: &str) -> &Mutex<Stripe> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (aggregate_type, id).hash(&mut hasher);
        &self.stripes[(hasher.finish() as usize) % STRIPES]
    }

    fn persisted<A: Aggregate>(&self) -> PersistedEventStore<PostgresEventRepository, A> {
        PersistedEventStore::new_event_store(PostgresEventRepository::new(self.pool.clone()))
    }

    /// Runs `command` on aggregate `id`, re-running it on fresh state when a
    /// concurrent writer wins the race, and appends its events with `metadata`.
    ///
    /// `expected_version` (from `If-Match`) is checked against the state the
    /// command runs on; a retry after a lost race fails it, as it should.
    ///
    /// # Errors
    /// See [`ExecuteError`].
    pub async fn execute<A>(
        &self,
        id: &str,
        command: A::Command,
        expected_version: Option<u64>,
        metadata: &CommandMetadata,
    ) -> Result<Committed<A>, ExecuteError<A::Error>>
    where
        A: Aggregate<Services = ()> + Clone + 'static,
        A::Command: Clone,
    {
        self.run(id, command, expected_version, metadata, false)
            .await
    }

    /// Runs the first command of an aggregate whose id this process has just
    /// minted (a new UUID v7): nothing can exist under it, so the first
    /// attempt skips loading. Should the id exist after all, the append
    /// conflicts and the command is re-run on the loaded state as usual.
    ///
    /// # Errors
    /// See [`ExecuteError`].
    pub async fn execute_new<A>(
        &self,
        id: &str,
        command: A::Command,
        metadata: &CommandMetadata,
    ) -> Result<Committed<A>, ExecuteError<A::Error>>
    where
        A: Aggregate<Services = ()> + Clone + 'static,
        A::Command: Clone,
    {
        self.run(id, command, None, metadata, true).await
    }

    #[tracing::instrument(skip_all, fields(aggregate_type = A::TYPE, aggregate_id = %id))]
    async fn run<A>(
        &self,
        id: &str,
        command: A::Command,
        expected_version: Option<u64>,
        metadata: &CommandMetadata,
        fresh: bool,
    ) -> Result<Committed<A>, ExecuteError<A::Error>>
    where
        A: Aggregate<Services = ()> + Clone + 'static,
        A::Command: Clone,
    {
        let store = self.persisted::<A>();
        let mut stripe = self.stripe(A::TYPE, id).lock().await;
        let key = (A::TYPE, id.to_string());
        for attempt in 1..=MAX_ATTEMPTS {
            let mut context = if fresh && attempt == 1 {
                EventStoreAggregateContext {
                    aggregate_id: id.to_string(),
                    aggregate: A::default(),
                    current_sequence: 0,
                    current_snapshot: None,
                }
            } else {
                self.load_context::<A>(&store, &mut stripe, &key).await?
            };
            let version = context.current_sequence as u64;
            if let Some(expected) = expected_version {
                if expected != version {
                    return Err(ExecuteError::VersionMismatch {
                        expected,
                        actual: version,
                    });
                }
            }
            let sink = EventSink::default();
            context
                .aggregate
                .handle(command.clone(), &(), &sink)
                .await
                .map_err(ExecuteError::Domain)?;
            let events = sink.collect().await;
            if events.is_empty() {
                return Ok(Committed {
                    aggregate: context.aggregate,
                    version,
                    events: vec![],
                    last_position: None,
                });
            }
            let aggregate = context.aggregate.clone();
            match store.commit(events, context, metadata.to_map()).await {
                Ok(envelopes) => {
                    let version = envelopes.last().map_or(version, |e| e.sequence as u64);
                    remember(&mut stripe, key, aggregate.clone(), version as usize);
                    if let Some(notifier) = &self.notifier {
                        notifier.appended();
                    }
                    let last_position = self.position_of(A::TYPE, id, version).await?;
                    return Ok(Committed {
                        aggregate,
                        version,
                        events: envelopes,
                        last_position: Some(last_position),
                    });
                }
                Err(AggregateError::AggregateConflict) => {
                    tracing::debug!(attempt, "lost a concurrent write; retrying on fresh state");
                    backoff(attempt).await;
                }
                Err(other) => {
                    stripe.cache.remove(&key);
                    return Err(store_error(other));
                }
            }
        }
        Err(ExecuteError::Conflict)
    }

    /// The aggregate's context: the cached state brought up to date with the
    /// events appended since (by other processes), or a full replay.
    async fn load_context<A>(
        &self,
        store: &PersistedEventStore<PostgresEventRepository, A>,
        stripe: &mut Stripe,
        key: &(&'static str, String),
    ) -> Result<EventStoreAggregateContext<A>, ExecuteError<A::Error>>
    where
        A: Aggregate + Clone + 'static,
    {
        let cached = stripe
            .cache
            .get(key)
            .and_then(|c| c.state.downcast_ref::<A>().map(|a| (a.clone(), c.version)));
        let Some((mut aggregate, mut version)) = cached else {
            return store.load_aggregate(&key.1).await.map_err(store_error);
        };
        let newer = PostgresEventRepository::new(self.pool.clone())
            .get_last_events::<A>(&key.1, version)
            .await
            .map_err(|e| ExecuteError::Store(e.to_string()))?;
        for serialized in newer {
            let envelope = EventEnvelope::<A>::try_from(serialized)
                .map_err(|e| ExecuteError::Store(e.to_string()))?;
            version = envelope.sequence;
            aggregate.apply(envelope.payload);
        }
        Ok(EventStoreAggregateContext {
            aggregate_id: key.1.clone(),
            aggregate,
            current_sequence: version,
            current_snapshot: None,
        })
    }

    /// The current state and version of an aggregate, replayed from its events.
    ///
    /// # Errors
    /// When the store fails or an event does not deserialize.
    pub async fn load<A: Aggregate>(&self, id: &str) -> Result<(A, u64), ExecuteError<A::Error>> {
        let context = self
            .persisted::<A>()
            .load_aggregate(id)
            .await
            .map_err(store_error)?;
        Ok((context.aggregate, context.current_sequence as u64))
    }

    async fn position_of<E: std::error::Error>(
        &self,
        aggregate_type: &str,
        id: &str,
        sequence: u64,
    ) -> Result<StreamPosition, ExecuteError<E>> {
        let row = sqlx::query!(
            r#"SELECT tx_id::text::bigint AS "tx_id!", global_position FROM events
               WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence = $3"#,
            aggregate_type,
            id,
            sequence as i64
        )
        .fetch_one(&self.pool)
        .await
        .map_err(|e| ExecuteError::Store(e.to_string()))?;
        Ok(StreamPosition {
            tx_id: row.tx_id,
            position: row.global_position,
        })
    }

    /// Every event of one aggregate, in sequence order.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn events_of(
        &self,
        aggregate_type: &str,
        id: &str,
    ) -> Result<Vec<StoredEvent>, sqlx::Error> {
        let rows = sqlx::query_as!(
            EventRow,
            r#"SELECT tx_id::text::bigint AS "tx_id!", global_position, aggregate_type, aggregate_id,
                      sequence, event_type, event_version, payload, metadata, recorded_at
               FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence"#,
            aggregate_type,
            id
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(StoredEvent::from).collect())
    }
}

/// Caches `aggregate` at `version`, evicting another entry if the stripe is full.
fn remember<A: Aggregate + 'static>(
    stripe: &mut Stripe,
    key: (&'static str, String),
    aggregate: A,
    version: usize,
) {
    if stripe.cache.len() >= CACHED_PER_STRIPE && !stripe.cache.contains_key(&key) {
        if let Some(victim) = stripe.cache.keys().next().cloned() {
            stripe.cache.remove(&victim);
        }
    }
    stripe.cache.insert(
        key,
        Cached {
            state: Box::new(aggregate),
            version,
        },
    );
}

fn store_error<E: std::error::Error>(error: AggregateError<E>) -> ExecuteError<E> {
    match error {
        AggregateError::UserError(e) => ExecuteError::Domain(e),
        AggregateError::AggregateConflict => ExecuteError::Conflict,
        other => ExecuteError::Store(other.to_string()),
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
