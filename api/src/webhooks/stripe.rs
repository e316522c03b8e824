//! Stripe's webhook (`Stripe-Signature`, checked against the webhook secret
//! of every enabled Stripe configuration, so a secret can rotate):
//! PaymentIntent and Refund outcomes settle the payment or refund Stripe
//! knows by that id.

use domain::stripe_signature::verify;
use projections::payment_jobs::{self, stripe_outcome};

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
    let object_type = object["object"].as_str().unwrap_or_default();
    let (Some(reference), Some(outcome)) =
        (object["id"].as_str(), stripe_outcome(object_type, object))
    else {
        return Ok(handled.ignored("not an outcome we act on"));
    };
    let Some(job) = payment_jobs::by_reference(&state.pool, "stripe", reference).await? else {
        tracing::warn!(event = %event_id, "Stripe event for an object we did not create");
        return Ok(handled.ignored("unknown object"));
    };
    settle(state, &job, outcome, handled).await
}
