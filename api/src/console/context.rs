//! What every console handler works with: the service's state, the API it
//! calls in-process, the browser's request (ids, address), the signed-in
//! viewer (or none, on the sign-in pages), and the flash message waiting
//! for this page.

use axum::extract::FromRequestParts;
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::Role;
use serde_json::Value;

use super::client::{Api, Call, Outer, Reply};
use super::errors::error_page;
use super::render::{page, Chrome};
use super::session::{self, cookie, set_cookie, Viewer, FLASH_COOKIE};
use crate::error::ApiError;
use crate::state::AppState;

/// A signed-in page's context.
pub struct Console {
    /// The service.
    pub state: AppState,
    /// The API, in-process.
    pub api: Api,
    /// The browser's request.
    pub outer: Outer,
    /// Who is signed in.
    pub viewer: Viewer,
    flash: Option<String>,
    session: Option<String>,
}

/// An anonymous page's context (sign-in, registration, password reset).
pub struct Visitor {
    /// The service.
    pub state: AppState,
    /// The API, in-process.
    pub api: Api,
    /// The browser's request.
    pub outer: Outer,
    /// The signed-in viewer, when there is one (sent on to the dashboard).
    pub viewer: Option<Viewer>,
    /// The CSRF cookie the browser holds, if any.
    pub csrf_cookie: Option<String>,
    flash: Option<String>,
}

fn flash_of(parts: &Parts) -> Option<String> {
    cookie(&parts.headers, FLASH_COOKIE)
        .filter(|v| !v.is_empty())
        .map(|v| {
            form_urlencoded::parse(format!("m={v}").as_bytes())
                .next()
                .map(|(_, m)| m.into_owned())
                .unwrap_or_default()
        })
}

fn api_of(parts: &Parts) -> Result<Api, Response> {
    parts.extensions.get::<Api>().cloned().ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!("the console has no API")).into_response()
    })
}

impl FromRequestParts<AppState> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        let outer = Outer::from_request_parts(parts, state)
            .await
            .unwrap_or_default();
        Ok(Self {
            state: state.clone(),
            api: api_of(parts)?,
            outer,
            viewer,
            flash: flash_of(parts),
            session: cookie(&parts.headers, session::SESSION_COOKIE).map(str::to_string),
        })
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let viewer = session::viewer(state, &parts.headers)
            .await
            .map_err(IntoResponse::into_response)?;
        let outer = Outer::from_request_parts(parts, state)
            .await
            .unwrap_or_default();
        Ok(Self {
            state: state.clone(),
            api: api_of(parts)?,
            outer,
            viewer,
            csrf_cookie: cookie(&parts.headers, session::CSRF_COOKIE).map(str::to_string),
            flash: flash_of(parts),
        })
    }
}

/// A redirect after a command (post/redirect/get), with a flash message.
pub fn redirect_with(state: &AppState, to: &str, flash: Option<&str>) -> Response {
    let mut response = Redirect::to(to).into_response();
    if let Some(message) = flash {
        let value: String = form_urlencoded::byte_serialize(message.as_bytes()).collect();
        response
            .headers_mut()
            .append(SET_COOKIE, set_cookie(state, FLASH_COOKIE, &value, 60));
    }
    response
}

impl Console {
    /// The session cookie's value.
    pub fn session_cookie(&self) -> Option<String> {
        self.session.clone()
    }

    fn chrome(&self) -> Chrome {
        Chrome {
            viewer: Some(self.viewer.clone()),
            flash: self.flash.clone(),
            request_id: self.outer.request_id(),
            anonymous_csrf: None,
        }
    }

    /// `GET /api/v1{path}` as the viewer.
    ///
    /// # Errors
    /// When the answer cannot be read.
    pub async fn get(&self, path: &str) -> Result<Reply, ApiError> {
        self.api
            .call(
                &self.state,
                &self.outer,
                Call::get(Some(&self.viewer), path),
            )
            .await
    }

    /// Makes `call` (built for this viewer).
    ///
    /// # Errors
    /// When the answer cannot be read.
    pub async fn call(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        self.api.call(&self.state, &self.outer, call).await
    }

