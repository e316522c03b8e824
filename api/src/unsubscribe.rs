//! The unsubscribe link in every email: `GET /unsubscribe?token=` shows a
//! page asking to confirm (so a mail scanner following links changes
//! nothing), and `POST /unsubscribe?token=` (the page's button, or a mail
//! client's RFC 8058 one-click request) stops that person's reminder and
//! marketing emails. No login: the token is the person's id signed with a
//! server secret. Notices about their policies, payments and claims, and
//! those the law requires, still go.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use domain::notifications::{unsubscriber, Channel};
use domain::user::{User, UserCommand};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use uuid::Uuid;

use crate::config::derived_secret;
use crate::error::ApiError;
use crate::request_context::RequestContext;
use crate::state::AppState;
use crate::writes::metadata;

/// The secret unsubscribe links are signed with (the notification worker
/// derives the same).
pub fn secret(jwt_secret: &SecretString) -> SecretString {
    derived_secret(jwt_secret, "unsubscribe")
}

/// The unsubscribe routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/unsubscribe", get(confirm).post(unsubscribe))
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The person the link is for.
fn person(state: &AppState, query: &TokenQuery) -> Option<Uuid> {
    let secret = &state.config.unsubscribe_secret;
    query
        .token
        .as_deref()
        .and_then(|token| unsubscriber(secret.expose_secret().as_bytes(), token))
}

/// The page saying the link is broken.
fn broken_link() -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "This link does not work",
        "The unsubscribe link is incomplete or was changed. Use the link in your latest email, or change your preferences after signing in.",
        None,
    )
}

async fn confirm(State(state): State<AppState>, Query(query): Query<TokenQuery>) -> Response {
    if person(&state, &query).is_none() {
        return broken_link();
    }
    let token = query.token.unwrap_or_default();
    page(
        StatusCode::OK,
        "Stop reminder emails?",
        "You will no longer get reminder or marketing emails. Notices about your policies, payments and claims, and those the law requires, still come.",
        Some(&token),
    )
}

#[tracing::instrument(skip_all)]
async fn unsubscribe(
    State(state): State<AppState>,
    context: RequestContext,
    Query(query): Query<TokenQuery>,
) -> Result<Response, ApiError> {
    let Some(id) = person(&state, &query) else {
        return Ok(broken_link());
    };
    let mut meta = metadata(None, &context);
    meta.user_id = Some(id);
    meta.role = "unsubscribe_link".into();
    state
        .store
        .execute::<User>(
            &id.to_string(),
            UserCommand::Unsubscribe(Channel::Email),
            None,
            &meta,
        )
        .await?;
    Ok(page(
        StatusCode::OK,
        "You are unsubscribed",
        "You will no longer get reminder or marketing emails. Notices about your policies, payments and claims, and those the law requires, still come. You can change this at any time in your account.",
        None,
    ))
}

/// The page's policy: its own inline style, a form posting back here,
/// nothing else, never framed.
const PAGE_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A small self-contained page; `token` adds the confirm button.
fn page(status: StatusCode, title: &str, text: &str, token: Option<&str>) -> Response {
    let policy = [(axum::http::header::CONTENT_SECURITY_POLICY, PAGE_POLICY)];
    (status, policy, Html(page_html(title, text, token))).into_response()
}

fn page_html(title: &str, text: &str, token: Option<&str>) -> String {
    let button = token.map_or(String::new(), |token| {
        format!(
            r#"<form method="post" action="?token={token}"><button type="submit">Unsubscribe</button></form>"#
        )
    });
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head><body style="font-family:Arial,Helvetica,sans-serif;max-width:32rem;margin:3rem auto"><h1>{title}</h1><p>{text}</p>{button}</body></html>"#
    )
}
