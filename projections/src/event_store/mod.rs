//! Running commands against aggregates and appending their events.
//!
//! cqrs-es's `CqrsFramework::execute` returns nothing and never retries a
//! lost optimistic-concurrency race, so ifinsure drives the aggregate itself,
//! loads through postgres-es's repository, and appends to postgres-es's
//! table with one statement of its own (see `batch::append`):
//!
//! - Commands on one aggregate are **serialised within a process** (a striped
//!   lock), so a hot aggregate does not waste its retries racing itself.
//! - One task at a time drains an aggregate's queue; the commands that queued
//!   while it appended the previous batch are **decided together and appended
//!   in one transaction** (group commit per aggregate), each with its own
//!   metadata and its own reply. One command's refusal does not affect the
//!   others.
//! - Under the lock the aggregate's last state is **cached**; only newer
//!   events are read, so a long-lived aggregate does not replay its history on
//!   every command.
//! - A race lost to another process (`OptimisticLockError`) re-decides the
//!   commands on fresh state, a bounded number of times.
//! - The work runs in its own task: a client that disconnects cannot cancel
//!   other clients' commands half-way.
//! - A command decided on another aggregate's state (an agent acting for a
//!   customer assigned to them) carries a [`Guard`]: its events are appended
//!   only if that aggregate is still at the version the decision read. Every
//!   append holds its aggregate's lock until it commits, and a guarded
//!   append takes its guards' locks before it checks them, so no write to a
//!   guarded aggregate slips between the check and the append.

mod batch;
pub mod chain;
pub mod seal;
mod stripes;

use std::sync::Arc;

use cqrs_es::{Aggregate, EventEnvelope};
use sqlx::PgPool;
use tokio::sync::oneshot;

use crate::clock::{Clock, SystemClock};
use crate::metadata::CommandMetadata;
use crate::stored_event::{StoredEvent, StreamPosition};
use crate::subscription::wakeup::AppendNotifier;
use batch::Pending;
use stripes::Stripes;

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
    /// When the appended events were recorded, if any.
    pub recorded_at: Option<chrono::DateTime<chrono::Utc>>,
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
    /// A value that must be unique across aggregates is taken already.
    #[error("{kind} {value} is taken")]
    Taken {
        /// What kind of value (`product_code`, ...).
        kind: String,
        /// The value.
        value: String,
    },
    /// An aggregate the command was decided on ([`Guard`]) changed before
    /// the command's events could be appended; nothing was appended.
    #[error("{aggregate_type} {aggregate_id} changed while the command was decided")]
    Changed {
        /// Its type.
        aggregate_type: &'static str,
        /// Its id.
        aggregate_id: String,
    },
    /// Still losing races after every attempt.
    #[error(
        "the aggregate kept changing concurrently; gave up after {} attempts",
        batch::MAX_ATTEMPTS
    )]
    Conflict,
    /// An event of the aggregate failed its check (its seal, its chain):
    /// nothing is decided on it.
    #[error("tampering detected: {0}; an auditor should run `ifinsure audit verify`")]
    Tampered(seal::Broken),
    /// The database failed or an event could not be (de)serialized.
    #[error("event store failure: {0}")]
    Store(String),
}

/// A value only one aggregate may hold (a product code), reserved in the
/// same statement that appends the aggregate's events, so it is held exactly
/// when they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueClaim {
    /// What kind of value, e.g. `product_code`.
    pub kind: &'static str,
    /// The value.
    pub value: String,
}

/// Another aggregate's state a command was decided on: its events are
/// appended only while that aggregate is still at `version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    /// The aggregate's type.
    pub aggregate_type: &'static str,
    /// Its id.
    pub aggregate_id: String,
    /// The version the decision read.
    pub version: u64,
}

/// What must hold for a command's events to be appended, beyond the
/// aggregate's own decision.
#[derive(Debug, Clone, Default)]
pub(crate) struct Conditions {
    /// `If-Match`: the aggregate's version the caller saw.
    pub(crate) expected_version: Option<u64>,
    /// The id was just minted: nothing can exist under it yet.
    pub(crate) fresh: bool,
    /// Unique values reserved with the events.
    pub(crate) claims: Vec<UniqueClaim>,
    /// Other aggregates that must not have changed.
    pub(crate) guards: Vec<Guard>,
}