    /// The body of `GET /api/v1{path}` as the viewer, or the page saying
    /// why not (sign in again, 403, 404, 500).
    ///
    /// # Errors
    /// The page to show instead.
    pub async fn read(&self, path: &str) -> Result<Value, Response> {
        let reply = self.get(path).await.map_err(|e| self.fail(&e))?;
        if reply.ok() {
            Ok(reply.body)
        } else {
            Err(self.refused(&reply))
        }
    }

    /// Makes `call`, or the 500 page when it could not be made.
    ///
    /// # Errors
    /// The 500 page.
    pub async fn send(&self, call: Call<'_>) -> Result<Reply, Response> {
        self.call(call).await.map_err(|e| self.fail(&e))
    }

    /// The 500 page for `error` (logged with the request id).
    pub fn fail(&self, error: &ApiError) -> Response {
        tracing::error!(error = %error, request_id = %self.outer.request_id(), "console page failed");
        self.error(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// `template` with `data`, as `200`.
    pub fn render(&self, template: &str, data: Value) -> Response {
        page(&self.state, &self.chrome(), StatusCode::OK, template, data)
    }

    /// `template` with `data`, as `status`.
    pub fn render_status(&self, status: StatusCode, template: &str, data: Value) -> Response {
        page(&self.state, &self.chrome(), status, template, data)
    }

    /// The page for an API answer that is not a success: sign in again
    /// (401), the 403, 404 or 500 page.
    pub fn refused(&self, reply: &Reply) -> Response {
        match reply.status {
            StatusCode::UNAUTHORIZED => super::session::SignIn("/dashboard".into()).into_response(),
            StatusCode::FORBIDDEN => self.error(StatusCode::FORBIDDEN),
            StatusCode::NOT_FOUND => self.error(StatusCode::NOT_FOUND),
            status if status.is_client_error() => self.error(StatusCode::BAD_REQUEST),
            _ => self.error(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// The error page for `status`.
    pub fn error(&self, status: StatusCode) -> Response {
        error_page(&self.state, &self.chrome(), status)
    }

    /// The 403 page of a form without its CSRF token.
    pub fn forbidden(&self) -> Response {
        self.error(StatusCode::FORBIDDEN)
    }

    /// The 403 page unless the viewer's role is one of `allowed`.
    ///
    /// # Errors
    /// The 403 page.
    pub fn require(&self, allowed: &[Role]) -> Result<(), Response> {
        if allowed.contains(&self.viewer.role) {
            Ok(())
        } else {
            Err(self.forbidden())
        }
    }

    /// After a command: on to `to`, telling `flash`.
    pub fn done(&self, to: &str, flash: &str) -> Response {
        redirect_with(&self.state, to, Some(flash))
    }
}

impl Visitor {
    /// The CSRF token the page's form carries: the browser's cookie, or a
    /// new one set with the page.
    fn chrome(&self) -> Chrome {
        Chrome {
            viewer: None,
            flash: self.flash.clone(),
            request_id: self.outer.request_id(),
            anonymous_csrf: Some(
                self.csrf_cookie
                    .clone()
                    .unwrap_or_else(session::random_token),
            ),
        }
    }

    /// Whether the form's CSRF token is the browser's cookie.
    pub fn csrf_ok(&self, token: Option<&str>) -> bool {
        match (&self.csrf_cookie, token) {
            (Some(cookie), Some(token)) => {
                domain::signatures::constant_time_eq(cookie.as_bytes(), token.as_bytes())
            }
            _ => false,
        }
    }

    /// `template` with `data`, as `status`.
    pub fn render(&self, status: StatusCode, template: &str, data: Value) -> Response {
        page(&self.state, &self.chrome(), status, template, data)
    }

    /// The 403 page of a form without its CSRF token.
    pub fn forbidden(&self) -> Response {
        error_page(&self.state, &self.chrome(), StatusCode::FORBIDDEN)
    }

    /// `call`, anonymous.
    ///
    /// # Errors
    /// When the answer cannot be read.
    pub async fn call(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        self.api.call(&self.state, &self.outer, call).await
    }
}
