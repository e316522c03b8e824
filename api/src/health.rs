//! Health endpoints and `/metrics`, served at the root and under `/api/v1`.
//! `/health`, `/health/db` and `/health/workers` are public (load
//! balancers, orchestrators); `/metrics` and `/health/integrations`, which
//! name the deployment's configurations and grow with its traffic, answer
//! only an admin's token there — or anyone on the operations listener
//! (`METRICS_ADDR`), which a deployment keeps on its internal network.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use projections::integration_log::{self, BreakerState};
use projections::read_models;
use projections::{dead_letters, work_queues};
use serde_json::{json, Value};

use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use domain::Role;

/// The operations routes of the public API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/health/db", get(database))
        .route("/health/workers", get(workers))
        .route("/health/integrations", get(integrations_for_admins))
        .route("/metrics", get(metrics_for_admins))
}

/// The operations listener's routes: every health check and `/metrics`,
/// without a token.
pub fn operations_router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/health/db", get(database))
        .route("/health/workers", get(workers))
        .route("/health/integrations", get(integrations))
        .route("/metrics", get(crate::metrics::render))
}

async fn metrics_for_admins(
    state: State<AppState>,
    principal: Principal,
) -> Result<axum::response::Response, ApiError> {
    principal.require(&[Role::Admin])?;
    Ok(crate::metrics::render(state).await)
}

async fn integrations_for_admins(
    state: State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(&[Role::Admin])?;
    integrations(state).await
}

/// The process is up. Where production has no email or SMS provider, it
/// says so (`degraded`, still `200`): those messages are not being sent.
async fn health(State(state): State<AppState>) -> Json<Value> {
    let mut warnings = Vec::new();
    if !state.config.sandbox {
        let missing = read_models::integrations::channels_without_provider(&state.pool)
            .await
            .unwrap_or_default();
        for channel in missing {
            warnings.push(format!(
                "no {channel} provider is enabled: {channel} messages wait unsent until one is"
            ));
        }
    }
    for alarm in projections::tamper::alarms::open(&state.pool)
        .await
        .unwrap_or_default()
    {
        warnings.push(format!(
            "integrity alarm {}: {} (no checkpoint is signed until an admin acknowledges it)",
            alarm.id, alarm.problem
        ));
    }
    Json(json!({
        "status": if warnings.is_empty() { "ok" } else { "degraded" },
        "version": env!("CARGO_PKG_VERSION"),
        "warnings": warnings,
    }))
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

/// Each subscription's checkpoint, lag and open dead letters, and each
/// queue worker's jobs waiting, in flight, retrying and dead. `degraded`
/// while any dead letter is open (work an admin must look at).
async fn workers(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let unreachable =
        |e: sqlx::Error| ApiError::Unavailable(format!("the database is unreachable: {e}"));
    let statuses = projections::subscription::checkpoint::status(&state.pool, &state.subscriptions)
        .await
        .map_err(unreachable)?;
    let letters = dead_letters::open_counts(&state.pool)
        .await
        .map_err(unreachable)?;
    let open = |name: &str| {
        letters
            .iter()
            .find(|(worker, _)| worker == name)
            .map_or(0, |(_, n)| *n)
    };
    let subscriptions: Vec<Value> = statuses
        .iter()
        .map(|status| {
            let mut entry = json!(status);
            entry["dead_letters"] = json!(open(&status.name));
            entry
        })
        .collect();
    let queues: Vec<Value> = work_queues::status(&state.pool)
        .await
        .map_err(unreachable)?
        .iter()
        .map(|queue| {
            let mut entry = json!(queue);
            entry["dead_letters"] = json!(open(queue.name));
            entry
        })
        .collect();
    let degraded = letters.iter().any(|(_, n)| *n > 0);
    Ok(Json(json!({
        "status": if degraded { "degraded" } else { "ok" },
        "subscriptions": subscriptions,
        "queues": queues,
    })))
}

/// Each configured provider: enabled or not, its circuit breaker (from the
/// integration log) and its last connection test. `degraded` while a
/// breaker is open. Shows no credentials and no provider error text.
async fn integrations(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let (status, items) = integration_health(&state).await?;
    Ok(Json(json!({"status": status, "integrations": items})))
}

/// Each configuration's health and the overall status (`ok`, or `degraded`
/// while an enabled configuration's breaker is open).
///
/// # Errors
/// `503` when the database is unreachable.
pub async fn integration_health(state: &AppState) -> Result<(&'static str, Vec<Value>), ApiError> {
    let unreachable =
        |e: sqlx::Error| ApiError::Unavailable(format!("the database is unreachable: {e}"));
    let rows = read_models::integrations::list(&state.pool, &Default::default(), None, 200)
        .await
        .map_err(unreachable)?;
    let ids: Vec<_> = rows.iter().map(|row| row.id).collect();
    let breakers = integration_log::breakers(&state.pool, &ids)
        .await
        .map_err(unreachable)?;
    let mut degraded = false;
    let items: Vec<Value> = rows
        .iter()
        .filter_map(|row| {
            let details = row.state.details.as_ref()?;
            let breaker = breakers.iter().find(|b| b.config_id == row.id);
            let state = breaker.map_or(BreakerState::Closed, |b| b.state);
            degraded |= details.enabled && state == BreakerState::Open;
            Some(json!({
                "config_id": row.id,
                "provider": details.provider,
                "category": details.category,
                "name": details.name,
                "enabled": details.enabled,
                "is_primary": details.is_primary,
                "circuit": state,
                "consecutive_failures": breaker.map_or(0, |b| b.consecutive_failures),
                "last_call_at": breaker.and_then(|b| b.last_call_at),
                "last_test_ok": row.state.last_test.as_ref().map(|t| t.ok),
            }))
        })
        .collect();
    let status = if degraded { "degraded" } else { "ok" };
    Ok((status, items))
}
