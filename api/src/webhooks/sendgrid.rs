//! SendGrid's event webhook: a JSON array of events, signed with ECDSA
//! P-256/SHA-256 over `X-Twilio-Email-Event-Webhook-Timestamp` followed by
//! the raw body (`X-Twilio-Email-Event-Webhook-Signature`), verified with
//! the verification key of an enabled SendGrid configuration
//! (`settings.webhook_verification_key`, as Mail Settings shows it; without
//! one, nothing is accepted). `delivered` marks the message delivered,
//! `bounce` and `dropped` failed, the rest change nothing; only a sent
//! message takes a final report, so a redelivered batch changes nothing. The message is found by the
//! `X-Message-Id` SendGrid gave when it took it, the start of the event's
//! `sg_message_id`.

use domain::delivery_reports::{self, sendgrid_message_id};
use domain::signatures::sendgrid_verify;
use projections::read_models::integrations::{self, IntegrationFilter};
use serde_json::Value;

use super::{Handled, Received};
use crate::error::ApiError;
use crate::state::AppState;

/// The setting holding the event webhook's verification key.
const KEY: &str = "webhook_verification_key";

pub(super) async fn receive(
    state: &AppState,
    received: &Received<'_>,
) -> Result<Handled, ApiError> {
    let header = |name: &str| {
        received
            .header(name)
            .ok_or_else(|| ApiError::Unauthorized(format!("missing {name} header")))
    };
    let signature = header("x-twilio-email-event-webhook-signature")?;
    let timestamp = header("x-twilio-email-event-webhook-timestamp")?;
    let filter = IntegrationFilter {
        provider: Some("sendgrid".into()),
        ..Default::default()
    };
    let config_id = integrations::enabled(&state.pool, &filter)
        .await?
        .into_iter()
        .find(|row| {
            row.state
                .details
                .as_ref()
                .and_then(|d| d.settings.get(KEY))
                .is_some_and(|key| sendgrid_verify(key, signature, timestamp, received.body))
        })
        .map(|row| row.id)
        .ok_or_else(|| ApiError::Unauthorized("invalid SendGrid event signature".into()))?;
    let events = received.json("SendGrid event batch")?;
    let Value::Array(events) = events else {
        return Err(ApiError::BadRequest {
            code: "malformed_event",
            detail: "a SendGrid event batch is a JSON array".into(),
        });
    };
    let mut outcomes = Vec::new();
    for event in &events {
        outcomes.push(take(state, event).await?);
    }
    let first = events
        .first()
        .and_then(|e| e["sg_event_id"].as_str())
        .map(str::to_string);
    let mut handled = Handled::new(Some(config_id), first);
    handled.outcome = format!("recorded: {}", outcomes.join("; "));
    Ok(handled)
}

/// Takes one event, once; says what it did.
async fn take(state: &AppState, event: &Value) -> Result<String, ApiError> {
    let text = |name: &str| event[name].as_str().filter(|v| !v.is_empty());
    let (Some(event_id), Some(kind), Some(message)) =
        (text("sg_event_id"), text("event"), text("sg_message_id"))
    else {
        return Ok("ignored: an event without sg_event_id, event and sg_message_id".into());
    };
    let reason = text("reason").or(text("response"));
    let report = delivery_reports::sendgrid(kind, reason);
    let outcome =
        super::record_delivery(state, "sendgrid", sendgrid_message_id(message), report).await?;
    Ok(format!("{event_id} {kind}: {outcome}"))
}
