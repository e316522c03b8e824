//! Reports for staff, admins and auditors, read from the projections:
//! `GET /reports/policies?from=&to=&group_by=month|product`, premium
//! written, earned and unearned (`domain::reports`). `Accept: text/csv`
//! gives the same rows as CSV with a header row.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{Datelike, NaiveDate};
use domain::reports::{self, GroupBy, PremiumRow};
use domain::Role;
use projections::read_models::policies;
use serde::Deserialize;
use serde_json::json;

use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::{accepts, QueryParams};
use crate::state::AppState;

/// Who may read reports.
const READERS: [Role; 3] = [Role::Staff, Role::Admin, Role::Auditor];
/// The longest range a report covers.
const MAX_DAYS: i64 = 3660;

/// The report routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/reports/policies", get(premiums))
}

#[derive(Deserialize)]
struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
    group_by: Option<String>,
}

/// A validated report range.
struct Range {
    from: NaiveDate,
    to: NaiveDate,
    group_by: GroupBy,
}

/// `from` defaults to the first of the business year, `to` to today.
fn range(query: &RangeQuery, today: NaiveDate) -> Result<Range, ApiError> {
    let date = |field: &str, raw: Option<&str>, default: NaiveDate| {
        raw.filter(|r| !r.is_empty()).map_or(Ok(default), |r| {
            r.parse::<NaiveDate>()
                .map_err(|_| ApiError::invalid(field, "must be a date (YYYY-MM-DD)"))
        })
    };
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    let from = date("from", query.from.as_deref(), year_start)?;
    let to = date("to", query.to.as_deref(), today)?;
    if to < from {
        return Err(ApiError::invalid("to", "must not be before from"));
    }
    if (to - from).num_days() > MAX_DAYS {
        return Err(ApiError::invalid(
            "to",
            "the range may span at most ten years",
        ));
    }
    let group_by = match query.group_by.as_deref() {
        None | Some("") | Some("month") => GroupBy::Month,
        Some("product") => GroupBy::Product,
        Some(_) => return Err(ApiError::invalid("group_by", "must be month or product")),
    };
    Ok(Range { from, to, group_by })
}

/// One CSV field, quoted when it must be.
fn field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

fn csv(header_row: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Response {
    let mut text = header_row.join(",");
    text.push('\n');
    for row in rows {
        let fields: Vec<String> = row.iter().map(|v| field(v)).collect();
        text.push_str(&fields.join(","));
        text.push('\n');
    }
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    response
}

#[tracing::instrument(skip_all)]
async fn premiums(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    QueryParams(query): QueryParams<RangeQuery>,
) -> Result<Response, ApiError> {
    principal.require(&READERS)?;
    let range = range(&query, state.clock.today())?;
    let book = policies::in_force_states(&state.pool).await?;
    let rows = reports::premiums(&book, range.from, range.to, range.group_by);
    if accepts(&headers, "text/csv") {
        let columns = [
            "group", "currency", "policies", "written", "earned", "unearned",
        ];
        return Ok(csv(&columns, rows.iter().map(premium_fields)));
    }
    Ok(Json(json!({
        "from": range.from,
        "to": range.to,
        "group_by": if range.group_by == GroupBy::Month { "month" } else { "product" },
        "items": rows,
    }))
    .into_response())
}

fn premium_fields(row: &PremiumRow) -> Vec<String> {
    vec![
        row.group.clone(),
        row.written.currency().code().to_string(),
        row.policies.to_string(),
        row.written.amount().to_string(),
        row.earned.amount().to_string(),
        row.unearned.amount().to_string(),
    ]
}
