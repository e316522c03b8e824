//! The subscription runtime: for each subscriber, win its lock, then handle
//! batches of events until shutdown, each batch in one transaction with its
//! checkpoint.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::progress::Progress;
use super::shutdown::Shutdown;
use super::wakeup::Wakeups;
use super::{checkpoint, reader, Subscriber};
use crate::dead_letters;
use crate::event_store::seal::Seals;
use crate::stored_event::StreamPosition;

/// Tuning of a runtime.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Most events handled in one transaction.
    pub batch_size: i64,
    /// Fallback poll when no notification arrives.
    pub poll_interval: Duration,
    /// How often a follower tries to take over a subscription.
    pub lock_retry_interval: Duration,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            batch_size: 500,
            poll_interval: Duration::from_secs(2),
            lock_retry_interval: Duration::from_secs(2),
        }
    }
}

/// What one batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    /// Events handled.
    pub handled: usize,
    /// The checkpoint after it.
    pub position: StreamPosition,
}

/// A subscriber failed on one event; the batch was rolled back.
#[derive(Debug, thiserror::Error)]
#[error("{subscription} failed on event {global_position} ({aggregate_type} {aggregate_id} #{sequence})")]
pub struct EventFailed {
    /// The subscription.
    pub subscription: String,
    /// The event's place in the stream.
    pub position: StreamPosition,
    /// Its global position.
    pub global_position: i64,
    /// Its aggregate's type.
    pub aggregate_type: String,
    /// Its aggregate.
    pub aggregate_id: String,
    /// Its sequence in the aggregate.
    pub sequence: i64,
    /// What went wrong.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// Another consumer advanced the checkpoint under us: our batch was rolled back.
#[derive(Debug, thiserror::Error)]
#[error("subscription `{0}` was advanced by another consumer; batch rolled back")]
pub struct LostOwnership(pub String);

/// Handles the next batch of `subscriber` on `conn` (which must be inside a
/// transaction the caller commits), starting from its stored checkpoint.
///
/// # Errors
/// A database or subscriber failure, or [`LostOwnership`].
pub async fn apply_batch(
    conn: &mut PgConnection,
    seals: &Seals,
    subscriber: &dyn Subscriber,
    limit: i64,
) -> anyhow::Result<Batch> {
    let from = checkpoint::load(conn, subscriber.name()).await?;
    let events = reader::read_after(conn, from, limit).await?;
    apply_events(conn, seals, subscriber, from, &events).await
}

/// Hands `events` (read after `from`) to `subscriber` on `conn` and moves the
/// checkpoint from `from` to the last of them (compare-and-set). Each event
/// of a type the subscriber handles is checked against its seal first: one
/// that fails stops the subscription there (it is not handled, and is
/// reported as tampering), so a forged event never reaches its read model.
///
/// # Errors
/// A database or subscriber failure, an event that fails its check, or
/// [`LostOwnership`].
async fn apply_events(
    conn: &mut PgConnection,
    seals: &Seals,
    subscriber: &dyn Subscriber,
    from: StreamPosition,
    events: &[crate::stored_event::StoredEvent],
) -> anyhow::Result<Batch> {
    let name = subscriber.name();
    let Some(last) = events.last() else {
        return Ok(Batch {
            handled: 0,
            position: from,
        });
    };
    let to = last.stream_position();
    let handled: Vec<&crate::stored_event::StoredEvent> = events
        .iter()
        .filter(|e| subscriber.handles(&e.aggregate_type))
        .collect();
    seals.check_all(conn, &handled).await?;
    for event in events {
        subscriber
            .handle(conn, event)
            .await
            .map_err(|error| EventFailed {
                subscription: name.to_string(),
                position: event.stream_position(),
                global_position: event.global_position,
                aggregate_type: event.aggregate_type.clone(),
                aggregate_id: event.aggregate_id.clone(),
                sequence: event.sequence,
                source: error.into(),
            })?;
    }
    if !checkpoint::advance(conn, name, from, to, events.len() as i64).await? {
        return Err(LostOwnership(name.to_string()).into());
    }
    Ok(Batch {
        handled: events.len(),
        position: to,
    })
}

/// Where a leading consumer stands: how far it has read, and what its stored
/// checkpoint says (behind while it passes over events it does not handle).
#[derive(Debug, Clone, Copy)]
pub struct Cursor {
    /// The last event read.
    pub read: StreamPosition,
    /// The stored checkpoint.
    pub stored: StreamPosition,
    stored_at: Instant,
    /// Events passed over since the checkpoint was stored.
    unstored: i64,
}

impl Cursor {
    /// A cursor at the stored checkpoint `at`.
    pub fn at(at: StreamPosition) -> Self {
        Self {
            read: at,
            stored: at,
            stored_at: Instant::now(),
            unstored: 0,
        }
    }
}

/// How often a checkpoint is stored while only unhandled events pass by.
const PASS_OVER_STORE_INTERVAL: Duration = Duration::from_secs(1);

/// Reads the events after `cursor.read` (outside any transaction, so an
/// empty poll costs one query). If some are the subscriber's, handles them
/// in one transaction that also moves the stored checkpoint (compare-and-set
/// from `cursor.stored`). If none are, passes over them without a
/// transaction, storing the checkpoint at most once a second: after a crash
/// they are read again and passed over again. Returns the events read.
///
/// # Errors
/// As [`apply_events`]; the transaction is rolled back.
pub async fn advance(
    pool: &PgPool,
    seals: &Seals,
    subscriber: &dyn Subscriber,
    cursor: &mut Cursor,
    limit: i64,
) -> anyhow::Result<usize> {
    let events = {
        let mut conn = pool.acquire().await?;
        reader::read_after(&mut conn, cursor.read, limit).await?
    };
    let Some(last) = events.last() else {
        return Ok(0);
    };
    let to = last.stream_position();
    let relevant: Vec<_> = events
        .iter()
        .filter(|e| subscriber.handles(&e.aggregate_type))
        .cloned()
        .collect();
    let passed = (events.len() - relevant.len()) as i64 + cursor.unstored;
    if relevant.is_empty() {
        if cursor.stored_at.elapsed() >= PASS_OVER_STORE_INTERVAL {
            let mut conn = pool.acquire().await?;
            let moved =
                checkpoint::advance(&mut conn, subscriber.name(), cursor.stored, to, passed)
                    .await?;
            if !moved {
                return Err(LostOwnership(subscriber.name().to_string()).into());
            }
            cursor.stored = to;
            cursor.stored_at = Instant::now();
            cursor.unstored = 0;
        } else {
            cursor.unstored = passed;
        }
        cursor.read = to;
        return Ok(events.len());
    }
    let mut tx = pool.begin().await?;
    if !subscriber.durable_commit() {
        sqlx::query!("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
    }
    let batch = apply_events(&mut tx, seals, subscriber, cursor.stored, &relevant).await?;
    if batch.position != to {
        // Unhandled events follow the last handled one: count them and move past them too.
        if !checkpoint::advance(&mut tx, subscriber.name(), batch.position, to, passed).await? {
            return Err(LostOwnership(subscriber.name().to_string()).into());
        }
    } else if passed > 0 {
        checkpoint::count_passed(&mut tx, subscriber.name(), passed).await?;
    }
    tx.commit().await?;
    cursor.read = to;
    cursor.stored = to;
    cursor.stored_at = Instant::now();
    cursor.unstored = 0;
    Ok(events.len())
}

/// Longest pause before looking again when events wait behind a transaction
/// in flight (which may not be an appender, so no notice comes when it ends).
const UNSETTLED_RECHECK_MAX: Duration = Duration::from_millis(50);

/// How often an idle consumer looks for dead letters an admin re-drove.
const REDRIVE_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// How often a leader checks that its lock's connection is alive.
const LOCK_CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// Handles the next batch of `subscriber` in its own transaction.
///
/// # Errors
/// As [`apply_batch`]; the transaction is rolled back.
pub async fn run_batch(
    pool: &PgPool,
    seals: &Seals,
    subscriber: &dyn Subscriber,
    limit: i64,
) -> anyhow::Result<Batch> {
    let mut tx = pool.begin().await?;
    let batch = apply_batch(&mut tx, seals, subscriber, limit).await?;
    if batch.handled > 0 {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(batch)
}

/// Runs a set of subscribers against one database.
pub struct SubscriptionRuntime {
    pool: PgPool,
    seals: Seals,
    subscribers: Vec<Arc<dyn Subscriber>>,
    wakeups: Wakeups,
    progress: Progress,
    config: RuntimeConfig,
}

impl SubscriptionRuntime {
    /// A runtime for `subscribers`, reading events checked with `seals`,
    /// woken through `wakeups`, reporting to `progress`.
    pub fn new(
        pool: PgPool,
        seals: Seals,
        subscribers: Vec<Arc<dyn Subscriber>>,
        wakeups: Wakeups,
        progress: Progress,
        config: RuntimeConfig,
    ) -> Self {
        Self {
            pool,
            seals,
            subscribers,
            wakeups,
            progress,
            config,
        }
    }

    /// Starts one task per subscriber; they stop on `shutdown`.
    pub fn spawn(self, shutdown: Shutdown) -> Vec<JoinHandle<()>> {
        self.subscribers
            .iter()
            .map(|subscriber| {
                let consumer = Consumer {
                    pool: self.pool.clone(),
                    seals: self.seals.clone(),
                    subscriber: subscriber.clone(),
                    wake: self.wakeups.register(),
                    progress: self.progress.clone(),
                    config: self.config.clone(),
                    shutdown: shutdown.clone(),
                };
                tokio::spawn(consumer.run())
            })
            .collect()
    }
}

struct Consumer {
    pool: PgPool,
    seals: Seals,
    subscriber: Arc<dyn Subscriber>,
    wake: Arc<Notify>,
    progress: Progress,
    config: RuntimeConfig,
    shutdown: Shutdown,
}

impl Consumer {
    #[tracing::instrument(skip_all, fields(subscription = %self.subscriber.name()))]
    async fn run(self) {
        while !self.shutdown.is_triggered() {
            match self.lead().await {
                Ok(true) => {}
                Ok(false) => self.pause(self.config.lock_retry_interval).await,
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "subscription interrupted; retrying"
                    );
                    self.pause(self.config.lock_retry_interval).await;
                }
            }
        }
    }

    /// Takes the subscription's lock and consumes until shutdown or until the
    /// lock's connection fails. Returns `false` when another process holds it.
    async fn lead(&self) -> anyhow::Result<bool> {
        let mut lock_conn = self.pool.acquire().await?.detach();
        let key = format!("ifinsure.subscription.{}", self.subscriber.name());
        let acquired = sqlx::query_scalar!(
            r#"SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS "acquired!""#,
            key
        )
        .fetch_one(&mut lock_conn)
        .await?;
        if !acquired {
            lock_conn.close().await.ok();
            return Ok(false);
        }
        tracing::info!("consuming");
        let result = self.consume(&mut lock_conn).await;
        let _ = sqlx::query_scalar!("SELECT pg_advisory_unlock(hashtextextended($1, 0))", key)
            .fetch_one(&mut lock_conn)
            .await;
        lock_conn.close().await.ok();
        result.map(|()| true)
    }

    async fn consume(&self, lock_conn: &mut PgConnection) -> anyhow::Result<()> {
        let name = self.subscriber.name();
        let mut cursor = Cursor::at(self.load_checkpoint().await?);
        let mut failures = 0u32;
        let mut idle_pause = Duration::from_millis(2);
        let mut last_ping = Instant::now();
        let mut last_redrive_check = Instant::now()
            .checked_sub(REDRIVE_CHECK_INTERVAL)
            .unwrap_or_else(Instant::now);
        while !self.shutdown.is_triggered() {
            // After a failure, one event at a time: the failing one is then
            // the next, and can be given up on without skipping others.
            let limit = if failures > 0 {
                1
            } else {
                self.config.batch_size
            };
            let result = advance(
                &self.pool,
                &self.seals,
                self.subscriber.as_ref(),
                &mut cursor,
                limit,
            )
            .await;
            if last_ping.elapsed() > LOCK_CHECK_INTERVAL {
                lock_conn
                    .ping()
                    .await
                    .context("subscription lock connection lost")?;
                last_ping = Instant::now();
            }
            match result {
                Ok(read) if read > 0 => {
                    failures = 0;
                    idle_pause = Duration::from_millis(2);
                    self.progress.update(name, cursor.read);
                    tracing::debug!(read, position = cursor.read.position, "batch");
                }
                Ok(_) => {
                    failures = 0;
                    // Idle: store how far it passed over others' events (at
                    // most once a second), so its checkpoint, and the lag
                    // shown, is not left behind.
                    if cursor.stored_at.elapsed() >= PASS_OVER_STORE_INTERVAL {
                        self.store_passed(&mut cursor).await;
                    }
                    let unsettled = {
                        let mut conn = self.pool.acquire().await?;
                        reader::has_unsettled(&mut conn).await?
                    };
                    if unsettled {
                        // Events exist behind a transaction still in flight: look again soon.
                        self.wait(idle_pause).await;
                        idle_pause = (idle_pause * 2).min(UNSETTLED_RECHECK_MAX);
                    } else {
                        idle_pause = Duration::from_millis(2);
                        let redriven = if last_redrive_check.elapsed() >= REDRIVE_CHECK_INTERVAL {
                            last_redrive_check = Instant::now();
                            self.redrive().await?
                        } else {
                            false
                        };
                        if !redriven {
                            self.wait(self.config.poll_interval).await;
                        }
                    }
                }
                Err(error) if error.is::<LostOwnership>() => {
                    // Moved under us (a rebuild swapped its tables in): carry on from there.
                    tracing::info!("checkpoint moved by another writer; reloading it");
                    cursor = Cursor::at(self.load_checkpoint().await?);
                }
                Err(error) => {
                    failures += 1;
                    if let Some(failed) = error.downcast_ref::<EventFailed>() {
                        let limit = self.subscriber.gives_up_after().map(|n| n.max(2));
                        if limit.is_some_and(|limit| failures >= limit) {
                            self.give_up(&mut cursor, failed, &error, failures).await?;
                            failures = 0;
                            continue;
                        }
                    }
                    let pause = Duration::from_millis(100 * 2u64.pow(failures.min(6)));
                    tracing::error!(
                        error = format!("{error:#}"),
                        failures,
                        "batch failed; will retry"
                    );
                    self.pause(pause).await;
                }
            }
        }
        self.store_passed(&mut cursor).await;
        Ok(())
    }

    /// Gives up on the event `failed` (the next one, as the last attempts
    /// read one at a time): a dead letter and the checkpoint moved past it,
    /// in one transaction.
    async fn give_up(
        &self,
        cursor: &mut Cursor,
        failed: &EventFailed,
        error: &anyhow::Error,
        attempts: u32,
    ) -> anyhow::Result<()> {
        let name = self.subscriber.name();
        let event_id = crate::stored_event::event_id(failed.global_position);
        let job_id = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_OID,
            format!("{name}/{event_id}").as_bytes(),
        );
        let mut tx = self.pool.begin().await?;
        let message = format!("{error:#}");
        dead_letters::record(&mut *tx, name, job_id, &event_id, &message, attempts as i32).await?;
        if !checkpoint::advance(&mut tx, name, cursor.stored, failed.position, 1).await? {
            return Err(LostOwnership(name.to_string()).into());
        }
        tx.commit().await?;
        tracing::error!(error = message, attempts, event = %event_id, "gave up on an event: dead letter");
        *cursor = Cursor::at(failed.position);
        self.progress.update(name, failed.position);
        Ok(())
    }

