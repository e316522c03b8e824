//! Dead letters (`dead_letters`): work a worker gave up on, listed for an
//! admin and re-driven on request.
//!
//! - Queue workers (notifications, payments) give up on a job after a
//!   refusal or their last attempt; re-driving puts the job back in the
//!   queue with fresh attempts, at once.
//! - Subscriptions that do work (process managers, outboxes) give up on an
//!   event they keep failing on and move past it, so one bad event does not
//!   hold up every later one; re-driving asks that subscription's consumer
//!   to handle the event again ([`take_redrive`]).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// The notification worker's name in dead letters.
pub const NOTIFICATIONS: &str = "notifications";
/// The payment worker's name in dead letters.
pub const PAYMENTS: &str = "payments";

/// A dead letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    /// Its id.
    pub id: Uuid,
    /// The worker that gave up.
    pub worker: String,
    /// The job (a notification's id, ...).
    pub job_id: Uuid,
    /// The event the job came from.
    pub event_id: String,
    /// The last error.
    pub error: String,
    /// Attempts made.
    pub attempts: i32,
    /// When it was given up on.
    pub created_at: DateTime<Utc>,
    /// When an admin re-drove it.
    pub retried_at: Option<DateTime<Utc>>,
}

/// Records that `worker` gave up on `job_id`.
///
/// # Errors
/// When the database fails.
pub async fn record(
    conn: impl sqlx::PgExecutor<'_>,
    worker: &str,
    job_id: Uuid,
    event_id: &str,
    error: &str,
    attempts: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO dead_letters (id, worker, job_id, event_id, error, attempts)
           VALUES ($1, $2, $3, $4, $5, $6)"#,
        Uuid::now_v7(),
        worker,
        job_id,
        event_id,
        error,
        attempts
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Dead letters not yet re-driven, newest first, after `after`.
///
/// # Errors
/// When the database fails.
pub async fn open(
    pool: &PgPool,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<DeadLetter>, sqlx::Error> {
    sqlx::query_as!(
        DeadLetter,
        r#"SELECT id, worker, job_id, event_id, error, attempts, created_at, retried_at
           FROM dead_letters
           WHERE retried_at IS NULL AND ($1::uuid IS NULL OR id < $1)
           ORDER BY id DESC LIMIT $2"#,
        after,
        limit
    )
    .fetch_all(pool)
    .await
}

/// Why a dead letter could not be re-driven.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    /// No such letter, or it was re-driven already.
    #[error("no open dead letter with that id")]
    NotFound,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// Re-drives dead letter `id` (in one transaction): a queue worker's job
/// goes back in the queue with fresh attempts and the letter is redone; a
/// subscription's letter waits for its consumer ([`take_redrive`]).
///
/// # Errors
/// [`RetryError`].
pub async fn retry(pool: &PgPool, id: Uuid) -> Result<DeadLetter, RetryError> {
    let mut tx = pool.begin().await?;
    let letter = sqlx::query_as!(
        DeadLetter,
        r#"UPDATE dead_letters SET retried_at = now() WHERE id = $1 AND retried_at IS NULL
           RETURNING id, worker, job_id, event_id, error, attempts, created_at, retried_at"#,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(RetryError::NotFound)?;
    // A queue worker's job goes back in its queue now; a subscription's
    // letter waits for that subscription's consumer.
    let requeue = match letter.worker.as_str() {
        NOTIFICATIONS => Some(sqlx::query!(
            r#"UPDATE notifications SET status = 'queued', attempts = 0, next_attempt_at = now()
               WHERE id = $1 AND status = 'dead'"#,
            letter.job_id
        )),
        PAYMENTS => Some(sqlx::query!(
            r#"UPDATE payment_jobs SET status = 'queued', attempts = 0, next_attempt_at = now(),
                      request_sent_at = NULL
               WHERE id = $1 AND status = 'dead'"#,
            letter.job_id
        )),
        _ => None,
    };
    if let Some(requeue) = requeue {
        requeue.execute(&mut *tx).await?;
        mark_redone(&mut tx, letter.id).await?;
    }
    tx.commit().await?;
    Ok(letter)
}

/// Re-drives every open dead letter (the CLI's `workers retry`); how many.
///
/// # Errors
/// When the database fails.
pub async fn retry_all(pool: &PgPool) -> Result<usize, RetryError> {
    let mut retried = 0;
    loop {
        let letters = open(pool, None, 200).await?;
        if letters.is_empty() {
            return Ok(retried);
        }
        for letter in letters {
            retry(pool, letter.id).await?;
            retried += 1;
        }
    }
}

/// A re-driven letter of a subscription, taken for handling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redrive {
    /// The letter.
    pub id: Uuid,
    /// The event's global position.
    pub global_position: i64,
}

/// Takes one re-driven letter of subscription `worker` not yet redone,
/// locked until `conn`'s transaction ends (another consumer skips it).
///
/// # Errors
/// When the database fails.
pub async fn take_redrive(
    conn: &mut sqlx::PgConnection,
    worker: &str,
) -> Result<Option<Redrive>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT id, event_id FROM dead_letters
           WHERE worker = $1 AND retried_at IS NOT NULL AND redone_at IS NULL
           ORDER BY retried_at LIMIT 1 FOR UPDATE SKIP LOCKED"#,
        worker
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.and_then(|row| {
        let position = crate::stored_event::position_of(&row.event_id)?;
        Some(Redrive {
            id: row.id,
            global_position: position,
        })
    }))
}

/// Records that re-driven letter `id` was handled.
///
/// # Errors
/// When the database fails.
pub async fn mark_redone(conn: &mut sqlx::PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE dead_letters SET redone_at = now() WHERE id = $1",
        id
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A re-drive of letter `id` failed again: it is open again with the new
/// error and one more attempt.
///
/// # Errors
/// When the database fails.
pub async fn reopen(pool: &PgPool, id: Uuid, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE dead_letters SET retried_at = NULL, error = $2, attempts = attempts + 1 WHERE id = $1",
        id,
        error
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Open dead letters per worker.
///
/// # Errors
/// When the database fails.
pub async fn open_counts(pool: &PgPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT worker, count(*) AS "open!" FROM dead_letters
           WHERE retried_at IS NULL GROUP BY worker ORDER BY worker"#
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.worker, r.open)).collect())
}
