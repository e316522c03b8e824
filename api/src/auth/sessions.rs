//! Sessions: every access token names the refresh-token family it was
//! issued for (`sid`). A request is served only while that session is live
//! (not logged out, not revoked by a password reset, not expired), the
//! account is not deactivated and it still has the role the token was
//! issued for — checked against
//! the database at most once a second per session, so an ended session's
//! access token stops working within a second instead of at its expiry.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use uuid::Uuid;

use crate::error::ApiError;

/// How long a session's check is trusted.
const FRESH_FOR: Duration = Duration::from_secs(1);
/// Most sessions remembered before stale ones are swept.
const SWEEP_AT: usize = 10_000;

/// What the database said of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    at: Instant,
    live: bool,
    /// The account's role now (`None`: not in the users read model yet).
    role: Option<String>,
}

/// The per-process cache of session checks.
#[derive(Default)]
pub struct Sessions {
    seen: Mutex<HashMap<Uuid, Seen>>,
}

impl Sessions {
    /// Serves a token of `user_id` with `role` for session `sid` only while
    /// the session is live and the role unchanged.
    ///
    /// # Errors
    /// `401` when the session ended or the role changed; `503`-like
    /// internal errors when the database fails.
    pub async fn check(
        &self,
        pool: &PgPool,
        sid: Uuid,
        user_id: Uuid,
        role: &str,
    ) -> Result<(), ApiError> {
        let cached = self.fresh(sid);
        let seen = match cached {
            Some(seen) => seen,
            None => {
                let seen = look_up(pool, sid, user_id).await?;
                self.remember(sid, seen.clone());
                seen
            }
        };
        if !seen.live {
            return Err(ApiError::Unauthorized(
                "this session has ended (signed out, or the password was reset): sign in again"
                    .into(),
            ));
        }
        if seen.role.as_deref().is_some_and(|now| now != role) {
            return Err(ApiError::Unauthorized(
                "the account's role has changed: sign in again".into(),
            ));
        }
        Ok(())
    }

    /// Forgets what is known of `sid` (its session just ended here).
    pub fn forget(&self, sid: Uuid) {
        self.seen.lock().expect("sessions lock").remove(&sid);
    }

    fn fresh(&self, sid: Uuid) -> Option<Seen> {
        let seen = self.seen.lock().expect("sessions lock");
        seen.get(&sid)
            .filter(|s| s.at.elapsed() < FRESH_FOR)
            .cloned()
    }

    fn remember(&self, sid: Uuid, seen: Seen) {
        let mut cache = self.seen.lock().expect("sessions lock");
        if cache.len() >= SWEEP_AT {
            cache.retain(|_, s| s.at.elapsed() < FRESH_FOR);
        }
        cache.insert(sid, seen);
    }
}

async fn look_up(pool: &PgPool, sid: Uuid, user_id: Uuid) -> Result<Seen, ApiError> {
    let (live, role): (bool, Option<String>) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM refresh_tokens
                        WHERE family_id = $1 AND user_id = $2
                          AND revoked_at IS NULL AND expires_at > now())
                AND NOT EXISTS (SELECT 1 FROM users WHERE id = $2 AND NOT active),
                (SELECT role FROM users WHERE id = $2)",
    )
    .bind(sid)
    .bind(user_id)
    .fetch_one(pool)
    .await?;
    Ok(Seen {
        at: Instant::now(),
        live,
        role,
    })
}
