//! ifinsure's HTTP API (axum): routing, authentication, the problem+json
//! error mapping, idempotency, read-your-writes, metrics and the OpenAPI
//! document, each resource module with its own `router()`; and the web
//! console ([`console`]), which uses the API in-process.

pub mod accounts;
pub mod acting_for;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod claims;
pub mod client_address;
pub mod config;
pub mod console;
pub mod customers;
pub mod dashboard;
pub mod dead_letters;
pub mod document_templates;
pub mod documents;
pub mod error;
pub mod extract;
pub mod health;
pub mod history;
pub mod idempotency;
pub mod integrations;
pub mod metrics;
pub mod notifications;
pub mod openapi;
pub mod pagination;
pub mod pdf;
pub mod pdf_markup;
pub mod policies;
pub mod products;
pub mod reports;
pub mod request_context;
pub mod security_headers;
pub mod settings;
pub mod state;
pub mod unsubscribe;
pub mod users;
pub mod views;
pub mod webhooks;
pub mod writes;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

pub use config::ApiConfig;
pub use error::ApiError;
pub use state::AppState;

/// The operations listener (`METRICS_ADDR`): health checks and `/metrics`
/// without a token, for a deployment's internal network.
pub fn operations(state: AppState) -> Router {
    health::operations_router()
        .fallback(|| async { ApiError::NotFound })
        .with_state(state)
}

/// The whole service over HTTP: the API under `/api/v1` and the web
/// console at `/`, with every cross-cutting layer.
pub fn router(state: AppState) -> Router {
    // The console calls the API in-process, through the same layers.
    let internal = layered(
        Router::new()
            .nest("/api/v1", api_routes())
            .fallback(|| async { ApiError::NotFound }),
        &state,
    );
    let service = Router::new()
        .nest("/api/v1", api_routes())
        .merge(health::router())
        .merge(console::router(console::client::Api(internal)))
        .fallback(fallback)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    layered(service, &state)
}

/// Every API route, under `/api/v1`.
fn api_routes() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(audit::router())
        .merge(reports::router())
        .merge(users::router())
        .merge(settings::router())
        .merge(customers::router())
        .merge(products::router())
        .merge(policies::router())
        .merge(billing::router())
        .merge(webhooks::router())
        .merge(documents::router())
        .merge(claims::router())
        .merge(integrations::router())
        .merge(notifications::router())
        .merge(dead_letters::router())
        .merge(unsubscribe::router())
        .merge(health::router())
        .merge(openapi::router())
}

/// What no route answers: problem+json under `/api/`, the console's 404
/// page elsewhere.
async fn fallback(
    axum::extract::State(state): axum::extract::State<AppState>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if uri.path().starts_with("/api/") {
        return ApiError::NotFound.into_response();
    }
    console::errors::not_found_page(&state, &headers).await
}

fn layered(router: Router<AppState>, state: &AppState) -> Router {
    router
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::middleware,
        ))
        .layer(DefaultBodyLimit::max(state.config.json_body_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::middleware,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security_headers::middleware,
        ))
        .layer(axum::middleware::from_fn(request_context::middleware))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(axum::Extension(client_address::TrustedProxies(
            std::sync::Arc::new(state.config.trusted_proxies.clone()),
        )))
        .with_state(state.clone())
}
