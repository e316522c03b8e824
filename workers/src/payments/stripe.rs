//! Stripe: PaymentIntents for premiums, Refunds for refunds (form-encoded,
//! secret key as a bearer token, our job's key as `Idempotency-Key`). The
//! outcome arrives by `Stripe-Signature`-signed webhook, or from a status
//! query (retrieve). Stripe does not pay claims out to claimants here.

use async_trait::async_trait;
use projections::payment_jobs::{stripe_outcome, JobKind, Outcome, PaymentJob};
use reqwest::Method;
use serde_json::Value;

use super::units::stripe_units;
use super::{PaymentProvider, ProviderError, Submission};
use crate::integrations::{Answer, Auth, Call, Http, ProviderConfig};

/// The Stripe adapter.
pub struct Stripe {
    http: Http,
    secret_key: String,
}

impl Stripe {
    /// An adapter calling through `http` with `secret_key`.
    pub fn new(http: Http, secret_key: &str) -> Self {
        Self {
            http,
            secret_key: secret_key.to_string(),
        }
    }

    /// The adapter of configuration `config`.
    ///
    /// # Errors
    /// `Rejected` when it lacks its secret key or base URL.
    pub fn from_config(config: &ProviderConfig, http: Http) -> Result<Self, ProviderError> {
        Ok(Self::new(http, config.require("secret_key")?))
    }

    fn call(&self, action: &'static str, method: Method, path: String) -> Call {
        Call::new(action, method, path).auth(Auth::Bearer(self.secret_key.clone()))
    }
}

/// Stripe's error message, or the status.
fn accepted(answer: &Answer) -> Result<&Value, ProviderError> {
    if answer.status.is_success() {
        return Ok(&answer.body);
    }
    let message = answer.body["error"]["message"]
        .as_str()
        .map_or_else(|| format!("HTTP {}", answer.status), str::to_string);
    Err(ProviderError::Rejected(message))
}

