//! Applying, approving and rejecting.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Datelike, NaiveDate};
use domain::policy::{NewApplication, Policy, PolicyCommand};
use domain::product::Product;
use domain::{Money, PolicyId, ProductId, Role, UserId};
use projections::numbers::{self, DocumentKind};
use projections::read_models::policies::PolicyRow;
use projections::read_models::users;
use serde::Deserialize;
use uuid::Uuid;

use super::visible;
use crate::acting_for::{execute_for, Target};
use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::{IdPath, IfMatch, JsonBody};
use crate::request_context::RequestContext;
use crate::state::AppState;
use crate::writes::{await_read_model, metadata, respond_to_command};

#[derive(Deserialize)]
pub(super) struct SubmitRequest {
    product_id: Uuid,
    customer_id: Option<Uuid>,
    sum_insured: Money,
    start_date: NaiveDate,
    #[serde(default = "empty_object")]
    insured: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::json!({})
}

/// Why an agent may not apply for a customer.
const NOT_YOURS: &str = "must be a customer assigned to you";

/// The customer an application is for: the caller themself, one of an
/// agent's assigned customers, or any customer for staff.
async fn applicant(
    state: &AppState,
    principal: &Principal,
    requested: Option<Uuid>,
) -> Result<Uuid, ApiError> {
    if principal.role == Role::Customer {
        return match requested {
            None => Ok(principal.user_id),
            Some(id) if id == principal.user_id => Ok(id),
            Some(_) => Err(ApiError::invalid(
                "customer_id",
                "customers apply for themselves; leave it out",
            )),
        };
    }
    let id = requested.ok_or_else(|| ApiError::invalid("customer_id", "is required"))?;
    let customer = users::get(&state.pool, id).await?;
    let allowed = customer.is_some_and(|c| {
        c.role == Role::Customer.as_str()
            && (principal.role != Role::Agent || c.agent_id == Some(principal.user_id))
    });
    if !allowed {
        let message = if principal.role == Role::Agent {
            NOT_YOURS
        } else {
            "must be a registered customer"
        };
        return Err(ApiError::invalid("customer_id", message));
    }
    Ok(id)
}

#[tracing::instrument(skip_all)]
pub(super) async fn submit(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    JsonBody(body): JsonBody<SubmitRequest>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Customer, Role::Agent, Role::Staff, Role::Admin])?;
    let customer_id = applicant(&state, &principal, body.customer_id).await?;
    let (product, version) = state
        .store
        .load::<Product>(&body.product_id.to_string())
        .await?;
    if version == 0 {
        return Err(ApiError::invalid("product_id", "no such product"));
    }
    let policy_id = PolicyId::new();
    let command = PolicyCommand::SubmitApplication(NewApplication {
        policy_id,
        product_id: ProductId(body.product_id),
        product,
        customer_id: UserId(customer_id),
        submitted_by: UserId(principal.user_id),
        sum_insured: body.sum_insured,
        start_date: body.start_date,
        insured: body.insured,
        today: state.clock.today(),
        max_backdate_days: state.config.periods.max_backdate_days,
    });
    let meta = metadata(Some(&principal), &context);
    let committed = execute_for::<Policy>(
        &state,
        &principal,
        customer_id,
        Target::New(&policy_id.to_string()),
        command,
        &meta,
        || ApiError::invalid("customer_id", NOT_YOURS),
    )
    .await?;
    respond_to_command::<PolicyRow>(&state, policy_id.0, &committed, StatusCode::CREATED).await
}

/// Agents decide on their own customers' applications, staff on any.
const DECIDERS: [Role; 3] = [Role::Agent, Role::Staff, Role::Admin];

#[tracing::instrument(skip_all, fields(policy_id = %id))]
pub(super) async fn approve(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
) -> Result<Response, ApiError> {
    principal.require(&DECIDERS)?;
    let row = visible(&state, &principal, id).await?;
    let today = state.clock.today();
    let policy_number =
        numbers::assign(&state.pool, DocumentKind::Policy, today.year(), id).await?;
    let due_date =
        domain::dates::add_days(today, state.config.periods.invoice_due_days).unwrap_or(today);
    let command = PolicyCommand::ApproveApplication {
        policy_number,
        due_date,
        approved_by: Some(UserId(principal.user_id)),
    };
    let committed = decide(&state, &principal, &context, &row, expected, command).await?;
    if let Some(term) = committed.aggregate.terms.first() {
        await_invoice(&state, &committed, term.invoice_id.0).await;
    }
    respond_to_command::<PolicyRow>(&state, id, &committed, StatusCode::OK).await
}

/// Runs a decision on the application `row`: an agent's only while the
/// customer is assigned to them (else `404`, as the read side says).
async fn decide(
    state: &AppState,
    principal: &Principal,
    context: &RequestContext,
    row: &PolicyRow,
    expected: Option<u64>,
    command: PolicyCommand,
) -> Result<projections::Committed<Policy>, ApiError> {
    let customer_id = row
        .state
        .application
        .as_ref()
        .map(|a| a.customer_id.0)
        .ok_or(ApiError::NotFound)?;
    execute_for::<Policy>(
        state,
        principal,
        customer_id,
        Target::Existing(&row.id.to_string(), expected),
        command,
        &metadata(Some(principal), context),
        || ApiError::NotFound,
    )
    .await
}

/// Waits (bounded) until the invoice an approval calls for has been created
/// by the billing process manager and is readable, so the `invoice_id` in the
/// response can be fetched at once.
pub(super) async fn await_invoice(
    state: &AppState,
    committed: &projections::Committed<Policy>,
    invoice_id: Uuid,
) {
    let Some(position) = committed.last_position else {
        return;
    };
    await_read_model(state, "billing_process", Some(position)).await;
    if let Ok(events) = state
        .store
        .events_of("Invoice", &invoice_id.to_string())
        .await
    {
        let last = events.last().map(|e| e.stream_position());
        await_read_model(state, "billing", last).await;
    }
}

#[derive(Deserialize)]
pub(super) struct RejectRequest {
    reason: String,
}

#[tracing::instrument(skip_all, fields(policy_id = %id))]
pub(super) async fn reject(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<RejectRequest>,
) -> Result<Response, ApiError> {
    principal.require(&DECIDERS)?;
    let row = visible(&state, &principal, id).await?;
    let command = PolicyCommand::RejectApplication {
        reason: body.reason,
    };
    let committed = decide(&state, &principal, &context, &row, expected, command).await?;
    respond_to_command::<PolicyRow>(&state, id, &committed, StatusCode::OK).await
}
