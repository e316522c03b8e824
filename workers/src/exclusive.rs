//! Jobs that one process at a time may run (the scheduler, the
//! connectivity check): a session advisory lock held for the run.

use std::future::Future;

use sqlx::PgPool;

/// Runs `work` while holding advisory lock `key`; `None` without running
/// it when another process holds the lock.
///
/// # Errors
/// When the database fails, or `work` does.
pub async fn while_locked<T>(
    pool: &PgPool,
    key: i64,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<Option<T>> {
    let mut lock = pool.acquire().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(&mut *lock)
        .await?;
    if !locked {
        return Ok(None);
    }
    let result = work.await;
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(key)
        .execute(&mut *lock)
        .await?;
    result.map(Some)
}
