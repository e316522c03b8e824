//! Rebuilding a projection from position zero while the live one serves.
//!
//! 1. Create shadow tables (`products__rebuild`) and a shadow checkpoint.
//! 2. Replay the whole stream into them, batch by batch, reporting progress.
//! 3. In one transaction: lock the live checkpoint (the live consumer's next
//!    batch waits, then finds it moved and retries), catch the shadow up to
//!    the latest safe event, drop the live tables, rename the shadow ones in,
//!    and give the live subscription the shadow's checkpoint.
//!
//! Readers see either the old tables or the new ones, never a half-built read
//! model.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::{Acquire, PgPool};

use super::checkpoint;
use super::runtime::{apply_batch, run_batch};
use crate::event_store::seal::Seals;
use crate::read_models::{Projection, ProjectionSubscriber, Tables};
use crate::stored_event::StreamPosition;

/// Progress reported during a rebuild.
#[derive(Debug, Clone, Copy)]
pub struct RebuildProgress {
    /// Events replayed so far.
    pub events: u64,
    /// Events in the store when the rebuild started (an estimate of the total).
    pub total_estimate: u64,
    /// Time since the rebuild started.
    pub elapsed: std::time::Duration,
}

/// Rebuilds `projection` and swaps the result in; returns the events replayed.
///
/// # Errors
/// When the database fails or an event can't be applied; the live tables are
/// then untouched.
pub async fn rebuild(
    pool: &PgPool,
    seals: &Seals,
    projection: Arc<dyn Projection>,
    batch_size: i64,
    mut on_progress: impl FnMut(RebuildProgress),
) -> anyhow::Result<u64> {
    let shadow = ProjectionSubscriber::shadow(projection.clone());
    let started = Instant::now();
    let mut blocked_since: Option<Instant> = None;
    let total_estimate: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await?;
    {
        let mut conn = pool.acquire().await?;
        drop_tables(&mut conn, shadow.tables(), projection.tables()).await?;
        projection.create_tables(&mut conn, shadow.tables()).await?;
        checkpoint::set(
            &mut conn,
            subscriber_name(&shadow),
            StreamPosition::default(),
            0,
        )
        .await?;
    }
    let head_at_start: i64 =
        sqlx::query_scalar!(r#"SELECT coalesce(max(global_position), 0) AS "head!" FROM events"#)
            .fetch_one(pool)
            .await?;
    let mut replayed = 0u64;
    loop {
        let batch = run_batch(pool, seals, &shadow, batch_size).await?;
        if batch.handled > 0 {
            replayed += batch.handled as u64;
            on_progress(RebuildProgress {
                events: replayed,
                total_estimate: total_estimate as u64,
                elapsed: started.elapsed(),
            });
            continue;
        }
        // Nothing readable now. Events appended before the rebuild started may
        // still wait behind a transaction in flight (gap safety): wait for
        // them, so the swapped-in read model is at least as complete as the
        // store was when the rebuild began.
        let waiting = unread_until(pool, batch.position, head_at_start).await?;
        if waiting == 0 {
            break;
        }
        if waited_since(&mut blocked_since) > MAX_WAIT_FOR_IN_FLIGHT {
            tracing::warn!(waiting, "events are still behind a long transaction; swapping in anyway, the live projection will catch up");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    replayed += swap(pool, seals, projection.as_ref(), &shadow, batch_size).await?;
    on_progress(RebuildProgress {
        events: replayed,
        total_estimate: total_estimate as u64,
        elapsed: started.elapsed(),
    });
    Ok(replayed)
}

/// Longest a rebuild waits for transactions in flight before swapping in.
const MAX_WAIT_FOR_IN_FLIGHT: Duration = Duration::from_secs(60);

fn waited_since(since: &mut Option<Instant>) -> Duration {
    since.get_or_insert_with(Instant::now).elapsed()
}

/// Events up to `head` not yet read by a reader at `position`.
async fn unread_until(
    pool: &PgPool,
    position: StreamPosition,
    head: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "unread!" FROM events
           WHERE global_position <= $3 AND (tx_id, global_position) > ($1::text::xid8, $2)"#,
        position.tx_id.to_string(),
        position.position,
        head
    )
    .fetch_one(pool)
    .await
}

fn subscriber_name(subscriber: &ProjectionSubscriber) -> &str {
    use super::Subscriber;
    subscriber.name()
}

async fn swap(
    pool: &PgPool,
    seals: &Seals,
    projection: &dyn Projection,
    shadow: &ProjectionSubscriber,
    batch_size: i64,
) -> anyhow::Result<u64> {
    let live_name = projection.name();
    let shadow_name = subscriber_name(shadow).to_string();
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    checkpoint::ensure(&mut tx, live_name).await?;
    // The live tables first, then the live checkpoint: the order a live
    // batch takes them in (it writes its tables, then moves its
    // checkpoint), so the two never wait for each other. A live batch in
    // flight finishes first; one that starts now waits and then fails its
    // compare-and-set on the checkpoint, and is read again.
    let live = Tables::live(projection.tables());
    for base in projection.tables() {
        let table = live.get(base);
        let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(table)
            .fetch_one(&mut *tx)
            .await?;
        if exists {
            sqlx::query(&format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
                .execute(&mut *tx)
                .await?;
        }
    }
    sqlx::query("SELECT 1 FROM subscription_checkpoints WHERE name = $1 FOR UPDATE")
        .bind(live_name)
        .execute(&mut *tx)
        .await?;
    let mut caught_up = 0u64;
    loop {
        let batch = apply_batch(&mut tx, seals, shadow, batch_size).await?;
        if batch.handled == 0 {
            break;
        }
        caught_up += batch.handled as u64;
    }
    let reached = checkpoint::load(&mut tx, &shadow_name).await?;
    let handled: i64 =
        sqlx::query_scalar("SELECT events_handled FROM subscription_checkpoints WHERE name = $1")
            .bind(&shadow_name)
            .fetch_one(&mut *tx)
            .await?;
    for base in projection.tables() {
        sqlx::query(&format!("DROP TABLE IF EXISTS {}", live.get(base)))
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!(
            "ALTER TABLE {} RENAME TO {}",
            shadow.tables().get(base),
            live.get(base)
        ))
        .execute(&mut *tx)
        .await?;
    }
    checkpoint::set(&mut tx, live_name, reached, handled).await?;
    sqlx::query("DELETE FROM subscription_checkpoints WHERE name = $1")
        .bind(&shadow_name)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(
        projection = live_name,
        position = reached.position,
        "rebuilt and swapped in"
    );
    Ok(caught_up)
}

async fn drop_tables(
    conn: &mut sqlx::PgConnection,
    tables: &Tables,
    bases: &[&'static str],
) -> Result<(), sqlx::Error> {
    for base in bases {
        sqlx::query(&format!("DROP TABLE IF EXISTS {}", tables.get(base)))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
