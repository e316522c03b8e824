//! Users, for admins: every account with its role and status (filter
//! **Role**), **New user** with any role, a user's page with **Change
//! role**, and **Deactivate** / **Reactivate** (a deactivated account
//! cannot sign in and its sessions end).

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

fn role_names() -> Vec<&'static str> {
    Role::ALL.iter().map(|r| r.as_str()).collect()
}

/// The roles as options of a select: value and label.
fn role_options() -> Vec<Value> {
    Role::ALL
        .iter()
        .map(|r| {
            let name = r.as_str();
            let label = name[..1].to_uppercase() + &name[1..];
            json!({"value": name, "label": label})
        })
        .collect()
}

async fn list_page(
    console: &Console,
    query: Option<&str>,
    forms: Value,
    status: StatusCode,
) -> Page {
    console.require(&[Role::Admin])?;
    let (query, shown) = filters(query, &["role"]);
    let body = console.read(&format!("/users?{query}")).await?;
    Ok(console.render_status(
        status,
        "users.html",
        json!({
            "section": "/users",
            "list": listing(&body, &shown),
            "roles": role_names(),
            "forms": forms,
        }),
    ))
}

pub async fn list(console: Console, RawQuery(query): RawQuery) -> Page {
    list_page(&console, query.as_deref(), json!({}), StatusCode::OK).await
}

fn new_page(console: &Console, form: Value, status: StatusCode) -> Page {
    console.require(&[Role::Admin])?;
    Ok(console.render_status(
        status,
        "user_new.html",
        json!({"section": "/users", "role_options": role_options(), "form": form}),
    ))
}

pub async fn new_form(console: Console) -> Page {
    new_page(
        &console,
        json!({"values": {}, "errors": {}}),
        StatusCode::OK,
    )
}

/// `POST /users/new`: opens an account with the role chosen and a first
/// password the admin passes on.
pub async fn create(console: Console, form: Form) -> Page {
    guarded(&console, &form)?;
    console.require(&[Role::Admin])?;
    let phone = form.text("phone_number");
    let body = json!({
        "email": form.text("email"),
        "full_name": form.text("full_name"),
        "phone_number": if phone.trim().is_empty() { Value::Null } else { json!(phone) },
        "role": form.text("role"),
        "password": form.text("password"),
    });
    let reply = console
        .send(Call::post(Some(&console.viewer), "/users", &body).from_form(&form))
        .await?;
    if reply.ok() {
        let flash = format!(
            "User created: {} can sign in as {}",
            reply.body["full_name"].as_str().unwrap_or_default(),
            reply.body["email"].as_str().unwrap_or_default()
        );
        return Ok(console.done("/users", &flash));
    }
    let status = shown_again(&console, &reply)?;
    let fields = ["email", "full_name", "phone_number", "role", "password"];
    let pairs: Vec<(&str, &str)> = fields.iter().map(|f| (*f, *f)).collect();
    new_page(&console, refusal(&form, &reply, &pairs), status)
}

async fn user_page(console: &Console, id: Uuid, forms: Value, status: StatusCode) -> Page {
    console.require(&[Role::Admin])?;
    let user = console.read(&format!("/users/{id}")).await?;
    Ok(console.render_status(
        status,
        "user.html",
        json!({
            "section": "/users",
            "user": user,
            "role_options": role_options(),
            "forms": forms,
        }),
    ))
}

/// `GET /users/{id}`: one account, its role to change and its status.
pub async fn show(console: Console, Segments(id): Segments<Uuid>) -> Page {
    user_page(&console, id, json!({}), StatusCode::OK).await
}

/// `POST /users/{id}/deactivate`, `/reactivate` (from the list or the
/// user's page) and `/role` (field **Role**, from the user's page).
pub async fn act(
    console: Console,
    Segments((id, action)): Segments<(Uuid, String)>,
    form: Form,
) -> Page {
    guarded(&console, &form)?;
    console.require(&[Role::Admin])?;
    let (body, back) = match action.as_str() {
        "deactivate" | "reactivate" => (json!({}), form.text("back")),
        "role" => (json!({"role": form.text("role")}), format!("/users/{id}")),
        _ => return Err(console.error(StatusCode::NOT_FOUND)),
    };
    // Only the user's own page is a place to go back to.
    let back = if back == format!("/users/{id}") {
        back
    } else {
        "/users".to_string()
    };
    let call = Call::post(
        Some(&console.viewer),
        format!("/users/{id}/{action}"),
        &body,
    )
    .from_form(&form);
    let reply = console.send(call).await?;
    if reply.ok() {
        let name = reply.body["full_name"].as_str().unwrap_or_default();
        let flash = match action.as_str() {
            "deactivate" => format!("User deactivated: {name} is signed out and cannot sign in"),
            "reactivate" => format!("User reactivated: {name} can sign in again"),
            _ => format!(
                "Role changed: {name} is now {}; they sign in again to use it",
                reply.body["role"].as_str().unwrap_or_default()
            ),
        };
        return Ok(console.done(&back, &flash));
    }
    let status = shown_again(&console, &reply)?;
    if back == "/users" {
        let forms = json!({ id.to_string(): refusal(&form, &reply, &[]) });
        return list_page(&console, None, forms, status).await;
    }
    let forms = json!({ action: refusal(&form, &reply, &[("role", "role")]) });
    user_page(&console, id, forms, status).await
}
