//! Reviewing and deciding claims: assign, reserve, approve (within the
//! policy's cover and the approver's authority), reject, pay, close, reopen.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::claim::{Claim, ClaimCommand};
use domain::policy::{Policy, PolicyCommand};
use domain::{Money, PayoutId, PhoneNumber, Role, UserId};
use projections::read_models::users;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{respond, visible};
use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::{IdPath, IfMatch, JsonBody, OptionalJsonBody};
use crate::request_context::RequestContext;
use crate::state::AppState;
use crate::views::money_of;
use crate::writes::{await_read_model, metadata};

const DECIDERS: [Role; 2] = [Role::Staff, Role::Admin];

async fn run(
    state: &AppState,
    principal: &Principal,
    context: &RequestContext,
    id: Uuid,
    expected: Option<u64>,
    command: ClaimCommand,
) -> Result<Response, ApiError> {
    principal.require(&DECIDERS)?;
    visible(state, principal, id).await?;
    let meta = metadata(Some(principal), context);
    let committed = state
        .store
        .execute::<Claim>(&id.to_string(), command, expected, &meta)
        .await?;
    respond(state, principal, id, &committed, StatusCode::OK).await
}

#[derive(Deserialize)]
pub(super) struct AssignRequest {
    assignee_id: Uuid,
}

pub(super) async fn assign(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<AssignRequest>,
) -> Result<Response, ApiError> {
    let reviewer = users::get(&state.pool, body.assignee_id).await?;
    let is_reviewer = reviewer.is_some_and(|u| u.role == "staff" || u.role == "admin");
    if !is_reviewer {
        return Err(ApiError::invalid(
            "assignee_id",
            "must be a staff member or admin",
        ));
    }
    let command = ClaimCommand::Assign {
        assignee: UserId(body.assignee_id),
        assigned_by: Some(UserId(principal.user_id)),
    };
    run(&state, &principal, &context, id, expected, command).await
}

#[derive(Deserialize)]
pub(super) struct ReserveRequest {
    amount: Money,
}

pub(super) async fn reserve(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<ReserveRequest>,
) -> Result<Response, ApiError> {
    let command = ClaimCommand::SetReserve {
        amount: body.amount,
    };
    run(&state, &principal, &context, id, expected, command).await
}

#[derive(Deserialize)]
pub(super) struct ApproveRequest {
    approved_amount: Money,
}

/// Reserves the claim's new approved total on its policy (which refuses to
/// go past the sum insured, one approval at a time), then approves the
/// claim; should the claim refuse after all, the policy's reservation is put
/// back.
#[tracing::instrument(skip_all, fields(claim_id = %id))]
pub(super) async fn approve(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<ApproveRequest>,
) -> Result<Response, ApiError> {
    principal.require(&DECIDERS)?;
    visible(&state, &principal, id).await?;
    let (claim, _) = state.store.load::<Claim>(&id.to_string()).await?;
    let details = claim.details.clone().ok_or(ApiError::NotFound)?;
    let amount = body.approved_amount;
    let limit = Money::rounded(
        state.config.claims_authority_limit,
        details.claimed_amount.currency(),
    );
    claim.check_approval(amount, principal.role, limit)?;
    let previous = claim
        .approved_amount
        .unwrap_or(Money::zero(amount.currency()));
    let meta = metadata(Some(&principal), &context);
    let policy_id = details.policy_id.to_string();
    let reserve = |total| PolicyCommand::ReserveClaimCover {
        claim_id: details.claim_id,
        total,
    };
    state
        .store
        .execute::<Policy>(&policy_id, reserve(amount), None, &meta)
        .await?;
    let command = ClaimCommand::Approve {
        approved_amount: amount,
        approved_by: Some(UserId(principal.user_id)),
        approver_role: principal.role,
        authority_limit: limit,
    };
    match state
        .store
        .execute::<Claim>(&id.to_string(), command, expected, &meta)
        .await
    {
        Ok(committed) => respond(&state, &principal, id, &committed, StatusCode::OK).await,
        Err(error) => {
            if let Err(undo) = state
                .store
                .execute::<Policy>(&policy_id, reserve(previous), None, &meta)
                .await
            {
                tracing::error!(%undo, claim = %id, "could not release the claim's cover after a refused approval");
            }
            Err(error.into())
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ReasonRequest {
    reason: String,
}

#[derive(Deserialize, Default)]
pub(super) struct OptionalReason {
    reason: Option<String>,
}

pub(super) async fn reject(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<ReasonRequest>,
) -> Result<Response, ApiError> {
    let command = ClaimCommand::Reject {
        reason: body.reason,
    };
    run(&state, &principal, &context, id, expected, command).await
}

pub(super) async fn close(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
    OptionalJsonBody(body): OptionalJsonBody<OptionalReason>,
) -> Result<Response, ApiError> {
    let command = ClaimCommand::Close {
        reason: body.reason,
    };
    run(&state, &principal, &context, id, expected, command).await
}

pub(super) async fn reopen(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<ReasonRequest>,
) -> Result<Response, ApiError> {
    let command = ClaimCommand::Reopen {
        reason: body.reason,
    };
    run(&state, &principal, &context, id, expected, command).await
}

#[derive(Deserialize, Default)]
pub(super) struct PayRequest {
    provider: Option<String>,
    phone_number: Option<String>,
}

/// Sends the approved, unpaid amount to the claimant; `paid` once the
/// provider confirms.
#[tracing::instrument(skip_all, fields(claim_id = %id))]
pub(super) async fn pay(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
    OptionalJsonBody(body): OptionalJsonBody<PayRequest>,
) -> Result<Response, ApiError> {
    principal.require(&DECIDERS)?;
    let row = visible(&state, &principal, id).await?;
    let provider = crate::billing::checked_provider(&state, body.provider).await?;
    let phone = match body.phone_number {
        Some(raw) => {
            Some(PhoneNumber::parse(&raw).map_err(|e| ApiError::invalid("phone_number", e))?)
        }
        None => match &row.state.details {
            Some(d) => users::get(&state.pool, d.customer_id.0)
                .await?
                .and_then(|u| u.phone_number)
                .and_then(|p| PhoneNumber::parse(&p).ok()),
            None => None,
        },
    };
    let payout_id = PayoutId::new();
    let command = ClaimCommand::RequestPayout {
        payout_id,
        provider: provider.clone(),
        payee_contact: phone.map(String::from),
    };
    let meta = metadata(Some(&principal), &context);
    let committed = state
        .store
        .execute::<Claim>(&id.to_string(), command, expected, &meta)
        .await?;
    let waited = await_read_model(&state, "claims", committed.last_position).await;
    let amount = committed
        .aggregate
        .payouts
        .iter()
        .find(|p| p.payout_id == payout_id)
        .map(|p| money_of(&p.amount));
    let body = json!({"payout_id": payout_id, "claim_id": id, "status": "pending", "provider": provider, "amount": amount});
    Ok(waited.annotate((StatusCode::ACCEPTED, Json(body)).into_response()))
}
