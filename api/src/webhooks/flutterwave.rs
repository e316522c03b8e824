//! Flutterwave's webhook. v3 sends the dashboard's secret hash as is in
//! `verif-hash`; newer deliveries sign the raw body
//! (`flutterwave-signature` = base64 HMAC-SHA256 under the secret hash).
//! Either is checked in constant time against every enabled
//! configuration's `secret_hash`. A shared secret proves little about the
//! body, so, as for M-Pesa, a `charge.completed` only asks the payment
//! worker to verify the transaction with Flutterwave; the verification's
//! answer is what gets recorded.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use domain::signatures::{constant_time_eq, flutterwave_verify};
use hmac::{Hmac, Mac};
use projections::payment_jobs;
use sha2::Sha256;

use super::{duplicate, verified_by, Handled, Received};
use crate::error::ApiError;
use crate::state::AppState;

fn signed_by(secret_hash: &str, signature: &str, body: &[u8]) -> bool {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret_hash.as_bytes()) else {
        return false;
    };
    mac.update(body);
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    constant_time_eq(expected.as_bytes(), signature.trim().as_bytes())
}

pub(super) async fn receive(
    state: &AppState,
    received: &Received<'_>,
) -> Result<Handled, ApiError> {
    let hash = received.header("verif-hash");
    let signature = received.header("flutterwave-signature");
    if hash.is_none() && signature.is_none() {
        return Err(ApiError::Unauthorized(
            "missing verif-hash (or flutterwave-signature) header".into(),
        ));
    }
    let config_id = verified_by(state, "flutterwave", |credentials| {
        credentials.get("secret_hash").is_some_and(|secret| {
            hash.is_some_and(|h| flutterwave_verify(secret.as_bytes(), h))
                || signature.is_some_and(|s| signed_by(secret, s, received.body))
        })
    })
    .await?
    .ok_or_else(|| ApiError::Unauthorized("invalid Flutterwave verif-hash".into()))?;
    let event = received.json("Flutterwave event")?;
    let data = &event["data"];
    let tx_ref = data["tx_ref"].as_str().unwrap_or_default().to_string();
    let event_id = format!(
        "{}:{}:{}",
        event["event"].as_str().unwrap_or_default(),
        data["id"],
        data["status"]
    );
    let mut handled = Handled::new(Some(config_id), Some(event_id.clone()));
    if duplicate(state, "flutterwave", &event_id).await? {
        return Ok(handled.ignored("duplicate"));
    }
    if event["event"] != "charge.completed" {
        return Ok(handled.ignored("not an outcome we act on"));
    }
    if !payment_jobs::request_confirmation(&state.pool, "flutterwave", &tx_ref, None).await? {
        return Ok(handled.ignored("no payment awaits this tx_ref"));
    }
    handled.outcome = "confirmation requested".into();
    Ok(handled)
}
