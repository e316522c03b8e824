//! Webhook deliveries (`webhook_deliveries`): each delivery a provider made,
//! stored raw with its verification result and what the ingress did, for
//! audit; and the duplicate check by the provider's event id. A delivery
//! that did not verify keeps only its first [`UNVERIFIED_BODY_LIMIT`] bytes,
//! with the digest and size of the whole.

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// A delivery to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery<'a> {
    /// The provider slug from the path.
    pub provider: &'a str,
    /// The configuration whose secret verified it, if one did.
    pub config_id: Option<Uuid>,
    /// The provider's id of the event (Stripe `evt_…`, M-Pesa
    /// CheckoutRequestID, ...), if it could be read.
    pub provider_event_id: Option<&'a str>,
    /// Whether it was authenticated.
    pub verified: bool,
    /// What the ingress did (`recorded`, `duplicate`, `rejected: …`, ...).
    pub outcome: &'a str,
    /// The headers that matter for verification (signatures redacted by
    /// nobody: they are not secrets, they are proofs).
    pub headers: Value,
    /// The body, byte for byte.
    pub body: &'a [u8],
}

/// The most of an unverified delivery's body that is kept.
pub const UNVERIFIED_BODY_LIMIT: usize = 4 * 1024;

/// Stores `delivery` (all of a verified body; the start of any other), with
/// the SHA-256 and size of the whole body.
///
/// # Errors
/// When the database fails.
pub async fn record(pool: &PgPool, delivery: &Delivery<'_>) -> Result<i64, sqlx::Error> {
    use sha2::Digest as _;
    let kept = if delivery.verified {
        delivery.body
    } else {
        &delivery.body[..delivery.body.len().min(UNVERIFIED_BODY_LIMIT)]
    };
    let digest = sha2::Sha256::digest(delivery.body).to_vec();
    let size = i32::try_from(delivery.body.len()).unwrap_or(i32::MAX);
    sqlx::query_scalar!(
        r#"INSERT INTO webhook_deliveries (provider, config_id, provider_event_id, verified, outcome,
               headers, body, body_sha256, body_size)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id"#,
        delivery.provider,
        delivery.config_id,
        delivery.provider_event_id,
        delivery.verified,
        delivery.outcome,
        delivery.headers,
        kept,
        digest,
        size,
    )
    .fetch_one(pool)
    .await
}

/// Whether a verified delivery of `provider_event_id` was acted on already
/// (recorded, sent for confirmation, or a status noted). One that was
/// ignored, say because it came before its payment was submitted, does not
/// count: the provider's retry is acted on.
///
/// # Errors
/// When the database fails.
pub async fn already_processed(
    pool: &PgPool,
    provider: &str,
    provider_event_id: &str,
) -> Result<bool, sqlx::Error> {
    let seen = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM webhook_deliveries
               WHERE provider = $1 AND provider_event_id = $2 AND verified
                 AND (outcome IN ('recorded', 'confirmation requested')
                      OR outcome LIKE 'recorded: %' OR outcome LIKE 'status %'))"#,
        provider,
        provider_event_id
    )
    .fetch_one(pool)
    .await?;
    Ok(seen.unwrap_or(false))
}

/// A delivery as the Integrations Center lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct Received {
    /// Its number.
    pub id: i64,
    /// The provider slug from the path.
    pub provider: String,
    /// The configuration whose secret verified it, if one did.
    pub config_id: Option<Uuid>,
    /// The provider's id of the event, if it could be read.
    pub provider_event_id: Option<String>,
    /// Whether it was authenticated.
    pub verified: bool,
    /// What the ingress did with it.
    pub outcome: String,
    /// When it arrived.
    pub received_at: chrono::DateTime<chrono::Utc>,
}

/// One delivery whole: what [`Received`] lists, and what came.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// What the list shows.
    pub received: Received,
    /// The headers kept.
    pub headers: Value,
    /// The body kept (all of a verified one; the start of any other).
    pub body: Vec<u8>,
    /// The SHA-256 of the whole body, when recorded.
    pub body_sha256: Option<Vec<u8>>,
    /// The size of the whole body, when recorded.
    pub body_size: Option<i32>,
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// One provider.
    pub provider: Option<String>,
    /// Only verified (`true`) or unverified (`false`) ones.
    pub verified: Option<bool>,
    /// Received from this time on.
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Received before this time.
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

