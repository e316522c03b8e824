//! Policies: the list, one policy with its terms, invoices, claims and
//! history, and by role **Endorse**, **Cancel policy** (the refund shown
//! before confirming), **Renew**, **File a claim**, **Download
//! certificate**.

use axum::extract::{Query, RawQuery};
use axum::http::StatusCode;
use domain::Role;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::applications::customer_of;
use super::{filters, guarded, listing, money, refusal, shown_again, shown_on_form, Page};
use crate::console::client::Call;
use crate::console::context::Console;
use crate::console::errors::Segments;
use crate::console::forms::Form;
use crate::console::render::money_text;

/// Who endorses and renews.
const UNDERWRITERS: [Role; 2] = [Role::Staff, Role::Admin];
/// Who cancels (a customer their own).
const CANCELLERS: [Role; 3] = [Role::Customer, Role::Staff, Role::Admin];
/// Who files claims.
const CLAIMANTS: [Role; 4] = [Role::Customer, Role::Agent, Role::Staff, Role::Admin];

/// The statuses a policy list filters by.
const STATUSES: [&str; 6] = [
    "approved",
    "active",
    "expired",
    "cancelled",
    "lapsed",
    "rejected",
];

pub async fn list(console: Console, RawQuery(query): RawQuery) -> Page {
    let (query, shown) = filters(query.as_deref(), &["status", "customer_id", "product_id"]);
    let body = console.read(&format!("/policies/policies?{query}")).await?;
    Ok(console.render(
        "policies.html",
        json!({"section": "/policies", "list": listing(&body, &shown), "statuses": STATUSES}),
    ))
}

/// The policy, or the 404 page.
async fn policy(console: &Console, id: Uuid) -> Result<Value, axum::response::Response> {
    console.read(&format!("/policies/policies/{id}")).await
}

async fn policy_page(console: &Console, id: Uuid, forms: Value, status: StatusCode) -> Page {
    let policy = policy(console, id).await?;
    let invoices = console
        .read(&format!("/billing/invoices?policy_id={id}&limit=200"))
        .await?;
    let claims = console
        .read(&format!("/claims?policy_id={id}&limit=200"))
        .await?;
    let customer = customer_of(console, &policy["customer_id"]).await;
    let role = console.viewer.role;
    Ok(console.render_status(
        status,
        "policy.html",
        json!({
            "section": "/policies",
            "policy": policy,
            "invoices": invoices["items"],
            "claims": claims["items"],
            "customer": customer,
            "may_underwrite": UNDERWRITERS.contains(&role),
            "may_cancel": CANCELLERS.contains(&role),
            "may_claim": CLAIMANTS.contains(&role),
            "forms": forms,
        }),
    ))
}

pub async fn show(console: Console, Segments(id): Segments<Uuid>) -> Page {
    policy_page(&console, id, json!({}), StatusCode::OK).await
}

/// `POST /policies/{id}/renew`.
pub async fn renew(console: Console, Segments(id): Segments<Uuid>, form: Form) -> Page {
    guarded(&console, &form)?;
    let call = Call::post(
        Some(&console.viewer),
        format!("/policies/policies/{id}/renew"),
        &json!({}),
    )
    .from_form(&form);
    let reply = console.send(call).await?;
    if reply.ok() {
        return Ok(console.done(
            &format!("/policies/{id}"),
            "Policy renewed: the next term's invoice is issued",
        ));
    }
    let status = shown_again(&console, &reply)?;
    let forms = json!({"renew": refusal(&form, &reply, &[])});
    policy_page(&console, id, forms, status).await
}

async fn endorse_page(console: &Console, id: Uuid, form: Value, status: StatusCode) -> Page {
    console.require(&UNDERWRITERS)?;
    let policy = policy(console, id).await?;
    Ok(console.render_status(
        status,
        "endorse.html",
        json!({"section": "/policies", "policy": policy, "form": form}),
    ))
}

pub async fn endorse_form(console: Console, Segments(id): Segments<Uuid>) -> Page {
    let form = json!({"values": {"effective_date": console.state.clock.today()}, "errors": {}});
    endorse_page(&console, id, form, StatusCode::OK).await
}