    /// Handles one re-driven dead letter of this subscription, if an admin
    /// asked for one: its event in a transaction that also marks it redone.
    /// A failure opens the letter again. Returns whether one was handled.
    async fn redrive(&self) -> anyhow::Result<bool> {
        let name = self.subscriber.name();
        let mut tx = self.pool.begin().await?;
        let Some(letter) = dead_letters::take_redrive(&mut tx, name).await? else {
            return Ok(false);
        };
        let result = match reader::at(&mut tx, &self.seals, letter.global_position).await? {
            Some(event) => self.subscriber.handle(&mut tx, &event).await,
            None => Err(anyhow::anyhow!(
                "event {} not found",
                letter.global_position
            )),
        };
        match result {
            Ok(()) => {
                dead_letters::mark_redone(&mut tx, letter.id).await?;
                tx.commit().await?;
                tracing::info!(letter = %letter.id, "re-driven dead letter handled");
                Ok(true)
            }
            Err(error) => {
                tx.rollback().await?;
                let message = format!("{error:#}");
                tracing::warn!(letter = %letter.id, error = message, "re-driven dead letter failed again");
                dead_letters::reopen(&self.pool, letter.id, &message).await?;
                Ok(false)
            }
        }
    }

    /// Stores how far it passed over events it does not handle (when idle,
    /// and on the way out; otherwise the next consumer reads them again,
    /// harmlessly).
    async fn store_passed(&self, cursor: &mut Cursor) {
        if cursor.read == cursor.stored {
            return;
        }
        if let Ok(mut conn) = self.pool.acquire().await {
            let stored = checkpoint::advance(
                &mut conn,
                self.subscriber.name(),
                cursor.stored,
                cursor.read,
                cursor.unstored,
            )
            .await;
            if matches!(stored, Ok(true)) {
                *cursor = Cursor::at(cursor.read);
            }
        }
    }

    async fn load_checkpoint(&self) -> anyhow::Result<StreamPosition> {
        let mut conn = self.pool.acquire().await?;
        checkpoint::ensure(&mut conn, self.subscriber.name()).await?;
        let position = checkpoint::load(&mut conn, self.subscriber.name()).await?;
        self.progress.reset(self.subscriber.name(), position);
        Ok(position)
    }

    /// Waits for a wake-up, `timeout`, or shutdown.
    async fn wait(&self, timeout: Duration) {
        tokio::select! {
            () = self.wake.notified() => {}
            () = tokio::time::sleep(timeout) => {}
            () = self.shutdown.wait() => {}
        }
    }

    /// Waits `timeout` or shutdown.
    async fn pause(&self, timeout: Duration) {
        self.shutdown.sleep(timeout).await;
    }
}
