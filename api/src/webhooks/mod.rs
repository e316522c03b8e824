//! Provider webhooks: `POST /webhooks/{provider}`, authenticated by the
//! provider's own scheme, never by a bearer token: Stripe-Signature (and the
//! sandbox's copy of it), x-paystack-signature, X-Twilio-Signature,
//! SendGrid's ECDSA event signature, and for M-Pesa and Africa's Talking,
//! which sign nothing, a secret token in the callback URL (plus, for
//! M-Pesa, a status query before money is recorded).
//!
//! Every delivery is stored raw with its verification result and what was
//! done with it. A bad signature is `401` and changes nothing; a duplicate
//! delivery is `200` and changes nothing. The ingress turns a verified
//! delivery into a command (or, for M-Pesa, into a confirmation request for
//! the payment worker), nothing more.

mod africastalking;
mod flutterwave;
mod mpesa;
mod paystack;
mod sandbox;
mod sendgrid;
mod stripe;
mod twilio;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use projections::payment_jobs::{self, Outcome, PaymentJob, SettleError};
use projections::read_models::integrations::{self, IntegrationFilter};
use projections::vault::Credentials;
use projections::webhook_deliveries::{self, Delivery};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::request_context::RequestContext;
use crate::state::AppState;

/// The webhook routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/webhooks/{provider}", post(receive))
}

/// A delivery as the ingress received it.
pub(crate) struct Received<'a> {
    headers: &'a HeaderMap,
    query: &'a HashMap<String, String>,
    body: &'a [u8],
}

impl Received<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn json(&self, what: &str) -> Result<Value, ApiError> {
        serde_json::from_slice(self.body).map_err(|e| ApiError::BadRequest {
            code: "malformed_json",
            detail: format!("not a {what}: {e}"),
        })
    }
}

/// What the ingress did with a verified delivery.
pub(crate) struct Handled {
    /// The configuration whose secret verified it.
    config_id: Option<Uuid>,
    /// The provider's id of the event.
    event_id: Option<String>,
    /// `recorded`, `duplicate`, `ignored: …`, `confirmation requested`.
    outcome: String,
    /// The answer the provider gets.
    reply: Value,
}

impl Handled {
    fn new(config_id: Option<Uuid>, event_id: Option<String>) -> Self {
        Self {
            config_id,
            event_id,
            outcome: "recorded".into(),
            reply: json!({"received": true}),
        }
    }

    fn ignored(mut self, why: &str) -> Self {
        self.outcome = format!("ignored: {why}");
        self.reply = json!({"received": true, "ignored": why});
        self
    }
}

#[tracing::instrument(skip_all, fields(provider = %provider))]
async fn receive(
    State(state): State<AppState>,
    context: RequestContext,
    Path(provider): Path<String>,
    QueryParams(query): QueryParams<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    // Daraja refuses callback URLs with the word "mpesa" in some products:
    // the URLs we give it use this alias.
    let provider = if provider == mpesa::ALIAS {
        "mpesa".to_string()
    } else {
        provider
    };
    // An address that keeps sending what does not verify is refused before
    // anything is read or stored.
    let client = context.client_ip.as_deref().unwrap_or("unknown");
    if let Some(retry) = state.webhook_rejections.exhausted(client) {
        return Err(ApiError::TooManyRequests {
            code: "rate_limited",
            detail: "too many webhook deliveries that did not verify from this address".into(),
            retry_after_secs: retry.as_secs().max(1),
        });
    }
    let received = Received {
        headers: &headers,
        query: &query,
        body: &body,
    };
    let result = match provider.as_str() {
        // In production there is no sandbox, and so no sandbox webhook.
        "sandbox" if state.config.sandbox => sandbox::receive(&state, &received).await,
        "stripe" => stripe::receive(&state, &received).await,
        "mpesa" => mpesa::receive(&state, &received).await,
        "paystack" => paystack::receive(&state, &received).await,
        "flutterwave" => flutterwave::receive(&state, &received).await,
        "twilio" => twilio::receive(&state, &received).await,
        "africastalking" => africastalking::receive(&state, &received).await,
        "sendgrid" => sendgrid::receive(&state, &received).await,
        _ => return Err(ApiError::NotFound),
    };
    let (verified, config_id, event_id, outcome) = match &result {
        Ok(handled) => (
            true,
            handled.config_id,
            handled.event_id.clone(),
            handled.outcome.clone(),
        ),
        Err(ApiError::Unauthorized(why)) => {
            let _ = state.webhook_rejections.check(client);
            (false, None, None, format!("rejected: {why}"))
        }
        Err(error) => (true, None, None, format!("failed: {error}")),
    };
    let delivery = Delivery {
        provider: &provider,
        config_id,
        provider_event_id: event_id.as_deref(),
        verified,
        outcome: &outcome,
        headers: stored_headers(&headers),
        body: &body,
    };
    webhook_deliveries::record(&state.pool, &delivery).await?;
    result.map(|handled| Json(handled.reply))
}

