//! Paystack's webhook: `x-paystack-signature` is the hex HMAC-SHA512 of the
//! raw body under the API secret key (there is no separate webhook secret),
//! checked against every enabled Paystack configuration in constant time.
//! `charge.success` settles the payment Paystack knows by our reference.

use domain::signatures::paystack_verify;
use projections::payment_jobs::{self, paystack_outcome};
use projections::read_models::integrations::{self, IntegrationFilter};
use uuid::Uuid;

use super::{duplicate, settle, Handled, Received};
use crate::error::ApiError;
use crate::state::AppState;

/// The secret keys of the enabled Paystack configurations.
async fn secret_keys(state: &AppState) -> Result<Vec<(Uuid, String)>, ApiError> {
    let filter = IntegrationFilter {
        provider: Some("paystack".into()),
        ..Default::default()
    };
    let mut keys = Vec::new();
    for row in integrations::list(&state.pool, &filter, None, 50).await? {
        if row.state.details.as_ref().is_some_and(|d| d.enabled) {
            let mut credentials = state.vault.load(&state.pool, row.id).await?;
            if let Some(key) = credentials.remove("secret_key") {
                keys.push((row.id, key));
            }
        }
    }
    Ok(keys)
}

pub(super) async fn receive(
    state: &AppState,
    received: &Received<'_>,
) -> Result<Handled, ApiError> {
    let header = received
        .header("x-paystack-signature")
        .ok_or_else(|| ApiError::Unauthorized("missing x-paystack-signature header".into()))?;
    let config_id = secret_keys(state)
        .await?
        .into_iter()
        .find(|(_, key)| paystack_verify(key.as_bytes(), header, received.body))
        .map(|(id, _)| id)
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
