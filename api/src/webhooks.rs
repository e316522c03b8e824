//! Provider webhooks: `POST /webhooks/{provider}`, authenticated by the
//! provider's own signature scheme, never by a bearer token. A bad signature
//! is `401` and changes nothing; a duplicate delivery is `200` and changes
//! nothing (the invoice ignores an outcome it has recorded already).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use domain::sandbox::{SandboxEvent, SIGNATURE_HEADER};
use domain::stripe_signature::verify;
use projections::payment_jobs::{self, sandbox_outcome, stripe_outcome, SettleError};
use projections::read_models::integrations::{self, IntegrationFilter};
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
        "stripe" => stripe(&state, &headers, &body).await,
        "mpesa" | "paystack" | "flutterwave" => Err(ApiError::Conflict {
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

/// The webhook secrets of the enabled Stripe configurations (several while
/// a secret rotates).
async fn stripe_secrets(state: &AppState) -> Result<Vec<String>, ApiError> {
    let filter = IntegrationFilter {
        provider: Some("stripe".into()),
        ..Default::default()
    };
    let mut secrets = Vec::new();
    for row in integrations::list(&state.pool, &filter, None, 50).await? {
        if row.state.details.as_ref().is_some_and(|d| d.enabled) {
            if let Some(secret) = state
                .vault
                .load(&state.pool, row.id)
                .await?
                .remove("webhook_secret")
            {
                secrets.push(secret);
            }
        }
    }
    Ok(secrets)
}

/// A Stripe event (`Stripe-Signature`): PaymentIntent and Refund outcomes
/// settle the payment or refund Stripe knows by that id.
async fn stripe(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Json<Value>, ApiError> {
    let header = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::Unauthorized("missing Stripe-Signature header".into()))?;
    let tolerance = state.config.webhook_tolerance.as_secs() as i64;
    let now = chrono::Utc::now().timestamp();
    let secrets = stripe_secrets(state).await?;
    let verified = secrets
        .iter()
        .any(|secret| verify(secret.as_bytes(), header, body, now, tolerance).is_ok());
    if !verified {
        return Err(ApiError::Unauthorized("invalid Stripe signature".into()));
    }
    let event: Value = serde_json::from_slice(body).map_err(|e| ApiError::BadRequest {
        code: "malformed_json",
        detail: format!("not a Stripe event: {e}"),
    })?;
    let event_id = event["id"].as_str().unwrap_or_default().to_string();
    let object = &event["data"]["object"];
    let object_type = object["object"].as_str().unwrap_or_default();
    let (Some(reference), Some(outcome)) =
        (object["id"].as_str(), stripe_outcome(object_type, object))
    else {
        return Ok(Json(
            json!({"received": true, "ignored": "not an outcome we act on"}),
        ));
    };
    let Some(job) = payment_jobs::by_reference(&state.pool, "stripe", reference).await? else {
        tracing::warn!(event = %event_id, "Stripe event for an object we did not create");
        return Ok(Json(json!({"received": true, "ignored": "unknown object"})));
    };
    match payment_jobs::settle(&state.store, &job, outcome, Some(&event_id)).await {
        Ok(()) => Ok(Json(json!({"received": true}))),
        Err(SettleError::Refused(reason)) => Ok(Json(json!({"received": true, "ignored": reason}))),
        Err(SettleError::Store(error)) => Err(ApiError::Internal(anyhow::anyhow!(error))),
    }
}