/// `POST /policies/{id}/endorse`: a new sum insured from a date.
pub async fn endorse(console: Console, Segments(id): Segments<Uuid>, form: Form) -> Page {
    guarded(&console, &form)?;
    let policy = policy(&console, id).await?;
    let currency = policy["sum_insured"]["currency"]
        .as_str()
        .unwrap_or_default();
    let body = json!({
        "sum_insured": money(&form.text("sum_insured"), currency),
        "effective_date": form.text("effective_date"),
    });
    let call = Call::post(
        Some(&console.viewer),
        format!("/policies/policies/{id}/endorse"),
        &body,
    )
    .from_form(&form);
    let reply = console.send(call).await?;
    if reply.ok() {
        return Ok(console.done(
            &format!("/policies/{id}"),
            "Policy endorsed: the premium difference is invoiced or credited",
        ));
    }
    let status = shown_again(&console, &reply)?;
    let shown = refusal(
        &form,
        &reply,
        &[
            ("sum_insured", "sum_insured"),
            ("effective_date", "effective_date"),
        ],
    );
    endorse_page(&console, id, shown, status).await
}

#[derive(Deserialize, Default)]
pub struct CancelQuery {
    effective_date: Option<String>,
    reason: Option<String>,
}

/// The cancel form with the refund a cancellation on its date would give.
async fn cancel_page(console: &Console, id: Uuid, mut form: Value, status: StatusCode) -> Page {
    console.require(&CANCELLERS)?;
    let policy = policy(console, id).await?;
    let date = form["values"]["effective_date"]
        .as_str()
        .map_or_else(|| console.state.clock.today().to_string(), str::to_string);
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("effective_date", &date)
        .finish();
    let reply = console
        .send(Call::get(
            Some(&console.viewer),
            format!("/policies/policies/{id}/cancellation-quote?{query}"),
        ))
        .await?;
    let quote = if reply.ok() {
        Some(reply.body)
    } else if shown_on_form(&reply) {
        let refused = refusal(
            &Form::default(),
            &reply,
            &[("effective_date", "effective_date")],
        );
        if let (Some(errors), Some(more)) = (
            form["errors"].as_object_mut(),
            refused["errors"].as_object(),
        ) {
            for (k, v) in more {
                errors.entry(k.clone()).or_insert(v.clone());
            }
        }
        if form.get("problem").is_none() {
            if let Some(problem) = refused.get("problem") {
                form["problem"] = problem.clone();
            }
        }
        None
    } else {
        return Err(console.refused(&reply));
    };
    form["values"]["effective_date"] = json!(date);
    Ok(console.render_status(
        status,
        "cancel.html",
        json!({"section": "/policies", "policy": policy, "form": form, "quote": quote}),
    ))
}

pub async fn cancel_form(
    console: Console,
    Segments(id): Segments<Uuid>,
    Query(query): Query<CancelQuery>,
) -> Page {
    let form = json!({"values": {"effective_date": query.effective_date, "reason": query.reason}, "errors": {}});
    cancel_page(&console, id, form, StatusCode::OK).await
}

/// `POST /policies/{id}/cancel`: cancels as quoted; when the date changed
/// since the refund was shown, shows the refund for the new date first.
pub async fn cancel(console: Console, Segments(id): Segments<Uuid>, form: Form) -> Page {
    guarded(&console, &form)?;
    let date = form.text("effective_date");
    let quoting = form.get("step") == Some("quote");
    if quoting || form.get("quoted_date") != Some(date.as_str()) {
        let mut shown = json!({"values": form.values(), "errors": {}});
        if !quoting {
            shown["notice"] =
                json!("Check the refund for this date, then press Cancel policy to confirm.");
        }
        return cancel_page(&console, id, shown, StatusCode::OK).await;
    }
    let body = json!({"reason": form.text("reason"), "effective_date": date});
    let call = Call::post(
        Some(&console.viewer),
        format!("/policies/policies/{id}/cancel"),
        &body,
    )
    .from_form(&form);
    let reply = console.send(call).await?;
    if reply.ok() {
        let refund = &reply.body["refund"];
        let nothing = refund["amount"]
            .as_str()
            .and_then(|a| a.parse::<rust_decimal::Decimal>().ok())
            .is_none_or(|a| a.is_zero());
        let flash = if nothing {
            "Policy cancelled: nothing is refunded".to_string()
        } else {
            format!("Policy cancelled: {} is refunded", money_text(refund))
        };
        return Ok(console.done(&format!("/policies/{id}"), &flash));
    }
    let status = shown_again(&console, &reply)?;
    let shown = refusal(
        &form,
        &reply,
        &[("reason", "reason"), ("effective_date", "effective_date")],
    );
    cancel_page(&console, id, shown, status).await
}
