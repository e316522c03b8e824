//! Approving claims: within the policy's cover (reserved on the policy,
//! which decides one approval at a time), the approver's authority, and
//! separation of duties — whoever filed or last amended a claim cannot
//! approve it, and above `CLAIMS_DUAL_CONTROL_LIMIT` an approval is only a
//! proposal until a second person confirms it (`POST /claims/{id}/confirm`).
//! The same endpoint confirms a proposed payee.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use domain::claim::{ApprovalOutcome, Claim, ClaimCommand, ClaimDetails, Limits};
use domain::policy::{Policy, PolicyCommand};
use domain::{Money, UserId};
use projections::CommandMetadata;
use serde::Deserialize;
use uuid::Uuid;

use super::decisions::{run, DECIDERS};
use super::{respond, visible};
use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::{IdPath, IfMatch, JsonBody};
use crate::request_context::RequestContext;
use crate::state::AppState;
use crate::writes::metadata;

#[derive(Deserialize)]
pub(super) struct ApproveRequest {
    approved_amount: Money,
}

/// The authority and dual-control limits in `currency`.
fn limits(state: &AppState, like: &Money) -> Limits {
    Limits {
        authority: Money::rounded(state.config.claims_authority_limit, like.currency()),
        dual_control: Money::rounded(state.config.claims_dual_control_limit, like.currency()),
    }
}

/// Approves (reserving the new total on the policy first), or, above the
/// dual-control limit, records the proposal: `202` until confirmed.
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
    let (claim, version) = state.store.load::<Claim>(&id.to_string()).await?;
    let details = claim.details.clone().ok_or(ApiError::NotFound)?;
    let amount = body.approved_amount;
    let limits = limits(&state, &details.claimed_amount);
    let approver = UserId(principal.user_id);
    let command = ClaimCommand::Approve {
        approved_amount: amount,
        approved_by: Some(approver),
        approver_role: principal.role,
        authority_limit: limits.authority,
        dual_control_limit: limits.dual_control,
    };
    match claim.check_approval(amount, approver, principal.role, limits)? {
        ApprovalOutcome::Proposed => {
            let meta = metadata(Some(&principal), &context);
            let committed = state
                .store
                .execute::<Claim>(&id.to_string(), command, expected, &meta)
                .await?;
            respond(&state, &principal, id, &committed, StatusCode::ACCEPTED).await
        }
        ApprovalOutcome::Approved => {
            let cover = Cover::of(&state, &details, metadata(Some(&principal), &context));
            let decided_on = Decided {
                claim: &claim,
                version,
                expected,
            };
            cover
                .reserved(amount, &decided_on, id, command, &principal)
                .await
        }
    }
}

/// The claim's share of its policy's cover.
struct Cover<'a> {
    state: &'a AppState,
    policy_id: String,
    claim_id: domain::ClaimId,
    incident_date: chrono::NaiveDate,
    meta: CommandMetadata,
}

/// The claim as a decision was made on it, and the version the client
/// expected, if any.
struct Decided<'a> {
    claim: &'a Claim,
    version: u64,
    expected: Option<u64>,
}

impl<'a> Cover<'a> {
    /// The cover of the claim `details` describe, on its policy.
    fn of(state: &'a AppState, details: &ClaimDetails, meta: CommandMetadata) -> Self {
        Self {
            state,
            policy_id: details.policy_id.to_string(),
            claim_id: details.claim_id,
            incident_date: details.incident_date,
            meta,
        }
    }

    async fn to_policy(&self, command: PolicyCommand) -> Result<(), ApiError> {
        self.state
            .store
            .execute::<Policy>(&self.policy_id, command, None, &self.meta)
            .await?;
        Ok(())
    }

    async fn reserve(&self, total: Money, claim_version: u64) -> Result<(), ApiError> {
        self.to_policy(PolicyCommand::ReserveClaimCover {
            claim_id: self.claim_id,
            total,
            claim_version,
            incident_date: self.incident_date,
        })
        .await
    }

    /// Reserves `total` on the policy as decided on the claim's version
    /// (the policy accepts one reservation per version, so of concurrent
    /// approvals of one claim only one gets here), then runs `command` on
    /// the claim at that version; should the claim refuse after all, the
    /// reservation goes back to what the claim held, unless a later
    /// decision has replaced it.
    async fn reserved(
        &self,
        total: Money,
        decided: &Decided<'_>,
        id: Uuid,
        command: ClaimCommand,
        principal: &Principal,
    ) -> Result<Response, ApiError> {
        if let Some(expected) = decided.expected.filter(|e| *e != decided.version) {
            return Err(ApiError::PreconditionFailed {
                expected,
                actual: decided.version,
            });
        }
        self.reserve(total, decided.version).await?;
        let executed = self
            .state
            .store
            .execute::<Claim>(&id.to_string(), command, Some(decided.version), &self.meta)
            .await;
        match executed {
            Ok(committed) => respond(self.state, principal, id, &committed, StatusCode::OK).await,
            Err(error) => {
                let held = decided
                    .claim
                    .cover_held()
                    .unwrap_or(Money::zero(total.currency()));
                let undo = PolicyCommand::ReleaseClaimCover {
                    claim_id: self.claim_id,
                    to: held,
                    claim_version: decided.version,
                };
                if let Err(undo) = self.to_policy(undo).await {
                    tracing::error!(%undo, claim = %id, "could not put back the claim's cover after a refused approval");
                }
                Err(error.into())
            }
        }
    }
}

/// Sets the cover `claim` (at `version`) holds on its policy to what it
/// holds now ([`Claim::cover_held`]): after a close, only what was paid.
pub(super) async fn hold_cover(
    state: &AppState,
    claim: &Claim,
    version: u64,
    meta: &CommandMetadata,
) -> Result<(), ApiError> {
    let (Some(details), Some(total)) = (&claim.details, claim.cover_held()) else {
        return Ok(());
    };
    Cover::of(state, details, meta.clone())
        .reserve(total, version)
        .await
}

/// What a second person confirms.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Subject {
    /// A proposed approval.
    Approval,
    /// A proposed payee.
    Payee,
}

#[derive(Deserialize)]
pub(super) struct ConfirmRequest {
    subject: Subject,
}

/// A second staff member or admin confirms a proposed approval (its total
/// is then reserved on the policy, as any approval) or payee.
#[tracing::instrument(skip_all, fields(claim_id = %id))]
pub(super) async fn confirm(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<ConfirmRequest>,
) -> Result<Response, ApiError> {
    let confirmed_by = UserId(principal.user_id);
    if let Subject::Payee = body.subject {
        let command = ClaimCommand::ConfirmPayee { confirmed_by };
        return run(&state, &principal, &context, id, expected, command).await;
    }
    principal.require(&DECIDERS)?;
    visible(&state, &principal, id).await?;
    let (claim, version) = state.store.load::<Claim>(&id.to_string()).await?;
    let details = claim.details.clone().ok_or(ApiError::NotFound)?;
    claim.check_confirmation(confirmed_by)?;
    let Some(pending) = claim.pending_approval.clone() else {
        return Err(ApiError::NotFound);
    };
    let total = pending.approved_amount;
    let cover = Cover::of(&state, &details, metadata(Some(&principal), &context));
    let command = ClaimCommand::ConfirmApproval { confirmed_by };
    let decided_on = Decided {
        claim: &claim,
        version,
        expected,
    };
    cover
        .reserved(total, &decided_on, id, command, &principal)
        .await
}
