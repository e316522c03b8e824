//! The console is a client of the API, in-process: every page reads and
//! every form commands through the very routes programs call (with a
//! short-lived access token of the viewer's session, the page's request id,
//! the browser's address, an idempotency key per form and `If-Match` with
//! the version the form was shown at). So nothing the API refuses can be
//! done here, a page shows what the API shows, and each command's events
//! carry the same user, role, request id, correlation id and client IP.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use serde_json::Value;
use tower::ServiceExt as _;

use super::session::Viewer;
use crate::auth::tokens::issue_access_token;
use crate::error::ApiError;
use crate::state::AppState;

/// The API service the console calls.
#[derive(Clone)]
pub struct Api(pub Router);

/// What of the browser's request the API should see: its request id, its
/// peer and the forwarding headers a trusted proxy added.
#[derive(Debug, Clone, Default)]
pub struct Outer {
    request_id: Option<HeaderValue>,
    peer: Option<ConnectInfo<SocketAddr>>,
    forwarded: Vec<(HeaderName, HeaderValue)>,
}

impl<S: Send + Sync> FromRequestParts<S> for Outer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let forwarded = ["forwarded", "x-forwarded-for"]
            .into_iter()
            .filter_map(|name| {
                let value = parts.headers.get(name)?.clone();
                Some((HeaderName::from_static(name), value))
            })
            .collect();
        Ok(Self {
            request_id: parts.headers.get("x-request-id").cloned(),
            peer: parts.extensions.get::<ConnectInfo<SocketAddr>>().cloned(),
            forwarded,
        })
    }
}

impl Outer {
    /// The request id of the page.
    pub fn request_id(&self) -> String {
        self.request_id
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }
}

/// An API answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Its status.
    pub status: StatusCode,
    /// Its JSON body (`Null` when empty).
    pub body: Value,
}

impl Reply {
    /// A 2xx.
    pub fn ok(&self) -> bool {
        self.status.is_success()
    }

    /// The message of each field the API found fault with (`422`).
    pub fn field_errors(&self) -> std::collections::BTreeMap<String, String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| {
                        Some((
                            e["field"].as_str()?.to_string(),
                            e["message"].as_str()?.to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The problem's detail, for a message on the page.
    pub fn detail(&self) -> String {
        self.body["detail"]
            .as_str()
            .or_else(|| self.body["title"].as_str())
            .unwrap_or("the request was refused")
            .to_string()
    }
}

/// One call: a method, a path under `/api/v1`, and what goes with it.
pub struct Call<'a> {
    method: Method,
    path: String,
    body: Option<Body>,
    content_type: Option<HeaderValue>,
    headers: Vec<(&'static str, String)>,
    viewer: Option<&'a Viewer>,
}

impl<'a> Call<'a> {
    /// `GET path` as `viewer`.
    pub fn get(viewer: Option<&'a Viewer>, path: impl Into<String>) -> Self {
        Self::new(Method::GET, viewer, path)
    }

    /// `POST path` with the JSON `body` as `viewer`.
    pub fn post(viewer: Option<&'a Viewer>, path: impl Into<String>, body: &Value) -> Self {
        Self::new(Method::POST, viewer, path).json(body)
    }

    /// `method path` as `viewer`.
    pub fn new(method: Method, viewer: Option<&'a Viewer>, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            body: None,
            content_type: None,
            headers: Vec::new(),
            viewer,
        }
    }

    /// With a JSON body.
    #[must_use]
    pub fn json(mut self, body: &Value) -> Self {
        self.body = Some(Body::from(body.to_string()));
        self.content_type = Some(HeaderValue::from_static("application/json"));
        self
    }

    /// With a raw body of `content_type` (a multipart upload).
    #[must_use]
    pub fn raw(mut self, content_type: &str, bytes: Vec<u8>) -> Self {
        self.body = Some(Body::from(bytes));
        self.content_type = HeaderValue::from_str(content_type).ok();
        self
    }

    /// With a header (`Idempotency-Key`, `If-Match`, `Accept`).
    #[must_use]
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// With the form's idempotency key and the version it was shown at,
    /// when it has them.
    #[must_use]
    pub fn from_form(mut self, form: &super::forms::Form) -> Self {
        if let Some(key) = form.get("idempotency_key") {
            self = self.header("idempotency-key", key);
        }
        if let Some(version) = form.get("version") {
            self = self.header("if-match", format!("\"{version}\""));
        }
        self
    }
}

impl Api {
    fn request(
        &self,
        state: &AppState,
        outer: &Outer,
        call: Call<'_>,
    ) -> Result<Request, ApiError> {
        let mut request = Request::builder()
            .method(call.method)
            .uri(format!("/api/v1{}", call.path))
            .body(call.body.unwrap_or_else(Body::empty))
            .map_err(|e| ApiError::Internal(e.into()))?;
        let headers = request.headers_mut();
        if let Some(viewer) = call.viewer {
            let token = issue_access_token(
                &state.config.jwt_secret,
                viewer.user_id,
                viewer.role.as_str(),
                viewer.family_id,
                Duration::from_secs(60),
            )
            .map_err(|e| ApiError::Internal(e.into()))?;
            headers.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {token}"))
                    .map_err(|e| ApiError::Internal(e.into()))?,
            );
        }
        if let Some(content_type) = call.content_type {
            headers.insert(header::CONTENT_TYPE, content_type);
        }
        if let Some(id) = &outer.request_id {
            headers.insert("x-request-id", id.clone());
        }
        for (name, value) in &outer.forwarded {
            headers.insert(name.clone(), value.clone());
        }
        for (name, value) in call.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        if let Some(peer) = outer.peer {
            request.extensions_mut().insert(peer);
        }
        Ok(request)
    }

    /// Makes `call`; its status and JSON body.
    ///
    /// # Errors
    /// When the answer cannot be read.
    pub async fn call(
        &self,
        state: &AppState,
        outer: &Outer,
        call: Call<'_>,
    ) -> Result<Reply, ApiError> {
        let response = self.send(state, outer, call).await?;
        let status = response.status();
        let bytes = to_bytes(response.into_body(), 64 * 1024 * 1024)
            .await
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("reading the API's answer: {e}")))?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Ok(Reply { status, body })
    }

    /// Makes `call` and hands back the API's response as it is (a PDF, a
    /// document).
    ///
    /// # Errors
    /// When the request cannot be made.
    pub async fn send(
        &self,
        state: &AppState,
        outer: &Outer,
        call: Call<'_>,
    ) -> Result<Response, ApiError> {
        let request = self.request(state, outer, call)?;
        self.0
            .clone()
            .oneshot(request)
            .await
            .map_err(|never| match never {})
    }
}

/// Headers of an API answer worth passing on to the browser (a file's type
/// and name).
pub fn passed_on(headers: &HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    [
        header::CONTENT_TYPE,
        header::CONTENT_DISPOSITION,
        header::CONTENT_LENGTH,
    ]
    .into_iter()
    .filter_map(|name| Some((name.clone(), headers.get(&name)?.clone())))
    .collect()
}
