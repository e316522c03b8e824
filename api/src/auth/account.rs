//! The signed-in person's own account: `PATCH /auth/me` changes their name
//! or phone number (an event on the user); `POST /auth/password` changes
//! their password after checking the current one, with the registration's
//! policy, and ends every other session of theirs.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::user::{User, UserCommand};
use domain::PhoneNumber;
use projections::read_models::users::UserRow;
use serde::Deserialize;

use super::principal::Principal;
use super::{credentials, passwords};
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::request_context::RequestContext;
use crate::state::AppState;
use crate::writes::{metadata, respond_to_command};

#[derive(Deserialize)]
pub(super) struct ProfileRequest {
    full_name: Option<String>,
    /// A number, or `""` / `null` to remove it.
    #[serde(default, deserialize_with = "present")]
    phone_number: Option<Option<String>>,
}

/// A field that may be absent (unchanged), null or a value.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

#[tracing::instrument(skip_all)]
pub(super) async fn update_me(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    JsonBody(body): JsonBody<ProfileRequest>,
) -> Result<Response, ApiError> {
    let phone_number = body
        .phone_number
        .map(|phone| {
            phone
                .filter(|p| !p.trim().is_empty())
                .map(|p| PhoneNumber::parse(&p).map_err(|e| ApiError::invalid("phone_number", e)))
                .transpose()
        })
        .transpose()?;
    let command = UserCommand::UpdateProfile {
        full_name: body.full_name,
        phone_number,
    };
    let committed = state
        .store
        .execute::<User>(
            &principal.user_id.to_string(),
            command,
            None,
            &metadata(Some(&principal), &context),
        )
        .await?;
    respond_to_command::<UserRow>(&state, principal.user_id, &committed, StatusCode::OK).await
}

#[derive(Deserialize)]
pub(super) struct PasswordRequest {
    current_password: String,
    new_password: String,
}

#[tracing::instrument(skip_all)]
pub(super) async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    JsonBody(body): JsonBody<PasswordRequest>,
) -> Result<Response, ApiError> {
    super::limit(&state, &context)?;
    let user = projections::read_models::users::get(&state.pool, principal.user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let credential = credentials::by_email(&state.pool, &user.email)
        .await?
        .ok_or(ApiError::NotFound)?;
    // A wrong current password counts towards the account's lockout, as
    // a failed login does.
    let security = state.security();
    let Some(attempt) = credentials::reserve_attempt(
        &state.pool,
        credential.user_id,
        security.lockout_threshold,
        security.lockout_duration,
    )
    .await?
    else {
        return Err(ApiError::TooManyRequests {
            code: "account_locked",
            detail: "too many wrong passwords; the account is locked for a while".into(),
            retry_after_secs: security.lockout_duration.as_secs(),
        });
    };
    let (current, hash) = (body.current_password, credential.password_hash.clone());
    let valid = tokio::task::spawn_blocking(move || passwords::verify(&current, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    if !valid {
        tracing::info!(user_id = %principal.user_id, attempt, "wrong current password");
        return Err(ApiError::invalid(
            "current_password",
            "is not your password",
        ));
    }
    credentials::record_success(&state.pool, credential.user_id).await?;
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
    sqlx::query!(
        "UPDATE credentials SET password_hash = $2 WHERE user_id = $1",
        principal.user_id,
        hash
    )
    .execute(&mut *tx)
    .await?;
    // Every other session ends; this one goes on.
    sqlx::query!(
        "UPDATE refresh_tokens SET revoked_at = now()
         WHERE user_id = $1 AND family_id <> $2 AND revoked_at IS NULL",
        principal.user_id,
        principal.session
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    state
        .store
        .execute::<User>(
            &principal.user_id.to_string(),
            UserCommand::RecordPasswordChange,
            None,
            &metadata(Some(&principal), &context),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
