//! Quotes: what a command would give, asked before it is given, decided by
//! the aggregate's own rules, with nothing recorded.
//!
//! - `GET /policies/products/{id}/quote?sum_insured=&start_date=`: the
//!   premium and cover period an application would get (any user).
//! - `GET /policies/policies/{id}/cancellation-quote?effective_date=`: the
//!   refund and what is kept, as a cancellation then would give (whoever
//!   may cancel it).

use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;
use domain::ids::{PolicyId, ProductId, UserId};
use domain::policy::{NewApplication, Policy};
use domain::product::Product;
use domain::{Money, Role};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};

use super::visible;
use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::{IdPath, QueryParams};
use crate::state::AppState;
use crate::views::money_of;

#[derive(Deserialize)]
pub(super) struct QuoteQuery {
    sum_insured: Option<String>,
    start_date: Option<String>,
}

/// A date query parameter, or a 422 naming it.
fn date(field: &str, value: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    value
        .map(|v| {
            v.parse()
                .map_err(|_| ApiError::invalid(field, "must be a date (YYYY-MM-DD)"))
        })
        .transpose()
}

#[tracing::instrument(skip_all, fields(product_id = %id))]
pub(super) async fn product_quote(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
    QueryParams(query): QueryParams<QuoteQuery>,
) -> Result<Json<Value>, ApiError> {
    let (product, version) = state.store.load::<Product>(&id.to_string()).await?;
    let terms = product
        .terms
        .as_ref()
        .filter(|_| version > 0)
        .ok_or(ApiError::NotFound)?;
    let amount: Decimal = query
        .sum_insured
        .as_deref()
        .ok_or_else(|| ApiError::invalid("sum_insured", "is required"))?
        .trim()
        .parse()
        .map_err(|_| ApiError::invalid("sum_insured", "must be an amount (e.g. 1000000.00)"))?;
    let sum_insured = Money::new(amount, terms.currency())
        .map_err(|e| ApiError::invalid("sum_insured", e.to_string()))?;
    let today = state.clock.today();
    let start_date = date("start_date", query.start_date.as_deref())?.unwrap_or(today);
    let quoted = Policy::quote(NewApplication {
        policy_id: PolicyId::new(),
        product_id: ProductId(id),
        product: product.clone(),
        customer_id: UserId(principal.user_id),
        submitted_by: UserId(principal.user_id),
        sum_insured,
        start_date,
        insured: json!({}),
        today,
        max_backdate_days: state.config.periods.max_backdate_days,
    })?;
    Ok(Json(json!({
        "product_id": id,
        "premium": money_of(&quoted.premium),
        "sum_insured": money_of(&quoted.sum_insured),
        "start_date": quoted.start_date,
        "end_date": quoted.end_date,
        "rate": quoted.rate.to_string(),
    })))
}

#[derive(Deserialize)]
pub(super) struct CancellationQuery {
    effective_date: Option<String>,
}

#[tracing::instrument(skip_all, fields(policy_id = %id))]
pub(super) async fn cancellation_quote(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
    QueryParams(query): QueryParams<CancellationQuery>,
) -> Result<Json<Value>, ApiError> {
    principal.require(&[Role::Customer, Role::Staff, Role::Admin])?;
    let row = visible(&state, &principal, id).await?;
    if row.state.policy_number.is_none() {
        return Err(ApiError::NotFound);
    }
    let today = state.clock.today();
    let effective_date = date("effective_date", query.effective_date.as_deref())?.unwrap_or(today);
    if principal.role == Role::Customer && effective_date < today {
        return Err(ApiError::invalid(
            "effective_date",
            "customers may not backdate a cancellation; ask staff",
        ));
    }
    // Decided on the aggregate itself (the read model may lag a payment).
    let (policy, _) = state.store.load::<Policy>(&id.to_string()).await?;
    let quote = policy.cancellation_quote(effective_date)?;
    Ok(Json(json!({
        "policy_id": id,
        "refund": money_of(&quote.refund),
        "retained": money_of(&quote.retained),
        "effective_date": quote.effective_date,
    })))
}