/// The event store: one table, every aggregate.
#[derive(Clone)]
pub struct EventStore {
    pool: PgPool,
    seals: seal::Seals,
    stripes: Stripes,
    notifier: Option<AppendNotifier>,
    clock: Arc<dyn Clock>,
}

impl EventStore {
    /// An event store on `pool`, sealing and checking events with `key`
    /// (`CHAIN_KEY`).
    pub fn new(pool: PgPool, key: seal::SealKey) -> Self {
        Self {
            pool,
            seals: seal::Seals::new(key),
            stripes: Stripes::new(),
            notifier: None,
            clock: Arc::new(SystemClock::default()),
        }
    }

    /// The key and cut-over events are sealed and checked with.
    pub fn seals(&self) -> &seal::Seals {
        &self.seals
    }

    /// Dates each event with `clock`'s business date (`metadata.business_date`);
    /// the system clock's otherwise.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
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

    /// Runs `command` on aggregate `id` and appends its events with `metadata`,
    /// re-deciding it on fresh state when another process wins a race.
    ///
    /// `expected_version` (from `If-Match`) is checked against the state the
    /// command is decided on.
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
        A::Command: Clone + Send + Sync + 'static,
        A::Error: Send,
    {
        self.execute_guarded(id, command, expected_version, Vec::new(), metadata)
            .await
    }

    /// As [`EventStore::execute`], appending only while every one of
    /// `guards` still holds.
    ///
    /// # Errors
    /// [`ExecuteError::Changed`] when a guarded aggregate has changed;
    /// otherwise see [`ExecuteError`].
    pub async fn execute_guarded<A>(
        &self,
        id: &str,
        command: A::Command,
        expected_version: Option<u64>,
        guards: Vec<Guard>,
        metadata: &CommandMetadata,
    ) -> Result<Committed<A>, ExecuteError<A::Error>>
    where
        A: Aggregate<Services = ()> + Clone + 'static,
        A::Command: Clone + Send + Sync + 'static,
        A::Error: Send,
    {
        let conditions = Conditions {
            expected_version,
            guards,
            ..Conditions::default()
        };
        self.submit(id, command, conditions, metadata).await
    }

    /// Runs the first command of an aggregate whose id this process has just
    /// minted (a new UUID v7): nothing can exist under it, so the first
    /// attempt skips loading. Should the id exist after all, the append
    /// conflicts and the command is re-decided on the loaded state as usual.
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
        A::Command: Clone + Send + Sync + 'static,
        A::Error: Send,
    {
        self.execute_new_guarded(id, command, Vec::new(), metadata)
            .await
    }

    /// As [`EventStore::execute_new`], appending only while every one of
    /// `guards` still holds.
    ///
    /// # Errors
    /// [`ExecuteError::Changed`] when a guarded aggregate has changed;
    /// otherwise see [`ExecuteError`].
    pub async fn execute_new_guarded<A>(
        &self,
        id: &str,
        command: A::Command,
        guards: Vec<Guard>,
        metadata: &CommandMetadata,
    ) -> Result<Committed<A>, ExecuteError<A::Error>>
    where
        A: Aggregate<Services = ()> + Clone + 'static,
        A::Command: Clone + Send + Sync + 'static,
        A::Error: Send,
    {
        let conditions = Conditions {
            fresh: true,
            guards,
            ..Conditions::default()
        };
        self.submit(id, command, conditions, metadata).await
    }

    /// As [`EventStore::execute_new`], also reserving `claims` for the new
    /// aggregate in the same statement as its events: either both are
    /// stored, or neither.
    ///
    /// # Errors
    /// [`ExecuteError::Taken`] when a claim is held by another aggregate;
    /// otherwise see [`ExecuteError`].
    pub async fn execute_new_claiming<A>(
        &self,
        id: &str,
        command: A::Command,
        claims: Vec<UniqueClaim>,
        metadata: &CommandMetadata,
    ) -> Result<Committed<A>, ExecuteError<A::Error>>
    where
        A: Aggregate<Services = ()> + Clone + 'static,
        A::Command: Clone + Send + Sync + 'static,
        A::Error: Send,
    {
        let conditions = Conditions {
            fresh: true,
            claims,
            ..Conditions::default()
        };
        self.submit(id, command, conditions, metadata).await
    }

