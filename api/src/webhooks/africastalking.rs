//! Africa's Talking delivery reports: a form POST (`id`, `status`,
//! `phoneNumber`, `networkCode`, `failureReason`, `retryCount`) to the URL
//! the admin registered in Africa's Talking's dashboard. They are not
//! signed: the URL carries the configuration's unguessable token
//! (`?token=…`, compared in constant time; anything else is `401`). A final
//! status marks the message delivered or failed; Africa's Talking gets
//! `200` either way.

use domain::delivery_reports;
use domain::signatures::constant_time_eq;

use super::{duplicate, verified_by, Handled, Received};
use crate::error::ApiError;
use crate::state::AppState;

pub(super) async fn receive(
    state: &AppState,
    received: &Received<'_>,
) -> Result<Handled, ApiError> {
    let token = received
        .query
        .get("token")
        .map(String::as_str)
        .unwrap_or_default();
    let config_id = verified_by(state, "africastalking", |credentials| {
        credentials
            .get("callback_token")
            .is_some_and(|t| !token.is_empty() && constant_time_eq(t.as_bytes(), token.as_bytes()))
    })
    .await?
    .ok_or_else(|| ApiError::Unauthorized("unknown Africa's Talking callback token".into()))?;
    let params: Vec<(String, String)> = form_urlencoded::parse(received.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let value = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let (Some(id), Some(status)) = (value("id"), value("status")) else {
        return Err(ApiError::BadRequest {
            code: "malformed_event",
            detail: "not a delivery report: it needs id and status".into(),
        });
    };
    let event_id = format!("{id}:{status}");
    let mut handled = Handled::new(Some(config_id), Some(event_id.clone()));
    if duplicate(state, "africastalking", &event_id).await? {
        return Ok(handled.ignored("duplicate"));
    }
    let report = delivery_reports::africastalking(status, value("failureReason"));
    handled.outcome = super::record_delivery(state, "africastalking", id, report).await?;
    Ok(handled)
}
