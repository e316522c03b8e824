//! Invoices and payments: the list, one invoice with its payments and
//! refunds, **Pay** (a provider enabled for the invoice's currency, and the
//! phone or email it needs), the payment page that follows the payment to
//! "Payment received" or "Payment failed" (htmx polling; a refresh link
//! without JavaScript), and **Void** for staff.

use axum::extract::RawQuery;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use domain::Role;
use serde_json::{json, Value};
use uuid::Uuid;

use super::applications::customer_of;
use super::{filters, guarded, listing, refusal, shown_again, Page};
use crate::console::client::Call;
use crate::console::context::Console;
use crate::console::errors::Segments;
use crate::console::forms::Form;

/// Who pays invoices (a customer their own, an agent their customers').
const PAYERS: [Role; 4] = [Role::Customer, Role::Agent, Role::Staff, Role::Admin];
/// Who voids invoices.
const VOIDERS: [Role; 2] = [Role::Staff, Role::Admin];

/// The statuses an invoice list filters by.
const STATUSES: [&str; 4] = ["open", "overdue", "paid", "void"];

pub async fn list(console: Console, RawQuery(query): RawQuery) -> Page {
    let (query, shown) = filters(query.as_deref(), &["status", "customer_id", "policy_id"]);
    let body = console.read(&format!("/billing/invoices?{query}")).await?;
    Ok(console.render(
        "invoices.html",
        json!({"section": "/invoices", "list": listing(&body, &shown), "statuses": STATUSES}),
    ))
}

/// Whether an invoice can take a payment now.
fn payable(invoice: &Value) -> bool {
    matches!(invoice["status"].as_str(), Some("open" | "overdue"))
        && invoice["balance"]["amount"]
            .as_str()
            .and_then(|a| a.parse::<rust_decimal::Decimal>().ok())
            .is_some_and(|a| a > rust_decimal::Decimal::ZERO)
}

async fn invoice_page(console: &Console, id: Uuid, forms: Value, status: StatusCode) -> Page {
    let invoice = console.read(&format!("/billing/invoices/{id}")).await?;
    let customer = customer_of(console, &invoice["customer_id"]).await;
    let role = console.viewer.role;
    Ok(console.render_status(
        status,
        "invoice.html",
        json!({
            "section": "/invoices",
            "invoice": invoice,
            "customer": customer,
            "may_pay": PAYERS.contains(&role) && payable(&invoice),
            "may_void": VOIDERS.contains(&role),
            "forms": forms,
        }),
    ))
}

pub async fn show(console: Console, Segments(id): Segments<Uuid>) -> Page {
    invoice_page(&console, id, json!({}), StatusCode::OK).await
}

/// `POST /invoices/{id}/void`.
pub async fn void(console: Console, Segments(id): Segments<Uuid>, form: Form) -> Page {
    guarded(&console, &form)?;
    let mut body = json!({});
    if let Some(reason) = form.get("reason") {
        body["reason"] = json!(reason.trim());
    }
    let call = Call::post(
        Some(&console.viewer),
        format!("/billing/invoices/{id}/void"),
        &body,
    )
    .from_form(&form);
    let reply = console.send(call).await?;
    if reply.ok() {
        return Ok(console.done(
            &format!("/invoices/{id}"),
            "Invoice voided: nothing is due on it",
        ));
    }
    let status = shown_again(&console, &reply)?;
    let forms = json!({"void": refusal(&form, &reply, &[("reason", "reason")])});
    invoice_page(&console, id, forms, status).await
}

