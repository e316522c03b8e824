//! Printable documents: a policy's certificate of insurance, an invoice and
//! a payment receipt, as PDF, to whoever may see the record.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use domain::invoice::{Invoice, SettlementStatus};
use domain::policy::PolicyStatus;
use domain::{Money, PaymentId};
use projections::read_models::{billing, policies, users};
use uuid::Uuid;

use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::IdPath;
use crate::pdf::{render, Line};
use crate::state::AppState;

/// The document routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/policies/policies/{id}/certificate.pdf", get(certificate))
        .route("/billing/invoices/{id}/invoice.pdf", get(invoice))
        .route("/billing/payments/{id}/receipt.pdf", get(receipt))
}

fn line(label: &str, value: impl Into<String>) -> Line {
    (label.to_string(), value.into())
}

/// `bytes` as an inline PDF named `filename`.
pub(crate) fn pdf(filename: &str, bytes: Vec<u8>) -> Response {
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("inline; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

async fn customer_name(state: &AppState, id: Uuid) -> Result<String, ApiError> {
    Ok(users::get(&state.pool, id)
        .await?
        .map_or_else(|| id.to_string(), |u| u.full_name))
}

async fn certificate(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    let row = policies::get(&state.pool, id, principal.scope())
        .await?
        .ok_or(ApiError::NotFound)?;
    let policy = &row.state;
    let (Some(application), Some(number), Some(term)) = (
        &policy.application,
        &policy.policy_number,
        policy.current_term(),
    ) else {
        return Err(ApiError::NotFound);
    };
    if policy.status != PolicyStatus::Active {
        return Err(ApiError::Conflict {
            code: "policy_not_active",
            detail: format!(
                "a certificate is issued for active policies; this one is {}",
                policy.status.as_str()
            ),
        });
    }
    let mut lines = vec![
        line("Policy number", number.clone()),
        line(
            "Policyholder",
            customer_name(&state, application.customer_id.0).await?,
        ),
        line(
            "Product",
            format!(
                "{} ({})",
                application.product_name, application.product_code
            ),
        ),
        line(
            "Period of cover",
            format!("{} to {} inclusive", term.start_date, term.end_date),
        ),
        line(
            "Sum insured",
            policy
                .sum_insured
                .as_ref()
                .map(Money::grouped)
                .unwrap_or_default(),
        ),
        line(
            "Premium for the term",
            policy
                .annual_premium
                .as_ref()
                .map(Money::grouped)
                .unwrap_or_default(),
        ),
        line("Term", term.number.to_string()),
    ];
    if let Some(insured) = application.insured.as_object() {
        for (key, value) in insured {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string);
            lines.push(line(&key.replace('_', " "), value));
        }
    }
    lines.push(line("Issued", state.clock.today().to_string()));
    let bytes = render("Certificate of insurance", "ifinsure", &lines);
    Ok(pdf(&format!("{number}.pdf"), bytes))
}

fn invoice_lines(invoice: &Invoice, customer: String) -> Option<(String, Vec<Line>)> {
    let details = invoice.details.as_ref()?;
    let money = |m: Option<Money>| m.as_ref().map(Money::grouped).unwrap_or_default();
    let lines = vec![
        line("Invoice number", details.invoice_number.clone()),
        line("Policy number", details.policy_number.clone()),
        line("Billed to", customer),
        line(
            "For",
            format!(
                "{} premium, term {}",
                details.kind.as_str(),
                details.term_number
            ),
        ),
        line("Issued", details.issued_on.to_string()),
        line("Due", details.due_date.to_string()),
        line("Amount", details.amount.grouped()),
        line("Paid", money(invoice.amount_paid)),
        line("Balance", money(invoice.balance())),
        line("Credit", money(invoice.credit)),
        line("Status", invoice.status.as_str()),
    ];
    Some((details.invoice_number.clone(), lines))
}

async fn invoice(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    let row = billing::get_invoice(&state.pool, id, principal.scope())
        .await?
        .ok_or(ApiError::NotFound)?;
    let customer = match &row.state.details {
        Some(details) => customer_name(&state, details.customer_id.0).await?,
        None => return Err(ApiError::NotFound),
    };
    let (number, lines) = invoice_lines(&row.state, customer).ok_or(ApiError::NotFound)?;
    Ok(pdf(
        &format!("{number}.pdf"),
        render("Invoice", "ifinsure", &lines),
    ))
}

async fn receipt(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    let payment_row = billing::get_payment(&state.pool, id, principal.scope())
        .await?
        .ok_or(ApiError::NotFound)?;
    let invoice_row = billing::get_invoice(
        &state.pool,
        payment_row.invoice_id,
        projections::read_models::scope::Scope::All,
    )
    .await?
    .ok_or(ApiError::NotFound)?;
    let invoice = &invoice_row.state;
    let (Some(details), Some(payment)) = (
        &invoice.details,
        invoice
            .payments
            .iter()
            .find(|p| p.payment_id == PaymentId(id)),
    ) else {
        return Err(ApiError::NotFound);
    };
    if payment.status != SettlementStatus::Succeeded {
        return Err(ApiError::Conflict {
            code: "payment_not_succeeded",
            detail: format!(
                "a receipt is issued for succeeded payments; this one is {}",
                payment.status.as_str()
            ),
        });
    }
    let lines = vec![
        line("Receipt for payment", id.to_string()),
        line(
            "Received from",
            customer_name(&state, details.customer_id.0).await?,
        ),
        line("Amount received", payment.received.grouped()),
        line("Invoice", details.invoice_number.clone()),
        line("Policy number", details.policy_number.clone()),
        line("Paid through", payment.provider.clone()),
        line(
            "Provider reference",
            payment.provider_reference.clone().unwrap_or_default(),
        ),
        line(
            "Recorded",
            payment_row
                .updated_at
                .format("%Y-%m-%d %H:%M UTC")
                .to_string(),
        ),
    ];
    Ok(pdf(
        &format!("receipt-{}.pdf", details.invoice_number),
        render("Payment receipt", "ifinsure", &lines),
    ))
}