    #[tracing::instrument(skip_all, fields(aggregate_type = A::TYPE, aggregate_id = %id))]
    async fn submit<A>(
        &self,
        id: &str,
        command: A::Command,
        conditions: Conditions,
        metadata: &CommandMetadata,
    ) -> Result<Committed<A>, ExecuteError<A::Error>>
    where
        A: Aggregate<Services = ()> + Clone + 'static,
        A::Command: Clone + Send + Sync + 'static,
        A::Error: Send,
    {
        let (reply, answer) = oneshot::channel();
        let key = (A::TYPE, id.to_string());
        let pending = Pending::<A> {
            command,
            conditions,
            metadata: metadata.clone(),
            business_date: self.clock.today(),
            reply,
        };
        if self.stripes.enqueue(&key, pending) {
            // Nobody is draining this aggregate's queue: start a task that
            // decides whatever has queued since its last batch, until none has.
            let store = self.clone();
            tokio::spawn(async move {
                loop {
                    let queued = store.stripes.next_batch::<A>(&key);
                    if queued.is_empty() {
                        break;
                    }
                    let mut stripe = store.stripes.lock(&key).await;
                    store.decide_and_append(&mut stripe, &key, queued).await;
                }
            });
        }
        answer
            .await
            .unwrap_or_else(|_| Err(ExecuteError::Store("the command was abandoned".into())))
    }

    /// The current state and version of an aggregate, replayed from its
    /// events, each checked against its seal and the one before it.
    ///
    /// # Errors
    /// When the store fails, an event does not deserialize, or an event
    /// fails its check ([`ExecuteError::Tampered`]).
    pub async fn load<A: Aggregate>(&self, id: &str) -> Result<(A, u64), ExecuteError<A::Error>> {
        let mut aggregate = A::default();
        let (walk, events) = self
            .checked_events::<A::Error>(A::TYPE, id, seal::Walk::default())
            .await?;
        for event in events {
            aggregate.apply(
                event
                    .decode()
                    .map_err(|e| ExecuteError::Store(e.to_string()))?,
            );
        }
        Ok((aggregate, walk.version() as u64))
    }

    /// Every event of `aggregate_type` `id`, each checked against its seal
    /// and chain (the history a page shows).
    ///
    /// # Errors
    /// When the store fails, or an event fails its check.
    pub async fn history<E: std::error::Error>(
        &self,
        aggregate_type: &str,
        id: &str,
    ) -> Result<Vec<StoredEvent>, ExecuteError<E>> {
        let (_, events) = self
            .checked_events(aggregate_type, id, seal::Walk::default())
            .await?;
        Ok(events)
    }

    /// The events of `aggregate_type` `id` after those `walk` has passed,
    /// each checked as `walk` continues; and the walk after them.
    ///
    /// # Errors
    /// When the store fails, or an event fails its check.
    pub(crate) async fn checked_events<E: std::error::Error>(
        &self,
        aggregate_type: &str,
        id: &str,
        mut walk: seal::Walk,
    ) -> Result<(seal::Walk, Vec<StoredEvent>), ExecuteError<E>> {
        let store = |e: sqlx::Error| ExecuteError::Store(e.to_string());
        let mut conn = self.pool.acquire().await.map_err(store)?;
        let cutover = self.seals.cutover(&mut conn).await.map_err(store)?;
        drop(conn);
        let events = self
            .events_after(aggregate_type, id, walk.version())
            .await
            .map_err(store)?;
        for event in &events {
            walk.step(self.seals.key(), cutover, event)
                .map_err(ExecuteError::Tampered)?;
        }
        Ok((walk, events))
    }

    /// The events of one aggregate after `version`, in sequence order.
    async fn events_after(
        &self,
        aggregate_type: &str,
        id: &str,
        version: i64,
    ) -> Result<Vec<StoredEvent>, sqlx::Error> {
        sqlx::query_as!(
            StoredEvent,
            r#"SELECT tx_id::text::bigint AS "tx_id!", global_position, aggregate_type, aggregate_id,
                      sequence, event_type, event_version, payload, metadata, recorded_at
               FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3
               ORDER BY sequence"#,
            aggregate_type,
            id,
            version
        )
        .fetch_all(&self.pool)
        .await
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
        sqlx::query_as!(
            StoredEvent,
            r#"SELECT tx_id::text::bigint AS "tx_id!", global_position, aggregate_type, aggregate_id,
                      sequence, event_type, event_version, payload, metadata, recorded_at
               FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence"#,
            aggregate_type,
            id
        )
        .fetch_all(&self.pool)
        .await
    }
}
