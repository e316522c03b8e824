//! `GET /reports/dashboard`: the caller's figures, by role.
//!
//! - **customer**: my policies, the next payment due, my open claims.
//! - **agent**: my customers' applications awaiting approval, their
//!   renewals due in the next 30 days, my commission this month.
//! - **staff**: the claims queue by status and age, applications awaiting
//!   approval, overdue invoices by age.
//! - **admin** and **auditor**: premium written and earned and the loss
//!   ratio this year by product, this month's collections, integration
//!   health, users and how many signed in within 30 days.

use axum::extract::State;
use axum::Json;
use chrono::{Datelike, NaiveDate};
use domain::reports::GroupBy;
use domain::Role;
use projections::read_models::billing::{self};
use projections::read_models::claims as claims_model;
use projections::read_models::policies::{self, PolicyFilter, PolicyRow};
use projections::read_models::reporting;
use projections::read_models::scope::Scope;
use projections::read_models::users;
use serde_json::{json, Value};

use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::reports::{ageing_rows, collection_rows, loss_rows, premium_rows, queue_rows, Range};
use crate::state::AppState;
use crate::views::money_opt;

/// How far ahead an agent's renewals list looks.
const RENEWALS_WITHIN_DAYS: u64 = 30;
/// How many items a dashboard list shows.
const LIST_LIMIT: i64 = 50;
/// A user is active when they signed in within this many days.
const ACTIVE_WITHIN_DAYS: i32 = 30;

/// The caller's dashboard.
#[tracing::instrument(skip_all, fields(role = %principal.role))]
pub async fn dashboard(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    let today = state.clock.today();
    let figures = match principal.role {
        Role::Customer => customer(&state, principal.scope()).await?,
        Role::Agent => agent(&state, &principal, today).await?,
        Role::Staff => staff(&state, today).await?,
        Role::Admin | Role::Auditor => management(&state, today).await?,
    };
    let mut body = json!({"role": principal.role.to_string(), "as_of": today});
    if let (Some(body), Value::Object(figures)) = (body.as_object_mut(), figures) {
        body.extend(figures);
    }
    Ok(Json(body))
}

fn policy_summary(row: &PolicyRow) -> Value {
    let policy = &row.state;
    let application = policy.application.as_ref();
    let term = policy.current_term();
    json!({
        "id": row.id,
        "policy_number": policy.policy_number,
        "status": policy.status.as_str(),
        "product_code": application.map(|a| a.product_code.clone()),
        "product_name": application.map(|a| a.product_name.clone()),
        "customer_id": application.map(|a| a.customer_id.0),
        // The current term's cover (a renewed policy's latest), else as applied for.
        "start_date": term.map(|t| t.start_date).or(application.map(|a| a.start_date)),
        "end_date": term.map(|t| t.end_date).or(application.map(|a| a.end_date)),
        "premium": money_opt(application.map(|a| &a.premium)),
    })
}

async fn customer(state: &AppState, scope: Scope) -> Result<Value, ApiError> {
    let policies = policies::list(
        &state.pool,
        scope,
        &PolicyFilter::default(),
        None,
        LIST_LIMIT,
    )
    .await?;
    let next_due = billing::next_due(&state.pool, scope)
        .await?
        .and_then(|row| {
            let details = row.state.details.as_ref()?;
            Some(json!({
                "invoice_id": row.id,
                "invoice_number": details.invoice_number,
                "policy_number": details.policy_number,
                "due_date": details.due_date,
                "status": row.state.status.as_str(),
                "balance": money_opt(row.state.balance().as_ref()),
            }))
        });
    let claims = claims_model::open_of(&state.pool, scope, LIST_LIMIT)
        .await?
        .into_iter()
        .filter_map(|row| {
            let details = row.state.details.as_ref()?;
            Some(json!({
                "id": row.id,
                "claim_number": details.claim_number,
                "status": row.state.status.as_str(),
                "filed_on": details.filed_on,
                "claimed_amount": money_opt(Some(&details.claimed_amount)),
                "approved_amount": money_opt(row.state.approved_amount.as_ref()),
            }))
        })
        .collect::<Vec<_>>();
    Ok(json!({
        "policies": policies.iter().map(policy_summary).collect::<Vec<_>>(),
        "next_due_payment": next_due,
        "open_claims": claims,
    }))
}

async fn agent(
    state: &AppState,
    principal: &Principal,
    today: NaiveDate,
) -> Result<Value, ApiError> {
    let scope = principal.scope();
    let pending = policies::list(
        &state.pool,
        scope,
        &PolicyFilter {
            status: Some("submitted".into()),
            ..PolicyFilter::default()
        },
        None,
        LIST_LIMIT,
    )
    .await?;
    let horizon = today + chrono::Days::new(RENEWALS_WITHIN_DAYS);
    let renewals = policies::ending_between(&state.pool, scope, today, horizon, LIST_LIMIT).await?;
    let month_start = today.with_day(1).unwrap_or(today);
    let commission = reporting::commissions(
        &state.pool,
        month_start,
        today,
        false,
        Some(principal.user_id),
    )
    .await?;
    Ok(json!({
        "applications_pending": pending.iter().map(policy_summary).collect::<Vec<_>>(),
        "renewals_due": renewals.iter().map(policy_summary).collect::<Vec<_>>(),
        "renewals_within_days": RENEWALS_WITHIN_DAYS,
        "commission_this_month": {"from": month_start, "to": today, "items": commission},
    }))
}

async fn staff(state: &AppState, today: NaiveDate) -> Result<Value, ApiError> {
    let queue = queue_rows(state, today).await?;
    let (awaiting, oldest) =
        policies::count_in_status(&state.pool, Scope::All, "submitted").await?;
    let overdue = ageing_rows(state, today, false, None).await?;
    Ok(json!({
        "claims_queue": queue,
        "applications_awaiting_approval": {"count": awaiting, "oldest_since": oldest},
        "overdue_invoices": overdue,
    }))
}

async fn management(state: &AppState, today: NaiveDate) -> Result<Value, ApiError> {
    let year = Range {
        from: NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today),
        to: today,
        group_by: GroupBy::Product,
    };
    let month = Range {
        from: today.with_day(1).unwrap_or(today),
        to: today,
        group_by: GroupBy::Product,
    };
    let premium = premium_rows(state, &year).await?;
    let losses = loss_rows(state, &year, &premium).await?;
    let collections = collection_rows(state, &month).await?;
    let (integrations_status, integrations) = crate::health::integration_health(state).await?;
    let users: Vec<Value> = users::activity_by_role(&state.pool, ACTIVE_WITHIN_DAYS)
        .await?
        .into_iter()
        .map(|(role, total, active)| json!({"role": role, "users": total, "active": active}))
        .collect();
    Ok(json!({
        "year_to_date": {"from": year.from, "to": year.to},
        "premium": premium,
        "losses": losses,
        "collections_this_month": {"from": month.from, "to": month.to, "items": collections},
        "integrations": {"status": integrations_status, "items": integrations},
        "users": users,
        "active_within_days": ACTIVE_WITHIN_DAYS,
    }))
}