/// What the pay form asks: the providers and, of the payer, what any of
/// them needs.
fn asks(options: &Value) -> (bool, bool) {
    let contacts: Vec<&str> = options["providers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["payer_contact"].as_str())
        .collect();
    let phone = contacts
        .iter()
        .any(|c| matches!(*c, "phone" | "phone_or_email"));
    let email = contacts
        .iter()
        .any(|c| matches!(*c, "email" | "optional_email" | "phone_or_email"));
    (phone, email)
}

async fn pay_page(console: &Console, id: Uuid, form: Option<Value>, status: StatusCode) -> Page {
    console.require(&PAYERS)?;
    let invoice = console.read(&format!("/billing/invoices/{id}")).await?;
    let options = console
        .read(&format!("/billing/invoices/{id}/payment-options"))
        .await?;
    let (phone, email) = asks(&options);
    let form = form.unwrap_or_else(|| {
        json!({"values": {
            "provider": options["default_provider"],
            "phone_number": options["customer"]["phone_number"],
            "email": options["customer"]["email"],
        }, "errors": {}})
    });
    let providers: Vec<Value> = options["providers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| json!({"value": p["provider"], "label": p["name"]}))
        .collect();
    Ok(console.render_status(
        status,
        "pay.html",
        json!({
            "section": "/invoices",
            "invoice": invoice,
            "options": options,
            "providers": providers,
            "asks_phone": phone,
            "asks_email": email,
            "payable": payable(&invoice),
            "form": form,
        }),
    ))
}

pub async fn pay_form(console: Console, Segments(id): Segments<Uuid>) -> Page {
    pay_page(&console, id, None, StatusCode::OK).await
}

/// `POST /invoices/{id}/pay`: asks the provider for the balance; on to
/// the provider's checkout when it has one, else to the payment's page.
pub async fn pay(console: Console, Segments(id): Segments<Uuid>, form: Form) -> Page {
    guarded(&console, &form)?;
    let mut body = json!({});
    for field in ["provider", "phone_number", "email"] {
        if let Some(value) = form.get(field) {
            body[field] = json!(value.trim());
        }
    }
    // Send only what the chosen provider takes: a phone for M-Pesa, an
    // email for a checkout.
    let provider = form.text("provider");
    let options = console
        .read(&format!("/billing/invoices/{id}/payment-options"))
        .await?;
    let contact = options["providers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["provider"] == provider.as_str())
        .and_then(|p| p["payer_contact"].as_str())
        .unwrap_or("nothing");
    if !matches!(contact, "phone" | "phone_or_email") {
        body.as_object_mut().map(|b| b.remove("phone_number"));
    }
    let sends_email = match contact {
        "email" | "optional_email" => true,
        // Flutterwave: a phone for M-Pesa, else the email for its checkout.
        "phone_or_email" => body.get("phone_number").is_none(),
        _ => false,
    };
    if !sends_email {
        body.as_object_mut().map(|b| b.remove("email"));
    }
    let call = Call::post(
        Some(&console.viewer),
        format!("/billing/invoices/{id}/pay"),
        &body,
    )
    .from_form(&form);
    let reply = console.send(call).await?;
    if reply.ok() {
        if let Some(url) = reply.body["next_action"]["url"].as_str() {
            if reply.body["next_action"]["type"] == "redirect" {
                return Ok(Redirect::to(url).into_response());
            }
        }
        let payment = reply.body["payment_id"].as_str().unwrap_or_default();
        return Ok(console.done(&format!("/payments/{payment}"), "Payment requested"));
    }
    let status = shown_again(&console, &reply)?;
    let shown = refusal(
        &form,
        &reply,
        &[
            ("provider", "provider"),
            ("phone_number", "phone_number"),
            ("email", "email"),
            ("amount", "provider"),
        ],
    );
    pay_page(&console, id, Some(shown), status).await
}

/// `GET /payments/{id}`: the payment as it stands; with `HX-Request`, only
/// its status (polled until it is final).
pub async fn payment(console: Console, Segments(id): Segments<Uuid>, headers: HeaderMap) -> Page {
    let payment = console.read(&format!("/billing/payments/{id}")).await?;
    let invoice = console
        .read(&format!(
            "/billing/invoices/{}",
            payment["invoice_id"].as_str().unwrap_or_default()
        ))
        .await?;
    let data = json!({
        "section": "/invoices",
        "payment": payment,
        "invoice": invoice,
        "may_pay": PAYERS.contains(&console.viewer.role) && payable(&invoice),
    });
    if headers.contains_key("hx-request") {
        return Ok(console.render("payment_status.html", data));
    }
    Ok(console.render("payment.html", data))
}
