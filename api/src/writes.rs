//! What every command handler does around its aggregate: build the event
//! metadata, map store errors, wait until the read model shows the command's
//! effect (read-your-writes), and answer with the resource and its `ETag`.

use std::time::{Duration, Instant};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use projections::read_models::aggregate_state::{self, StateRow};
use projections::stored_event::StreamPosition;
use projections::{CommandMetadata, Committed, ExecuteError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

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

/// A read-model row that single-resource responses are made of.
pub trait ResourceRow: Sized {
    /// The aggregate it is projected from.
    type Aggregate: Aggregate;
    /// The projection that writes it.
    const PROJECTION: &'static str;

    /// The row of `id` as the read model has it.
    fn read(
        pool: &PgPool,
        id: Uuid,
    ) -> impl std::future::Future<Output = Result<Option<Self>, sqlx::Error>> + Send;

    /// Its aggregate version.
    fn version(&self) -> i64;

    /// The row the projection writes for `aggregate` at `version`.
    ///
    /// # Errors
    /// `404` when the aggregate does not exist.
    fn from_aggregate(
        id: Uuid,
        aggregate: &Self::Aggregate,
        version: i64,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Result<Self, ApiError>;
}

/// A row whose JSON is the same for every caller who may see it.
pub trait ResourceView: ResourceRow {
    /// Its JSON in the API.
    fn view(&self) -> serde_json::Value;
}

/// An aggregate whose read model keeps its whole state
/// (`projections::read_models::aggregate_state`): its rows are
/// `StateRow<Self>`, one resource row implementation serves them all.
pub trait StateResource:
    Aggregate + Clone + DeserializeOwned + Send + Sync + Unpin + 'static
{
    /// The projection that writes its rows.
    const PROJECTION: &'static str;
    /// The table they are in.
    const TABLE: &'static str;

    /// Whether it has been created (has the events a row needs).
    fn exists(&self) -> bool;
}

impl<A: StateResource> ResourceRow for StateRow<A> {
    type Aggregate = A;
    const PROJECTION: &'static str = A::PROJECTION;

    async fn read(pool: &PgPool, id: Uuid) -> Result<Option<Self>, sqlx::Error> {
        aggregate_state::get(pool, A::TABLE, id).await
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn from_aggregate(
        id: Uuid,
        aggregate: &A,
        version: i64,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Result<Self, ApiError> {
        if !aggregate.exists() {
            return Err(ApiError::NotFound);
        }
        Ok(StateRow {
            id,
            version,
            created_at,
            updated_at,
            state: aggregate.clone(),
        })
    }
}

/// The resource `id` as the read model has it, with its `ETag`.
///
/// # Errors
/// `404` when there is none.
pub async fn respond_current<R: ResourceView>(
    state: &AppState,
    id: Uuid,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let row = R::read(&state.pool, id).await?.ok_or(ApiError::NotFound)?;
    Ok(with_etag(status, row.version(), row.view()))
}

/// The resource after a command: built from the aggregate when the command
/// created it (the read model holds exactly that), else from the read model
/// once it shows the command's effect; if the read model lags past the
/// read-your-writes timeout, from the aggregate's own state, so a successful
/// command never answers with stale data or a 404. Also says how long it
/// waited for the read model.
///
/// # Errors
/// `404` when the aggregate does not exist; `500` when the database fails.
pub async fn row_after_command<R: ResourceRow>(
    state: &AppState,
    id: Uuid,
    committed: &Committed<R::Aggregate>,
) -> Result<(R, ReadModelWait), ApiError> {
    let waited = await_read_model(state, R::PROJECTION, committed.last_position).await;
    let version = committed.version as i64;
    let row = match (version, committed.recorded_at) {
        (1, Some(at)) => R::from_aggregate(id, &committed.aggregate, version, at, at)?,
        _ => match R::read(&state.pool, id).await? {
            Some(row) if row.version() >= version => row,
            _ => {
                let events = state
                    .store
                    .events_of(<R::Aggregate as Aggregate>::TYPE, &id.to_string())
                    .await?;
                let (Some(first), Some(last)) = (events.first(), events.last()) else {
                    return Err(ApiError::NotFound);
                };
                R::from_aggregate(
                    id,
                    &committed.aggregate,
                    version,
                    first.recorded_at,
                    last.recorded_at,
                )?
            }
        },
    };
    Ok((row, waited))
}

/// The resource after a command (see [`row_after_command`]) with its `ETag`
/// and the read-model wait in `Server-Timing`.
///
/// # Errors
/// `404` when the aggregate does not exist; `500` when the database fails.
pub async fn respond_to_command<R: ResourceView>(
    state: &AppState,
    id: Uuid,
    committed: &Committed<R::Aggregate>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let (row, waited) = row_after_command::<R>(state, id, committed).await?;
    Ok(waited.annotate(with_etag(status, row.version(), row.view())))
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
            error @ ExecuteError::Changed { .. } => ApiError::Conflict {
                code: "concurrency_conflict",
                detail: format!("{error}; retry the request"),
            },
            ExecuteError::Conflict => ApiError::Conflict {
                code: "concurrency_conflict",
                detail: "the resource kept changing concurrently; retry the request".into(),
            },
            ExecuteError::Store(detail) => ApiError::Internal(anyhow::anyhow!(detail)),
            // Opaque to the client, like any failure of ours; logged whole.
            error @ ExecuteError::Tampered(_) => ApiError::Internal(anyhow::anyhow!("{error}")),
        }
    }
}
