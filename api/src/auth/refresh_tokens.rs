//! Refresh-token families: issue, rotate (spend one, issue the next), detect
//! reuse of a spent token (revoke the family), revoke on logout.

use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

use super::tokens::{hash_refresh_token, new_refresh_token};

/// What presenting a refresh token led to.
#[derive(Debug)]
pub enum Rotation {
    /// Spent; here is the user and the next token of the family.
    Rotated {
        /// The token's user.
        user_id: Uuid,
        /// Its family: the session.
        family_id: Uuid,
        /// The next refresh token.
        token: String,
    },
    /// Unknown, expired or revoked.
    Invalid,
    /// Already spent: presumed stolen; its family is now revoked.
    Reused,
}

/// Starts a new family (a login: a session) and returns its first token
/// and the family's id.
///
/// # Errors
/// When the database fails.
pub async fn issue(
    pool: &PgPool,
    user_id: Uuid,
    ttl: Duration,
) -> Result<(String, Uuid), sqlx::Error> {
    let family_id = Uuid::now_v7();
    let token = insert(pool, user_id, family_id, ttl).await?;
    Ok((token, family_id))
}

async fn insert(
    pool: &PgPool,
    user_id: Uuid,
    family_id: Uuid,
    ttl: Duration,
) -> Result<String, sqlx::Error> {
    let token = new_refresh_token();
    sqlx::query!(
        r#"INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at)
           VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))"#,
        Uuid::now_v7(),
        family_id,
        user_id,
        hash_refresh_token(&token),
        ttl.as_secs_f64()
    )
    .execute(pool)
    .await?;
    Ok(token)
}

/// Spends `token` and issues the next one of its family.
///
/// # Errors
/// When the database fails.
pub async fn rotate(pool: &PgPool, token: &str, ttl: Duration) -> Result<Rotation, sqlx::Error> {
    let hash = hash_refresh_token(token);
    let spent = sqlx::query!(
        r#"UPDATE refresh_tokens SET spent_at = now()
           WHERE token_hash = $1 AND spent_at IS NULL AND revoked_at IS NULL AND expires_at > now()
           RETURNING user_id, family_id"#,
        hash
    )
    .fetch_optional(pool)
    .await?;
    if let Some(spent) = spent {
        let token = insert(pool, spent.user_id, spent.family_id, ttl).await?;
        return Ok(Rotation::Rotated {
            user_id: spent.user_id,
            family_id: spent.family_id,
            token,
        });
    }
    let known = sqlx::query!(
        "SELECT family_id, spent_at FROM refresh_tokens WHERE token_hash = $1",
        hash
    )
    .fetch_optional(pool)
    .await?
    .map(|row| (row.family_id, row.spent_at));
    match known {
        Some((family_id, Some(_))) => {
            revoke_family(pool, family_id).await?;
            tracing::warn!(%family_id, "a spent refresh token was presented again; family revoked");
            Ok(Rotation::Reused)
        }
        _ => Ok(Rotation::Invalid),
    }
}

/// Revokes every token of a family.
///
/// # Errors
/// When the database fails.
pub async fn revoke_family(pool: &PgPool, family_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL",
        family_id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Revokes `token`'s whole family if it belongs to `user_id` (logout).
/// Returns whether it did.
///
/// # Errors
/// When the database fails.
pub async fn revoke(pool: &PgPool, user_id: Uuid, token: &str) -> Result<bool, sqlx::Error> {
    let family: Option<Uuid> = sqlx::query_scalar!(
        "SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND user_id = $2",
        hash_refresh_token(token),
        user_id
    )
    .fetch_optional(pool)
    .await?;
    match family {
        Some(family_id) => {
            revoke_family(pool, family_id).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Revokes every refresh token of `user_id` (a deactivated account, a
/// password reset): each of its sessions ends.
///
/// # Errors
/// When the database fails.
pub async fn revoke_user(db: impl sqlx::PgExecutor<'_>, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
        user_id
    )
    .execute(db)
    .await?;
    Ok(())
}
