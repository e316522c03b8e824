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
use crate::pagination::{NewestFirst, NumberedPage};
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

pub(super) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<LogQuery>,
) -> Result<Json<NumberedPage<Entry>>, ApiError> {
    principal.require(&[Role::Admin])?;
    let page = NewestFirst::parse(query.limit, query.cursor)?;
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
    let rows = integration_log::list(&state.pool, &filter, page.before, page.fetch()).await?;
    Ok(Json(page.page(rows, |e| e.id)))
}
