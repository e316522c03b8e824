//! `Idempotency-Key` on POST commands.
//!
//! The first request with a key runs and its response (status, body, the
//! headers a client needs) is stored under (caller, key) with a hash of the
//! request. The same key and request again returns that response and runs
//! nothing; the same key with another request is `422
//! idempotency_key_reused`; while the first is still running, `409
//! idempotency_key_in_progress`. Server errors are not stored, so a retry
//! after a `5xx` runs again.
//!
//! The session endpoints (`/auth/login`, `/auth/refresh`, `/auth/logout`,
//! and the password reset's two)
//! accept the header but never store their responses: those hold tokens.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::auth::principal::bearer_token;
use crate::auth::tokens::verify_access_token;
use crate::error::ApiError;
use crate::request_context;
use crate::state::AppState;

/// Longest key accepted.
const MAX_KEY_LENGTH: usize = 255;

/// A claimed key whose request never finished (the process died) is taken
/// over by a retry after this long.
const ABANDONED_AFTER_SECS: f64 = 60.0;

/// Response headers replayed with a stored response.
const REPLAYED_HEADERS: [HeaderName; 3] = [header::CONTENT_TYPE, header::ETAG, header::LOCATION];

fn never_stored(path: &str) -> bool {
    const SESSION_PATHS: [&str; 5] = [
        "/auth/login",
        "/auth/refresh",
        "/auth/logout",
        "/auth/password-reset",
        "/auth/password-reset/confirm",
    ];
    SESSION_PATHS.iter().any(|p| path.ends_with(p)) || path.contains("/auth/password-reset")
}

/// The middleware.
pub async fn middleware(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get("idempotency-key").cloned() else {
        return next.run(request).await;
    };
    if never_stored(request.uri().path()) {
        return next.run(request).await;
    }
    match run_once(&state, key, request, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn run_once(
    state: &AppState,
    key: HeaderValue,
    request: Request,
    next: Next,
) -> Result<Response, Response> {
    let key = key
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LENGTH)
        .ok_or_else(|| {
            ApiError::BadRequest {
                code: "malformed_header",
                detail: format!("Idempotency-Key must be 1 to {MAX_KEY_LENGTH} visible characters"),
            }
            .into_response()
        })?
        .to_string();
    let scope = scope_of(state, request.headers());
    let (parts, body) = request.into_parts();
    let limit = state.config.json_body_limit;
    let bytes = to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge { limit }.into_response())?;
    let hash = request_hash(&parts.method, parts.uri.path(), &bytes);

    let claimed = sqlx::query!(
        r#"INSERT INTO idempotency_keys (scope, key, request_hash) VALUES ($1, $2, $3)
           ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, created_at = now()
           WHERE idempotency_keys.status IS NULL
             AND idempotency_keys.created_at < now() - make_interval(secs => $4)"#,
        scope,
        key,
        hash,
        ABANDONED_AFTER_SECS
    )
    .execute(&state.pool)
    .await
    .map_err(|e| ApiError::from(e).into_response())?
    .rows_affected()
        == 1;
    if !claimed {
        return Err(replay(state, &scope, &key, &hash).await);
    }

    // Run and record in a task of its own: a client that disconnects must not
    // leave its key "in progress" after the command has taken effect (a
    // retry would then run it again).
    let state = state.clone();
    let work = request_context::in_current_request(async move {
        let response = next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
        store(&state, &scope, &key, response).await
    });
    tokio::spawn(work).await.map_err(|e| {
        ApiError::Internal(anyhow::anyhow!("the request task failed: {e}")).into_response()
    })
}

fn scope_of(state: &AppState, headers: &HeaderMap) -> String {
    bearer_token(headers)
        .and_then(|token| verify_access_token(&state.config.jwt_secret, token).ok())
        .map_or_else(
            || "anonymous".to_string(),
            |claims| format!("user:{}", claims.sub),
        )
}

fn request_hash(method: &Method, path: &str, body: &[u8]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(path.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hasher.finalize().to_vec()
}

async fn replay(state: &AppState, scope: &str, key: &str, hash: &[u8]) -> Response {
    let row = sqlx::query!(
        "SELECT request_hash, status, headers, body FROM idempotency_keys WHERE scope = $1 AND key = $2",
        scope,
        key
    )
    .fetch_optional(&state.pool)
    .await;
    let row = match row {
        Ok(Some(row)) => row,
        Ok(None) => {
            return ApiError::Conflict {
                code: "idempotency_key_in_progress",
                detail: "a request with this Idempotency-Key was just retried; send it again"
                    .into(),
            }
            .into_response()
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    if row.request_hash != hash {
        return ApiError::Unprocessable {
            code: "idempotency_key_reused",
            detail: "this Idempotency-Key was used with a different request".into(),
        }
        .into_response();
    }
    let Some(status) = row.status else {
        return ApiError::Conflict {
            code: "idempotency_key_in_progress",
            detail: "the first request with this Idempotency-Key is still running".into(),
        }
        .into_response();
    };
    let headers = row.headers.unwrap_or_default();
    let body = row.body.unwrap_or_default();
    let mut response = (
        StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK),
        body,
    )
        .into_response();
    if let Some(map) = headers.as_object() {
        for (name, value) in map {
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::try_from(name.as_str()),
                value.as_str().map(HeaderValue::from_str),
            ) {
                response.headers_mut().insert(name, value);
            }
        }
    }
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

async fn store(state: &AppState, scope: &str, key: &str, response: Response) -> Response {
    let status = response.status();
    if status.is_server_error() {
        let _ = sqlx::query!(
            "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2",
            scope,
            key
        )
        .execute(&state.pool)
        .await;
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return ApiError::Internal(anyhow::anyhow!("reading the response: {e}")).into_response()
        }
    };
    let headers: serde_json::Map<String, serde_json::Value> = REPLAYED_HEADERS
        .iter()
        .filter_map(|name| {
            let value = parts.headers.get(name)?.to_str().ok()?;
            Some((name.to_string(), serde_json::Value::from(value)))
        })
        .collect();
    let saved = sqlx::query!(
        "UPDATE idempotency_keys SET status = $3, headers = $4, body = $5 WHERE scope = $1 AND key = $2",
        scope,
        key,
        status.as_u16() as i16,
        serde_json::Value::Object(headers),
        bytes.as_ref()
    )
    .execute(&state.pool)
    .await;
    if let Err(error) = saved {
        tracing::error!(%error, "could not store an idempotent response");
    }
    Response::from_parts(parts, Body::from(bytes))
}
