//! Accounts and sessions: register, login, refresh (rotating, with reuse
//! detection), logout, me. Lockout after repeated failures and a per-IP rate
//! limit guard the password endpoints.

mod account;
pub mod credentials;
pub mod password_reset;
pub mod passwords;
pub mod principal;
pub mod rate_limit;
pub mod refresh_tokens;
pub mod sessions;
pub mod tokens;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use domain::Role;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::accounts::{open_account, NewAccount};
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::request_context::RequestContext;
use crate::state::AppState;
use crate::writes::{metadata, respond_current, respond_to_command};
use principal::Principal;
use projections::read_models::users::UserRow;
use refresh_tokens::Rotation;

/// The auth routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/me", get(me).patch(account::update_me))
        .route("/auth/password", post(account::change_password))
        .route("/auth/password-reset", post(password_reset::request))
        .route(
            "/auth/password-reset/confirm",
            post(password_reset::confirm),
        )
}

#[derive(Deserialize)]
struct RegisterRequest {
    email: String,
    password: String,
    full_name: String,
    phone_number: Option<String>,
}

#[derive(Deserialize)]
struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Deserialize)]
struct RefreshRequest {
    refresh_token: String,
}

fn limit(state: &AppState, context: &RequestContext) -> Result<(), ApiError> {
    let key = context.client_ip.as_deref().unwrap_or("unknown");
    state
        .auth_limiter
        .check(key)
        .map_err(|retry| ApiError::TooManyRequests {
            code: "rate_limited",
            detail: "too many authentication requests from this address; slow down".into(),
            retry_after_secs: retry.as_secs().max(1),
        })
}

#[tracing::instrument(skip_all)]
async fn register(
    State(state): State<AppState>,
    context: RequestContext,
    JsonBody(body): JsonBody<RegisterRequest>,
) -> Result<Response, ApiError> {
    limit(&state, &context)?;
    let account = NewAccount {
        email: body.email,
        password: body.password,
        full_name: body.full_name,
        phone_number: body.phone_number,
        role: Role::Customer,
    };
    let meta = metadata(None, &context);
    let (user_id, committed) = open_account(&state.pool, &state.store, account, &meta).await?;
    respond_to_command::<UserRow>(&state, user_id, &committed, StatusCode::CREATED).await
}

#[tracing::instrument(skip_all)]
async fn login(
    State(state): State<AppState>,
    context: RequestContext,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<Response, ApiError> {
    limit(&state, &context)?;
    let email = body.email.trim().to_lowercase();
    let credential = credentials::by_email(&state.pool, &email).await?;
    let Some(credential) = credential else {
        let password = body.password;
        let _ = tokio::task::spawn_blocking(move || {
            passwords::verify(&password, passwords::decoy_hash())
        })
        .await;
        return Err(invalid_credentials());
    };
    let security = state.security();
    let still_locked = || async {
        let until = credentials::locked_until(&state.pool, credential.user_id).await?;
        Ok::<_, ApiError>(until.map_or_else(invalid_credentials, locked))
    };
    // Counted before it is checked: parallel guesses all count.
    let Some(attempt) = credentials::reserve_attempt(
        &state.pool,
        credential.user_id,
        security.lockout_threshold,
        security.lockout_duration,
    )
    .await?
    else {
        return Err(still_locked().await?);
    };
    let password = body.password;
    let hash = credential.password_hash.clone();
    let valid = tokio::task::spawn_blocking(move || passwords::verify(&password, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    if !valid {
        tracing::info!(user_id = %credential.user_id, attempt, "failed login");
        return Err(if attempt >= security.lockout_threshold {
            still_locked().await?
        } else {
            invalid_credentials()
        });
    }
    credentials::record_success(&state.pool, credential.user_id).await?;
    let user = projections::read_models::users::get(&state.pool, credential.user_id)
        .await?
        .ok_or_else(invalid_credentials)?;
    // Said only to someone who knows the password.
    if !user.active {
        return Err(ApiError::forbidden(
            "this account is deactivated: ask an administrator to reactivate it",
        ));
    }
    let (refresh, session) =
        refresh_tokens::issue(&state.pool, user.id, state.config.refresh_token_ttl).await?;
    token_pair(&state, user.id, &user.role, refresh, session)
}

fn invalid_credentials() -> ApiError {
    ApiError::Unauthorized("the email or password is wrong".into())
}

fn locked(until: chrono::DateTime<Utc>) -> ApiError {
    let seconds = (until - Utc::now()).num_seconds().max(1) as u64;
    ApiError::TooManyRequests {
        code: "account_locked",
        detail: format!(
            "too many failed logins; the account is locked for {} more minute(s)",
            seconds.div_ceil(60)
        ),
        retry_after_secs: seconds,
    }
}

fn token_pair(
    state: &AppState,
    user_id: Uuid,
    role: &str,
    refresh_token: String,
    session: Uuid,
) -> Result<Response, ApiError> {
    let ttl = state.security().access_token_ttl;
    let access_token =
        tokens::issue_access_token(&state.config.jwt_secret, user_id, role, session, ttl)
            .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Json(json!({
        "access_token": access_token,
        "refresh_token": refresh_token,
        "token_type": "Bearer",
        "expires_in": ttl.as_secs(),
    }))
    .into_response())
}

#[tracing::instrument(skip_all)]
async fn refresh(
    State(state): State<AppState>,
    context: RequestContext,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> Result<Response, ApiError> {
    limit(&state, &context)?;
    match refresh_tokens::rotate(
        &state.pool,
        &body.refresh_token,
        state.config.refresh_token_ttl,
    )
    .await?
    {
        Rotation::Rotated {
            user_id,
            family_id,
            token,
        } => {
            let user = projections::read_models::users::get(&state.pool, user_id)
                .await?
                .ok_or_else(|| ApiError::Unauthorized("the account no longer exists".into()))?;
            token_pair(&state, user_id, &user.role, token, family_id)
        }
        Rotation::Invalid => Err(ApiError::Unauthorized(
            "the refresh token is invalid, expired or revoked".into(),
        )),
        Rotation::Reused => Err(ApiError::Unauthorized(
            "the refresh token was already used; every session of that login is now revoked".into(),
        )),
    }
}

#[tracing::instrument(skip_all)]
async fn logout(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    refresh_tokens::revoke(&state.pool, principal.user_id, &body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(state): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    respond_current::<UserRow>(&state, principal.user_id, StatusCode::OK).await
}
