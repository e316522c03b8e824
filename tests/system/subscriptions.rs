//! The subscription runtime against a real PostgreSQL: gap safety under
//! concurrent writers, exactly-once after a crash, single consumer with
//! failover, and rebuilds equal to live processing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use projections::read_models::{products::ProductsProjection, Projection, ProjectionSubscriber};
use projections::subscription::{
    rebuild::rebuild, wakeup, Progress, RuntimeConfig, Shutdown, Subscriber, SubscriptionRuntime,
    Wakeups,
};
use projections::StoredEvent;
use sqlx::{PgConnection, PgPool};

use crate::common::{caught_up, eventually, TestDb};

/// Records every event it handles in `seen`, counting applications.
struct Recorder {
    name: String,
    instance: &'static str,
    handled: Arc<AtomicUsize>,
    delay: Duration,
    only: Option<&'static str>,
}

impl Recorder {
    fn new(name: &str, instance: &'static str) -> Self {
        Self {
            name: name.into(),
            instance,
            handled: Arc::new(AtomicUsize::new(0)),
            delay: Duration::ZERO,
            only: None,
        }
    }
}

#[async_trait]
impl Subscriber for Recorder {
    fn name(&self) -> &str {
        &self.name
    }

    fn handles(&self, aggregate_type: &str) -> bool {
        self.only.is_none_or(|only| only == aggregate_type)
    }

    async fn handle(&self, conn: &mut PgConnection, event: &StoredEvent) -> anyhow::Result<()> {
        assert!(
            self.handles(&event.aggregate_type),
            "handed an event it does not handle"
        );
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        sqlx::query(
            "INSERT INTO seen (position, instance) VALUES ($1, $2) \
             ON CONFLICT (position) DO UPDATE SET applied = seen.applied + 1",
        )
        .bind(event.stream_position().position)
        .bind(self.instance)
        .execute(conn)
        .await?;
        self.handled.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

async fn create_seen(pool: &PgPool) {
    sqlx::query("CREATE TABLE seen (position bigint PRIMARY KEY, instance text NOT NULL, applied int NOT NULL DEFAULT 1)")
        .execute(pool)
        .await
        .unwrap();
}

/// Appends one event to a test aggregate, holding the transaction open for
/// `hold` after the insert (so its position commits late).
async fn append(pool: &PgPool, aggregate: &str, sequence: i64, hold: Duration) {
    append_typed(pool, "Test", aggregate, sequence, hold).await;
}

async fn append_typed(
    pool: &PgPool,
    aggregate_type: &str,
    aggregate: &str,
    sequence: i64,
    hold: Duration,
) {
    // Sealed as the service seals, or no reader would take it.
    let at = projections::event_store::seal::now();
    let (payload, metadata) = (serde_json::json!({}), serde_json::json!({}));
    let sealed = crate::common::store(pool).seals().key().sealed(
        projections::event_store::chain::Link {
            aggregate_type,
            aggregate_id: aggregate,
            sequence,
            event_type: "Tested",
            event_version: "1.0",
            payload: &payload,
            metadata: &metadata,
        },
        "",
        at,
    );
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, recorded_at) \
         VALUES ($3, $1, $2, 'Tested', '1.0', '{}', $4, $5)",
    )
    .bind(aggregate)
    .bind(sequence)
    .bind(aggregate_type)
    .bind(sealed)
    .bind(at)
    .execute(&mut *tx)
    .await
    .unwrap();
    if !hold.is_zero() {
        tokio::time::sleep(hold).await;
    }
    tx.commit().await.unwrap();
}

fn fast_config(batch_size: i64) -> RuntimeConfig {
    RuntimeConfig {
        batch_size,
        poll_interval: Duration::from_millis(200),
        lock_retry_interval: Duration::from_millis(100),
    }
}

struct Runtime {
    shutdown: Shutdown,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn start(pool: &PgPool, subscriber: Arc<dyn Subscriber>, config: RuntimeConfig) -> Runtime {
    let shutdown = Shutdown::new();
    let wakeups = Wakeups::default();
    let progress = Progress::new();
    let mut tasks = vec![tokio::spawn(wakeup::listen(
        pool.clone(),
        wakeups.clone(),
        progress.clone(),
        shutdown.clone(),
    ))];
    tasks.extend(
        SubscriptionRuntime::new(
            pool.clone(),
            crate::common::store(pool).seals().clone(),
            vec![subscriber],
            wakeups,
            progress,
            config,
        )
        .spawn(shutdown.clone()),
    );
    Runtime { shutdown, tasks }
}

async fn wait_until_seen(pool: &PgPool, expected: i64) {
    eventually(
        &format!("the subscription to see {expected} events"),
        || async {
            let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM seen")
                .fetch_one(pool)
                .await
                .unwrap();
            (seen >= expected).then_some(())
        },
    )
    .await;
}

async fn assert_exactly_once(pool: &PgPool) {
    let (seen, events, max_applied): (i64, i64, i32) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM seen), (SELECT count(*) FROM events), (SELECT coalesce(max(applied), 0) FROM seen)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(seen, events, "every event handled");
    assert_eq!(max_applied, 1, "no event handled twice");
    let missing: i64 = sqlx::query_scalar("SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM seen s WHERE s.position = e.global_position)")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(missing, 0);
}

