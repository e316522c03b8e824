//! Paystack's webhook: `x-paystack-signature` is the hex HMAC-SHA512 of the
//! raw body under the API secret key (there is no separate webhook secret),
//! checked against every enabled Paystack configuration in constant time.
//! `charge.success` settles the payment Paystack knows by our reference.

use domain::signatures::paystack_verify;
use projections::payment_jobs::{self, paystack_outcome};

use super::{duplicate, settle, verified_by, Handled, Received};
use crate::error::ApiError;
use crate::state::AppState;

pub(super) async fn receive(
    state: &AppState,
    received: &Received<'_>,
) -> Result<Handled, ApiError> {
    let header = received
        .header("x-paystack-signature")
        .ok_or_else(|| ApiError::Unauthorized("missing x-paystack-signature header".into()))?;
    let config_id = verified_by(state, "paystack", |credentials| {
        credentials
            .get("secret_key")
            .is_some_and(|key| paystack_verify(key.as_bytes(), header, received.body))
    })
    .await?
    .ok_or_else(|| ApiError::Unauthorized("invalid Paystack signature".into()))?;
    let event = received.json("Paystack event")?;
    let data = &event["data"];
    let reference = data["reference"].as_str().unwrap_or_default().to_string();
    let event_id = format!(
        "{}:{}:{}",
        event["event"].as_str().unwrap_or_default(),
        data["id"],
        reference
    );
    let handled = Handled::new(Some(config_id), Some(event_id.clone()));
    if duplicate(state, "paystack", &event_id).await? {
        return Ok(handled.ignored("duplicate"));
    }
    let Some(outcome) = paystack_outcome(data).filter(|_| event["event"] == "charge.success")
    else {
        return Ok(handled.ignored("not an outcome we act on"));
    };
    let Some(job) = payment_jobs::by_reference(&state.pool, "paystack", &reference).await? else {
        tracing::warn!(event = %event_id, "Paystack event for a transaction we did not start");
        return Ok(handled.ignored("unknown transaction"));
    };
    settle(state, &job, outcome, handled).await
}
