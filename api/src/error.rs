//! The one mapping from everything that can go wrong to an RFC 9457
//! `application/problem+json` response with a stable `code`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::validation::ValidationErrors;
use serde_json::json;

use crate::request_context::current_request_id;

/// An error a handler returns; becomes a problem+json response.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not JSON, or a header is malformed.
    #[error("{detail}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// 401: no valid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the role may not do this.
    #[error("{detail}")]
    Forbidden {
        /// Stable code.
        code: &'static str,
        /// What is refused.
        detail: String,
    },
    /// 404: no such record, or not the caller's to see.
    #[error("not found")]
    NotFound,
    /// 405: the path exists, the method does not.
    #[error("this method is not allowed on this path")]
    MethodNotAllowed,
    /// 409: a business rule or state conflict.
    #[error("{detail}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// What conflicts.
        detail: String,
    },
    /// 409 `payment_pending`: a payment awaiting its provider covers the
    /// balance; the body names it (`payment_id`).
    #[error("{detail}")]
    PaymentPending {
        /// The pending payment.
        payment_id: uuid::Uuid,
        /// What conflicts.
        detail: String,
    },
    /// 412: `If-Match` named another version.
    #[error("the resource is at version {actual}, not {expected}")]
    PreconditionFailed {
        /// The version the client expected.
        expected: u64,
        /// The current version.
        actual: u64,
    },
    /// 413: the body is larger than allowed.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit.
        limit: usize,
    },
    /// 415: the body is not `application/json`.
    #[error("expected a body with Content-Type: application/json")]
    UnsupportedMediaType,
    /// 415: an uploaded file of a type that is not accepted.
    #[error("{0}")]
    UnsupportedFile(String),
    /// 422: the input is well-formed but invalid.
    #[error("{0}")]
    Validation(ValidationErrors),
    /// 422 with another code (e.g. `idempotency_key_reused`).
    #[error("{detail}")]
    Unprocessable {
        /// Stable code.
        code: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// 429: slow down.
    #[error("{detail}")]
    TooManyRequests {
        /// Stable code.
        code: &'static str,
        /// Why.
        detail: String,
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// 503: a dependency is down.
    #[error("{0}")]
    Unavailable(String),
    /// 500: our fault. Logged with its cause; the client sees only the request id.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A 422 on one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(ValidationErrors::single(field, message))
    }

    /// A 409 `invalid_transition`.
    pub fn invalid_transition(detail: impl Into<String>) -> Self {
        Self::Conflict {
            code: "invalid_transition",
            detail: detail.into(),
        }
    }

    /// A 403 `forbidden`.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::Forbidden {
            code: "forbidden",
            detail: detail.into(),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden { code, .. } => (StatusCode::FORBIDDEN, code),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::PaymentPending { .. } => (StatusCode::CONFLICT, "payment_pending"),
            ApiError::PreconditionFailed { .. } => {
                (StatusCode::PRECONDITION_FAILED, "precondition_failed")
            }
            ApiError::PayloadTooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::UnsupportedFile(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_file_type")
            }
            ApiError::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ApiError::Unprocessable { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            ApiError::TooManyRequests { code, .. } => (StatusCode::TOO_MANY_REQUESTS, code),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        ApiError::Internal(error.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let request_id = current_request_id();
        let detail = match &self {
            ApiError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "internal error");
                "an internal error occurred; quote the request id when reporting it".to_string()
            }
            other => other.to_string(),
        };
        let mut body = json!({
            "type": format!("urn:ifinsure:problem:{code}"),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": detail,
            "code": code,
        });
        if let Some(id) = request_id {
            body["request_id"] = json!(id);
        }
        if let ApiError::Validation(errors) = &self {
            body["errors"] = json!(errors.0);
        }
        if let ApiError::PaymentPending { payment_id, .. } = &self {
            body["payment_id"] = json!(payment_id);
        }
        let mut response = (status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let ApiError::TooManyRequests {
            retry_after_secs, ..
        } = &self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        response
    }
}
