//! Signing in and out, registering, and resetting a password, on the API's
//! own flows (its lockout and rate limits, its password policy, its reset
//! tokens). A sign-in opens a console session standing for the refresh-token
//! family the API's login issued.

use axum::extract::Query;
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use crate::auth::tokens::verify_access_token;
use crate::console::client::{Call, Reply};
use crate::console::context::{redirect_with, Console, Visitor};
use crate::console::forms::{again, Form};
use crate::console::session::{self, set_cookie, SESSION_COOKIE};
use crate::error::ApiError;

/// CONSOLE.md's words for a failed sign-in.
const WRONG: &str = "Email or password is incorrect";

#[derive(Deserialize, Default)]
pub struct Next {
    next: Option<String>,
}

/// A page of this site to go on to (never another origin).
fn local(next: Option<&str>) -> &str {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\"))
        .unwrap_or("/dashboard")
}

pub async fn login_page(visitor: Visitor, Query(next): Query<Next>) -> Response {
    if visitor.viewer.is_some() {
        return Redirect::to(local(next.next.as_deref())).into_response();
    }
    visitor.render(
        StatusCode::OK,
        "login.html",
        json!({"next": local(next.next.as_deref()), "form": {}}),
    )
}

/// Opens a session for the token pair `reply` (the API's login) carries
/// and goes on to `next`, telling `flash`.
async fn open_session(
    visitor: &Visitor,
    reply: &Reply,
    next: &str,
    flash: Option<&str>,
) -> Result<Response, ApiError> {
    let token = reply.body["access_token"].as_str().unwrap_or_default();
    let claims = verify_access_token(&visitor.state.config.jwt_secret, token)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("the API's own token: {e}")))?;
    let cookie = session::open(&visitor.state, claims.sub, claims.sid).await?;
    let mut response = redirect_with(&visitor.state, next, flash);
    let max_age =
        i64::try_from(visitor.state.config.refresh_token_ttl.as_secs()).unwrap_or(i64::MAX);
    response.headers_mut().append(
        SET_COOKIE,
        set_cookie(&visitor.state, SESSION_COOKIE, &cookie, max_age),
    );
    Ok(response)
}

pub async fn login(visitor: Visitor, form: Form) -> Result<Response, ApiError> {
    if !visitor.csrf_ok(form.get("csrf")) {
        return Ok(visitor.forbidden());
    }
    let next = local(form.get("next")).to_string();
    let reply = visitor
        .call(Call::post(
            None,
            "/auth/login",
            &json!({"email": form.text("email"), "password": form.get("password").unwrap_or_default()}),
        ))
        .await?;
    if reply.ok() {
        return open_session(&visitor, &reply, &next, None).await;
    }
    let problem = match reply.status {
        // Locked out, or deactivated (said only after the right password).
        StatusCode::TOO_MANY_REQUESTS | StatusCode::FORBIDDEN => reply.detail(),
        _ => WRONG.to_string(),
    };
    let mut shown = again(&form, &Default::default());
    shown["problem"] = json!(problem);
    Ok(visitor.render(
        StatusCode::UNPROCESSABLE_ENTITY,
        "login.html",
        json!({"next": next, "form": shown}),
    ))
}

pub async fn register_page(visitor: Visitor) -> Response {
    if visitor.viewer.is_some() {
        return Redirect::to("/dashboard").into_response();
    }
    visitor.render(StatusCode::OK, "register.html", json!({"form": {}}))
}

