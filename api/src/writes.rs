//! What every command handler does around its aggregate: build the event
//! metadata, map store errors, wait until the read model shows the command's
//! effect (read-your-writes), and answer with the resource and its `ETag`.

use std::time::{Duration, Instant};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use projections::stored_event::StreamPosition;
use projections::{CommandMetadata, ExecuteError};
use serde::Serialize;

use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::request_context::RequestContext;
use crate::state::AppState;

/// The metadata of a command sent by `principal` in request `context`.
pub fn metadata(principal: Option<&Principal>, context: &RequestContext) -> CommandMetadata {
    CommandMetadata {
        user_id: principal.map(|p| p.user_id),
        role: principal.map_or("anonymous".to_string(), |p| p.role.to_string()),
        request_id: context.request_id.clone(),
        correlation_id: context.correlation_id.clone(),
        causation_id: context.request_id.clone(),
        client_ip: context.client_ip.clone(),
        provider_event_id: None,
    }
}

/// How long a command waited for its read model: from the events' commit
/// until the projection had handled them (the projection lag it saw).
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadModelWait(pub Duration);

impl ReadModelWait {
    /// Adds `Server-Timing: projection;dur=<ms>` to `response`.
    pub fn annotate(self, mut response: Response) -> Response {
        let value = format!("projection;dur={:.2}", self.0.as_secs_f64() * 1000.0);
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert("server-timing", value);
        }
        response
    }
}

/// Waits (bounded) until `projection` has handled the event at `position`.
/// On timeout the caller answers from the aggregate instead, and a warning
/// is logged: the command itself has succeeded.
pub async fn await_read_model(
    state: &AppState,
    projection: &str,
    position: Option<StreamPosition>,
) -> ReadModelWait {
    let Some(position) = position else {
        return ReadModelWait::default();
    };
    let started = Instant::now();
    let caught_up = state
        .progress
        .wait_for(
            &state.pool,
            projection,
            position,
            state.config.read_your_writes_timeout,
        )
        .await;
    if !caught_up {
        tracing::warn!(
            projection,
            position = position.position,
            "read model lagging past the read-your-writes timeout"
        );
    }
    ReadModelWait(started.elapsed())
}

/// `status` with `body` and `ETag: "<version>"`.
pub fn with_etag(status: StatusCode, version: i64, body: impl Serialize) -> Response {
    let mut response = (status, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

impl<E> From<ExecuteError<E>> for ApiError
where
    E: std::error::Error + Into<ApiError>,
{
    fn from(error: ExecuteError<E>) -> Self {
        match error {
            ExecuteError::Domain(e) => e.into(),
            ExecuteError::VersionMismatch { expected, actual } => {
                ApiError::PreconditionFailed { expected, actual }
            }
            ExecuteError::Taken { kind, value } => ApiError::Conflict {
                code: if kind == "product_code" {
                    "code_taken"
                } else {
                    "already_taken"
                },
                detail: format!("{} {value} is already taken", kind.replace('_', " ")),
            },
            ExecuteError::Conflict => ApiError::Conflict {
                code: "concurrency_conflict",
                detail: "the resource kept changing concurrently; retry the request".into(),
            },
            ExecuteError::Store(detail) => ApiError::Internal(anyhow::anyhow!(detail)),
        }
    }
}
