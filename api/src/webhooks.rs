//! Provider webhooks: `POST /webhooks/{provider}`, authenticated by the
//! provider's own signature scheme, never by a bearer token. A bad signature
//! is `401` and changes nothing; a duplicate delivery is `200` and changes
//! nothing (the invoice ignores an outcome it has recorded already).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use domain::sandbox::{verify, SandboxEvent, SIGNATURE_HEADER};
use projections::payment_jobs::{self, sandbox_outcome, SettleError};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::AppState;

/// The webhook routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/webhooks/{provider}", post(receive))
}

#[tracing::instrument(skip_all, fields(provider = %provider))]
async fn receive(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    match provider.as_str() {
        "sandbox" => sandbox(&state, &headers, &body).await,
        "mpesa" | "stripe" | "paystack" | "flutterwave" => Err(ApiError::Conflict {
            code: "provider_not_configured",
            detail: format!("the {provider} integration is not configured on this deployment"),
        }),
        _ => Err(ApiError::NotFound),
    }
}

async fn sandbox(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Json<Value>, ApiError> {
    let header = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::Unauthorized(format!("missing {SIGNATURE_HEADER} header")))?;
    let secret = state
        .config
        .sandbox_webhook_secret
        .expose_secret()
        .as_bytes();
    let tolerance = state.config.webhook_tolerance.as_secs() as i64;
    verify(
        secret,
        header,
        body,
        chrono::Utc::now().timestamp(),
        tolerance,
    )
    .map_err(|e| ApiError::Unauthorized(format!("invalid signature: {e}")))?;
    let event: SandboxEvent = serde_json::from_slice(body).map_err(|e| ApiError::BadRequest {
        code: "malformed_json",
        detail: format!("not a sandbox event: {e}"),
    })?;
    let Some(job) = payment_jobs::by_key(&state.pool, &event.data.idempotency_key).await? else {
        tracing::warn!(event = %event.id, "sandbox event for a transaction we never asked for");
        return Ok(Json(
            json!({"received": true, "ignored": "unknown transaction"}),
        ));
    };
    let outcome = sandbox_outcome(&event.data).map_err(|detail| ApiError::BadRequest {
        code: "malformed_event",
        detail,
    })?;
    match payment_jobs::settle(&state.store, &job, outcome, Some(&event.id)).await {
        Ok(()) => Ok(Json(json!({"received": true}))),
        Err(SettleError::Refused(reason)) => {
            tracing::warn!(event = %event.id, %reason, "sandbox outcome refused");
            Ok(Json(json!({"received": true, "ignored": reason})))
        }
        Err(SettleError::Store(error)) => Err(ApiError::Internal(anyhow::anyhow!(error))),
    }
}