#[async_trait]
impl PaymentProvider for Stripe {
    fn name(&self) -> &'static str {
        "stripe"
    }

    #[tracing::instrument(skip_all, fields(job = %job.id, kind = %job.kind))]
    async fn submit(&self, job: &PaymentJob) -> Result<Submission, ProviderError> {
        let (action, path, form) = match job.kind() {
            JobKind::Charge => (
                "payment_intent.create",
                "/v1/payment_intents",
                vec![
                    ("amount", stripe_units(job)?.to_string()),
                    ("currency", job.currency.to_lowercase()),
                    ("automatic_payment_methods[enabled]", "true".to_string()),
                    ("metadata[payment_id]", job.payment_id.to_string()),
                    ("metadata[invoice_id]", job.aggregate_id.to_string()),
                ],
            ),
            JobKind::Refund => {
                let intent = job.original_reference.clone().ok_or_else(|| {
                    ProviderError::Rejected("the payment has no Stripe reference to refund".into())
                })?;
                (
                    "refund.create",
                    "/v1/refunds",
                    vec![
                        ("payment_intent", intent),
                        ("amount", stripe_units(job)?.to_string()),
                        ("reason", "requested_by_customer".to_string()),
                        ("metadata[refund_id]", job.id.to_string()),
                    ],
                )
            }
            JobKind::Payout => {
                return Err(ProviderError::Rejected(
                    "Stripe does not pay claims out to claimants; use M-Pesa or another payout provider".into(),
                ))
            }
        };
        let call = self
            .call(action, Method::POST, path.into())
            .header("Idempotency-Key", job.idempotency_key.clone())
            .form(form)
            .reference(job.kind().as_str(), job.id);
        let answer = self.http.send(&call).await?;
        accepted(&answer)?["id"]
            .as_str()
            .map(Submission::from)
            .ok_or_else(|| ProviderError::Unavailable("Stripe answered without an id".into()))
    }

    async fn status(&self, job: &PaymentJob) -> Result<Option<Outcome>, ProviderError> {
        let Some(reference) = &job.provider_reference else {
            return Ok(None);
        };
        let path = match job.kind() {
            JobKind::Refund => format!("/v1/refunds/{reference}"),
            _ => format!("/v1/payment_intents/{reference}"),
        };
        let call = self
            .call("retrieve", Method::GET, path)
            .reference(job.kind().as_str(), job.id);
        let answer = self.http.send(&call).await?;
        let body = accepted(&answer)?;
        let kind = if job.kind() == JobKind::Refund {
            "refund"
        } else {
            "payment_intent"
        };
        Ok(stripe_outcome(kind, body))
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let call = self
            .call("balance.retrieve", Method::GET, "/v1/balance".into())
            .reference("connection_test", "stripe");
        let answer = self.http.send(&call).await?;
        accepted(&answer)?;
        Ok("Stripe accepted the secret key".into())
    }
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{body_string_contains, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::integrations::redact::Secrets;
    use crate::integrations::Memory;
    use domain::{Currency, Money};

    fn job(kind: &str, amount: &str) -> PaymentJob {
        let mut job = crate::payments::test_job(kind, "stripe", amount);
        job.original_reference = (kind == "refund").then(|| "pi_123".to_string());
        job.provider_reference = Some(if kind == "refund" { "re_9" } else { "pi_123" }.to_string());
        job
    }

    fn stripe(server: &MockServer) -> Stripe {
        let http = Http::new(
            "stripe",
            None,
            &server.uri(),
            Secrets::new(["sk_test_123"]),
            Arc::new(Memory::default()),
        )
        .with_timing(Duration::from_secs(2), Duration::from_millis(5));
        Stripe::new(http, "sk_test_123")
    }

    #[tokio::test]
    async fn a_premium_becomes_a_payment_intent_in_minor_units_with_the_jobs_key() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/payment_intents"))
            .and(header("authorization", "Bearer sk_test_123"))
            .and(header(
                "idempotency-key",
                "charge-00000000-0000-0000-0000-000000000007",
            ))
            .and(header("content-type", "application/x-www-form-urlencoded"))
            .and(body_string_contains("amount=3500000"))
            .and(body_string_contains("currency=kes"))
            .and(body_string_contains(
                "automatic_payment_methods%5Benabled%5D=true",
            ))
            .and(body_string_contains(
                "metadata%5Bpayment_id%5D=00000000-0000-0000-0000-000000000007",
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "id": "pi_123", "object": "payment_intent", "status": "requires_payment_method"
            })))
            .expect(1)
            .mount(&server)
            .await;
        assert_eq!(
            stripe(&server).submit(&job("charge", "35000.00")).await,
            Ok("pi_123".into())
        );
    }

    #[tokio::test]
    async fn server_errors_are_retried_and_client_errors_are_not() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/payment_intents"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(2)
            .expect(2)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1/payment_intents"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "pi_ok"})),
            )
            .expect(1)
            .mount(&server)
            .await;
        assert_eq!(
            stripe(&server).submit(&job("charge", "1.00")).await,
            Ok("pi_ok".into())
        );

        let declined = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(402).set_body_json(serde_json::json!({
                "error": {"type": "card_error", "message": "Your card was declined."}
            })))
            .expect(1)
            .mount(&declined)
            .await;
        assert_eq!(
            stripe(&declined).submit(&job("charge", "1.00")).await,
            Err(ProviderError::Rejected("Your card was declined.".into()))
        );
    }

    #[tokio::test]
    async fn a_refund_names_the_payment_intent_and_a_status_query_reads_the_outcome() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/refunds"))
            .and(header("authorization", "Bearer sk_test_123"))
            .and(body_string_contains("payment_intent=pi_123"))
            .and(body_string_contains("amount=2016438"))
            .and(body_string_contains("reason=requested_by_customer"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"id": "re_9", "status": "pending"})),
            )
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v1/payment_intents/pi_123"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "id": "pi_123", "status": "succeeded", "amount_received": 3500000, "currency": "kes"
            })))
            .expect(1)
            .mount(&server)
            .await;
        let stripe = stripe(&server);
        assert_eq!(
            stripe.submit(&job("refund", "20164.38")).await,
            Ok("re_9".into())
        );
        let kes = Money::new("35000.00".parse().unwrap(), Currency::KES).unwrap();
        assert_eq!(
            stripe.status(&job("charge", "35000.00")).await,
            Ok(Some(Outcome::Succeeded {
                reference: Some("pi_123".into()),
                amount: kes
            }))
        );
    }

    #[tokio::test]
    async fn the_connection_test_reads_the_balance_with_the_key() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/balance"))
            .and(header("authorization", "Bearer sk_test_123"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "object": "balance", "available": [], "pending": []
            })))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v1/balance"))
            .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
                "error": {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_***123"}
            })))
            .mount(&server)
            .await;
        let stripe = stripe(&server);
        assert_eq!(
            stripe.test_connection().await,
            Ok("Stripe accepted the secret key".into())
        );
        assert!(matches!(
            stripe.test_connection().await,
            Err(ProviderError::Rejected(message)) if message.starts_with("Invalid API Key")
        ));
    }

    #[tokio::test]
    async fn claims_are_not_paid_out_through_stripe() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
        assert!(matches!(
            stripe(&server).submit(&job("payout", "1.00")).await,
            Err(ProviderError::Rejected(_))
        ));
    }
}
