//! Applications and policies: one `Policy` aggregate from application to the
//! end of cover. Customers apply for themselves, agents for their assigned
//! customers, staff for anyone; each sees only what their role may.

mod applications;
mod lifecycle;
mod quotes;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::policy::{Policy, PolicyError, PolicyStatus};
use projections::read_models::policies::{self, PolicyFilter, PolicyRow};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::{IdPath, QueryParams};
use crate::pagination::{Page, PageQuery};
use crate::state::AppState;
use crate::views::{money_of, money_opt};
use crate::writes::{with_etag, ResourceView, StateResource};

/// The application and policy routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/policies/applications",
            post(applications::submit).get(list_applications),
        )
        .route("/policies/applications/{id}", get(show_application))
        .route(
            "/policies/applications/{id}/approve",
            post(applications::approve),
        )
        .route(
            "/policies/applications/{id}/reject",
            post(applications::reject),
        )
        .route("/policies/policies", get(list_policies))
        .route("/policies/policies/{id}", get(show_policy))
        .route("/policies/policies/{id}/endorse", post(lifecycle::endorse))
        .route("/policies/policies/{id}/cancel", post(lifecycle::cancel))
        .route("/policies/policies/{id}/renew", post(lifecycle::renew))
        .route(
            "/policies/policies/{id}/cancellation-quote",
            get(quotes::cancellation_quote),
        )
        .route("/policies/products/{id}/quote", get(quotes::product_quote))
}

/// A policy (or application) as the API shows it.
pub fn policy_view(row: &PolicyRow) -> Value {
    let policy = &row.state;
    let Some(application) = &policy.application else {
        return json!({"id": row.id, "version": row.version});
    };
    let term = policy.current_term();
    let renewal = policy.pending_renewal().map(|t| {
        json!({
            "term_number": t.number,
            "start_date": t.start_date,
            "end_date": t.end_date,
            "premium": money_of(&t.premium),
            "invoice_id": t.invoice_id,
            "paid": policy.renewal_paid,
        })
    });
    let amount_paid = policy.ledger.as_ref().map(|l| l.paid_net(|_| true));
    let credit = policy
        .ledger
        .as_ref()
        .map(domain::policy::ledger::PremiumLedger::credit);
    json!({
        "id": row.id,
        "status": policy.status.as_str(),
        "policy_number": policy.policy_number,
        "product_id": application.product_id,
        "product_code": application.product_code,
        "product_name": application.product_name,
        "customer_id": application.customer_id,
        "submitted_by": application.submitted_by,
        "sum_insured": money_opt(policy.sum_insured.as_ref()),
        "premium": money_opt(policy.annual_premium.as_ref()),
        "start_date": term.map_or(application.start_date, |t| t.start_date),
        "end_date": term.map_or(application.end_date, |t| t.end_date),
        "term_number": term.map(|t| t.number),
        "invoice_id": term.map(|t| t.invoice_id),
        "due_date": term.map(|t| t.due_date),
        "amount_paid": money_opt(amount_paid.as_ref()),
        "credit": money_opt(credit.as_ref()),
        "insured": application.insured,
        "rejection_reason": policy.rejection_reason,
        "cancellation": policy.cancellation.as_ref().map(|c| json!({
            "reason": c.reason,
            "effective_date": c.effective_date,
            "refund": money_of(&c.refund),
        })),
        "refund": policy.cancellation.as_ref().map(|c| money_of(&c.refund)),
        "lapsed_on": policy.lapsed_on,
        "renewal": renewal,
        "endorsements": policy.endorsements,
        "invoice_ids": policy.invoices.iter().map(|(id, _)| id).collect::<Vec<_>>(),
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    customer_id: Option<Uuid>,
    product_id: Option<Uuid>,
    #[serde(flatten)]
    page: PageQuery,
}

const STATUSES: [PolicyStatus; 7] = [
    PolicyStatus::Submitted,
    PolicyStatus::Approved,
    PolicyStatus::Active,
    PolicyStatus::Rejected,
    PolicyStatus::Cancelled,
    PolicyStatus::Lapsed,
    PolicyStatus::Expired,
];

async fn list(
    state: &AppState,
    principal: &Principal,
    query: ListQuery,
    issued_only: bool,
) -> Result<Json<Page<Value>>, ApiError> {
    let page = query.page.parse()?;
    if let Some(status) = &query.status {
        if !STATUSES.iter().any(|s| s.as_str() == status) {
            return Err(ApiError::invalid(
                "status",
                "must be one of submitted, approved, active, rejected, cancelled, lapsed, expired",
            ));
        }
    }
    let filter = PolicyFilter {
        issued_only,
        status: query.status,
        customer_id: query.customer_id,
        product_id: query.product_id,
    };
    let rows = policies::list(
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
        |r| policy_view(&r),
    )))
}

