//! Reports for staff, admins and auditors, read from the projections, each
//! `?from=&to=&group_by=month|product` (`from` defaults to the first of the
//! year, `to` to today); `Accept: text/csv` gives the same rows as CSV with
//! a header row. The arithmetic is `domain::reports`'.
//!
//! - `/reports/policies`: premium written, earned and unearned.
//! - `/reports/claims`: claims reported, incurred, paid, outstanding, loss ratio.
//! - `/reports/revenue`: payments by provider and outcome, success rate,
//!   collected, refunded, net.
//! - `/reports/commissions`: agents' premium paid and commission (an agent
//!   sees their own).
//! - `/reports/ageing`: overdue invoices by days past due.
//! - `/reports/claims/queue`: open claims by status and age.
//! - `/reports/dashboard`: the caller's figures, by role (`dashboard`).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{Datelike, NaiveDate};
use domain::reports::ageing::{
    ageing, claim_queue as claim_queue_of, AgeingRow, OpenClaim, QueueRow, Unpaid,
};
use domain::reports::collections::{collections, CollectionRow};
use domain::reports::losses::{losses, LossRow};
use domain::reports::movements::MovementKind;
use domain::reports::{GroupBy, PremiumRow};
use domain::{Money, Role};
use projections::read_models::claims as claims_model;
use projections::read_models::reporting::{self, Commission};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::{accepts, date_param, period, QueryParams};
use crate::state::AppState;

/// Who may read reports.
const READERS: [Role; 3] = [Role::Staff, Role::Admin, Role::Auditor];
/// The longest range a report covers.
const MAX_DAYS: i64 = 3660;

/// The report routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reports/policies", get(premiums))
        .route("/reports/claims", get(claims))
        .route("/reports/revenue", get(revenue))
        .route("/reports/commissions", get(commissions))
        .route("/reports/ageing", get(overdue_ageing))
        .route("/reports/claims/queue", get(claim_queue))
        .route("/reports/dashboard", get(crate::dashboard::dashboard))
}

#[derive(Deserialize)]
struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
    group_by: Option<String>,
}

/// A validated report range.
pub(crate) struct Range {
    pub(crate) from: NaiveDate,
    pub(crate) to: NaiveDate,
    pub(crate) group_by: GroupBy,
}

/// `from` defaults to the first of the business year, `to` to today.
fn range(query: &RangeQuery, today: NaiveDate) -> Result<Range, ApiError> {
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    let (from, to) = period(
        query.from.as_deref(),
        query.to.as_deref(),
        (year_start, today),
    )?;
    if (to - from).num_days() > MAX_DAYS {
        return Err(ApiError::invalid(
            "to",
            "the range may span at most ten years",
        ));
    }
    let group_by = match query.group_by.as_deref() {
        None | Some("") => GroupBy::Month,
        Some(name) => GroupBy::parse(name)
            .ok_or_else(|| ApiError::invalid("group_by", "must be month or product"))?,
    };
    Ok(Range { from, to, group_by })
}

/// One CSV field, quoted when it must be.
fn field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

fn csv(header_row: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Response {
    let mut text = header_row.join(",");
    text.push('\n');
    for row in rows {
        let fields: Vec<String> = row.iter().map(|v| field(v)).collect();
        text.push_str(&fields.join(","));
        text.push('\n');
    }
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    response
}

/// A report's row: its CSV columns and their fields.
trait Tabular: Serialize {
    /// The CSV header row.
    const COLUMNS: &'static [&'static str];
    /// Its fields, in column order.
    fn fields(&self) -> Vec<String>;
}

/// The answer to a report request: JSON of `meta` with the rows as
/// `items`, or with `Accept: text/csv` the same rows as CSV.
fn table<R: Tabular>(headers: &HeaderMap, meta: serde_json::Value, rows: &[R]) -> Response {
    if accepts(headers, "text/csv") {
        return csv(R::COLUMNS, rows.iter().map(Tabular::fields));
    }
    let mut body = meta;
    body["items"] = json!(rows);
    Json(body).into_response()
}

impl Range {
    fn by_product(&self) -> bool {
        self.group_by == GroupBy::Product
    }

    /// What a report over it says of it.
    fn meta(&self) -> serde_json::Value {
        json!({"from": self.from, "to": self.to, "group_by": self.group_by.as_str()})
    }
}

/// A money amount as a CSV field: its decimal, the currency in its own column.
fn amount(money: &Money) -> String {
    money.amount().to_string()
}

/// The currency column of a row whose amounts are in `money`'s currency.
fn currency(money: &Money) -> String {
    money.currency().code().to_string()
}