#[tokio::test]
async fn late_committing_writers_are_never_skipped() {
    let db = TestDb::new().await;
    create_seen(&db.pool).await;
    let runtime = start(
        &db.pool,
        Arc::new(Recorder::new("gaps", "a")),
        fast_config(7),
    );
    let mut writers = Vec::new();
    for writer in 0..20 {
        let pool = db.pool.clone();
        writers.push(tokio::spawn(async move {
            for sequence in 1..=10 {
                // Every third writer holds its transaction open, so positions
                // taken earlier commit after later ones.
                let hold = if writer % 3 == 0 && sequence % 4 == 1 {
                    Duration::from_millis(300)
                } else {
                    Duration::ZERO
                };
                append(&pool, &format!("agg-{writer}"), sequence, hold).await;
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    wait_until_seen(&db.pool, 200).await;
    // Its checkpoint at the head: every batch is committed, none is left
    // to be handled again.
    caught_up(&db.pool, "gaps").await;
    assert_exactly_once(&db.pool).await;
    runtime.shutdown.trigger();
}

#[tokio::test]
async fn a_consumer_killed_mid_batch_loses_nothing_and_repeats_nothing() {
    let db = TestDb::new().await;
    create_seen(&db.pool).await;
    for sequence in 1..=300 {
        append(&db.pool, "agg", sequence, Duration::ZERO).await;
    }
    let mut slow = Recorder::new("crash", "first");
    slow.delay = Duration::from_millis(2);
    let handled = slow.handled.clone();
    let first = start(&db.pool, Arc::new(slow), fast_config(40));
    // Wait until it is inside a batch that has not committed.
    let deadline = tokio::time::Instant::now() + crate::common::PATIENCE;
    loop {
        let n = handled.load(Ordering::SeqCst);
        if n > 60 && !n.is_multiple_of(40) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never inside a batch"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    for task in &first.tasks {
        task.abort();
    }
    let committed: i64 = sqlx::query_scalar("SELECT count(*) FROM seen")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(
        committed < handled.load(Ordering::SeqCst) as i64,
        "the kill interrupted a batch"
    );

    let second = start(
        &db.pool,
        Arc::new(Recorder::new("crash", "second")),
        fast_config(40),
    );
    wait_until_seen(&db.pool, 300).await;
    caught_up(&db.pool, "crash").await;
    assert_exactly_once(&db.pool).await;
    second.shutdown.trigger();
}

#[tokio::test]
async fn one_runtime_consumes_and_the_other_takes_over_when_it_stops() {
    let db = TestDb::new().await;
    create_seen(&db.pool).await;
    append(&db.pool, "agg", 1, Duration::ZERO).await;
    let first = start(
        &db.pool,
        Arc::new(Recorder::new("shared", "first")),
        fast_config(10),
    );
    wait_until_seen(&db.pool, 1).await;
    let second = start(
        &db.pool,
        Arc::new(Recorder::new("shared", "second")),
        fast_config(10),
    );
    // The second tries the lock every 100 ms while the first handles what
    // follows, and must never get it.
    for sequence in 2..=30 {
        append(&db.pool, "agg", sequence, Duration::ZERO).await;
    }
    wait_until_seen(&db.pool, 30).await;
    let by_second: i64 = sqlx::query_scalar("SELECT count(*) FROM seen WHERE instance = 'second'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        by_second, 0,
        "only the first runtime consumes while it runs"
    );

    first.shutdown.trigger();
    for task in first.tasks {
        task.await.unwrap();
    }
    for sequence in 31..=40 {
        append(&db.pool, "agg", sequence, Duration::ZERO).await;
    }
    wait_until_seen(&db.pool, 40).await;
    let by_second: i64 = sqlx::query_scalar("SELECT count(*) FROM seen WHERE instance = 'second'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        by_second, 10,
        "the second runtime took over where the first stopped"
    );
    assert_exactly_once(&db.pool).await;
    second.shutdown.trigger();
}

async fn products_snapshot(pool: &PgPool) -> String {
    sqlx::query_scalar("SELECT coalesce(json_agg(p ORDER BY p.id)::text, '[]') FROM products p")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_rebuild_equals_live_processing_and_keeps_following_the_stream() {
    use domain::product::{Line, NewProduct, Product, ProductCommand};
    use domain::{Currency, Money};

    let db = TestDb::new().await;
    let store = crate::common::store(&db.pool);
    let meta = projections::CommandMetadata::system("test");
    let kes = |s: &str| Money::new(s.parse().unwrap(), Currency::KES).unwrap();
    let live = start(
        &db.pool,
        Arc::new(ProjectionSubscriber::live(Arc::new(ProductsProjection))),
        fast_config(5),
    );
    let mut ids = Vec::new();
    for i in 0..12 {
        let id = uuid::Uuid::now_v7().to_string();
        let define = ProductCommand::DefineProduct(NewProduct {
            code: format!("P{i}"),
            name: format!("Product {i}"),
            line: Line::Travel,
            description: String::new(),
            currency: Currency::KES,
            rate: "0.01".parse().unwrap(),
            minimum_premium: kes("100"),
            sum_insured_min: kes("1000"),
            sum_insured_max: kes("100000"),
            term_months: 12,
            commission_rate: rust_decimal::Decimal::ZERO,
        });
        store
            .execute::<Product>(&id, define, None, &meta)
            .await
            .unwrap();
        if i % 2 == 0 {
            let reprice = ProductCommand::Reprice {
                rate: "0.02".parse().unwrap(),
                minimum_premium: kes("150.50"),
            };
            store
                .execute::<Product>(&id, reprice, None, &meta)
                .await
                .unwrap();
        }
        if i % 3 == 0 {
            store
                .execute::<Product>(
                    &id,
                    ProductCommand::Retire {
                        reason: Some("old".into()),
                    },
                    None,
                    &meta,
                )
                .await
                .unwrap();
        }
        ids.push(id);
    }
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    eventually("the products projection to handle every event", || async {
        let handled: Option<i64> = sqlx::query_scalar(
            "SELECT events_handled FROM subscription_checkpoints WHERE name = 'products'",
        )
        .fetch_optional(&db.pool)
        .await
        .unwrap();
        (handled == Some(total)).then_some(())
    })
    .await;
    let before = products_snapshot(&db.pool).await;
    assert_eq!(before.matches("\"code\"").count(), 12);

    let mut reports = 0;
    let store = crate::common::store(&db.pool);
    let replayed = rebuild(
        &db.pool,
        store.seals(),
        Arc::new(ProductsProjection),
        4,
        |_| reports += 1,
    )
    .await
    .unwrap();
    assert_eq!(replayed as i64, total);
    assert!(reports >= 2, "progress was reported");
    assert_eq!(
        products_snapshot(&db.pool).await,
        before,
        "byte-identical read model"
    );

    // The live subscription carries on from the rebuilt checkpoint.
    store
        .execute::<Product>(
            &ids[1],
            ProductCommand::Retire { reason: None },
            None,
            &meta,
        )
        .await
        .unwrap();
    eventually(
        "the live projection to follow the stream after the rebuild",
        || async {
            let status: String =
                sqlx::query_scalar("SELECT status FROM products WHERE id = $1::uuid")
                    .bind(&ids[1])
                    .fetch_one(&db.pool)
                    .await
                    .unwrap();
            (status == "retired").then_some(())
        },
    )
    .await;
    live.shutdown.trigger();
    let shadow: bool = sqlx::query_scalar("SELECT to_regclass('products__rebuild') IS NOT NULL")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(!shadow, "no shadow table left behind");
    let handled: i64 = sqlx::query_scalar(
        "SELECT events_handled FROM subscription_checkpoints WHERE name = 'products'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(handled, total + 1);
}

#[test]
fn the_projection_registry_names_are_unique() {
    let names: Vec<_> = projections::read_models::all()
        .iter()
        .map(|p| p.name())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(names.len(), sorted.len());
    assert!(ProductsProjection.tables().contains(&"products"));
}

#[tokio::test]
async fn events_of_other_aggregate_types_are_passed_over_and_counted_once() {
    let db = TestDb::new().await;
    create_seen(&db.pool).await;
    for sequence in 1..=20 {
        let kind = if sequence % 4 == 0 { "Wanted" } else { "Other" };
        append_typed(&db.pool, kind, kind, sequence, Duration::ZERO).await;
    }
    let mut picky = Recorder::new("picky", "first");
    picky.only = Some("Wanted");
    let first = start(&db.pool, Arc::new(picky), fast_config(3));
    wait_until_seen(&db.pool, 5).await;
    // Only other types follow: passed over, not handled.
    for sequence in 21..=30 {
        append_typed(&db.pool, "Other", "Other", sequence, Duration::ZERO).await;
    }
    // It stores how far it passed over them (at most once a second).
    caught_up(&db.pool, "picky").await;
    first.shutdown.trigger();
    for task in first.tasks {
        task.await.unwrap();
    }
    let counted = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT events_handled FROM subscription_checkpoints WHERE name = 'picky'",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap()
    };
    assert_eq!(
        counted().await,
        30,
        "every event read is counted, handled or passed over"
    );

    let mut picky = Recorder::new("picky", "second");
    picky.only = Some("Wanted");
    let second = start(&db.pool, Arc::new(picky), fast_config(3));
    append_typed(&db.pool, "Wanted", "Wanted2", 1, Duration::ZERO).await;
    wait_until_seen(&db.pool, 6).await;
    caught_up(&db.pool, "picky").await;
    let (seen, max_applied): (i64, i32) = sqlx::query_as("SELECT count(*), max(applied) FROM seen")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!((seen, max_applied), (6, 1), "only wanted events, each once");
    second.shutdown.trigger();
    for task in second.tasks {
        task.await.unwrap();
    }
    assert_eq!(counted().await, 31);
}

/// Fails on the events of aggregate `Poison` while `broken`, gives up after
/// three failures in a row.
struct Poisoned {
    inner: Recorder,
    broken: Arc<std::sync::atomic::AtomicBool>,
}

#[async_trait]
impl Subscriber for Poisoned {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn gives_up_after(&self) -> Option<u32> {
        Some(3)
    }

    async fn handle(&self, conn: &mut PgConnection, event: &StoredEvent) -> anyhow::Result<()> {
        if event.aggregate_id == "Poison" && self.broken.load(Ordering::SeqCst) {
            anyhow::bail!("cannot handle this one yet");
        }
        self.inner.handle(conn, event).await
    }
}

async fn letters(pool: &PgPool) -> Vec<projections::dead_letters::DeadLetter> {
    projections::dead_letters::open(pool, None, 10)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_worker_gives_up_on_an_event_it_keeps_failing_on_moves_on_and_handles_it_when_re_driven()
{
    let db = TestDb::new().await;
    create_seen(&db.pool).await;
    for sequence in 1..=10 {
        let aggregate = if sequence == 5 { "Poison" } else { "Fine" };
        append(&db.pool, aggregate, sequence, Duration::ZERO).await;
    }
    let broken = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let subscriber = Poisoned {
        inner: Recorder::new("poisoned", "first"),
        broken: broken.clone(),
    };
    let runtime = start(&db.pool, Arc::new(subscriber), fast_config(4));
    // Every other event is handled: the bad one does not hold them up.
    wait_until_seen(&db.pool, 9).await;
    let open = letters(&db.pool).await;
    assert_eq!(open.len(), 1, "{open:?}");
    let letter = &open[0];
    let poison: i64 =
        sqlx::query_scalar("SELECT global_position FROM events WHERE aggregate_id = 'Poison'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(letter.worker, "poisoned");
    assert_eq!(letter.event_id, format!("event:{poison}"));
    assert_eq!(letter.attempts, 3);
    assert!(
        letter.error.contains("cannot handle this one yet"),
        "{letter:?}"
    );

    // Re-driven while still broken: it fails again and is open again.
    projections::dead_letters::retry(&db.pool, letter.id)
        .await
        .unwrap();
    eventually("the re-driven letter to fail again", || async {
        letters(&db.pool)
            .await
            .first()
            .is_some_and(|l| l.attempts == 4)
            .then_some(())
    })
    .await;

    // Fixed and re-driven: handled once, and the letter is done.
    broken.store(false, Ordering::SeqCst);
    projections::dead_letters::retry(&db.pool, letter.id)
        .await
        .unwrap();
    wait_until_seen(&db.pool, 10).await;
    let redone: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT redone_at FROM dead_letters WHERE id = $1")
            .bind(letter.id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(redone.is_some());
    assert!(letters(&db.pool).await.is_empty());
    runtime.shutdown.trigger();
    for task in runtime.tasks {
        task.await.unwrap();
    }
    assert_exactly_once(&db.pool).await;
}