async fn list_applications(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<Page<Value>>, ApiError> {
    list(&state, &principal, query, false).await
}

async fn list_policies(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<Page<Value>>, ApiError> {
    list(&state, &principal, query, true).await
}

/// The policy `id` if `principal` may see it, else `404`.
async fn visible(state: &AppState, principal: &Principal, id: Uuid) -> Result<PolicyRow, ApiError> {
    policies::get(&state.pool, id, principal.scope())
        .await?
        .ok_or(ApiError::NotFound)
}

/// The policy (or application) with its history: every event, who and when.
async fn with_history(state: &AppState, row: &PolicyRow) -> Result<Response, ApiError> {
    let mut body = policy_view(row);
    body["history"] =
        json!(crate::history::entries::<PolicyError>(state, "Policy", row.id, |_| true).await?);
    Ok(with_etag(StatusCode::OK, row.version, body))
}

async fn show_application(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    let row = visible(&state, &principal, id).await?;
    with_history(&state, &row).await
}

async fn show_policy(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    let row = visible(&state, &principal, id).await?;
    if row.state.policy_number.is_none() {
        return Err(ApiError::NotFound);
    }
    with_history(&state, &row).await
}

impl StateResource for Policy {
    const PROJECTION: &'static str = "policies";
    const TABLE: &'static str = "policies";

    fn exists(&self) -> bool {
        self.application.is_some()
    }
}

impl ResourceView for PolicyRow {
    fn view(&self) -> Value {
        policy_view(self)
    }
}

impl From<PolicyError> for ApiError {
    fn from(error: PolicyError) -> Self {
        let detail = error.to_string();
        match error {
            PolicyError::Validation(errors) => ApiError::Validation(errors),
            PolicyError::NotFound => ApiError::NotFound,
            PolicyError::AlreadySubmitted => ApiError::Conflict {
                code: "already_exists",
                detail,
            },
            PolicyError::ProductNotActive => ApiError::Conflict {
                code: "product_not_active",
                detail,
            },
            PolicyError::InvalidTransition { .. } => ApiError::invalid_transition(detail),
            PolicyError::TooEarly { .. } => ApiError::Conflict {
                code: "too_early",
                detail,
            },
            PolicyError::AlreadyRenewed(_) => ApiError::Conflict {
                code: "already_renewed",
                detail,
            },
            PolicyError::ExceedsSumInsured(_) => ApiError::Conflict {
                code: "exceeds_sum_insured",
                detail,
            },
            PolicyError::UnknownInvoice(_) => ApiError::Conflict {
                code: "unknown_invoice",
                detail,
            },
            PolicyError::IncidentOutsideCover(_) => ApiError::Conflict {
                code: "incident_outside_cover",
                detail,
            },
            PolicyError::BelowApprovedClaims(_) => ApiError::Conflict {
                code: "below_approved_claims",
                detail,
            },
            PolicyError::ClaimDecidedMeanwhile(_) => ApiError::Conflict {
                code: "concurrency_conflict",
                detail,
            },
        }
    }
}