fn optional(value: Option<Decimal>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// `GET /reports/policies`: premium written, earned and unearned.
#[tracing::instrument(skip_all)]
async fn premiums(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    QueryParams(query): QueryParams<RangeQuery>,
) -> Result<Response, ApiError> {
    principal.require(&READERS)?;
    let range = range(&query, state.clock.today())?;
    let rows = premium_rows(&state, &range).await?;
    Ok(table(&headers, range.meta(), &rows))
}

impl Tabular for PremiumRow {
    const COLUMNS: &'static [&'static str] = &[
        "group", "currency", "policies", "written", "earned", "unearned",
    ];

    fn fields(&self) -> Vec<String> {
        vec![
            self.group.clone(),
            currency(&self.written),
            self.policies.to_string(),
            amount(&self.written),
            amount(&self.earned),
            amount(&self.unearned),
        ]
    }
}

pub(crate) async fn premium_rows(
    state: &AppState,
    range: &Range,
) -> Result<Vec<PremiumRow>, ApiError> {
    let rows = state
        .in_force
        .premiums(&state.pool, range.from, range.to, range.group_by)
        .await?;
    Ok(rows.as_ref().clone())
}

/// The claim movements the claims report reads.
const CLAIM_MOVEMENTS: [MovementKind; 5] = [
    MovementKind::ClaimFiled,
    MovementKind::ClaimApproved,
    MovementKind::ClaimReleased,
    MovementKind::ClaimPaid,
    MovementKind::CaseReserve,
];

/// The payment movements the revenue report reads.
const PAYMENT_MOVEMENTS: [MovementKind; 4] = [
    MovementKind::PaymentRequested,
    MovementKind::PaymentSucceeded,
    MovementKind::PaymentFailed,
    MovementKind::RefundIssued,
];

/// `GET /reports/claims`: claims reported, incurred, paid, outstanding and
/// the loss ratio against earned premium.
#[tracing::instrument(skip_all)]
async fn claims(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    QueryParams(query): QueryParams<RangeQuery>,
) -> Result<Response, ApiError> {
    principal.require(&READERS)?;
    let range = range(&query, state.clock.today())?;
    let premiums = premium_rows(&state, &range).await?;
    let rows = loss_rows(&state, &range, &premiums).await?;
    Ok(table(&headers, range.meta(), &rows))
}

impl Tabular for LossRow {
    const COLUMNS: &'static [&'static str] = &[
        "group",
        "currency",
        "reported",
        "incurred",
        "paid",
        "outstanding",
        "case_reserves",
        "earned",
        "loss_ratio",
    ];

    fn fields(&self) -> Vec<String> {
        vec![
            self.group.clone(),
            currency(&self.incurred),
            self.reported.to_string(),
            amount(&self.incurred),
            amount(&self.paid),
            amount(&self.outstanding),
            amount(&self.case_reserves),
            amount(&self.earned),
            optional(self.loss_ratio),
        ]
    }
}

/// The claims report over `range`, against `premiums` (the premium report
/// of the same range and grouping, for the earned premium).
pub(crate) async fn loss_rows(
    state: &AppState,
    range: &Range,
    premiums: &[PremiumRow],
) -> Result<Vec<LossRow>, ApiError> {
    let totals = reporting::daily_totals(&state.pool, None, range.to, &CLAIM_MOVEMENTS).await?;
    Ok(losses(
        &totals,
        premiums,
        range.from,
        range.to,
        range.group_by,
    ))
}

/// `GET /reports/revenue`: payments by provider and outcome, the success
/// rate, collected, refunded and net.
#[tracing::instrument(skip_all)]
async fn revenue(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    QueryParams(query): QueryParams<RangeQuery>,
) -> Result<Response, ApiError> {
    principal.require(&READERS)?;
    let range = range(&query, state.clock.today())?;
    let rows = collection_rows(&state, &range).await?;
    Ok(table(&headers, range.meta(), &rows))
}

impl Tabular for CollectionRow {
    const COLUMNS: &'static [&'static str] = &[
        "group",
        "provider",
        "currency",
        "requested",
        "pending",
        "succeeded",
        "failed",
        "success_rate",
        "collected",
        "refunded",
        "net",
    ];

    fn fields(&self) -> Vec<String> {
        vec![
            self.group.clone(),
            self.provider.clone(),
            currency(&self.collected),
            self.requested.to_string(),
            self.pending.to_string(),
            self.succeeded.to_string(),
            self.failed.to_string(),
            optional(self.success_rate),
            amount(&self.collected),
            amount(&self.refunded),
            amount(&self.net),
        ]
    }
}

pub(crate) async fn collection_rows(
    state: &AppState,
    range: &Range,
) -> Result<Vec<CollectionRow>, ApiError> {
    let totals =
        reporting::daily_totals(&state.pool, Some(range.from), range.to, &PAYMENT_MOVEMENTS)
            .await?;
    Ok(collections(&totals, range.from, range.to, range.group_by))
}

