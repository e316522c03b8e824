//! Customers, for agents (their own) and staff (everyone): the list with a
//! search, one customer with their policies, invoices, claims and agent
//! (staff: **Assign agent**), and their statement of account for a period
//! (**Download PDF**).

use axum::extract::{Query, RawQuery};
use axum::http::StatusCode;
use domain::Role;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{filters, guarded, listing, refusal, refused_status, shown_again, shown_on_form, Page};
use crate::console::client::Call;
use crate::console::context::Console;
use crate::console::errors::Segments;
use crate::console::forms::Form;

/// Who reads customers.
const READERS: [Role; 4] = [Role::Agent, Role::Staff, Role::Admin, Role::Auditor];
/// Who assigns agents.
const ASSIGNERS: [Role; 2] = [Role::Staff, Role::Admin];

pub async fn list(console: Console, RawQuery(query): RawQuery) -> Page {
    console.require(&READERS)?;
    let (query, shown) = filters(query.as_deref(), &["q"]);
    let body = console.read(&format!("/customers?{query}")).await?;
    Ok(console.render(
        "customers.html",
        json!({"section": "/customers", "list": listing(&body, &shown)}),
    ))
}

async fn customer_page(console: &Console, id: Uuid, forms: Value, status: StatusCode) -> Page {
    console.require(&READERS)?;
    let customer = console.read(&format!("/customers/{id}")).await?;
    let policies = console
        .read(&format!("/policies/policies?customer_id={id}&limit=50"))
        .await?;
    let applications = console
        .read(&format!(
            "/policies/applications?customer_id={id}&status=submitted&limit=50"
        ))
        .await?;
    let invoices = console
        .read(&format!("/billing/invoices?customer_id={id}&limit=50"))
        .await?;
    let claims = console
        .read(&format!("/claims?customer_id={id}&limit=50"))
        .await?;
    let assigner = ASSIGNERS.contains(&console.viewer.role);
    let agents = if assigner {
        console.read("/agents?limit=200").await?["items"].clone()
    } else {
        json!([])
    };
    let agent = match customer["agent_id"].as_str() {
        Some(agent) if console.viewer.user_id.to_string() == agent => {
            json!({"id": agent, "full_name": console.viewer.full_name})
        }
        Some(agent) => agents
            .as_array()
            .and_then(|all| all.iter().find(|a| a["id"] == agent).cloned())
            .unwrap_or_else(|| json!({"id": agent})),
        None => Value::Null,
    };
    let agent_options: Vec<Value> = agents
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| json!({"value": a["id"], "label": format!("{} ({})", a["full_name"].as_str().unwrap_or_default(), a["email"].as_str().unwrap_or_default())}))
        .collect();
    Ok(console.render_status(
        status,
        "customer.html",
        json!({
            "section": "/customers",
            "customer": customer,
            "agent": agent,
            "policies": policies["items"],
            "applications": applications["items"],
            "invoices": invoices["items"],
            "claims": claims["items"],
            "may_assign": assigner,
            "agent_options": agent_options,
            "forms": forms,
        }),
    ))
}

pub async fn show(console: Console, Segments(id): Segments<Uuid>) -> Page {
    customer_page(&console, id, json!({}), StatusCode::OK).await
}

/// `POST /customers/{id}/assign-agent`.
pub async fn assign_agent(console: Console, Segments(id): Segments<Uuid>, form: Form) -> Page {
    guarded(&console, &form)?;
    let body = json!({"agent_id": form.text("agent_id")});
    let call = Call::post(
        Some(&console.viewer),
        format!("/customers/{id}/assign-agent"),
        &body,
    )
    .from_form(&form);
    let reply = console.send(call).await?;
    if reply.ok() {
        return Ok(console.done(&format!("/customers/{id}"), "Agent assigned"));
    }
    let status = shown_again(&console, &reply)?;
    let forms = json!({"assign": refusal(&form, &reply, &[("agent_id", "agent_id")])});
    customer_page(&console, id, forms, status).await
}

#[derive(Deserialize, Default)]
pub struct Period {
    from: Option<String>,
    to: Option<String>,
}

/// The period as the API's query string (what was given of it).
fn period_query(period: &Period) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in [("from", &period.from), ("to", &period.to)] {
        if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            query.append_pair(key, value);
        }
    }
    query.finish()
}

/// `GET /customers/{id}/statement?from=&to=`: the statement of account.
pub async fn statement(
    console: Console,
    Segments(id): Segments<Uuid>,
    Query(period): Query<Period>,
) -> Page {
    console.require(&READERS)?;
    let customer = console.read(&format!("/customers/{id}")).await?;
    let query = period_query(&period);
    let reply = console
        .send(Call::get(
            Some(&console.viewer),
            format!("/customers/{id}/statement?{query}"),
        ))
        .await?;
    let values = json!({"from": period.from, "to": period.to});
    let (statement, form, status) = if reply.ok() {
        let values = json!({"from": reply.body["from"], "to": reply.body["to"]});
        (
            reply.body,
            json!({"values": values, "errors": {}}),
            StatusCode::OK,
        )
    } else if shown_on_form(&reply) {
        let form = Form::parse(period_query(&period).as_bytes());
        let mut shown = refusal(&form, &reply, &[("from", "from"), ("to", "to")]);
        shown["values"] = values;
        (Value::Null, shown, refused_status(&reply))
    } else {
        return Err(console.refused(&reply));
    };
    Ok(console.render_status(
        status,
        "statement.html",
        json!({"section": "/customers", "customer": customer, "statement": statement, "form": form}),
    ))
}
