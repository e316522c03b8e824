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
