//! Per-request context: the request id (set by `SetRequestIdLayer`), the
//! correlation id, the client's IP, and a tracing span carrying them.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::client_address::TrustedProxies;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The current request's id, inside a request; `None` elsewhere.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Wraps `work` so that, spawned as a task of its own, it keeps the current
/// request's id (for error responses) and tracing span.
pub fn in_current_request<F>(
    work: F,
) -> impl std::future::Future<Output = F::Output> + Send + 'static
where
    F: std::future::Future + Send + 'static,
    F::Output: Send,
{
    let id = current_request_id().unwrap_or_default();
    REQUEST_ID.scope(id, work.instrument(tracing::Span::current()))
}

/// Who sent a request and under which ids.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// `x-request-id`.
    pub request_id: String,
    /// `x-correlation-id` if the client sent one, else the request id.
    pub correlation_id: String,
    /// The peer's IP, if known.
    pub client_ip: Option<String>,
}

impl RequestContext {
    fn from_parts(parts: &Parts) -> Self {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty() && v.len() <= 200)
                .map(str::to_string)
        };
        let request_id = header("x-request-id").unwrap_or_default();
        let correlation_id = header("x-correlation-id").unwrap_or_else(|| request_id.clone());
        let trusted = parts
            .extensions
            .get::<TrustedProxies>()
            .map(|t| t.0.as_slice())
            .unwrap_or_default();
        let client_ip =
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| {
                    crate::client_address::client(
                        addr.ip(),
                        trusted,
                        parts.headers.get("forwarded").and_then(|v| v.to_str().ok()),
                        parts
                            .headers
                            .get("x-forwarded-for")
                            .and_then(|v| v.to_str().ok()),
                    )
                    .to_string()
                });
        Self {
            request_id,
            correlation_id,
            client_ip,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

/// Opens the request's span and makes its id available to error responses.
pub async fn middleware(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let context = RequestContext::from_parts(&parts);
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
    let span = tracing::info_span!(
        "request",
        method = %parts.method,
        route = %route,
        request_id = %context.request_id,
        correlation_id = %context.correlation_id,
        user_id = tracing::field::Empty,
        status = tracing::field::Empty,
    );
    let request = Request::from_parts(parts, body);
    let started = std::time::Instant::now();
    let response = REQUEST_ID
        .scope(
            context.request_id.clone(),
            next.run(request).instrument(span.clone()),
        )
        .await;
    span.record("status", response.status().as_u16());
    span.in_scope(|| {
        tracing::info!(
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            status = response.status().as_u16(),
            "handled"
        );
    });
    response
}
