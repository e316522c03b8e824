//! Twilio's message status callbacks, signed with `X-Twilio-Signature`
//! (HMAC-SHA1 over the URL Twilio called and the sorted form parameters,
//! under the account's auth token), checked against every enabled Twilio
//! configuration. A verified final status (`delivered`, `undelivered`,
//! `failed`) marks the message delivered or failed in the notification log.

use domain::delivery_reports;
use domain::signatures::twilio_verify;

use super::{duplicate, verified_by, Handled, Received};
use crate::error::ApiError;
use crate::state::AppState;

pub(super) async fn receive(
    state: &AppState,
    received: &Received<'_>,
) -> Result<Handled, ApiError> {
    let signature = received
        .header("x-twilio-signature")
        .ok_or_else(|| ApiError::Unauthorized("missing X-Twilio-Signature header".into()))?;
    let params: Vec<(String, String)> = form_urlencoded::parse(received.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut url = format!("{}/api/v1/webhooks/twilio", state.config.public_base_url);
    if !received.query.is_empty() {
        let mut query: Vec<_> = received.query.iter().collect();
        query.sort();
        let encoded: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        url = format!("{url}?{}", encoded.join("&"));
    }
    let config_id = verified_by(state, "twilio", |credentials| {
        credentials
            .get("auth_token")
            .is_some_and(|token| twilio_verify(token.as_bytes(), &url, &params, signature))
    })
    .await?
    .ok_or_else(|| ApiError::Unauthorized("invalid Twilio signature".into()))?;
    let value = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let event_id = format!("{}:{}", value("MessageSid"), value("MessageStatus"));
    let mut handled = Handled::new(Some(config_id), Some(event_id.clone()));
    if duplicate(state, "twilio", &event_id).await? {
        return Ok(handled.ignored("duplicate"));
    }
    let report = delivery_reports::twilio(value("MessageStatus"), Some(value("ErrorCode")));
    handled.outcome = super::record_delivery(state, "twilio", value("MessageSid"), report).await?;
    Ok(handled)
}
