//! Invoices and payments: customers (and their agents) pay their invoices
//! through a provider; staff void unpaid ones; everyone reads what their
//! role may see.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::invoice::{Invoice, InvoiceCommand, InvoiceError};
use domain::mpesa::msisdn;
use domain::policy::{Policy, PolicyStatus};
use domain::{EmailAddress, PaymentId, PhoneNumber, Role, UserId};
use projections::payment_jobs::{self, ChargeStep, NextAction};
use projections::read_models::billing::{self, InvoiceFilter, InvoiceRow, PaymentRow};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::acting_for::{execute_for, Target};
use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::{IdPath, IfMatch, OptionalJsonBody, QueryParams};
use crate::pagination::{Page, PageQuery};
use crate::request_context::RequestContext;
use crate::state::AppState;
use crate::views::{money, money_of, money_opt};
use crate::writes::{
    await_read_model, metadata, respond_to_command, with_etag, ResourceView, StateResource,
};

/// The billing routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/billing/invoices", get(list_invoices))
        .route("/billing/invoices/{id}", get(show_invoice))
        .route("/billing/invoices/{id}/pay", post(pay))
        .route(
            "/billing/invoices/{id}/payment-options",
            get(payment_options),
        )
        .route("/billing/invoices/{id}/void", post(void))
        .route("/billing/payments", get(list_payments))
        .route("/billing/payments/{id}", get(show_payment))
}

/// The payment provider built in where it exists (outside production);
/// configured ones are added at run time.
pub const SANDBOX: &str = "sandbox";

