//! Applications: the list (by status), one application with its history,
//! and for those who decide (agents for their own customers, staff,
//! admins) **Approve** and **Reject**.

use axum::extract::RawQuery;
use axum::http::StatusCode;
use domain::Role;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{filters, guarded, listing, refusal, shown_again, Page};
use crate::console::client::Call;
use crate::console::context::Console;
use crate::console::errors::Segments;
use crate::console::forms::Form;

/// Who approves and rejects applications.
const DECIDERS: [Role; 3] = [Role::Agent, Role::Staff, Role::Admin];

/// The statuses an application list filters by.
const STATUSES: [&str; 7] = [
    "submitted",
    "approved",
    "active",
    "rejected",
    "cancelled",
    "lapsed",
    "expired",
];

pub async fn list(console: Console, RawQuery(query): RawQuery) -> Page {
    let (query, shown) = filters(query.as_deref(), &["status", "customer_id", "product_id"]);
    let body = console
        .read(&format!("/policies/applications?{query}"))
        .await?;
    Ok(console.render(
        "applications.html",
        json!({"section": "/applications", "list": listing(&body, &shown), "statuses": STATUSES}),
    ))
}

/// The customer's name and email as the viewer may read them (agents,
/// staff, admins, auditors), else nothing.
pub async fn customer_of(console: &Console, id: &Value) -> Value {
    if console.viewer.role == Role::Customer {
        return json!({"id": id, "full_name": console.viewer.full_name, "email": console.viewer.email});
    }
    match id.as_str() {
        Some(id) => console
            .read(&format!("/customers/{id}"))
            .await
            .unwrap_or(Value::Null),
        None => Value::Null,
    }
}

async fn application_page(console: &Console, id: Uuid, forms: Value, status: StatusCode) -> Page {
    let application = console
        .read(&format!("/policies/applications/{id}"))
        .await?;
    let customer = customer_of(console, &application["customer_id"]).await;
    Ok(console.render_status(
        status,
        "application.html",
        json!({
            "section": "/applications",
            "application": application,
            "customer": customer,
            "may_decide": DECIDERS.contains(&console.viewer.role),
            "forms": forms,
        }),
    ))
}

pub async fn show(console: Console, Segments(id): Segments<Uuid>) -> Page {
    application_page(&console, id, json!({}), StatusCode::OK).await
}

/// `POST /applications/{id}/approve` and `/reject`.
pub async fn decide(
    console: Console,
    Segments((id, decision)): Segments<(Uuid, String)>,
    form: Form,
) -> Page {
    guarded(&console, &form)?;
    let (body, flash) = match decision.as_str() {
        "approve" => (
            json!({}),
            "Application approved: the policy is issued and its invoice sent",
        ),
        "reject" => (
            json!({"reason": form.text("reason")}),
            "Application rejected",
        ),
        _ => return Err(console.error(StatusCode::NOT_FOUND)),
    };
    let call = Call::post(
        Some(&console.viewer),
        format!("/policies/applications/{id}/{decision}"),
        &body,
    )
    .from_form(&form);
    let reply = console.send(call).await?;
    if reply.ok() {
        let to = if decision == "approve" {
            format!("/policies/{id}")
        } else {
            format!("/applications/{id}")
        };
        return Ok(console.done(&to, flash));
    }
    let status = shown_again(&console, &reply)?;
    let forms = json!({ decision: refusal(&form, &reply, &[("reason", "reason")]) });
    application_page(&console, id, forms, status).await
}
