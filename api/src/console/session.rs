//! Console sessions: an unguessable token in an `HttpOnly`, `SameSite=Lax`
//! cookie (`Secure` when the public address is https), whose SHA-256 the
//! server keeps with the user, the refresh-token family the session stands
//! for, and the CSRF token its forms carry. A session is served only while
//! its family is live and the account keeps its role (the API's own
//! session check): signing out here or elsewhere, a password change or a
//! reset ends it within a second.
//!
//! Forms of anonymous pages (sign-in, registration, password reset) carry a
//! CSRF token equal to a cookie of their own (double submit).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use chrono::{Duration as Days, Utc};
use domain::Role;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::state::AppState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "ifinsure_session";
/// The CSRF cookie of anonymous forms.
pub const CSRF_COOKIE: &str = "ifinsure_csrf";
/// The one-page message after a command ("Application submitted").
pub const FLASH_COOKIE: &str = "ifinsure_flash";

/// 32 random bytes, URL-safe.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The value of cookie `name` in `headers`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value for `name`: `value` for `max_age_secs` (0: gone).
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if state.config.public_base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Who is signed in, as a page sees them.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The user.
    pub user_id: Uuid,
    /// Their role now.
    pub role: Role,
    /// Their name, for the header.
    pub full_name: String,
    /// Their address.
    pub email: String,
    /// The refresh-token family this session stands for.
    pub family_id: Uuid,
    /// The token every form of the session carries.
    pub csrf: String,
}

impl Viewer {
    /// The caller the API sees for this session.
    pub fn principal(&self) -> Principal {
        Principal {
            user_id: self.user_id,
            role: self.role,
            session: self.family_id,
        }
    }

    /// Whether `token` is this session's CSRF token.
    pub fn csrf_ok(&self, token: Option<&str>) -> bool {
        token.is_some_and(|t| {
            domain::signatures::constant_time_eq(t.as_bytes(), self.csrf.as_bytes())
        })
    }
}

/// Opens a session for `user_id` standing for refresh-token family
/// `family_id`; returns the cookie's value.
///
/// # Errors
/// When the database fails.
pub async fn open(state: &AppState, user_id: Uuid, family_id: Uuid) -> Result<String, ApiError> {
    let token = random_token();
    let expires_at = Utc::now()
        + Days::from_std(state.config.refresh_token_ttl).unwrap_or_else(|_| Days::days(30));
    sqlx::query!(
        r#"INSERT INTO console_sessions (token_hash, user_id, family_id, csrf_token, expires_at)
           VALUES ($1, $2, $3, $4, $5)"#,
        hash(&token),
        user_id,
        family_id,
        random_token(),
        expires_at
    )
    .execute(&state.pool)
    .await?;
    Ok(token)
}

/// Ends the session of cookie `token`, and its refresh-token family.
///
/// # Errors
/// When the database fails.
pub async fn close(state: &AppState, token: &str) -> Result<(), ApiError> {
    let family = sqlx::query_scalar!(
        "DELETE FROM console_sessions WHERE token_hash = $1 RETURNING family_id",
        hash(token)
    )
    .fetch_optional(&state.pool)
    .await?;
    if let Some(family) = family {
        crate::auth::refresh_tokens::revoke_family(&state.pool, family).await?;
        state.sessions.forget(family);
    }
    Ok(())
}

/// The signed-in viewer of `headers`' session cookie, if it is live.
///
/// # Errors
/// When the database fails.
pub async fn viewer(state: &AppState, headers: &HeaderMap) -> Result<Option<Viewer>, ApiError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    // The users read model is made by its projection, not a migration:
    // queried unchecked.
    let idle = state.security().session_idle.as_secs_f64();
    let token_hash = hash(token);
    let row: Option<(Uuid, Uuid, String, String, String, String, bool)> = sqlx::query_as(
        "SELECT s.user_id, s.family_id, s.csrf_token, u.role, u.full_name, u.email,
                s.last_seen_at < now() - interval '1 minute'
         FROM console_sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_at > now()
           AND s.last_seen_at > now() - make_interval(secs => $2)",
    )
    .bind(&token_hash)
    .bind(idle)
    .fetch_optional(&state.pool)
    .await?;
    let Some((user_id, family_id, csrf_token, role_name, full_name, email, stale)) = row else {
        return Ok(None);
    };
    if stale {
        sqlx::query!(
            "UPDATE console_sessions SET last_seen_at = now() WHERE token_hash = $1",
            token_hash
        )
        .execute(&state.pool)
        .await?;
    }
    struct Row {
        user_id: Uuid,
        family_id: Uuid,
        csrf_token: String,
        role: String,
        full_name: String,
        email: String,
    }
    let row = Row {
        user_id,
        family_id,
        csrf_token,
        role: role_name,
        full_name,
        email,
    };
    let Ok(role) = row.role.parse::<Role>() else {
        return Ok(None);
    };
    // The API's own session check: the family live, the role unchanged.
    if state
        .sessions
        .check(&state.pool, row.family_id, row.user_id, &row.role)
        .await
        .is_err()
    {
        return Ok(None);
    }
    Ok(Some(Viewer {
        user_id: row.user_id,
        role,
        full_name: row.full_name,
        email: row.email,
        family_id: row.family_id,
        csrf: row.csrf_token,
    }))
}

/// A page that needs a signed-in viewer sends others to sign in, and back
/// here afterwards.
pub struct SignIn(pub String);

impl IntoResponse for SignIn {
    fn into_response(self) -> Response {
        Redirect::to(&format!("/login?next={}", urlencode(&self.0))).into_response()
    }
}

/// `text` percent-encoded for a query string.
pub fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match viewer(state, &parts.headers).await {
            Ok(Some(viewer)) => Ok(viewer),
            Ok(None) => {
                let here = parts
                    .uri
                    .path_and_query()
                    .map_or("/dashboard", |p| p.as_str())
                    .to_string();
                // Only a page can be returned to after signing in.
                let next = if parts.method == axum::http::Method::GET {
                    here
                } else {
                    "/dashboard".into()
                };
                Err(SignIn(next).into_response())
            }
            Err(error) => Err(error.into_response()),
        }
    }
}