/// An invoice as the API shows it.
pub fn invoice_view(row: &InvoiceRow) -> Value {
    let invoice = &row.state;
    let Some(details) = &invoice.details else {
        return json!({"id": row.id, "version": row.version});
    };
    json!({
        "id": row.id,
        "invoice_number": details.invoice_number,
        "policy_id": details.policy_id,
        "policy_number": details.policy_number,
        "customer_id": details.customer_id,
        "kind": details.kind.as_str(),
        "term_number": details.term_number,
        "amount": money_of(&details.amount),
        "amount_paid": money_opt(invoice.amount_paid.as_ref()),
        "balance": money_opt(invoice.balance().as_ref()),
        "credit": money_opt(invoice.credit.as_ref()),
        "refunded": money_opt(invoice.refunded().as_ref()),
        "status": invoice.status.as_str(),
        "issued_on": details.issued_on,
        "due_date": details.due_date,
        "void_reason": invoice.void_reason,
        "payments": invoice.payments.iter().map(|p| json!({
            "id": p.payment_id,
            "provider": p.provider,
            "amount": money_of(&p.requested),
            "amount_received": money_of(&p.received),
            "status": p.status.as_str(),
            "provider_reference": p.provider_reference,
            "failure_reason": p.failure_reason,
        })).collect::<Vec<_>>(),
        "refunds": invoice.refunds.iter().map(|r| json!({
            "id": r.refund_id,
            "payment_id": r.payment_id,
            "amount": money_of(&r.amount),
            "status": r.status.as_str(),
            "provider": r.provider,
            "provider_reference": r.provider_reference,
            "reason": r.reason,
            "failure_reason": r.failure_reason,
        })).collect::<Vec<_>>(),
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

/// A payment as the API shows it.
pub fn payment_view(row: &PaymentRow) -> Value {
    json!({
        "id": row.id,
        "invoice_id": row.invoice_id,
        "policy_id": row.policy_id,
        "customer_id": row.customer_id,
        "amount": money(row.amount, &row.currency),
        "amount_received": money(row.amount_received, &row.currency),
        "refunded": money(row.refunded, &row.currency),
        "status": row.status,
        "provider": row.provider,
        "provider_reference": row.provider_reference,
        "failure_reason": row.failure_reason,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

#[derive(Deserialize)]
struct InvoiceQuery {
    status: Option<String>,
    customer_id: Option<Uuid>,
    policy_id: Option<Uuid>,
    #[serde(flatten)]
    page: PageQuery,
}

async fn list_invoices(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<InvoiceQuery>,
) -> Result<Json<Page<Value>>, ApiError> {
    let page = query.page.parse()?;
    if let Some(status) = &query.status {
        if !["open", "paid", "overdue", "void"].contains(&status.as_str()) {
            return Err(ApiError::invalid(
                "status",
                "must be one of open, paid, overdue, void",
            ));
        }
    }
    let filter = InvoiceFilter {
        status: query.status,
        customer_id: query.customer_id,
        policy_id: query.policy_id,
    };
    let rows = billing::list_invoices(
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
        |r| invoice_view(&r),
    )))
}

async fn visible_invoice(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
) -> Result<InvoiceRow, ApiError> {
    billing::get_invoice(&state.pool, id, principal.scope())
        .await?
        .ok_or(ApiError::NotFound)
}

async fn show_invoice(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    let row = visible_invoice(&state, &principal, id).await?;
    Ok(with_etag(StatusCode::OK, row.version, invoice_view(&row)))
}

#[derive(Deserialize, Default)]
struct PayRequest {
    provider: Option<String>,
    amount: Option<domain::Money>,
    phone_number: Option<String>,
    email: Option<String>,
}

/// The providers payments in `currency` can go through now: the sandbox
/// (outside production) and every enabled payment configuration that takes
/// the currency, and the default: the primary such configuration's
/// provider (then by priority), else the deployment's default, if any.
pub async fn available_providers(
    state: &AppState,
    currency: &str,
) -> Result<(Vec<String>, Option<String>), ApiError> {
    let filter = projections::read_models::integrations::IntegrationFilter {
        category: Some("payment".into()),
        ..Default::default()
    };
    let usable: Vec<_> = projections::read_models::integrations::enabled(&state.pool, &filter)
        .await?
        .into_iter()
        .filter_map(|row| row.state.details)
        .filter(|d| state.config.sandbox || d.provider != SANDBOX)
        .filter(|d| d.takes(currency))
        .collect();
    let mut names: Vec<String> = Vec::new();
    if state.config.sandbox {
        names.push(SANDBOX.to_string());
    }
    let default = usable
        .first()
        .map(|d| d.provider.clone())
        .or_else(|| state.config.default_payment_provider.clone())
        .filter(|p| state.config.sandbox || p != SANDBOX)
        .filter(|p| p == SANDBOX || usable.iter().any(|d| &d.provider == p));
    for details in usable {
        if !names.contains(&details.provider) {
            names.push(details.provider);
        }
    }
    Ok((names, default))
}

/// `provider` (or the default) if payments in `currency` can go through it.
///
/// # Errors
/// `422` naming the providers available for the currency.
pub async fn checked_provider(
    state: &AppState,
    provider: Option<String>,
    currency: domain::Currency,
) -> Result<String, ApiError> {
    let currency = currency.code();
    let (available, default) = available_providers(state, currency).await?;
    if available.is_empty() {
        return Err(ApiError::invalid(
            "provider",
            format!(
                "no payment provider here takes {currency} yet: an admin enables one in the \
                 Integrations Center"
            ),
        ));
    }
    let Some(provider) = provider.or(default) else {
        return Err(ApiError::invalid(
            "provider",
            format!("name one of: {}", available.join(", ")),
        ));
    };
    if !available.contains(&provider) {
        return Err(ApiError::invalid(
            "provider",
            format!(
                "does not take {currency} here; available for {currency}: {}",
                available.join(", ")
            ),
        ));
    }
    Ok(provider)
}

/// The provider and contact a payment request names, validated.
async fn payer(
    state: &AppState,
    body: PayRequest,
    currency: domain::Currency,
) -> Result<(String, Option<String>), ApiError> {
    let provider = checked_provider(state, body.provider, currency).await?;
    let phone = body
        .phone_number
        .map(|p| PhoneNumber::parse(&p).map_err(|e| ApiError::invalid("phone_number", e)))
        .transpose()?;
    let email = body
        .email
        .map(|e| EmailAddress::parse(&e).map_err(|m| ApiError::invalid("email", m)))
        .transpose()?;
    if provider == "mpesa" && phone.as_ref().and_then(|p| msisdn(p.as_str())).is_none() {
        return Err(ApiError::invalid(
            "phone_number",
            "M-Pesa needs the paying Kenyan mobile number (+2547XXXXXXXX)",
        ));
    }
    let contact = phone
        .map(String::from)
        .or_else(|| email.map(|e| e.as_str().to_string()));
    Ok((provider, contact))
}

/// `GET /billing/invoices/{id}/payment-options`: the providers that can
/// take this invoice's currency now (the default first), what each needs
/// of the payer, and the customer's own phone and email to offer.
async fn payment_options(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> Result<Json<Value>, ApiError> {
    principal.require(&[Role::Customer, Role::Agent, Role::Staff, Role::Admin])?;
    let row = visible_invoice(&state, &principal, id).await?;
    let details = row.state.details.as_ref().ok_or(ApiError::NotFound)?;
    let currency = details.amount.currency();
    let (mut names, default) = available_providers(&state, currency.code()).await?;
    if let Some(default) = &default {
        names.sort_by_key(|name| name != default);
    }
    let providers: Vec<Value> = names
        .iter()
        .map(|slug| {
            let entry = domain::integration::catalogue::provider(slug);
            json!({
                "provider": slug,
                "name": entry.map_or(slug.as_str(), |p| p.name),
                "payer_contact": entry.map(|p| p.payer_contact()),
            })
        })
        .collect();
    let customer = projections::read_models::users::get(&state.pool, details.customer_id.0).await?;
    Ok(Json(json!({
        "invoice_id": id,
        "currency": currency.code(),
        "balance": money_opt(row.state.balance().as_ref()),
        "payable": row.state.balance().is_some_and(|b| b.amount() > rust_decimal::Decimal::ZERO)
            && matches!(row.state.status.as_str(), "open" | "overdue"),
        "default_provider": default,
        "providers": providers,
        "customer": {
            "phone_number": customer.as_ref().and_then(|c| c.phone_number.clone()),
            "email": customer.as_ref().map(|c| c.email.clone()),
        },
    })))
}

#[tracing::instrument(skip_all, fields(invoice_id = %id))]
async fn pay(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
    OptionalJsonBody(body): OptionalJsonBody<PayRequest>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Customer, Role::Agent, Role::Staff, Role::Admin])?;
    let row = visible_invoice(&state, &principal, id).await?;
    refuse_after_cover_ended(&state, &row).await?;
    let amount = body.amount;
    let currency = row
        .state
        .details
        .as_ref()
        .map(|d| d.amount.currency())
        .ok_or(ApiError::NotFound)?;
    let (provider, payer_contact) = payer(&state, body, currency).await?;
    let payment_id = PaymentId::new();
    let command = InvoiceCommand::RequestPayment {
        payment_id,
        provider: provider.clone(),
        amount,
        payer_contact,
        requested_by: Some(UserId(principal.user_id)),
    };
    let meta = metadata(Some(&principal), &context);
    let customer_id = row.state.details.as_ref().map(|d| d.customer_id.0);
    let committed = execute_for::<Invoice>(
        &state,
        &principal,
        customer_id.ok_or(ApiError::NotFound)?,
        Target::Existing(&id.to_string(), expected),
        command,
        &meta,
        || ApiError::NotFound,
    )
    .await?;
    let waited = await_read_model(&state, "billing", committed.last_position).await;
    let amount = committed
        .aggregate
        .payments
        .iter()
        .find(|p| p.payment_id == payment_id)
        .map(|p| money_of(&p.requested));
    let next_action = next_action_once_submitted(&state, payment_id.0).await?;
    let body = json!({
        "payment_id": payment_id,
        "invoice_id": id,
        "status": "pending",
        "provider": provider,
        "amount": amount,
        "next_action": next_action,
    });
    Ok(waited.annotate((StatusCode::ACCEPTED, Json(body)).into_response()))
}

/// How long `pay` waits for the payment worker to hand the charge to its
/// provider, so the answer can say what the payer does next; after it,
/// `GET /billing/payments/{id}` says it.
const SUBMISSION_WAIT: Duration = Duration::from_secs(2);

/// The payer's next step once the charge is with its provider (waiting up
/// to [`SUBMISSION_WAIT`]); `None` when there is none or it is not known yet.
async fn next_action_once_submitted(
    state: &AppState,
    payment_id: Uuid,
) -> Result<Option<NextAction>, ApiError> {
    let deadline = tokio::time::Instant::now() + SUBMISSION_WAIT;
    loop {
        match payment_jobs::charge_step(&state.pool, payment_id).await? {
            ChargeStep::Submitted(action) => return Ok(action),
            ChargeStep::Done => return Ok(None),
            ChargeStep::Waiting if tokio::time::Instant::now() >= deadline => return Ok(None),
            ChargeStep::Waiting => tokio::time::sleep(Duration::from_millis(25)).await,
        }
    }
}

/// Nothing is payable on a cancelled or lapsed policy: its invoices are
/// being closed (and a payment that slips through is returned in full).
async fn refuse_after_cover_ended(state: &AppState, row: &InvoiceRow) -> Result<(), ApiError> {
    let Some(details) = &row.state.details else {
        return Ok(());
    };
    let (policy, _) = state
        .store
        .load::<Policy>(&details.policy_id.to_string())
        .await?;
    if matches!(
        policy.status,
        PolicyStatus::Cancelled | PolicyStatus::Lapsed
    ) {
        return Err(ApiError::invalid_transition(format!(
            "cannot pay an invoice of a policy that is {}",
            policy.status.as_str()
        )));
    }
    Ok(())
}

#[derive(Deserialize, Default)]
struct VoidRequest {
    reason: Option<String>,
}

#[tracing::instrument(skip_all, fields(invoice_id = %id))]
async fn void(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
    OptionalJsonBody(body): OptionalJsonBody<VoidRequest>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Staff, Role::Admin])?;
    visible_invoice(&state, &principal, id).await?;
    let reason = body
        .reason
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| format!("voided by {}", principal.role));
    let meta = metadata(Some(&principal), &context);
    let committed = state
        .store
        .execute::<Invoice>(
            &id.to_string(),
            InvoiceCommand::Void { reason },
            expected,
            &meta,
        )
        .await?;
    respond_to_command::<InvoiceRow>(&state, id, &committed, StatusCode::OK).await
}

