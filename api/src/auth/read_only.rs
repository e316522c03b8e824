//! Auditors read and never write: every request of theirs that is not a
//! read (`GET`, `HEAD`, `OPTIONS`) is refused with `403` before any
//! handler parses its body, except their own session (`/auth/...`:
//! refresh, logout). Handlers check roles too; this makes the rule hold
//! for every route, including ones added later.

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::Role;

use super::tokens::verify_access_token;
use crate::auth::principal::bearer_token;
use crate::error::ApiError;
use crate::state::AppState;

/// The middleware.
pub async fn middleware(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let reads = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let session = request.uri().path().starts_with("/api/v1/auth/");
    if !reads && !session {
        let auditor = bearer_token(request.headers())
            .and_then(|token| verify_access_token(&state.config.jwt_secret, token).ok())
            .is_some_and(|claims| claims.role.parse() == Ok(Role::Auditor));
        if auditor {
            return ApiError::forbidden("the auditor role reads and never writes").into_response();
        }
    }
    next.run(request).await
}
