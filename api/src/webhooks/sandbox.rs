//! The built-in sandbox's webhook (`Sandbox-Signature`, Stripe's scheme).

use domain::sandbox::{SandboxEvent, SIGNATURE_HEADER};
use domain::stripe_signature::verify;
use projections::payment_jobs::{self, sandbox_outcome};
use secrecy::ExposeSecret;

use super::{duplicate, settle, Handled, Received};
use crate::error::ApiError;
use crate::state::AppState;

pub(super) async fn receive(
    state: &AppState,
    received: &Received<'_>,
) -> Result<Handled, ApiError> {
    let header = received
        .header(SIGNATURE_HEADER)
        .ok_or_else(|| ApiError::Unauthorized(format!("missing {SIGNATURE_HEADER} header")))?;
    let secret = state.config.sandbox_webhook_secret.expose_secret();
    let tolerance = state.config.webhook_tolerance.as_secs() as i64;
    verify(
        secret.as_bytes(),
        header,
        received.body,
        chrono::Utc::now().timestamp(),
        tolerance,
    )
    .map_err(|e| ApiError::Unauthorized(format!("invalid signature: {e}")))?;
    let event: SandboxEvent =
        serde_json::from_slice(received.body).map_err(|e| ApiError::BadRequest {
            code: "malformed_json",
            detail: format!("not a sandbox event: {e}"),
        })?;
    let handled = Handled::new(None, Some(event.id.clone()));
    if duplicate(state, "sandbox", &event.id).await? {
        return Ok(handled.ignored("duplicate"));
    }
    let Some(job) = payment_jobs::by_key(&state.pool, &event.data.idempotency_key).await? else {
        tracing::warn!(event = %event.id, "sandbox event for a transaction we never asked for");
        return Ok(handled.ignored("unknown transaction"));
    };
    // The sandbox's word settles only what was sent through the sandbox: a
    // job of a real provider waits for that provider.
    if job.provider != crate::billing::SANDBOX {
        tracing::warn!(event = %event.id, provider = %job.provider,
            "sandbox event for a job of another provider");
        return Ok(handled.ignored("not a sandbox transaction"));
    }
    let outcome = sandbox_outcome(&event.data).map_err(|detail| ApiError::BadRequest {
        code: "malformed_event",
        detail,
    })?;
    settle(state, &job, outcome, handled).await
}
