//! Health endpoints and `/metrics`, served at the root and under `/api/v1`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::AppState;

/// The operations routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/health/db", get(database))
        .route("/health/workers", get(workers))
        .route("/metrics", get(crate::metrics::render))
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

async fn database(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let started = std::time::Instant::now();
    sqlx::query!("SELECT 1 AS ok")
        .fetch_one(&state.pool)
        .await
        .map_err(|e| ApiError::Unavailable(format!("the database is unreachable: {e}")))?;
    Ok(Json(json!({
        "status": "ok",
        "latency_ms": started.elapsed().as_secs_f64() * 1000.0,
        "pool_size": state.pool.size(),
        "pool_idle": state.pool.num_idle(),
    })))
}

async fn workers(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let statuses = projections::subscription::checkpoint::status(&state.pool, &state.subscriptions)
        .await
        .map_err(|e| ApiError::Unavailable(format!("the database is unreachable: {e}")))?;
    Ok(Json(json!({"status": "ok", "subscriptions": statuses})))
}
