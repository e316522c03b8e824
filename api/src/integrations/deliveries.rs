//! `GET /integrations/webhooks` and `/integrations/webhooks/{id}`: every
//! webhook delivery a provider made, newest first — verified or not, and
//! what the ingress did with it; one delivery with its headers and body,
//! secrets redacted (a verified body is kept whole for the retention
//! period; an unverified one only its first 4 KiB, with the digest and
//! size of the whole).

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use domain::Role;
use projections::webhook_deliveries::{self, redact_body, redact_json, Filter, Received};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::pagination::{NewestFirst, NumberedPage};
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct DeliveryQuery {
    provider: Option<String>,
    verified: Option<bool>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: Option<String>,
    cursor: Option<String>,
}

pub(super) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<DeliveryQuery>,
) -> Result<Json<NumberedPage<Received>>, ApiError> {
    principal.require(&[Role::Admin])?;
    let page = NewestFirst::parse(query.limit, query.cursor)?;
    let filter = Filter {
        provider: query.provider.filter(|p| !p.is_empty()),
        verified: query.verified,
        from: query.from,
        to: query.to,
    };
    let rows = webhook_deliveries::list(&state.pool, &filter, page.before, page.fetch()).await?;
    Ok(Json(page.page(rows, |d| d.id)))
}

pub(super) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(&[Role::Admin])?;
    let id = id.parse::<i64>().map_err(|_| ApiError::NotFound)?;
    let stored = webhook_deliveries::get(&state.pool, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut view =
        serde_json::to_value(&stored.received).map_err(|e| ApiError::Internal(e.into()))?;
    let size = stored.body_size.map_or(stored.body.len() as i64, i64::from);
    view["headers"] = redact_json(&stored.headers);
    view["body"] = redact_body(&stored.body);
    view["body_size"] = json!(size);
    view["body_truncated"] = json!((stored.body.len() as i64) < size);
    view["body_sha256"] = json!(stored.body_sha256.as_deref().map(domain::signatures::hex));
    Ok(Json(view))
}
