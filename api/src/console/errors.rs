//! The console's error pages (400, 403, 404, 500) in its layout, saying
//! what to do next; a 500 shows the request id to quote.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::render::{page, Chrome};
use crate::state::AppState;

/// The page for `status`, with the frame `chrome`.
pub fn error_page(state: &AppState, chrome: &Chrome, status: StatusCode) -> Response {
    let (title, message) = match status.as_u16() {
        400 => (
            "Something in the request was not right",
            "The page could not read what was sent. Go back, check the form and try again.",
        ),
        403 => (
            "You may not do this",
            "Your role does not allow this, or the form had expired (it is refused without its security token). Go back, reload the page and try again, or ask an administrator.",
        ),
        404 => (
            "Page not found",
            "There is nothing here, or nothing you may see. Check the address, or start again from your dashboard.",
        ),
        _ => (
            "Something went wrong on our side",
            "Nothing you did caused this, and what you sent may not have been recorded. Try again in a moment.",
        ),
    };
    page(
        state,
        chrome,
        status,
        "error.html",
        json!({"title": title, "message": message, "status": status.as_u16()}),
    )
}

/// A bare 404 for a missing asset (no page frame).
pub fn not_found_plain() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

/// The 404 page for a path nothing answers, framed for whoever is signed in.
pub async fn not_found_page(state: &AppState, headers: &axum::http::HeaderMap) -> Response {
    let viewer = super::session::viewer(state, headers).await.ok().flatten();
    let chrome = Chrome {
        viewer,
        request_id: headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        ..Chrome::default()
    };
    error_page(state, &chrome, StatusCode::NOT_FOUND)
}

/// The path's ids (`Path<T>`), or the 404 page when one is not an id: a
/// mistyped address is a page not found, not a bad request.
pub struct Segments<T>(pub T);

impl<T> axum::extract::FromRequestParts<AppState> for Segments<T>
where
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Response> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(_) => Err(not_found_page(state, &parts.headers).await),
        }
    }
}
