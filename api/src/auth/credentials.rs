//! The credentials table: password hashes and lockout state.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use std::time::Duration;
use uuid::Uuid;

/// A user's login secret and lockout state.
#[derive(Debug, Clone)]
pub struct Credential {
    /// The user.
    pub user_id: Uuid,
    /// Their login address.
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Failed logins since the last success or lock.
    pub failed_logins: i32,
    /// Locked until this time, if locked.
    pub locked_until: Option<DateTime<Utc>>,
    /// When the row was created.
    pub created_at: DateTime<Utc>,
}

/// Stores a new credential. Returns `false` if the email is taken.
///
/// # Errors
/// When the database fails.
pub async fn insert(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    email: &str,
    password_hash: &str,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        r#"INSERT INTO credentials (user_id, email, password_hash) VALUES ($1, $2, $3)
           ON CONFLICT (email) DO NOTHING"#,
        user_id,
        email,
        password_hash
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// The credential for `email`.
///
/// # Errors
/// When the database fails.
pub async fn by_email(
    db: impl PgExecutor<'_>,
    email: &str,
) -> Result<Option<Credential>, sqlx::Error> {
    sqlx::query_as!(
        Credential,
        r#"SELECT user_id, email, password_hash, failed_logins, locked_until, created_at
           FROM credentials WHERE email = $1"#,
        email
    )
    .fetch_optional(db)
    .await
}

/// Deletes a credential (a registration that did not complete).
///
/// # Errors
/// When the database fails.
pub async fn delete(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM credentials WHERE user_id = $1", user_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Reserves one login attempt before the password is checked, in one
/// statement, so a burst of parallel guesses cannot all be checked before
/// the first is counted: every attempt counts as a failure until it
/// succeeds ([`record_success`] resets), and the one that reaches
/// `threshold` locks the account for `lock_for`. An expired lock starts the
/// count again. Returns the attempt's number, or `None` when the account is
/// locked (nothing is checked then).
///
/// # Errors
/// When the database fails.
pub async fn reserve_attempt(
    pool: &PgPool,
    user_id: Uuid,
    threshold: i32,
    lock_for: Duration,
) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"UPDATE credentials SET
               failed_logins = CASE WHEN locked_until <= now() THEN 1 ELSE failed_logins + 1 END,
               locked_until = CASE
                   WHEN (CASE WHEN locked_until <= now() THEN 1 ELSE failed_logins + 1 END) >= $2
                   THEN now() + make_interval(secs => $3) ELSE NULL END,
               updated_at = now()
           WHERE user_id = $1 AND (locked_until IS NULL OR locked_until <= now())
           RETURNING failed_logins"#,
        user_id,
        threshold,
        lock_for.as_secs_f64()
    )
    .fetch_optional(pool)
    .await
}

/// Until when the account is locked, if it is.
///
/// # Errors
/// When the database fails.
pub async fn locked_until(
    pool: &PgPool,
    user_id: Uuid,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let until = sqlx::query_scalar!(
        "SELECT locked_until FROM credentials WHERE user_id = $1",
        user_id
    )
    .fetch_optional(pool)
    .await?
    .flatten();
    Ok(until.filter(|t| *t > Utc::now()))
}

/// Clears failed logins after a success.
///
/// # Errors
/// When the database fails.
pub async fn record_success(pool: &PgPool, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE credentials SET failed_logins = 0, locked_until = NULL, updated_at = now()
           WHERE user_id = $1 AND (failed_logins <> 0 OR locked_until IS NOT NULL)"#,
        user_id
    )
    .execute(pool)
    .await?;
    Ok(())
}
