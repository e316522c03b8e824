//! Stripe's webhook (`Stripe-Signature`, checked against the webhook secret
//! of every enabled Stripe configuration, so a secret can rotate):
//! Checkout Session, PaymentIntent and Refund outcomes settle the payment
//! or refund Stripe knows by that id, or whose metadata names our job (a
//! session's PaymentIntent, which we did not create ourselves).

use domain::stripe_signature::verify;
use projections::payment_jobs::{self, stripe_event_outcome, PaymentJob};
use uuid::Uuid;

use super::{duplicate, settle, verified_by, Handled, Received};
use crate::error::ApiError;
use crate::state::AppState;

pub(super) async fn receive(
    state: &AppState,
    received: &Received<'_>,
) -> Result<Handled, ApiError> {
    let header = received
        .header("stripe-signature")
        .ok_or_else(|| ApiError::Unauthorized("missing Stripe-Signature header".into()))?;
    let tolerance = state.config.webhook_tolerance.as_secs() as i64;
    let now = chrono::Utc::now().timestamp();
    let config_id = verified_by(state, "stripe", |credentials| {
        credentials.get("webhook_secret").is_some_and(|secret| {
            verify(secret.as_bytes(), header, received.body, now, tolerance).is_ok()
        })
    })
    .await?
    .ok_or_else(|| ApiError::Unauthorized("invalid Stripe signature".into()))?;
    let event = received.json("Stripe event")?;
    let event_id = event["id"].as_str().unwrap_or_default().to_string();
    let handled = Handled::new(Some(config_id), Some(event_id.clone()));
    if duplicate(state, "stripe", &event_id).await? {
        return Ok(handled.ignored("duplicate"));
    }
    let object = &event["data"]["object"];
    let (Some(reference), Some(outcome)) = (object["id"].as_str(), stripe_event_outcome(&event))
    else {
        return Ok(handled.ignored("not an outcome we act on"));
    };
    let Some(job) = job_of(state, reference, object).await? else {
        tracing::warn!(event = %event_id, "Stripe event for an object we did not create");
        return Ok(handled.ignored("unknown object"));
    };
    settle(state, &job, outcome, handled).await
}

/// Our job for Stripe object `reference`: the one submitted as it, else the
/// Stripe job its `metadata[job_id]` names.
async fn job_of(
    state: &AppState,
    reference: &str,
    object: &serde_json::Value,
) -> Result<Option<PaymentJob>, ApiError> {
    if let Some(job) = payment_jobs::by_reference(&state.pool, "stripe", reference).await? {
        return Ok(Some(job));
    }
    let Some(id) = object["metadata"]["job_id"]
        .as_str()
        .and_then(|id| id.parse::<Uuid>().ok())
    else {
        return Ok(None);
    };
    Ok(payment_jobs::by_id(&state.pool, id)
        .await?
        .filter(|job| job.provider == "stripe"))
}
