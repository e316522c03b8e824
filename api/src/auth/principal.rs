//! The authenticated caller, from `Authorization: Bearer <access_token>`.
//!
//! Auditors read and never write: an auditor's request that is not a read
//! (`GET`, `HEAD`, `OPTIONS`) is refused with `403` here, as the caller is
//! identified and before the handler parses a body, on every route that
//! takes a `Principal`, except their own session (`/auth/...`).

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{header, Method};
use domain::Role;
use projections::read_models::scope::Scope;
use uuid::Uuid;

use super::tokens::verify_access_token;
use crate::error::ApiError;
use crate::state::AppState;

/// Who is calling.
#[derive(Debug, Clone, Copy)]
pub struct Principal {
    /// The user's id.
    pub user_id: Uuid,
    /// The role the token was issued for.
    pub role: Role,
    /// The session (refresh-token family) the token was issued for.
    pub session: Uuid,
}

impl Principal {
    /// The records this caller may see: staff, admins and auditors all; a
    /// customer their own; an agent their assigned customers'.
    pub fn scope(&self) -> Scope {
        match self.role {
            Role::Customer => Scope::Customer(self.user_id),
            Role::Agent => Scope::AgentOf(self.user_id),
            Role::Staff | Role::Admin | Role::Auditor => Scope::All,
        }
    }

    /// Refuses callers whose role is not in `allowed` (`403`).
    ///
    /// # Errors
    /// `403 forbidden`.
    pub fn require(&self, allowed: &[Role]) -> Result<(), ApiError> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "the {} role may not do this",
                self.role
            )))
        }
    }
}

/// Reads the bearer token from a request's headers, if any.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers).ok_or_else(|| {
            ApiError::Unauthorized("send Authorization: Bearer <access_token>".into())
        })?;
        let claims = verify_access_token(&state.config.jwt_secret, token)
            .map_err(|_| ApiError::Unauthorized("the access token is invalid or expired".into()))?;
        let role = claims
            .role
            .parse()
            .map_err(|_| ApiError::Unauthorized("the access token is invalid".into()))?;
        state
            .sessions
            .check(&state.pool, claims.sid, claims.sub, &claims.role)
            .await?;
        tracing::Span::current().record("user_id", tracing::field::display(claims.sub));
        if role == Role::Auditor && writes(parts) {
            return Err(ApiError::forbidden(
                "the auditor role reads and never writes",
            ));
        }
        Ok(Principal {
            user_id: claims.sub,
            role,
            session: claims.sid,
        })
    }
}

/// Whether the request would change something (anything but a read, or
/// the caller's own session).
fn writes(parts: &Parts) -> bool {
    let reads = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    let path = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(parts.uri.path(), |original| original.0.path());
    !reads && !path.starts_with("/api/v1/auth/")
}