pub async fn register(visitor: Visitor, form: Form) -> Result<Response, ApiError> {
    if !visitor.csrf_ok(form.get("csrf")) {
        return Ok(visitor.forbidden());
    }
    let password = form.get("password").unwrap_or_default().to_string();
    let mut body = json!({
        "email": form.text("email"),
        "password": password,
        "full_name": form.text("full_name"),
    });
    if let Some(phone) = form.get("phone_number") {
        body["phone_number"] = json!(phone.trim());
    }
    let reply = visitor
        .call(Call::post(None, "/auth/register", &body))
        .await?;
    if !reply.ok() {
        let mut errors = reply.field_errors();
        if reply.status == StatusCode::CONFLICT {
            errors.insert(
                "email".into(),
                "An account already uses this address: sign in, or reset its password".into(),
            );
        }
        let mut shown = again(&form, &errors);
        if errors.is_empty() {
            shown["problem"] = json!(reply.detail());
        }
        return Ok(visitor.render(
            StatusCode::UNPROCESSABLE_ENTITY,
            "register.html",
            json!({"form": shown}),
        ));
    }
    let login = visitor
        .call(Call::post(
            None,
            "/auth/login",
            &json!({"email": form.text("email"), "password": password}),
        ))
        .await?;
    if !login.ok() {
        return Ok(redirect_with(
            &visitor.state,
            "/login",
            Some("Your account is ready: sign in"),
        ));
    }
    open_session(
        &visitor,
        &login,
        "/dashboard",
        Some("Welcome: your account is ready"),
    )
    .await
}

pub async fn logout(console: Console, form: Form) -> Result<Response, ApiError> {
    if !form.csrf_ok(&console.viewer) {
        return Ok(console.forbidden());
    }
    if let Some(token) = console.session_cookie() {
        session::close(&console.state, &token).await?;
    }
    let mut response = redirect_with(&console.state, "/login", Some("You have signed out"));
    response.headers_mut().append(
        SET_COOKIE,
        set_cookie(&console.state, SESSION_COOKIE, "", 0),
    );
    Ok(response)
}

pub async fn reset_page(visitor: Visitor) -> Response {
    visitor.render(StatusCode::OK, "password_reset.html", json!({"form": {}}))
}

pub async fn reset(visitor: Visitor, form: Form) -> Result<Response, ApiError> {
    if !visitor.csrf_ok(form.get("csrf")) {
        return Ok(visitor.forbidden());
    }
    let reply = visitor
        .call(Call::post(
            None,
            "/auth/password-reset",
            &json!({"email": form.text("email")}),
        ))
        .await?;
    if !reply.ok() {
        let mut shown = again(&form, &reply.field_errors());
        if reply.field_errors().is_empty() {
            shown["problem"] = json!(reply.detail());
        }
        return Ok(visitor.render(
            StatusCode::UNPROCESSABLE_ENTITY,
            "password_reset.html",
            json!({"form": shown}),
        ));
    }
    Ok(visitor.render(
        StatusCode::OK,
        "password_reset.html",
        json!({"sent": true, "form": {}}),
    ))
}

#[derive(Deserialize, Default)]
pub struct Token {
    token: Option<String>,
}

pub async fn confirm_page(visitor: Visitor, Query(token): Query<Token>) -> Response {
    visitor.render(
        StatusCode::OK,
        "password_reset_confirm.html",
        json!({"token": token.token.unwrap_or_default(), "form": {}}),
    )
}

pub async fn confirm(visitor: Visitor, form: Form) -> Result<Response, ApiError> {
    if !visitor.csrf_ok(form.get("csrf")) {
        return Ok(visitor.forbidden());
    }
    let body = json!({"token": form.text("token"), "new_password": form.get("new_password").unwrap_or_default()});
    let reply = visitor
        .call(Call::post(None, "/auth/password-reset/confirm", &body))
        .await?;
    if reply.ok() {
        return Ok(redirect_with(
            &visitor.state,
            "/login",
            Some("Your new password is set: sign in with it"),
        ));
    }
    let mut errors = reply.field_errors();
    let mut shown = json!({});
    if let Some(token) = errors.remove("token") {
        shown["problem"] = json!(format!(
            "This reset link cannot be used ({token}): ask for a new one."
        ));
    }
    let mut form_view = again(&form, &errors);
    if let Some(problem) = shown.get("problem") {
        form_view["problem"] = problem.clone();
    }
    Ok(visitor.render(
        StatusCode::UNPROCESSABLE_ENTITY,
        "password_reset_confirm.html",
        json!({"token": form.text("token"), "form": form_view}),
    ))
}