/// The headers kept with a delivery (credentials a proxy may add are not).
fn stored_headers(headers: &HeaderMap) -> Value {
    let kept: serde_json::Map<String, Value> = headers
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "authorization" | "cookie"))
        .filter_map(|(name, value)| Some((name.to_string(), json!(value.to_str().ok()?))))
        .collect();
    Value::Object(kept)
}

/// The enabled configurations of `provider` with their credentials: the
/// secrets a delivery may be verified with (several while one rotates).
async fn enabled_credentials(
    state: &AppState,
    provider: &str,
) -> Result<Vec<(Uuid, Credentials)>, ApiError> {
    let filter = IntegrationFilter {
        provider: Some(provider.into()),
        ..Default::default()
    };
    let mut found = Vec::new();
    for row in integrations::enabled(&state.pool, &filter).await? {
        found.push((row.id, state.vault.load(&state.pool, row.id).await?));
    }
    Ok(found)
}

/// The first enabled configuration of `provider` whose credentials
/// `verifies` accepts.
async fn verified_by(
    state: &AppState,
    provider: &str,
    verifies: impl Fn(&Credentials) -> bool,
) -> Result<Option<Uuid>, ApiError> {
    Ok(enabled_credentials(state, provider)
        .await?
        .into_iter()
        .find(|(_, credentials)| verifies(credentials))
        .map(|(id, _)| id))
}

/// Whether a verified delivery of `event_id` was acted on already.
async fn duplicate(state: &AppState, provider: &str, event_id: &str) -> Result<bool, ApiError> {
    Ok(webhook_deliveries::already_processed(&state.pool, provider, event_id).await?)
}

/// Records what `provider` reported of the message it knows as
/// `message_id` (nothing for a report on the way); returns the delivery's
/// outcome as the webhook log says it.
async fn record_delivery(
    state: &AppState,
    provider: &str,
    message_id: &str,
    report: Option<domain::delivery_reports::Delivery>,
) -> Result<String, ApiError> {
    let Some(delivery) = report else {
        return Ok("recorded: on its way".into());
    };
    let known =
        projections::notifications::record_delivery(&state.pool, provider, message_id, &delivery)
            .await?;
    Ok(match (known, delivery.detail()) {
        (false, _) => format!("ignored: no sent message {message_id} awaits a report"),
        (true, None) => "recorded: delivered".into(),
        (true, Some(why)) => format!("recorded: failed ({why})"),
    })
}

/// Records `outcome` of `job` (the command), answering a refusal (a stale
/// or repeated outcome) with 200 so the provider stops retrying.
async fn settle(
    state: &AppState,
    job: &PaymentJob,
    outcome: Outcome,
    handled: Handled,
) -> Result<Handled, ApiError> {
    let event_id = handled.event_id.clone();
    match payment_jobs::settle(&state.store, job, outcome, event_id.as_deref()).await {
        Ok(()) => Ok(handled),
        Err(SettleError::Refused(reason)) => {
            tracing::warn!(event = ?event_id, %reason, "provider outcome refused");
            Ok(handled.ignored(&reason))
        }
        Err(SettleError::Store(error)) => Err(ApiError::Internal(anyhow::anyhow!(error))),
    }
}
