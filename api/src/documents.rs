//! Printable documents, as PDF, to whoever may see the record: a policy's
//! certificate of insurance, an invoice, a payment receipt, a claim summary
//! (`claims::documents`) and a customer's statement of account.
//!
//! Each is drawn from its template (`document_templates`) with the
//! insurer's branding on first request and kept in the document store under
//! a key naming the versions it reflects (the aggregate's, the customer's
//! name's, the templates' and branding's fingerprint), so a later request
//! for the same versions is served from storage (`X-Document-Cache: hit`)
//! and any change draws a new one. A store that fails never fails the
//! request: the document is drawn again.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{Datelike, NaiveDate};
use domain::dates::long_date;
use domain::invoice::{Invoice, SettlementStatus};
use domain::policy::PolicyStatus;
use domain::reports::movements::MovementKind;
use domain::statement::{statements, Entry, Statement};
use domain::{Money, PaymentId, Role};
use projections::read_models::{billing, policies, reporting, users};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::{accepts, period, IdPath, QueryParams};
use crate::state::AppState;

/// The document routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/policies/policies/{id}/certificate.pdf", get(certificate))
        .route("/billing/invoices/{id}/invoice.pdf", get(invoice))
        .route("/billing/payments/{id}/receipt.pdf", get(receipt))
        .route("/customers/{id}/statement", get(statement))
        .route("/customers/{id}/statement.pdf", get(statement_pdf))
}

/// A document to serve: its template, facts, title and the key of the
/// versions it reflects.
pub(crate) struct Document<F: Serialize> {
    /// The template's name.
    pub template: &'static str,
    /// Its title in the PDF's properties.
    pub title: String,
    /// The file name offered.
    pub filename: String,
    /// Where it is kept: `<kind>/<id>/<versions>`.
    pub key: String,
    /// What the template prints.
    pub facts: F,
}

/// Serves `document`: from the document store when drawn before for the
/// same versions, else drawn now and stored.
pub(crate) async fn serve<F: Serialize>(
    state: &AppState,
    document: Document<F>,
) -> Result<Response, ApiError> {
    // One branding for the whole document, whatever is saved meanwhile.
    let branding = state.templates.branding();
    let key = format!(
        "generated/{}-{}.pdf",
        document.key,
        state.templates.fingerprint_for(&branding)
    );
    let store = match state.documents.for_new().await {
        Ok((_, store)) => Some(store),
        Err(error) => {
            tracing::warn!(%error, "no document store: drawing without caching");
            None
        }
    };
    if let Some(store) = &store {
        match store.get(&key).await {
            Ok(found) => match found.bytes().await {
                Ok(bytes) => return Ok(pdf(&document.filename, bytes.to_vec(), "hit")),
                Err(error) => tracing::warn!(%error, key, "cached document unreadable"),
            },
            Err(object_store::Error::NotFound { .. }) => {}
            Err(error) => tracing::warn!(%error, key, "document store failed"),
        }
    }
    let blocks = state
        .templates
        .render_branded(document.template, &document.facts, &branding)
        .map_err(|e| ApiError::Internal(e.into()))?;
    let bytes = crate::pdf::render(&document.title, &blocks, &branding);
    if let Some(store) = &store {
        if let Err(error) = store.put(&key, bytes.clone()).await {
            tracing::warn!(%error, key, "could not keep the document");
        }
    }
    Ok(pdf(&document.filename, bytes, "miss"))
}

/// `bytes` as an inline PDF named `filename`.
fn pdf(filename: &str, bytes: Vec<u8>, cache: &'static str) -> Response {
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("inline; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert("x-document-cache", HeaderValue::from_static(cache));
    response
}

/// A customer's name and the version of it.
pub(crate) async fn person(state: &AppState, id: Uuid) -> Result<(String, i64), ApiError> {
    Ok(users::get(&state.pool, id)
        .await?
        .map_or_else(|| (id.to_string(), 0), |u| (u.full_name, u.version)))
}

/// An amount as documents print it (`KES 1,250.00`), if any.
pub(crate) fn grouped(value: Option<&Money>) -> Option<String> {
    value.map(Money::grouped)
}

#[derive(Serialize)]
struct Insured {
    label: String,
    value: String,
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
    let (holder, holder_version) = person(&state, application.customer_id.0).await?;
    let insured: Vec<Insured> = application
        .insured
        .as_object()
        .into_iter()
        .flatten()
        .map(|(key, value)| Insured {
            label: capitalized(key),
            value: value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string),
        })
        .collect();
    serve(
        &state,
        Document {
            template: "certificate",
            title: format!("Certificate of insurance {number}"),
            filename: format!("{number}.pdf"),
            key: format!("certificates/{id}/v{}-u{holder_version}", row.version),
            facts: json!({
                "policy_number": number,
                "holder": holder,
                "product_name": application.product_name,
                "product_code": application.product_code,
                "start_date": long_date(term.start_date),
                "end_date": long_date(term.end_date),
                "term": term.number,
                "sum_insured": grouped(policy.sum_insured.as_ref()),
                "premium": grouped(policy.annual_premium.as_ref()),
                "status": policy.status.as_str(),
                "version": row.version,
                "insured": insured,
            }),
        },
    )
    .await
}

