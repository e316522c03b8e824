//! The audit API (auditors and admins; nothing here changes anything):
//!
//! - `GET /audit/events`: the global stream with every event's metadata,
//!   filtered by aggregate, user, business flow and time, paged in stream
//!   order (`after_position`, `next_cursor`); with `Accept:
//!   application/x-ndjson` the whole range streams as one JSON object per
//!   line, read page by page, never held in memory.
//! - `GET /audit/{aggregate_type}/{id}/state?as_of=|version=`: the
//!   aggregate as it was, replayed with the command side's own `apply`.
//! - `GET /audit/correlations/{id}`: every event of one business flow,
//!   across aggregates, in order.
//! - `GET /audit/verify`: the tamper-evidence check (`projections::tamper`).
//! - `GET /audit/alarms`: the integrity alarms the checkpoint writer
//!   raised; `POST /audit/alarms/{id}/acknowledge` (admins): acknowledge
//!   one, saying why (an event), so checkpoints resume.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use domain::Role;
use projections::audit::{self, Filter, ReplayError, Upto};
use projections::stored_event::StreamPosition;
use projections::StoredEvent;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::extract::{accepts, QueryParams};
use crate::pagination::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::request_context::RequestContext;
use crate::state::AppState;
use crate::writes::metadata;
use domain::integrity_alarm::{IntegrityAlarm, IntegrityAlarmCommand, IntegrityAlarmError};

/// Who may read the audit trail.
const READERS: [Role; 2] = [Role::Auditor, Role::Admin];
/// Events read per query while streaming.
const STREAM_PAGE: i64 = 1000;
/// The most events one correlation returns.
const MAX_FLOW: i64 = 10_000;

/// The audit routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit/events", get(events))
        .route("/audit/verify", get(verify))
        .route("/audit/alarms", get(alarms))
        .route("/audit/alarms/{id}/acknowledge", post(acknowledge))
        .route("/audit/correlations/{id}", get(correlation))
        .route("/audit/{aggregate_type}/{id}/state", get(state_at))
}

/// An event as auditors see it.
pub fn view(event: &StoredEvent) -> Value {
    json!({
        "position": event.global_position,
        "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "sequence": event.sequence,
        "event_type": event.event_type,
        "event_version": event.event_version,
        "payload": event.payload,
        "metadata": event.metadata,
        "recorded_at": event.recorded_at,
    })
}

#[derive(Deserialize)]
struct EventsQuery {
    aggregate_type: Option<String>,
    aggregate_id: Option<String>,
    user_id: Option<String>,
    correlation_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    after_position: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

fn instant(field: &str, raw: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    raw.filter(|r| !r.is_empty())
        .map(|r| {
            DateTime::parse_from_rfc3339(r)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| ApiError::invalid(field, "must be an RFC 3339 timestamp"))
        })
        .transpose()
}

fn whole(
    field: &str,
    raw: Option<&str>,
    range: std::ops::RangeInclusive<i64>,
) -> Result<Option<i64>, ApiError> {
    raw.filter(|r| !r.is_empty())
        .map(|r| {
            r.parse::<i64>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    ApiError::invalid(
                        field,
                        format!(
                            "must be a whole number from {} to {}",
                            range.start(),
                            range.end()
                        ),
                    )
                })
        })
        .transpose()
}

#[tracing::instrument(skip_all)]
async fn events(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    QueryParams(query): QueryParams<EventsQuery>,
) -> Result<Response, ApiError> {
    principal.require(&READERS)?;
    let filter = Filter {
        aggregate_type: query.aggregate_type.filter(|t| !t.is_empty()),
        aggregate_id: query.aggregate_id.filter(|t| !t.is_empty()),
        user_id: query.user_id.filter(|t| !t.is_empty()),
        correlation_id: query.correlation_id.filter(|t| !t.is_empty()),
        from: instant("from", query.from.as_deref())?,
        to: instant("to", query.to.as_deref())?,
    };
    let cursor = query.cursor.as_deref().or(query.after_position.as_deref());
    let after = match whole("after_position", cursor, 0..=i64::MAX)? {
        None | Some(0) => None,
        Some(position) => Some(
            audit::stream_position(&state.pool, position)
                .await?
                .ok_or_else(|| ApiError::invalid("after_position", "is not an event's position"))?,
        ),
    };
    if accepts(&headers, "application/x-ndjson") {
        let limit = whole("limit", query.limit.as_deref(), 1..=i64::MAX)?;
        return Ok(stream(state, filter, after, limit));
    }
    let limit = whole("limit", query.limit.as_deref(), 1..=MAX_LIMIT)?.unwrap_or(DEFAULT_LIMIT);
    let mut rows = audit::events(&state.pool, &filter, after, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| rows.last().map(|e| e.global_position.to_string()))
        .flatten();
    Ok(Json(json!({
        "items": rows.iter().map(view).collect::<Vec<_>>(),
        "next_cursor": next_cursor,
    }))
    .into_response())
}

