//! Reviewing claims: assign, reserve, reject, close, reopen. Approvals are
//! in [`super::approval`], payouts in [`super::payouts`].

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use domain::claim::{Claim, ClaimCommand};
use domain::{Money, Role, UserId};
use projections::read_models::users;
use serde::Deserialize;
use uuid::Uuid;

use super::{respond, visible};
use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::{IdPath, IfMatch, JsonBody, OptionalJsonBody};
use crate::request_context::RequestContext;
use crate::state::AppState;
use crate::writes::metadata;

pub(super) const DECIDERS: [Role; 2] = [Role::Staff, Role::Admin];

/// Runs a decider's `command` on claim `id`: the role and the claim's
/// visibility checked first.
pub(super) async fn run(
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
    let committed = execute(state, id, command, expected, &meta).await?;
    respond(state, principal, id, &committed, StatusCode::OK).await
}

/// Runs `command` on claim `id` (the caller has checked who may).
async fn execute(
    state: &AppState,
    id: Uuid,
    command: ClaimCommand,
    expected: Option<u64>,
    meta: &projections::CommandMetadata,
) -> Result<projections::Committed<Claim>, ApiError> {
    Ok(state
        .store
        .execute::<Claim>(&id.to_string(), command, expected, meta)
        .await?)
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
    // The role first: who the assignee is must not show to anyone else.
    principal.require(&DECIDERS)?;
    visible(&state, &principal, id).await?;
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
    principal.require(&DECIDERS)?;
    let row = visible(&state, &principal, id).await?;
    let details = row.state.details.ok_or(ApiError::NotFound)?;
    let (policy, _) = state
        .store
        .load::<domain::policy::Policy>(&details.policy_id.to_string())
        .await?;
    let limit = policy
        .cover_on(details.incident_date)
        .and_then(|term| policy.limit_of_term(term.number))
        .or(policy.sum_insured);
    let command = ClaimCommand::SetReserve {
        amount: body.amount,
        limit,
    };
    let meta = metadata(Some(&principal), &context);
    let committed = execute(&state, id, command, expected, &meta).await?;
    respond(&state, &principal, id, &committed, StatusCode::OK).await
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
    principal.require(&DECIDERS)?;
    visible(&state, &principal, id).await?;
    let command = ClaimCommand::Close {
        reason: body.reason,
    };
    let meta = metadata(Some(&principal), &context);
    let committed = execute(&state, id, command, expected, &meta).await?;
    // What was approved and not paid no longer holds the policy's cover.
    let version = committed.version;
    super::approval::hold_cover(&state, &committed.aggregate, version, &meta).await?;
    respond(&state, &principal, id, &committed, StatusCode::OK).await
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
