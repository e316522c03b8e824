//! M-Pesa (Daraja) callbacks. Daraja signs nothing, so a callback is
//! authenticated by the unguessable token of an enabled M-Pesa
//! configuration in its URL (`?token=…`, compared in constant time), and:
//!
//! - an **STK callback** records nothing by itself: it asks the payment
//!   worker to confirm the payment with an STK query, and only the query's
//!   answer is recorded (a forged or replayed "paid" changes nothing); a
//!   paid callback for a checkout no job knows answers the push of a charge
//!   whose request went unanswered, if one of the same phone and amount
//!   waits (it takes the CheckoutRequestID, and the query decides);
//! - a **result callback** (B2C payout, reversal) settles the payout or
//!   refund Daraja knows by its ConversationID (or by our
//!   OriginatorConversationID, the job's id), if its amount matches ours;
//!   its result code is text (`0` done; `R000002`, `SFC_IC0003`, … not);
//! - a **queue time-out** (the QueueTimeOutURL, marked `timeout=1`) is not a
//!   result: the request timed out in Daraja's queue and may still be
//!   carried out, so nothing is recorded and the job waits for its result
//!   or for review.
//!
//! The URLs we give Daraja use the alias `/webhooks/daraja` (some Daraja
//! products refuse URLs containing "mpesa"); `/webhooks/mpesa` is the same.
//!
//! Daraja gets `{"ResultCode": 0, "ResultDesc": "Accepted"}` either way.

use domain::mpesa::{msisdn, result_callback, stk_callback, StkCallback};
use domain::signatures::constant_time_eq;
use projections::payment_jobs::{self, uncertain, JobKind, Outcome};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{duplicate, settle, verified_by, Handled, Received};
use crate::error::ApiError;
use crate::state::AppState;

/// The path alias of `/webhooks/mpesa` in the URLs we send Daraja.
pub const ALIAS: &str = "daraja";

/// The query marker of the QueueTimeOutURL.
pub const QUEUE_TIMEOUT: &str = "timeout";

fn accepted(handled: Handled) -> Handled {
    Handled {
        reply: json!({"ResultCode": 0, "ResultDesc": "Accepted"}),
        ..handled
    }
}

pub(super) async fn receive(
    state: &AppState,
    received: &Received<'_>,
) -> Result<Handled, ApiError> {
    let token = received
        .query
        .get("token")
        .map(String::as_str)
        .unwrap_or_default();
    let config_id = verified_by(state, "mpesa", |credentials| {
        credentials
            .get("callback_token")
            .is_some_and(|t| constant_time_eq(t.as_bytes(), token.as_bytes()))
    })
    .await?
    .ok_or_else(|| ApiError::Unauthorized("unknown M-Pesa callback token".into()))?;
    let body = received.json("Daraja callback")?;
    let handled = if received.query.contains_key(QUEUE_TIMEOUT) {
        let id = body["Result"]["ConversationID"]
            .as_str()
            .map(str::to_string);
        Handled::new(Some(config_id), id)
            .ignored("timed out in Daraja's queue: not a result; the job awaits its result")
    } else if body["Body"]["stkCallback"].is_object() {
        stk(state, config_id, &body).await?
    } else {
        result(state, config_id, &body).await?
    };
    Ok(accepted(handled))
}

async fn stk(state: &AppState, config_id: Uuid, body: &Value) -> Result<Handled, ApiError> {
    let callback = stk_callback(body).map_err(|detail| ApiError::BadRequest {
        code: "malformed_event",
        detail,
    })?;
    let event_id = format!("{}:{}", callback.checkout_request_id, callback.result_code);
    let mut handled = Handled::new(Some(config_id), Some(event_id.clone()));
    if duplicate(state, "mpesa", &event_id).await? {
        return Ok(handled.ignored("duplicate"));
    }
    let awaiting = payment_jobs::request_confirmation(
        &state.pool,
        "mpesa",
        &callback.checkout_request_id,
        callback.receipt.as_deref(),
    )
    .await?
        || adopted(state, &callback).await?;
    if !awaiting {
        return Ok(handled.ignored("no payment awaits this CheckoutRequestID"));
    }
    handled.outcome = "confirmation requested".into();
    Ok(handled)
}

/// Whether a paid callback for a checkout no job knows answers the push
/// of a charge whose request went unanswered (same phone and amount): that
/// job takes the CheckoutRequestID, and Daraja's query decides.
async fn adopted(state: &AppState, callback: &StkCallback) -> Result<bool, ApiError> {
    let (true, Some(phone), Some(amount)) = (
        callback.result_code.is_success(),
        callback.phone_number.as_deref().and_then(msisdn),
        callback.amount,
    ) else {
        return Ok(false);
    };
    Ok(uncertain::adopt_checkout(
        &state.pool,
        &phone,
        amount,
        &callback.checkout_request_id,
        callback.receipt.as_deref(),
    )
    .await?)
}

async fn result(state: &AppState, config_id: Uuid, body: &Value) -> Result<Handled, ApiError> {
    let result = result_callback(body).map_err(|detail| ApiError::BadRequest {
        code: "malformed_event",
        detail,
    })?;
    let event_id = format!("{}:{}", result.conversation_id, result.result_code);
    let handled = Handled::new(Some(config_id), Some(event_id.clone()));
    if duplicate(state, "mpesa", &event_id).await? {
        return Ok(handled.ignored("duplicate"));
    }
    let Some(job) = awaiting(state, &result).await? else {
        return Ok(handled.ignored("no payout or refund awaits this ConversationID"));
    };
    let reference = result
        .transaction_id
        .clone()
        .or(Some(result.conversation_id));
    if !result.result_code.is_success() {
        let outcome = Outcome::Failed {
            reference,
            reason: result.result_desc,
        };
        return settle(state, &job, outcome, handled).await;
    }
    let amount = job
        .money()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))?;
    // Only a result that says how much moved settles: without the amount,
    // nothing proves the money is ours to record.
    match result.amount {
        None => {
            tracing::warn!(job = %job.id, "M-Pesa result without an amount; left for review");
            return Ok(handled.ignored("the result names no amount"));
        }
        Some(paid) if paid != amount.amount() => {
            tracing::warn!(job = %job.id, "M-Pesa result for another amount; left for review");
            return Ok(handled.ignored("the amount differs from ours"));
        }
        Some(_) => {}
    }
    settle(
        state,
        &job,
        Outcome::Succeeded { reference, amount },
        handled,
    )
    .await
}

/// The payout or refund a result is for: by Daraja's ConversationID, or by
/// the OriginatorConversationID we sent (the job's id; a B2C v3 request
/// refused as a duplicate on retry left us no ConversationID).
async fn awaiting(
    state: &AppState,
    result: &domain::mpesa::ResultCallback,
) -> Result<Option<payment_jobs::PaymentJob>, ApiError> {
    if let Some(job) =
        payment_jobs::by_reference(&state.pool, "mpesa", &result.conversation_id).await?
    {
        return Ok(Some(job));
    }
    let Some(id) = result
        .originator_conversation_id
        .as_deref()
        .and_then(|id| id.parse::<Uuid>().ok())
    else {
        return Ok(None);
    };
    Ok(payment_jobs::by_id(&state.pool, id)
        .await?
        .filter(|job| job.provider == "mpesa" && job.kind() != JobKind::Charge))
}
