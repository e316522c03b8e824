//! Password reset: `POST /auth/password-reset {email}` is always `202` and
//! reveals nothing (the work happens after the answer, whether or not the
//! address is known); for a known account it records a request, valid 30
//! minutes, whose token the notification worker emails. `POST
//! /auth/password-reset/confirm {token, new_password}` checks the token,
//! uses the request once, sets the password (policy applies), ends every
//! session and records the reset on the user.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{Duration, Utc};
use domain::password_reset::{request_of, VALID_MINUTES};
use domain::user::{User, UserCommand};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{limit, passwords};
use crate::config::derived_secret;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::request_context::RequestContext;
use crate::state::AppState;
use crate::writes::metadata;

/// The secret reset tokens are derived with (the workers derive the same).
pub fn secret(jwt_secret: &SecretString) -> SecretString {
    derived_secret(jwt_secret, "password reset")
}

#[derive(Deserialize)]
pub(super) struct ResetRequest {
    email: String,
}

#[tracing::instrument(skip_all)]
pub(super) async fn request(
    State(state): State<AppState>,
    context: RequestContext,
    JsonBody(body): JsonBody<ResetRequest>,
) -> Result<Response, ApiError> {
    limit(&state, &context)?;
    let email = body.email.trim().to_lowercase();
    let meta = metadata(None, &context);
    tokio::spawn(async move {
        if let Err(error) = record_request(&state, &email, &meta).await {
            tracing::warn!(
                error = format!("{error:#}"),
                "password reset request not recorded"
            );
        }
    });
    Ok((StatusCode::ACCEPTED, Json(json!({}))).into_response())
}

async fn record_request(
    state: &AppState,
    email: &str,
    meta: &projections::CommandMetadata,
) -> anyhow::Result<()> {
    let Some(credential) = super::credentials::by_email(&state.pool, email).await? else {
        return Ok(());
    };
    let request_id = Uuid::new_v4();
    let expires_at = Utc::now() + Duration::minutes(VALID_MINUTES);
    sqlx::query!(
        "INSERT INTO password_resets (request_id, user_id, expires_at) VALUES ($1, $2, $3)",
        request_id,
        credential.user_id,
        expires_at
    )
    .execute(&state.pool)
    .await?;
    let command = UserCommand::RequestPasswordReset {
        request_id,
        expires_at,
    };
    state
        .store
        .execute::<User>(&credential.user_id.to_string(), command, None, meta)
        .await
        .map_err(|e| anyhow::anyhow!("recording the reset request: {e}"))?;
    Ok(())
}

#[derive(Deserialize)]
pub(super) struct ConfirmRequest {
    token: String,
    new_password: String,
}

fn invalid_token() -> ApiError {
    ApiError::invalid("token", "is invalid, used or expired; ask for a new reset")
}

#[tracing::instrument(skip_all)]
pub(super) async fn confirm(
    State(state): State<AppState>,
    context: RequestContext,
    JsonBody(body): JsonBody<ConfirmRequest>,
) -> Result<Response, ApiError> {
    limit(&state, &context)?;
    let secret = &state.config.password_reset_secret;
    let request_id =
        request_of(secret.expose_secret().as_bytes(), &body.token).ok_or_else(invalid_token)?;
    let user_id = sqlx::query_scalar!(
        "SELECT user_id FROM password_resets WHERE request_id = $1 AND used_at IS NULL AND expires_at > now()",
        request_id
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or_else(invalid_token)?;
    let user = projections::read_models::users::get(&state.pool, user_id)
        .await?
        .ok_or_else(invalid_token)?;
    passwords::check_policy(
        &body.new_password,
        &user.email,
        state.settings.current().security.password_min_length,
    )
    .map_err(|message| ApiError::invalid("new_password", message))?;
    let password = body.new_password;
    let hash = tokio::task::spawn_blocking(move || passwords::hash(&password))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("hashing: {e}")))?;
    let mut tx = state.pool.begin().await?;
    let used = sqlx::query!(
        "UPDATE password_resets SET used_at = now()
         WHERE request_id = $1 AND used_at IS NULL AND expires_at > now()",
        request_id
    )
    .execute(&mut *tx)
    .await?;
    if used.rows_affected() != 1 {
        return Err(invalid_token());
    }
    sqlx::query!(
        "UPDATE credentials SET password_hash = $2, failed_logins = 0, locked_until = NULL WHERE user_id = $1",
        user_id,
        hash
    )
    .execute(&mut *tx)
    .await?;
    super::refresh_tokens::revoke_user(&mut *tx, user_id).await?;
    tx.commit().await?;
    let meta = metadata(None, &context);
    state
        .store
        .execute::<User>(
            &user_id.to_string(),
            UserCommand::CompletePasswordReset { request_id },
            None,
            &meta,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
