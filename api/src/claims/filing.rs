//! Filing a claim, amending it, and notes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{Datelike, NaiveDate};
use domain::claim::{Claim, ClaimCommand, NewClaim, Note};
use domain::policy::Policy;
use domain::{ClaimId, Money, NoteId, Role, UserId};
use projections::numbers::{self, DocumentKind};
use projections::read_models::policies;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{respond, visible};
use crate::acting_for::{execute_for, Target};
use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::{IdPath, IfMatch, JsonBody};
use crate::request_context::RequestContext;
use crate::state::AppState;
use crate::writes::metadata;

#[derive(Deserialize)]
pub(super) struct FileRequest {
    policy_id: Uuid,
    incident_date: NaiveDate,
    description: String,
    claimed_amount: Money,
}

#[tracing::instrument(skip_all)]
pub(super) async fn file(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    JsonBody(body): JsonBody<FileRequest>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Customer, Role::Agent, Role::Staff, Role::Admin])?;
    let not_yours = || ApiError::invalid("policy_id", "no such policy of yours");
    let row = policies::get(&state.pool, body.policy_id, principal.scope())
        .await?
        .ok_or_else(not_yours)?;
    let customer_id = row.state.application.as_ref().map(|a| a.customer_id.0);
    let (policy, _) = state
        .store
        .load::<Policy>(&body.policy_id.to_string())
        .await?;
    let today = state.clock.today();
    let claim_id = ClaimId::new();
    let mut new = NewClaim {
        claim_id,
        claim_number: String::new(),
        policy,
        filed_by: UserId(principal.user_id),
        incident_date: body.incident_date,
        description: body.description,
        claimed_amount: body.claimed_amount,
        today,
        reporting_days: state.config.periods.claim_reporting_days,
    };
    // A refused filing uses up no number: judged first, numbered after.
    Claim::check_filing(&new)?;
    new.claim_number =
        numbers::assign(&state.pool, DocumentKind::Claim, today.year(), claim_id.0).await?;
    let command = ClaimCommand::File(Box::new(new));
    let meta = metadata(Some(&principal), &context);
    let committed = execute_for::<Claim>(
        &state,
        &principal,
        customer_id.ok_or_else(not_yours)?,
        Target::New(&claim_id.to_string()),
        command,
        &meta,
        not_yours,
    )
    .await?;
    respond(
        &state,
        &principal,
        claim_id.0,
        &committed,
        StatusCode::CREATED,
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct AmendRequest {
    description: Option<String>,
    claimed_amount: Option<Money>,
}

/// Only the customer who owns a claim amends it, while it is submitted;
/// staff and agents note what they learn instead.
#[tracing::instrument(skip_all, fields(claim_id = %id))]
pub(super) async fn amend(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<AmendRequest>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Customer])?;
    visible(&state, &principal, id).await?;
    let command = ClaimCommand::Amend {
        description: body.description,
        claimed_amount: body.claimed_amount,
        amended_by: Some(UserId(principal.user_id)),
    };
    let meta = metadata(Some(&principal), &context);
    let committed = state
        .store
        .execute::<Claim>(&id.to_string(), command, expected, &meta)
        .await?;
    respond(&state, &principal, id, &committed, StatusCode::OK).await
}

#[derive(Deserialize)]
pub(super) struct NoteRequest {
    text: String,
    /// Staff-only unless `false` (then the customer sees it too).
    #[serde(default = "internal_by_default")]
    internal: bool,
}

fn internal_by_default() -> bool {
    true
}

#[tracing::instrument(skip_all, fields(claim_id = %id))]
pub(super) async fn add_note(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    JsonBody(body): JsonBody<NoteRequest>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Staff, Role::Admin])?;
    visible(&state, &principal, id).await?;
    let note = Note {
        note_id: NoteId::new(),
        text: body.text,
        author: UserId(principal.user_id),
        internal: body.internal,
    };
    let note_id = note.note_id;
    let meta = metadata(Some(&principal), &context);
    let committed = state
        .store
        .execute::<Claim>(&id.to_string(), ClaimCommand::AddNote(note), None, &meta)
        .await?;
    crate::writes::await_read_model(&state, "claims", committed.last_position).await;
    let saved = committed
        .aggregate
        .notes
        .iter()
        .find(|n| n.note_id == note_id)
        .ok_or(ApiError::NotFound)?;
    let body = json!({
        "id": saved.note_id,
        "claim_id": id,
        "text": saved.text,
        "author": saved.author,
        "internal": saved.internal,
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}
