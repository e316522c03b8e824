//! `GET /integrations/logs`: the integration log, newest first, filtered
//! by configuration, provider, action, outcome, reference and time. Rows
//! were redacted when written; nothing secret is stored to show.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::Role;
use projections::integration_log::{self, Entry, Filter};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::pagination::PageQuery;
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct LogQuery {
    config_id: Option<Uuid>,
    provider: Option<String>,
    action: Option<String>,
    ok: Option<bool>,
    result: Option<String>,
    reference_id: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// A page of log entries; the cursor is the last entry's position.
#[derive(serde::Serialize)]
pub(super) struct LogPage {
    items: Vec<Entry>,
    next_cursor: Option<String>,
}

pub(super) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<LogQuery>,
) -> Result<Json<LogPage>, ApiError> {
    principal.require(&[Role::Admin])?;
    let limit = PageQuery {
        limit: query.limit,
        cursor: None,
    }
    .parse()?
    .limit;
    let before = query
        .cursor
        .filter(|c| !c.is_empty())
        .map(|c| c.parse::<i64>())
        .transpose()
        .map_err(|_| ApiError::invalid("cursor", "is not a cursor returned by this API"))?;
    let filter = Filter {
        config_id: query.config_id,
        provider: query.provider,
        action: query.action,
        ok: query.ok,
        succeeded: match query.result.as_deref() {
            None | Some("") => None,
            Some("succeeded") => Some(true),
            Some("failed") => Some(false),
            Some(_) => {
                return Err(ApiError::invalid("result", "must be succeeded or failed"));
            }
        },
        reference_id: query.reference_id,
        from: query.from,
        to: query.to,
    };
    let mut items = integration_log::list(&state.pool, &filter, before, limit + 1).await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|e| e.id.to_string())
    } else {
        None
    };
    Ok(Json(LogPage { items, next_cursor }))
}
