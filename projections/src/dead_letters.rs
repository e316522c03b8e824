//! Dead letters (`dead_letters`): jobs a worker gave up on (a refusal, or
//! its retries exhausted), listed for an admin and re-driven on request.
//! Re-driving puts the job back in its worker's queue with fresh attempts.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// The notification worker's name in dead letters.
pub const NOTIFICATIONS: &str = "notifications";

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
    pool: &PgPool,
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
    .execute(pool)
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
    /// The worker is not one that can be re-driven.
    #[error("dead letters of {0} cannot be re-driven")]
    UnknownWorker(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// Re-drives dead letter `id`: its job goes back in the queue with fresh
/// attempts, and the letter is stamped retried (in one transaction).
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
    match letter.worker.as_str() {
        NOTIFICATIONS => {
            sqlx::query!(
                r#"UPDATE notifications SET status = 'queued', attempts = 0, next_attempt_at = now()
                   WHERE id = $1 AND status = 'dead'"#,
                letter.job_id
            )
            .execute(&mut *tx)
            .await?;
        }
        other => return Err(RetryError::UnknownWorker(other.to_string())),
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