fn invoice_facts(invoice: &Invoice, customer: String) -> Option<Value> {
    let details = invoice.details.as_ref()?;
    let payments: Vec<Value> = invoice
        .payments
        .iter()
        .filter(|p| p.status == SettlementStatus::Succeeded)
        .map(|p| {
            json!({"provider": p.provider, "reference": p.provider_reference, "amount": p.received.grouped()})
        })
        .collect();
    let refunds: Vec<Value> = invoice
        .refunds
        .iter()
        .filter(|r| r.status == SettlementStatus::Succeeded)
        .map(|r| json!({"provider": r.provider, "amount": r.amount.grouped()}))
        .collect();
    let credit = invoice.credit.filter(|c| !c.amount().is_zero());
    Some(json!({
        "invoice_number": details.invoice_number,
        "policy_number": details.policy_number,
        "customer": customer,
        "issued_on": long_date(details.issued_on),
        "due_date": long_date(details.due_date),
        "status": invoice.status.as_str(),
        "description": format!("{} premium, term {}", capitalized(details.kind.as_str()), details.term_number),
        "amount": details.amount.grouped(),
        "payments": payments,
        "refunds": refunds,
        "paid": grouped(invoice.amount_paid.as_ref()).unwrap_or_else(|| Money::zero(details.amount.currency()).grouped()),
        "balance": grouped(invoice.balance().as_ref()),
        "credit": grouped(credit.as_ref()),
    }))
}

