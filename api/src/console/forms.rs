//! Submitted forms: `application/x-www-form-urlencoded` fields (a field may
//! repeat), the CSRF check every form passes first, and what a form shown
//! again keeps (what the person typed, and the message of each field the
//! API refused).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::session::Viewer;

/// A submitted form.
#[derive(Debug, Clone, Default)]
pub struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    /// The first value of `name`, if it is there and not blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }

    /// The first value of `name`, trimmed, or `""`.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().trim().to_string()
    }

    /// Whether a checkbox `name` was ticked.
    pub fn ticked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every field as typed (shown again with the form), less the tokens.
    pub fn values(&self) -> Value {
        let kept: serde_json::Map<String, Value> = self
            .fields
            .iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "csrf" | "password" | "new_password" | "current_password"
                )
            })
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        Value::Object(kept)
    }

    /// A form from `bytes` (urlencoded).
    pub fn parse(bytes: &[u8]) -> Self {
        Self {
            fields: form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// Whether it carries `viewer`'s CSRF token.
    pub fn csrf_ok(&self, viewer: &Viewer) -> bool {
        viewer.csrf_ok(self.get("csrf"))
    }
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self::parse(&bytes))
    }
}

/// A form shown again: what was typed and the message of each field.
pub fn again(form: &Form, errors: &BTreeMap<String, String>) -> Value {
    json!({"values": form.values(), "errors": errors})
}

/// A fresh idempotency key for a form about to be shown: submitting it
/// twice records one command.
pub fn idempotency_key() -> String {
    uuid::Uuid::now_v7().to_string()
}
