//! Headers every response carries so a browser handles it safely: no
//! sniffing of content types, no framing, no referrer to other origins, no
//! loading of anything (API answers and files are data, not pages), and,
//! where the service is public over https, HSTS. A response that sets its
//! own `Content-Security-Policy` (an HTML page) keeps it.

use axum::extract::{Request, State};
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// The policy of API answers and files: nothing to load, never framed.
pub const DATA_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// A year, with subdomains: once https, always https.
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// Adds the headers to every response.
pub async fn middleware(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .entry(CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(DATA_POLICY));
    if state.config.public_base_url.starts_with("https://") {
        headers.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    response
}