fn capitalized(text: &str) -> String {
    let text = text.replace('_', " ");
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

async fn invoice(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    let row = billing::get_invoice(&state.pool, id, principal.scope())
        .await?
        .ok_or(ApiError::NotFound)?;
    let details = row.state.details.as_ref().ok_or(ApiError::NotFound)?;
    let (customer, customer_version) = person(&state, details.customer_id.0).await?;
    let number = details.invoice_number.clone();
    let facts = invoice_facts(&row.state, customer).ok_or(ApiError::NotFound)?;
    serve(
        &state,
        Document {
            template: "invoice",
            title: format!("Invoice {number}"),
            filename: format!("{number}.pdf"),
            key: format!("invoices/{id}/v{}-u{customer_version}", row.version),
            facts,
        },
    )
    .await
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
    let (customer, customer_version) = person(&state, details.customer_id.0).await?;
    let refunded = (!payment.refunded.amount().is_zero()).then(|| payment.refunded.grouped());
    serve(
        &state,
        Document {
            template: "receipt",
            title: format!("Payment receipt for {}", details.invoice_number),
            filename: format!("receipt-{}.pdf", details.invoice_number),
            key: format!("receipts/{id}/v{}-u{customer_version}", invoice_row.version),
            facts: json!({
                "customer": customer,
                "amount": payment.received.grouped(),
                "provider": payment.provider,
                "reference": payment.provider_reference,
                "invoice_number": details.invoice_number,
                "policy_number": details.policy_number,
                "payment_id": id,
                "recorded": payment_row.updated_at.format("%-d %b %Y %H:%M UTC").to_string(),
                "refunded": refunded,
            }),
        },
    )
    .await
}

#[derive(Deserialize)]
struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

/// A customer's statement as drawn: the customer and each currency's
/// statement over the period.
#[derive(Serialize)]
struct StatementOf {
    customer_id: Uuid,
    customer: String,
    from: NaiveDate,
    to: NaiveDate,
    statements: Vec<Statement>,
}

/// The statement of customer `id` over the queried period (default: the
/// current month to today), if `principal` may see the customer.
async fn statement_of(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    query: &PeriodQuery,
) -> Result<StatementOf, ApiError> {
    let customer = users::get(&state.pool, id)
        .await?
        .filter(|u| u.role == Role::Customer.to_string())
        .ok_or(ApiError::NotFound)?;
    let allowed = match principal.role {
        Role::Customer => principal.user_id == id,
        Role::Agent => customer.agent_id == Some(principal.user_id),
        Role::Staff | Role::Admin | Role::Auditor => true,
    };
    if !allowed {
        return Err(ApiError::NotFound);
    }
    let today = state.clock.today();
    let (from, to) = period(
        query.from.as_deref(),
        query.to.as_deref(),
        (today.with_day(1).unwrap_or(today), today),
    )?;
    let entries: Vec<Entry> = reporting::account_movements(&state.pool, id, to)
        .await?
        .into_iter()
        .map(|m| Entry {
            date: m.date,
            kind: m.kind,
            description: describe(&m),
            amount: m.amount,
        })
        .collect();
    Ok(StatementOf {
        customer_id: id,
        customer: customer.full_name,
        from,
        to,
        statements: statements(&entries, from, to),
    })
}

/// How a statement line reads.
fn describe(movement: &reporting::AccountMovement) -> String {
    let invoice = movement.invoice_number.as_deref().unwrap_or("invoice");
    let policy = movement.policy_number.as_deref().unwrap_or_default();
    let provider = movement.provider.as_deref().unwrap_or("provider");
    match movement.kind {
        MovementKind::InvoiceIssued => format!("Invoice {invoice} ({policy})"),
        MovementKind::InvoiceVoided => format!("Invoice {invoice} voided"),
        MovementKind::PaymentSucceeded => format!("Payment by {provider}, {invoice}"),
        MovementKind::RefundIssued => format!("Refund by {provider}, {invoice}"),
        MovementKind::CreditNote if movement.amount.is_negative() => {
            format!("Premium earned and not paid, kept from what was paid ({policy})")
        }
        MovementKind::CreditNote => format!("Credit note: premium not earned ({policy})"),
        other => other.as_str().replace('_', " "),
    }
}

/// `GET /customers/{id}/statement?from=&to=`: the statement as JSON.
async fn statement(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    IdPath(id): IdPath,
    QueryParams(query): QueryParams<PeriodQuery>,
) -> Result<Response, ApiError> {
    if accepts(&headers, "application/pdf") {
        return statement_pdf(State(state), principal, IdPath(id), QueryParams(query)).await;
    }
    let statement = statement_of(&state, &principal, id, &query).await?;
    Ok(Json(statement).into_response())
}

/// `GET /customers/{id}/statement.pdf?from=&to=`.
async fn statement_pdf(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
    QueryParams(query): QueryParams<PeriodQuery>,
) -> Result<Response, ApiError> {
    let of = statement_of(&state, &principal, id, &query).await?;
    let statements: Vec<Value> = of
        .statements
        .iter()
        .map(|s| {
            let lines: Vec<Value> = s
                .lines
                .iter()
                .map(|l| {
                    json!({
                        "date": long_date(l.date),
                        "description": l.description,
                        "debit": grouped(l.debit.as_ref()),
                        "credit": grouped(l.credit.as_ref()),
                        "balance": l.balance.grouped(),
                    })
                })
                .collect();
            json!({
                "currency": s.currency.code(),
                "opening_balance": s.opening_balance.grouped(),
                "lines": lines,
                "total_debits": s.total_debits.grouped(),
                "total_credits": s.total_credits.grouped(),
                "closing_balance": s.closing_balance.grouped(),
            })
        })
        .collect();
    let facts = json!({
        "customer": of.customer,
        "from": long_date(of.from),
        "to": long_date(of.to),
        "statements": statements,
    });
    // A statement reflects many aggregates: it is kept under a digest of
    // what it shows.
    let digest = Sha256::digest(facts.to_string().as_bytes());
    serve(
        &state,
        Document {
            template: "statement",
            title: format!("Statement {} to {}", of.from, of.to),
            filename: format!("statement-{}-{}.pdf", of.from, of.to),
            key: format!(
                "statements/{id}/{}_{}-{}",
                of.from,
                of.to,
                domain::signatures::hex(&digest[..8])
            ),
            facts,
        },
    )
    .await
}
