//! Claims: customers file on their active policies, staff review, approve
//! within their authority and pay out; documents are stored outside the
//! event store; internal notes are never shown to customers or agents.

mod approval;
mod decisions;
mod documents;
mod filing;
mod payouts;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Days;
use domain::claim::{Claim, ClaimError, ClaimEvent};
use domain::Role;
use projections::read_models::claims::{self, ClaimFilter, ClaimRow};
use projections::Committed;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::{IdPath, QueryParams};
use crate::pagination::{Page, PageQuery};
use crate::state::AppState;
use crate::views::{money_of, money_opt};
use crate::writes::{row_after_command, with_etag, StateResource};

/// The claim routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/claims", post(filing::file).get(list))
        .route("/claims/{id}", get(show).patch(filing::amend))
        .route(
            "/claims/{id}/documents",
            post(documents::upload).layer(DefaultBodyLimit::max(
                domain::claim::files::MAX_DOCUMENT_BYTES + 64 * 1024,
            )),
        )
        .route("/claims/{id}/documents/{doc_id}", get(documents::download))
        .route("/claims/{id}/summary.pdf", get(documents::summary))
        .route("/claims/{id}/notes", post(filing::add_note))
        .route("/claims/{id}/assign", post(decisions::assign))
        .route("/claims/{id}/reserve", post(decisions::reserve))
        .route("/claims/{id}/approve", post(approval::approve))
        .route("/claims/{id}/reject", post(decisions::reject))
        .route("/claims/{id}/pay", post(payouts::pay))
        .route("/claims/{id}/payee", post(payouts::propose_payee))
        .route("/claims/{id}/confirm", post(approval::confirm))
        .route("/claims/{id}/close", post(decisions::close))
        .route("/claims/{id}/reopen", post(decisions::reopen))
}

/// Whether `principal` sees staff-only parts (internal notes, reserves).
fn is_staff(principal: &Principal) -> bool {
    matches!(principal.role, Role::Staff | Role::Admin | Role::Auditor)
}

