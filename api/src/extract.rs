//! Request extractors that turn bad input into the right problem response:
//! `400` malformed JSON, `413` too large, `415` not JSON, `422` wrong fields.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body, deserialized with field-level errors.
pub struct JsonBody<T>(pub T);

/// A JSON body that may be absent (an empty body is `T::default()`).
pub struct OptionalJsonBody<T>(pub T);

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| {
            let v = v.trim().to_ascii_lowercase();
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        })
        .unwrap_or(false)
}

async fn read_body(request: Request, state: &AppState) -> Result<(HeaderMap, Bytes), ApiError> {
    let headers = request.headers().clone();
    let bytes =
        Bytes::from_request(request, state)
            .await
            .map_err(|_| ApiError::PayloadTooLarge {
                limit: state.config.json_body_limit,
            })?;
    Ok((headers, bytes))
}

/// Whether the request's `Accept` header names `media_type` (the reports'
/// CSV, the audit trail's NDJSON).
pub fn accepts(headers: &HeaderMap, media_type: &str) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains(media_type))
}

/// Parses JSON bytes into `T`, naming the offending field on error.
///
/// # Errors
/// `400` when not JSON, `422` when a field is missing or of the wrong type.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest {
            code: "malformed_json",
            detail: format!("the body is not valid JSON: {e}"),
        })?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "body".to_string()
        } else {
            path
        };
        let message = e.into_inner().to_string();
        ApiError::invalid(&field, message)
    })
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (headers, bytes) = read_body(request, state).await?;
        if !is_json(&headers) {
            return Err(ApiError::UnsupportedMediaType);
        }
        parse_json(&bytes).map(JsonBody)
    }
}

impl<T: DeserializeOwned + Default + Send> FromRequest<AppState> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (headers, bytes) = read_body(request, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonBody(T::default()));
        }
        if !is_json(&headers) {
            return Err(ApiError::UnsupportedMediaType);
        }
        parse_json(&bytes).map(OptionalJsonBody)
    }
}

/// The version named by `If-Match` (`"3"`, `W/"3"` or `3`), if sent.
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub Option<u64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let text = value.to_str().unwrap_or_default().trim();
        if text == "*" {
            return Ok(IfMatch(None));
        }
        let bare = text.trim_start_matches("W/").trim_matches('"');
        bare.parse()
            .map(|v| IfMatch(Some(v)))
            .map_err(|_| ApiError::BadRequest {
                code: "malformed_header",
                detail: "If-Match must be an ETag from a response, like \"3\"".into(),
            })
    }
}

/// Deserializes a decimal that must be sent as a JSON string (`"0.035"`).
///
/// # Errors
/// When the value is not a string holding a plain decimal.
pub fn decimal_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    let raw = String::deserialize(deserializer)?;
    domain::money::parse_decimal(&raw).map_err(serde::de::Error::custom)
}

/// An optional decimal given as a string (`null` or absent: none).
///
/// # Errors
/// When it is present and not a decimal string.
pub fn optional_decimal_string<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Decimal>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|raw| domain::money::parse_decimal(&raw).map_err(serde::de::Error::custom))
        .transpose()
}

/// Query-string parameters; a bad one is a `422` naming it.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(QueryParams)
            .map_err(|e| {
                let field = e.path().to_string();
                ApiError::invalid(
                    if field == "." { "query" } else { &field },
                    e.into_inner().to_string(),
                )
            })
    }
}

/// A resource id from the path; one that is not a UUID names nothing (`404`).
pub struct IdPath(pub uuid::Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<uuid::Uuid>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(id)| IdPath(id))
            .map_err(|_| ApiError::NotFound)
    }
}

/// The date query parameter `field` (`YYYY-MM-DD`), `default` when absent
/// or empty.
///
/// # Errors
/// `422` naming `field` when it is not a date.
pub fn date_param(
    field: &str,
    raw: Option<&str>,
    default: chrono::NaiveDate,
) -> Result<chrono::NaiveDate, ApiError> {
    raw.filter(|r| !r.is_empty()).map_or(Ok(default), |r| {
        r.parse()
            .map_err(|_| ApiError::invalid(field, "must be a date (YYYY-MM-DD)"))
    })
}

/// The period `[from, to]` of the query parameters `from` and `to`, each
/// defaulted when absent.
///
/// # Errors
/// `422` when either is not a date or `to` is before `from`.
pub fn period(
    from: Option<&str>,
    to: Option<&str>,
    defaults: (chrono::NaiveDate, chrono::NaiveDate),
) -> Result<(chrono::NaiveDate, chrono::NaiveDate), ApiError> {
    let from = date_param("from", from, defaults.0)?;
    let to = date_param("to", to, defaults.1)?;
    if to < from {
        return Err(ApiError::invalid("to", "must not be before from"));
    }
    Ok((from, to))
}