/// `GET /reports/commissions`: each agent's premium paid and commission;
/// an agent sees only their own.
#[tracing::instrument(skip_all)]
async fn commissions(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    QueryParams(query): QueryParams<RangeQuery>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Staff, Role::Admin, Role::Auditor, Role::Agent])?;
    let range = range(&query, state.clock.today())?;
    let agent = (principal.role == Role::Agent).then_some(principal.user_id);
    let rows = reporting::commissions(&state.pool, range.from, range.to, range.by_product(), agent)
        .await?;
    Ok(table(&headers, range.meta(), &rows))
}

impl Tabular for Commission {
    const COLUMNS: &'static [&'static str] = &[
        "group",
        "agent_id",
        "agent_name",
        "currency",
        "policies",
        "premium",
        "commission",
    ];

    fn fields(&self) -> Vec<String> {
        vec![
            self.group.clone(),
            self.agent_id.to_string(),
            self.agent_name.clone(),
            currency(&self.premium),
            self.policies.to_string(),
            amount(&self.premium),
            amount(&self.commission),
        ]
    }
}

#[derive(Deserialize)]
struct AgeingQuery {
    as_of: Option<String>,
    group_by: Option<String>,
}

/// `GET /reports/ageing?as_of=&group_by=product`: unpaid invoices past due
/// by days overdue (1–30, 31–60, 61–90, over 90), from today's balances.
#[tracing::instrument(skip_all)]
async fn overdue_ageing(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    QueryParams(query): QueryParams<AgeingQuery>,
) -> Result<Response, ApiError> {
    principal.require(&READERS)?;
    let today = state.clock.today();
    let as_of = date_param("as_of", query.as_of.as_deref(), today)?;
    if as_of < today {
        return Err(ApiError::invalid(
            "as_of",
            "ageing is of today's balances: it may not be in the past",
        ));
    }
    let by_product = match query.group_by.as_deref() {
        None | Some("") | Some("all") => false,
        Some("product") => true,
        Some(_) => return Err(ApiError::invalid("group_by", "must be all or product")),
    };
    let rows = ageing_rows(&state, as_of, by_product, None).await?;
    let group_by = if by_product { "product" } else { "all" };
    Ok(table(
        &headers,
        json!({"as_of": as_of, "group_by": group_by}),
        &rows,
    ))
}

impl Tabular for AgeingRow {
    const COLUMNS: &'static [&'static str] = &[
        "group",
        "currency",
        "invoices",
        "days_0_30",
        "days_31_60",
        "days_61_90",
        "days_over_90",
        "total",
    ];

    fn fields(&self) -> Vec<String> {
        vec![
            self.group.clone(),
            currency(&self.total),
            self.invoices.to_string(),
            amount(&self.days_0_30),
            amount(&self.days_31_60),
            amount(&self.days_61_90),
            amount(&self.days_over_90),
            amount(&self.total),
        ]
    }
}

/// The ageing of unpaid invoices (of `agent`'s customers only, when given).
pub(crate) async fn ageing_rows(
    state: &AppState,
    as_of: NaiveDate,
    by_product: bool,
    agent: Option<Uuid>,
) -> Result<Vec<AgeingRow>, ApiError> {
    let unpaid: Vec<Unpaid> = reporting::unpaid_invoices(&state.pool, agent, as_of)
        .await?
        .into_iter()
        .filter_map(|(product, invoice)| {
            Some(Unpaid {
                group: if by_product {
                    product
                } else {
                    "all".to_string()
                },
                due_date: invoice.details.as_ref()?.due_date,
                balance: invoice.balance()?,
            })
        })
        .collect();
    Ok(ageing(&unpaid, as_of))
}

/// `GET /reports/claims/queue`: open claims by status and days since filing.
#[tracing::instrument(skip_all)]
async fn claim_queue(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    principal.require(&READERS)?;
    let today = state.clock.today();
    let rows = queue_rows(&state, today).await?;
    Ok(table(&headers, json!({ "as_of": today }), &rows))
}

impl Tabular for QueueRow {
    const COLUMNS: &'static [&'static str] = &[
        "status",
        "claims",
        "days_0_7",
        "days_8_30",
        "days_31_90",
        "days_over_90",
        "oldest_days",
    ];

    fn fields(&self) -> Vec<String> {
        vec![
            self.status.clone(),
            self.claims.to_string(),
            self.days_0_7.to_string(),
            self.days_8_30.to_string(),
            self.days_31_90.to_string(),
            self.days_over_90.to_string(),
            self.oldest_days.to_string(),
        ]
    }
}

/// The open claims by status and age, as of `today`.
pub(crate) async fn queue_rows(
    state: &AppState,
    today: NaiveDate,
) -> Result<Vec<QueueRow>, ApiError> {
    let open: Vec<OpenClaim> = claims_model::open_claims(&state.pool)
        .await?
        .into_iter()
        .map(|(status, filed_on)| OpenClaim { status, filed_on })
        .collect();
    Ok(claim_queue_of(&open, today))
}
