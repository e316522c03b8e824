//! The built-in sandbox payment provider: deterministic and offline.
//!
//! It keeps its own ledger (`sandbox_transactions`), one row per idempotency
//! key, so resubmitting a job returns the first transaction. Amounts whose
//! cents are `.13` are declined, so failure paths can be tried. After a
//! configurable delay it "calls back" like a real provider: a webhook signed
//! with Stripe's scheme (see `domain::sandbox`) to our own
//! `/api/v1/webhooks/sandbox`. With no delay configured it never calls back,
//! and only reconciliation (a status query) settles its payments.

use std::time::Duration;

use async_trait::async_trait;
use domain::sandbox::{sign, SandboxEvent, SandboxTransaction, SIGNATURE_HEADER};
use projections::payment_jobs::{sandbox_outcome, Outcome, PaymentJob};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::{PaymentProvider, ProviderError, Submission};

/// How the sandbox calls back.
#[derive(Clone)]
pub struct SandboxConfig {
    /// Where webhooks go (`{PUBLIC_BASE_URL}/api/v1/webhooks/sandbox`).
    pub webhook_url: String,
    /// The webhook signing secret.
    pub secret: Vec<u8>,
    /// How long after a request its webhook is sent; `None`: never.
    pub delay: Option<Duration>,
}

impl std::fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("webhook_url", &self.webhook_url)
            .field("secret", &"***")
            .field("delay", &self.delay)
            .finish()
    }
}

/// The sandbox provider.
pub struct Sandbox {
    pool: PgPool,
    client: reqwest::Client,
    config: SandboxConfig,
}

/// The cents that make the sandbox decline.
fn declines(amount: Decimal) -> bool {
    amount.fract().abs() == Decimal::new(13, 2)
}

#[derive(sqlx::FromRow)]
struct Transaction {
    reference: String,
    idempotency_key: String,
    kind: String,
    amount: Decimal,
    currency: String,
    outcome: String,
    failure_reason: Option<String>,
}

impl Transaction {
    fn wire(&self) -> SandboxTransaction {
        SandboxTransaction {
            reference: self.reference.clone(),
            idempotency_key: self.idempotency_key.clone(),
            kind: self.kind.clone(),
            outcome: self.outcome.clone(),
            amount: self.amount.to_string(),
            currency: self.currency.clone(),
            failure_reason: self.failure_reason.clone(),
        }
    }
}

impl Sandbox {
    /// The sandbox over `pool`.
    pub fn new(pool: PgPool, config: SandboxConfig) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            pool,
            client,
            config,
        }
    }

    async fn transaction(&self, key: &str) -> Result<Option<Transaction>, ProviderError> {
        sqlx::query_as(
            "SELECT reference, idempotency_key, kind, amount, currency, outcome, failure_reason
             FROM sandbox_transactions WHERE idempotency_key = $1",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| ProviderError::Unavailable(e.to_string()))
    }

    fn call_back_later(&self, transaction: &Transaction) {
        let Some(delay) = self.config.delay else {
            return;
        };
        let event = SandboxEvent {
            id: format!("evt_{}_{}", transaction.reference, transaction.outcome),
            event_type: format!("{}.{}", transaction.kind, transaction.outcome),
            created: chrono::Utc::now().timestamp(),
            data: transaction.wire(),
        };
        let client = self.client.clone();
        let url = self.config.webhook_url.clone();
        let secret = self.config.secret.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            deliver(&client, &url, &secret, &event).await;
        });
    }
}

/// Posts `event`, signed, retrying a few times; reconciliation covers a
/// delivery that never succeeds.
async fn deliver(client: &reqwest::Client, url: &str, secret: &[u8], event: &SandboxEvent) {
    let Ok(body) = serde_json::to_vec(event) else {
        return;
    };
    for attempt in 1..=3u32 {
        let signature = sign(secret, chrono::Utc::now().timestamp(), &body);
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => return,
            Ok(response) => {
                tracing::warn!(event = %event.id, status = %response.status(), attempt, "sandbox webhook refused");
            }
            Err(error) => {
                tracing::warn!(event = %event.id, %error, attempt, "sandbox webhook not delivered")
            }
        }
        tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
    }
}

#[async_trait]
impl PaymentProvider for Sandbox {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    #[tracing::instrument(skip_all, fields(job = %job.id, kind = %job.kind))]
    async fn submit(&self, job: &PaymentJob) -> Result<Submission, ProviderError> {
        let digest = Sha256::digest(job.idempotency_key.as_bytes());
        let reference = format!("sbx_{}", domain::signatures::hex(&digest[..12]));
        let (outcome, reason) = if declines(job.amount) {
            (
                "failed",
                Some("declined: the sandbox declines amounts ending in .13"),
            )
        } else {
            ("succeeded", None)
        };
        let metadata = serde_json::json!({
            "aggregate_type": job.aggregate_type,
            "aggregate_id": job.aggregate_id,
            "payment_id": job.payment_id,
            "original_reference": job.original_reference,
        });
        sqlx::query(
            "INSERT INTO sandbox_transactions (reference, idempotency_key, kind, amount, currency, outcome, failure_reason, metadata)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(&reference)
        .bind(&job.idempotency_key)
        .bind(&job.kind)
        .bind(job.amount)
        .bind(&job.currency)
        .bind(outcome)
        .bind(reason)
        .bind(metadata)
        .execute(&self.pool)
        .await
        .map_err(|e| ProviderError::Unavailable(e.to_string()))?;
        let transaction = self
            .transaction(&job.idempotency_key)
            .await?
            .ok_or_else(|| ProviderError::Unavailable("the transaction vanished".into()))?;
        self.call_back_later(&transaction);
        Ok(Submission::done(transaction.reference))
    }

    async fn status(&self, job: &PaymentJob) -> Result<Option<Outcome>, ProviderError> {
        let Some(transaction) = self.transaction(&job.idempotency_key).await? else {
            return Ok(None);
        };
        sandbox_outcome(&transaction.wire())
            .map(Some)
            .map_err(ProviderError::Unavailable)
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        sqlx::query("SELECT count(*) FROM sandbox_transactions")
            .execute(&self.pool)
            .await
            .map_err(|e| ProviderError::Unavailable(e.to_string()))?;
        Ok("the built-in sandbox is ready".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declines_exactly_the_amounts_ending_in_13_cents() {
        assert!(declines("1250.13".parse().unwrap()));
        assert!(!declines("1250.00".parse().unwrap()));
        assert!(!declines("1213".parse().unwrap()));
        assert!(!declines("0.131".parse().unwrap()));
    }
}