/// A claim as `principal` may see it.
pub fn claim_view(row: &ClaimRow, principal: &Principal) -> Value {
    let claim = &row.state;
    let Some(details) = &claim.details else {
        return json!({"id": row.id, "version": row.version});
    };
    let staff = is_staff(principal);
    let notes: Vec<Value> = claim
        .notes
        .iter()
        .filter(|n| staff || !n.internal)
        .map(|n| json!({"id": n.note_id, "text": n.text, "author": n.author, "internal": n.internal}))
        .collect();
    json!({
        "id": row.id,
        "claim_number": details.claim_number,
        "status": claim.status.as_str(),
        "policy_id": details.policy_id,
        "policy_number": details.policy_number,
        "customer_id": details.customer_id,
        "filed_by": details.filed_by,
        "filed_on": details.filed_on,
        "incident_date": details.incident_date,
        "description": details.description,
        "claimed_amount": money_of(&details.claimed_amount),
        "approved_amount": money_opt(claim.approved_amount.as_ref()),
        "paid_amount": money_opt(claim.paid_amount.as_ref()),
        "reserve": if staff { money_opt(claim.reserve.as_ref()) } else { Value::Null },
        "assignee_id": claim.assignee,
        "rejection_reason": claim.rejection_reason,
        "pending_approval": if staff {
            claim.pending_approval.as_ref().map(|p| json!({
                "approved_amount": money_of(&p.approved_amount), "proposed_by": p.proposed_by,
            }))
        } else {
            None
        },
        "payee": claim.payee.as_ref().map(|p| json!({
            "contact": p.contact, "reason": p.reason, "proposed_by": p.proposed_by,
            "confirmed_by": p.confirmed_by, "confirmed": p.confirmed_by.is_some(),
        })),
        "documents": claim.documents.iter().map(|d| json!({
            "id": d.document_id, "filename": d.filename, "content_type": d.content_type,
            "size": d.size, "sha256": d.sha256, "uploaded_by": d.uploaded_by,
        })).collect::<Vec<_>>(),
        "notes": notes,
        "payouts": claim.payouts.iter().map(|p| json!({
            "id": p.payout_id, "amount": money_of(&p.amount), "status": p.status.as_str(),
            "provider": p.provider, "provider_reference": p.provider_reference,
            "failure_reason": p.failure_reason,
        })).collect::<Vec<_>>(),
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

/// The claim `id` if `principal` may see it, else `404`.
pub(crate) async fn visible(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
) -> Result<ClaimRow, ApiError> {
    claims::get(&state.pool, id, principal.scope())
        .await?
        .ok_or(ApiError::NotFound)
}

/// The claim after a command (see [`row_after_command`]), as `principal`
/// may see it.
pub(crate) async fn respond(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    committed: &Committed<Claim>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let (row, waited) = row_after_command::<ClaimRow>(state, id, committed).await?;
    Ok(waited.annotate(with_etag(status, row.version, claim_view(&row, principal))))
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    assignee_id: Option<Uuid>,
    policy_id: Option<Uuid>,
    customer_id: Option<Uuid>,
    min_age_days: Option<u32>,
    #[serde(flatten)]
    page: PageQuery,
}

const STATUSES: [&str; 6] = [
    "submitted",
    "under_review",
    "approved",
    "rejected",
    "paid",
    "closed",
];

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<Page<Value>>, ApiError> {
    let page = query.page.parse()?;
    if let Some(status) = &query.status {
        if !STATUSES.contains(&status.as_str()) {
            return Err(ApiError::invalid(
                "status",
                format!("must be one of {}", STATUSES.join(", ")),
            ));
        }
    }
    let today = state.clock.today();
    let filed_on_or_before = match query.min_age_days {
        Some(days) if days > MAX_AGE_DAYS => {
            return Err(ApiError::invalid(
                "min_age_days",
                format!("must be at most {MAX_AGE_DAYS}"),
            ))
        }
        Some(days) => today.checked_sub_days(Days::new(u64::from(days))),
        None => None,
    };
    let filter = ClaimFilter {
        status: query.status,
        assignee_id: query.assignee_id,
        policy_id: query.policy_id,
        customer_id: query.customer_id,
        filed_on_or_before,
    };
    let rows = claims::list(
        &state.pool,
        principal.scope(),
        &filter,
        page.after,
        page.limit + 1,
    )
    .await?;
    Ok(Json(Page::from_rows(
        rows,
        page,
        |r| r.id,
        |r| claim_view(&r, &principal),
    )))
}

/// The oldest age a queue filter may ask for (a century).
const MAX_AGE_DAYS: u32 = 36_500;

/// The claim's timeline: its events, without internal notes and reserves
/// for those who may not see them.
async fn timeline(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
) -> Result<Vec<Value>, ApiError> {
    let staff = is_staff(principal);
    crate::history::entries::<ClaimError>(state, "Claim", id, |e| {
        staff
            || !matches!(
                e.decode::<ClaimEvent>(),
                Ok(ClaimEvent::NoteAdded(note)) if note.internal
            ) && e.event_type != "ReserveSet"
    })
    .await
}

async fn show(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    let row = visible(&state, &principal, id).await?;
    let mut body = claim_view(&row, &principal);
    body["timeline"] = json!(timeline(&state, &principal, id).await?);
    Ok(with_etag(StatusCode::OK, row.version, body))
}

impl StateResource for Claim {
    const PROJECTION: &'static str = "claims";
    const TABLE: &'static str = "claims";

    fn exists(&self) -> bool {
        self.details.is_some()
    }
}

impl From<ClaimError> for ApiError {
    fn from(error: ClaimError) -> Self {
        let detail = error.to_string();
        let conflict = |code| ApiError::Conflict {
            code,
            detail: detail.clone(),
        };
        match error {
            ClaimError::Validation(errors) => ApiError::Validation(errors),
            ClaimError::NotFound => ApiError::NotFound,
            ClaimError::AlreadyFiled => conflict("already_exists"),
            ClaimError::PolicyNotActive => conflict("policy_not_active"),
            ClaimError::IncidentOutsideCover { .. } => conflict("incident_outside_cover"),
            ClaimError::ReportedTooLate { .. } => conflict("reporting_period_ended"),
            ClaimError::InvalidTransition { .. } => conflict("invalid_transition"),
            ClaimError::ExceedsClaimed(_) => conflict("exceeds_claimed_amount"),
            ClaimError::UnknownPayout(_) => conflict("unknown_payout"),
            ClaimError::AuthorityLimit(_) => ApiError::Forbidden {
                code: "authority_limit",
                detail,
            },
            ClaimError::SeparationOfDuties(_) => ApiError::Forbidden {
                code: "separation_of_duties",
                detail,
            },
            ClaimError::AwaitsConfirmation(_) => conflict("confirmation_required"),
        }
    }
}
