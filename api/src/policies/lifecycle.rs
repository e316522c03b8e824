//! Changing a policy in force: endorsements, cancellations and renewals.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use domain::policy::{Policy, PolicyCommand};
use domain::product::Product;
use domain::{Money, Role, UserId};
use projections::read_models::policies::PolicyRow;
use serde::Deserialize;
use uuid::Uuid;

use super::applications::await_invoice;
use super::visible;
use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::{IdPath, IfMatch, JsonBody};
use crate::request_context::RequestContext;
use crate::state::AppState;
use crate::writes::{metadata, respond_to_command};

async fn run(
    state: &AppState,
    principal: &Principal,
    context: &RequestContext,
    id: Uuid,
    expected: Option<u64>,
    command: PolicyCommand,
) -> Result<projections::Committed<Policy>, ApiError> {
    let meta = metadata(Some(principal), context);
    Ok(state
        .store
        .execute::<Policy>(&id.to_string(), command, expected, &meta)
        .await?)
}

#[derive(Deserialize)]
pub(super) struct EndorseRequest {
    sum_insured: Money,
    effective_date: NaiveDate,
}

#[tracing::instrument(skip_all, fields(policy_id = %id))]
pub(super) async fn endorse(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<EndorseRequest>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Staff, Role::Admin])?;
    visible(&state, &principal, id).await?;
    let today = state.clock.today();
    let due_date =
        domain::dates::add_days(today, state.config.periods.invoice_due_days).unwrap_or(today);
    let command = PolicyCommand::Endorse {
        sum_insured: body.sum_insured,
        effective_date: body.effective_date,
        due_date,
    };
    let committed = run(&state, &principal, &context, id, expected, command).await?;
    if let Some(invoice_id) = committed.events.iter().find_map(|e| match &e.payload {
        domain::policy::PolicyEvent::PolicyEndorsed { invoice_id, .. } => *invoice_id,
        _ => None,
    }) {
        await_invoice(&state, &committed, invoice_id.0).await;
    }
    respond_to_command::<PolicyRow>(&state, id, &committed, StatusCode::OK).await
}

#[derive(Deserialize)]
pub(super) struct CancelRequest {
    reason: String,
    effective_date: Option<NaiveDate>,
}

#[tracing::instrument(skip_all, fields(policy_id = %id))]
pub(super) async fn cancel(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<CancelRequest>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Customer, Role::Staff, Role::Admin])?;
    visible(&state, &principal, id).await?;
    let today = state.clock.today();
    let effective_date = body.effective_date.unwrap_or(today);
    if principal.role == Role::Customer && effective_date < today {
        return Err(ApiError::invalid(
            "effective_date",
            "customers may not backdate a cancellation; ask staff",
        ));
    }
    let command = PolicyCommand::Cancel {
        reason: body.reason,
        effective_date,
        cancelled_by: Some(UserId(principal.user_id)),
    };
    let committed = run(&state, &principal, &context, id, expected, command).await?;
    respond_to_command::<PolicyRow>(&state, id, &committed, StatusCode::OK).await
}

#[tracing::instrument(skip_all, fields(policy_id = %id))]
pub(super) async fn renew(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Staff, Role::Admin])?;
    let row = visible(&state, &principal, id).await?;
    let Some(application) = &row.state.application else {
        return Err(ApiError::NotFound);
    };
    let (product, _) = state
        .store
        .load::<Product>(&application.product_id.to_string())
        .await?;
    let due_date = row
        .state
        .renewal_due_date(state.clock.today(), state.config.periods.invoice_due_days);
    let command = PolicyCommand::Renew { product, due_date };
    let committed = run(&state, &principal, &context, id, expected, command).await?;
    if let Some(term) = committed
        .aggregate
        .pending_renewal()
        .or(committed.aggregate.terms.last())
    {
        await_invoice(&state, &committed, term.invoice_id.0).await;
    }
    respond_to_command::<PolicyRow>(&state, id, &committed, StatusCode::OK).await
}