#[derive(Deserialize)]
struct PaymentQuery {
    invoice_id: Option<Uuid>,
    status: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

async fn list_payments(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<PaymentQuery>,
) -> Result<Json<Page<Value>>, ApiError> {
    let page = query.page.parse()?;
    if let Some(status) = &query.status {
        if !["pending", "succeeded", "failed"].contains(&status.as_str()) {
            return Err(ApiError::invalid(
                "status",
                "must be one of pending, succeeded, failed",
            ));
        }
    }
    let rows = billing::list_payments(
        &state.pool,
        principal.scope(),
        query.invoice_id,
        query.status.as_deref(),
        page.after,
        page.limit + 1,
    )
    .await?;
    Ok(Json(Page::from_rows(
        rows,
        page,
        |r| r.id,
        |r| payment_view(&r),
    )))
}

async fn show_payment(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> Result<Json<Value>, ApiError> {
    let row = billing::get_payment(&state.pool, id, principal.scope())
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut view = payment_view(&row);
    // While pending, what the payer does next (open the checkout, approve
    // on the phone).
    if row.status == "pending" {
        if let ChargeStep::Submitted(Some(action)) =
            payment_jobs::charge_step(&state.pool, id).await?
        {
            view["next_action"] = json!(action);
        }
    }
    Ok(Json(view))
}

impl StateResource for Invoice {
    const PROJECTION: &'static str = "billing";
    const TABLE: &'static str = "invoices";

    fn exists(&self) -> bool {
        self.details.is_some()
    }
}

impl ResourceView for InvoiceRow {
    fn view(&self) -> Value {
        invoice_view(self)
    }
}

impl From<InvoiceError> for ApiError {
    fn from(error: InvoiceError) -> Self {
        let detail = error.to_string();
        match error {
            InvoiceError::Validation(errors) => ApiError::Validation(errors),
            InvoiceError::NotFound => ApiError::NotFound,
            InvoiceError::AlreadyCreated => ApiError::Conflict {
                code: "already_exists",
                detail,
            },
            InvoiceError::InvalidTransition { .. } => ApiError::invalid_transition(detail),
            InvoiceError::NotDue(_) => ApiError::Conflict {
                code: "not_due",
                detail,
            },
            InvoiceError::HasPayments => ApiError::Conflict {
                code: "invoice_has_payments",
                detail,
            },
            InvoiceError::PaymentPending { payment_id, .. } => ApiError::PaymentPending {
                payment_id: payment_id.0,
                detail,
            },
            InvoiceError::UnknownPayment(_) => ApiError::Conflict {
                code: "unknown_payment",
                detail,
            },
            InvoiceError::RefundTooLarge(_) => ApiError::Conflict {
                code: "refund_too_large",
                detail,
            },
        }
    }
}
