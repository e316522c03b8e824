//! Paying claims out: to the claimant's own phone number by default; to
//! anyone else only once one staff member proposed that payee (`POST
//! /claims/{id}/payee`) and another confirmed it (`POST
//! /claims/{id}/confirm {"subject": "payee"}`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::claim::ClaimCommand;
use domain::{EmailAddress, PayoutId, PhoneNumber, UserId};
use projections::read_models::claims::ClaimRow;
use projections::read_models::users;
use serde::Deserialize;
use serde_json::json;

use super::decisions::{run, DECIDERS};
use super::visible;
use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::{IdPath, IfMatch, JsonBody, OptionalJsonBody};
use crate::request_context::RequestContext;
use crate::state::AppState;
use crate::views::money_of;
use crate::writes::{await_read_model, metadata};

#[derive(Deserialize, Default)]
pub(super) struct PayRequest {
    provider: Option<String>,
    phone_number: Option<String>,
}

/// The claimant's own phone number, as recorded on their account.
async fn claimant_phone(state: &AppState, row: &ClaimRow) -> Result<Option<String>, ApiError> {
    let Some(details) = &row.state.details else {
        return Ok(None);
    };
    Ok(users::get(&state.pool, details.customer_id.0)
        .await?
        .and_then(|u| u.phone_number)
        .and_then(|p| PhoneNumber::parse(&p).ok())
        .map(String::from))
}

/// Sends the approved, unpaid amount to the claimant (or the confirmed
/// payee); `paid` once the provider confirms.
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
    refuse_outside_cover(&state, &row).await?;
    let currency = row
        .state
        .details
        .as_ref()
        .map(|d| d.claimed_amount.currency())
        .ok_or(ApiError::NotFound)?;
    let provider = crate::billing::checked_provider(&state, body.provider, currency).await?;
    let requested = body
        .phone_number
        .map(|raw| PhoneNumber::parse(&raw).map_err(|e| ApiError::invalid("phone_number", e)))
        .transpose()?
        .map(String::from);
    let payout_id = PayoutId::new();
    let command = ClaimCommand::RequestPayout {
        payout_id,
        provider: provider.clone(),
        claimant_contact: claimant_phone(&state, &row).await?,
        requested_contact: requested,
    };
    let meta = metadata(Some(&principal), &context);
    let committed = state
        .store
        .execute::<domain::claim::Claim>(&id.to_string(), command, expected, &meta)
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

/// Nothing is paid for a loss the policy no longer covers (a cancellation
/// dated back before the incident, after the claim was approved).
async fn refuse_outside_cover(state: &AppState, row: &ClaimRow) -> Result<(), ApiError> {
    let Some(details) = &row.state.details else {
        return Err(ApiError::NotFound);
    };
    let (policy, _) = state
        .store
        .load::<domain::policy::Policy>(&details.policy_id.to_string())
        .await?;
    if policy.cover_on(details.incident_date).is_none() {
        return Err(ApiError::Conflict {
            code: "incident_outside_cover",
            detail: format!(
                "the policy no longer covers {}: nothing is paid for it",
                details.incident_date
            ),
        });
    }
    Ok(())
}

#[derive(Deserialize)]
pub(super) struct PayeeRequest {
    phone_number: Option<String>,
    email: Option<String>,
    reason: String,
}

/// Proposes someone other than the claimant to be paid; nothing is paid to
/// them until a second person confirms.
#[tracing::instrument(skip_all, fields(claim_id = %id))]
pub(super) async fn propose_payee(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<PayeeRequest>,
) -> Result<Response, ApiError> {
    principal.require(&DECIDERS)?;
    let contact = match (body.phone_number, body.email) {
        (Some(phone), None) => PhoneNumber::parse(&phone)
            .map(String::from)
            .map_err(|e| ApiError::invalid("phone_number", e))?,
        (None, Some(email)) => EmailAddress::parse(&email)
            .map(String::from)
            .map_err(|e| ApiError::invalid("email", e))?,
        _ => {
            return Err(ApiError::invalid(
                "phone_number",
                "send either phone_number or email",
            ))
        }
    };
    let command = ClaimCommand::ProposePayee {
        contact,
        proposed_by: UserId(principal.user_id),
        reason: body.reason,
    };
    run(&state, &principal, &context, id, expected, command).await
}