/// The matching events as NDJSON, read a page at a time as the client
/// reads (at most `limit` of them), and a last line saying what the stream
/// covered: `{"export": {events, horizon_tx, held_back, complete}}`
/// (`held_back`: matching events committed past the gap-safe horizon,
/// behind a transaction still running; read them from the last event's
/// position once it ends).
fn stream(
    state: AppState,
    filter: Filter,
    after: Option<StreamPosition>,
    limit: Option<i64>,
) -> Response {
    let start = (
        Some(audit::Pages::new(filter, after, limit)),
        state.pool.clone(),
    );
    let pages = futures::stream::unfold(start, move |(pages, pool)| async move {
        let mut pages = pages?;
        match pages.next(&pool, STREAM_PAGE).await {
            Ok(Some(rows)) => {
                let mut lines = String::new();
                for row in &rows {
                    lines.push_str(&view(row).to_string());
                    lines.push('\n');
                }
                Some((Ok::<_, std::io::Error>(lines), (Some(pages), pool)))
            }
            Ok(None) => match pages.reach(&pool).await {
                Ok(reach) => Some((Ok(format!("{}\n", json!({"export": reach}))), (None, pool))),
                Err(error) => Some((Err(std::io::Error::other(error)), (None, pool))),
            },
            Err(error) => {
                tracing::error!(%error, "audit stream failed");
                Some((Err(std::io::Error::other(error)), (None, pool)))
            }
        }
    });
    let mut response = Response::new(Body::from_stream(pages));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    response
}

#[tracing::instrument(skip_all, fields(correlation_id = %id))]
async fn correlation(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(&READERS)?;
    let filter = Filter {
        correlation_id: Some(id.clone()),
        ..Filter::default()
    };
    let rows = audit::events(&state.pool, &filter, None, MAX_FLOW).await?;
    if rows.is_empty() {
        return Err(ApiError::NotFound);
    }
    Ok(Json(json!({
        "correlation_id": id,
        "items": rows.iter().map(view).collect::<Vec<_>>(),
    })))
}

/// Checks every event's seal and chain, every checkpoint, and the
/// anchor's copy of them.
#[tracing::instrument(skip_all)]
async fn verify(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<projections::tamper::Verification>, ApiError> {
    principal.require(&READERS)?;
    let against = projections::tamper::Against {
        anchor: state.config.chain_anchor.as_ref(),
        stale_after: Some(state.config.chain_checkpoint_interval * 2),
    };
    let verification = projections::tamper::verify(&state.pool, state.store.seals(), against)
        .await
        .map_err(ApiError::Internal)?;
    Ok(Json(verification))
}

/// Every integrity alarm, raised and acknowledged.
#[tracing::instrument(skip_all)]
async fn alarms(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(&READERS)?;
    let items = projections::tamper::alarms::all(&state.pool).await?;
    Ok(Json(json!({"items": items, "next_cursor": null})))
}

impl From<IntegrityAlarmError> for ApiError {
    fn from(error: IntegrityAlarmError) -> Self {
        match error {
            IntegrityAlarmError::NotFound => ApiError::NotFound,
            IntegrityAlarmError::NoteRequired => {
                ApiError::invalid("note", "say why the alarm may be acknowledged")
            }
            IntegrityAlarmError::AlreadyAcknowledged => ApiError::Conflict {
                code: "invalid_transition",
                detail: error.to_string(),
            },
        }
    }
}

#[derive(Deserialize)]
struct Acknowledgement {
    note: String,
}

/// An admin acknowledges an alarm, saying why: checkpoints resume, naming
/// it; verification still reports what is broken.
#[tracing::instrument(skip_all, fields(alarm = %id))]
async fn acknowledge(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Acknowledgement>,
) -> Result<Json<Value>, ApiError> {
    principal.require(&[Role::Admin])?;
    let command = IntegrityAlarmCommand::Acknowledge { note: body.note };
    state
        .store
        .execute::<IntegrityAlarm>(&id, command, None, &metadata(Some(&principal), &context))
        .await?;
    let alarm = projections::tamper::alarms::all(&state.pool)
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or(ApiError::NotFound)?;
    Ok(Json(json!(alarm)))
}

#[derive(Deserialize)]
struct StateQuery {
    as_of: Option<String>,
    version: Option<String>,
}

#[tracing::instrument(skip_all, fields(aggregate_type = %aggregate_type, aggregate_id = %id))]
async fn state_at(
    State(state): State<AppState>,
    principal: Principal,
    Path((aggregate_type, id)): Path<(String, String)>,
    QueryParams(query): QueryParams<StateQuery>,
) -> Result<Json<Value>, ApiError> {
    principal.require(&READERS)?;
    let as_of = instant("as_of", query.as_of.as_deref())?;
    let version = whole("version", query.version.as_deref(), 0..=i64::MAX)?;
    let upto = match (as_of, version) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "as_of",
                "give as_of or version, not both",
            ))
        }
        (Some(at), None) => Upto::AsOf(at),
        (None, Some(n)) => Upto::Version(n),
        (None, None) => Upto::Latest,
    };
    // An unknown type, like an unknown id, has no events: 404.
    let current = audit::version(&state.pool, &aggregate_type, &id).await?;
    if current == 0 {
        return Err(ApiError::NotFound);
    }
    let past = audit::state_at(&state.pool, state.store.seals(), &aggregate_type, &id, upto)
        .await
        .map_err(replay_error)?;
    let mut body = json!(past);
    body["current_version"] = json!(current);
    if past.version == 0 {
        body["state"] = Value::Null;
    }
    Ok(Json(body))
}

fn replay_error(error: ReplayError) -> ApiError {
    match error {
        ReplayError::UnknownType(_) => ApiError::NotFound,
        ReplayError::Store(error) => error.into(),
        ReplayError::Tampered(broken) => ApiError::Conflict {
            code: "tampering_detected",
            detail: format!("{broken}; run the integrity verification"),
        },
        other => ApiError::Internal(anyhow::anyhow!(other)),
    }
}
