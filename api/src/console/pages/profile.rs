//! The viewer's own account: name and phone, notification preferences,
//! and changing the password (the current one checked; every other
//! session ends).

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use super::{guarded, refusal, shown_again, Page};
use crate::console::client::Call;
use crate::console::context::Console;
use crate::console::forms::Form;

/// The kinds of message a preference covers, by channel.
const CHANNELS: [&str; 2] = ["email", "sms"];
const CATEGORIES: [&str; 2] = ["reminders", "marketing"];

async fn profile_page(console: &Console, forms: Value, status: StatusCode) -> Page {
    let me = console.read("/auth/me").await?;
    let preferences = console.read("/me/notification-preferences").await?;
    Ok(console.render_status(
        status,
        "profile.html",
        json!({"section": "/profile", "me": me, "preferences": preferences, "forms": forms}),
    ))
}

pub async fn show(console: Console) -> Page {
    profile_page(&console, json!({}), StatusCode::OK).await
}

/// `POST /profile`: name and phone.
pub async fn update(console: Console, form: Form) -> Page {
    guarded(&console, &form)?;
    let body =
        json!({"full_name": form.text("full_name"), "phone_number": form.text("phone_number")});
    let call = Call::new(Method::PATCH, Some(&console.viewer), "/auth/me")
        .json(&body)
        .from_form(&form);
    let reply = console.send(call).await?;
    if reply.ok() {
        return Ok(console.done("/profile", "Profile saved"));
    }
    let status = shown_again(&console, &reply)?;
    let shown = refusal(
        &form,
        &reply,
        &[("full_name", "full_name"), ("phone_number", "phone_number")],
    );
    profile_page(&console, json!({"profile": shown}), status).await
}

/// `POST /profile/preferences`: which messages the viewer gets.
pub async fn preferences(console: Console, form: Form) -> Page {
    guarded(&console, &form)?;
    let mut body = json!({});
    for channel in CHANNELS {
        for category in CATEGORIES {
            body[channel][category] = json!(form.ticked(&format!("{channel}_{category}")));
        }
    }
    let call = Call::new(
        Method::PUT,
        Some(&console.viewer),
        "/me/notification-preferences",
    )
    .json(&body)
    .from_form(&form);
    let reply = console.send(call).await?;
    if reply.ok() {
        return Ok(console.done("/profile", "Preferences saved"));
    }
    let status = shown_again(&console, &reply)?;
    let shown = refusal(&form, &reply, &[]);
    profile_page(&console, json!({"preferences": shown}), status).await
}

pub async fn password_form(console: Console) -> Page {
    Ok(console.render(
        "password.html",
        json!({"section": "/profile", "form": {"values": {}, "errors": {}}}),
    ))
}

/// `POST /profile/password`.
pub async fn change_password(console: Console, form: Form) -> Page {
    guarded(&console, &form)?;
    let body = json!({
        "current_password": form.get("current_password").unwrap_or_default(),
        "new_password": form.get("new_password").unwrap_or_default(),
    });
    let reply = console
        .send(Call::post(Some(&console.viewer), "/auth/password", &body).from_form(&form))
        .await?;
    if reply.ok() {
        return Ok(console.done(
            "/profile",
            "Password changed: you were signed out everywhere else",
        ));
    }
    let status = shown_again(&console, &reply)?;
    let shown = refusal(
        &form,
        &reply,
        &[
            ("current_password", "current_password"),
            ("new_password", "new_password"),
        ],
    );
    Ok(console.render_status(
        status,
        "password.html",
        json!({"section": "/profile", "form": shown}),
    ))
}