/// Deliveries matching `filter`, newest first, before number `before`.
///
/// # Errors
/// When the database fails.
pub async fn list(
    pool: &PgPool,
    filter: &Filter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Received>, sqlx::Error> {
    sqlx::query_as!(
        Received,
        r#"SELECT id, provider, config_id, provider_event_id, verified, outcome, received_at
           FROM webhook_deliveries
           WHERE ($1::text IS NULL OR provider = $1)
             AND ($2::boolean IS NULL OR verified = $2)
             AND ($3::timestamptz IS NULL OR received_at >= $3)
             AND ($4::timestamptz IS NULL OR received_at < $4)
             AND ($5::bigint IS NULL OR id < $5)
           ORDER BY id DESC LIMIT $6"#,
        filter.provider,
        filter.verified,
        filter.from,
        filter.to,
        before,
        limit
    )
    .fetch_all(pool)
    .await
}

/// Delivery `id`, whole.
///
/// # Errors
/// When the database fails.
pub async fn get(pool: &PgPool, id: i64) -> Result<Option<Stored>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT id, provider, config_id, provider_event_id, verified, outcome, received_at,
                  headers, body, body_sha256, body_size
           FROM webhook_deliveries WHERE id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| Stored {
        received: Received {
            id: r.id,
            provider: r.provider,
            config_id: r.config_id,
            provider_event_id: r.provider_event_id,
            verified: r.verified,
            outcome: r.outcome,
            received_at: r.received_at,
        },
        headers: r.headers,
        body: r.body,
        body_sha256: r.body_sha256,
        body_size: r.body_size,
    }))
}

/// Whether a field named `name` may hold a secret (a token, a password, a
/// key, a signature secret or a PIN): shown redacted.
pub fn secret_field(name: &str) -> bool {
    let name = name.to_ascii_lowercase().replace(['-', '_'], "");
    [
        "secret",
        "token",
        "password",
        "passwd",
        "apikey",
        "authorization",
        "cookie",
        "pin",
        "credential",
        "privatekey",
    ]
    .iter()
    .any(|word| name.contains(word))
}

const REDACTED: &str = "[redacted]";

/// `value` with every field that may hold a secret replaced, however deep.
pub fn redact_json(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if secret_field(k) && !v.is_null() {
                        Value::String(REDACTED.into())
                    } else {
                        redact_json(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_json).collect()),
        other => other.clone(),
    }
}

/// A body as it may be shown: JSON with its secret fields redacted, a form
/// (`a=1&b=2`) likewise, anything else as text (invalid UTF-8 replaced).
pub fn redact_body(body: &[u8]) -> Value {
    if let Ok(json) = serde_json::from_slice::<Value>(body) {
        return redact_json(&json);
    }
    let text = String::from_utf8_lossy(body);
    let form: Option<Vec<(String, String)>> = (text.contains('=')
        && !text.contains(char::is_whitespace))
    .then(|| {
        text.split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=')?;
                Some((k.to_string(), v.to_string()))
            })
            .collect()
    })
    .flatten();
    match form {
        Some(pairs) => Value::String(
            pairs
                .into_iter()
                .map(|(k, v)| {
                    let v = if secret_field(&k) {
                        REDACTED.to_string()
                    } else {
                        v
                    };
                    format!("{k}={v}")
                })
                .collect::<Vec<_>>()
                .join("&"),
        ),
        None => Value::String(text.into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_at_any_depth_and_in_forms() {
        let body = serde_json::json!({"Body": {"stkCallback": {"ResultCode": 0}},
            "data": {"authorization": {"authorization_code": "AUTH_x", "last4": "4081"}, "api_key": "k"},
            "items": [{"client_secret": "pi_secret"}], "token": null});
        let shown = redact_json(&body);
        assert_eq!(shown["Body"]["stkCallback"]["ResultCode"], 0);
        assert_eq!(shown["data"]["authorization"], REDACTED);
        assert_eq!(shown["data"]["api_key"], REDACTED);
        assert_eq!(shown["items"][0]["client_secret"], REDACTED);
        assert_eq!(shown["token"], Value::Null);
        assert_eq!(
            redact_body(b"id=ATXid_1&status=Success&callback_token=abc"),
            Value::String("id=ATXid_1&status=Success&callback_token=[redacted]".into())
        );
        assert_eq!(
            redact_body(b"not json at all"),
            Value::String("not json at all".into())
        );
    }
}
