//! Stripe: Checkout Sessions for premiums (Stripe's hosted page takes the
//! card, so no third-party script runs on our pages, and returns the payer
//! to us), Refunds for refunds (form-encoded, secret key as a bearer token,
//! our job's key as `Idempotency-Key`). The outcome arrives by
//! `Stripe-Signature`-signed webhook, or from a status query (retrieve).
//! Stripe does not pay claims out to claimants here.

use async_trait::async_trait;
use projections::payment_jobs::{stripe_outcome, JobKind, NextAction, Outcome, PaymentJob};
use reqwest::Method;
use serde_json::Value;

use super::units::stripe_units;
use super::{return_url, PaymentProvider, ProviderError, Submission};
use crate::integrations::{Answer, Auth, Call, Http, ProviderConfig};

/// The Stripe adapter.
pub struct Stripe {
    http: Http,
    secret_key: String,
    /// Where payers return from the checkout (`settings.return_url`).
    return_url: Option<String>,
    public_base_url: String,
}

impl Stripe {
    /// An adapter calling through `http` with `secret_key`; payers return
    /// to the invoice's page under `public_base_url`.
    pub fn new(http: Http, secret_key: &str, public_base_url: &str) -> Self {
        Self {
            http,
            secret_key: secret_key.to_string(),
            return_url: None,
            public_base_url: public_base_url.to_string(),
        }
    }

    /// The adapter of configuration `config`: payers return to
    /// `settings.return_url`, or else to the invoice's page under
    /// `public_base_url`.
    ///
    /// # Errors
    /// `Rejected` when it lacks its secret key or base URL.
    pub fn from_config(
        config: &ProviderConfig,
        http: Http,
        public_base_url: &str,
    ) -> Result<Self, ProviderError> {
        Ok(Self {
            return_url: config.value("return_url").map(str::to_string),
            ..Self::new(http, config.require("secret_key")?, public_base_url)
        })
    }

    /// A Checkout Session for charge `job`: one line of the premium, the
    /// payer back to us whether they pay or cancel, our ids on the session
    /// and on the PaymentIntent it makes (its webhooks name our job).
    fn checkout(&self, job: &PaymentJob) -> Result<Vec<(String, String)>, ProviderError> {
        let back = return_url(self.return_url.as_deref(), &self.public_base_url, job);
        let price = "line_items[0][price_data]";
        let mut form = vec![
            ("mode".into(), "payment".into()),
            ("line_items[0][quantity]".into(), "1".into()),
            (format!("{price}[currency]"), job.currency.to_lowercase()),
            (
                format!("{price}[unit_amount]"),
                stripe_units(job)?.to_string(),
            ),
            (
                format!("{price}[product_data][name]"),
                "Insurance premium".into(),
            ),
            ("success_url".into(), back.clone()),
            ("cancel_url".into(), back),
            ("client_reference_id".into(), job.payment_id.to_string()),
        ];
        for prefix in ["metadata", "payment_intent_data[metadata]"] {
            for (name, id) in [
                ("job_id", job.id),
                ("payment_id", job.payment_id),
                ("invoice_id", job.aggregate_id),
            ] {
                form.push((format!("{prefix}[{name}]"), id.to_string()));
            }
        }
        if let Some(email) = job.payer_contact.as_deref().filter(|c| c.contains('@')) {
            form.push(("customer_email".into(), email.to_string()));
        }
        Ok(form)
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
            JobKind::Charge => ("checkout.session.create", "/v1/checkout/sessions", self.checkout(job)?),
            JobKind::Refund => {
                let intent = job
                    .original_reference
                    .clone()
                    .filter(|r| r.starts_with("pi_"))
                    .ok_or_else(|| {
                        ProviderError::Rejected(
                            "the payment has no Stripe PaymentIntent to refund".into(),
                        )
                    })?;
                let form = [
                    ("payment_intent", intent),
                    ("amount", stripe_units(job)?.to_string()),
                    ("reason", "requested_by_customer".to_string()),
                    ("metadata[refund_id]", job.id.to_string()),
                ];
                ("refund.create", "/v1/refunds", form.map(|(k, v)| (k.to_string(), v)).to_vec())
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
        let body = accepted(&answer)?;
        let id = body["id"]
            .as_str()
            .ok_or_else(|| ProviderError::Unavailable("Stripe answered without an id".into()))?;
        Ok(match body["url"].as_str() {
            // The session's hosted page, where the payer pays.
            Some(url) if job.kind() == JobKind::Charge => {
                Submission::done(id).then(NextAction::Redirect {
                    url: url.to_string(),
                })
            }
            _ => Submission::done(id),
        })
    }

    async fn status(&self, job: &PaymentJob) -> Result<Option<Outcome>, ProviderError> {
        let Some(reference) = &job.provider_reference else {
            return Ok(None);
        };
        // Sessions with their PaymentIntent expanded (what became of the
        // payment after checkout); PaymentIntents of charges made before
        // checkout sessions; refunds.
        let (kind, path) = match job.kind() {
            JobKind::Refund => ("refund", format!("/v1/refunds/{reference}")),
            _ if reference.starts_with("cs_") => (
                "checkout.session",
                format!("/v1/checkout/sessions/{reference}?expand%5B%5D=payment_intent"),
            ),
            _ => ("payment_intent", format!("/v1/payment_intents/{reference}")),
        };
        let call = self
            .call("retrieve", Method::GET, path)
            .reference(job.kind().as_str(), job.id);
        let answer = self.http.send(&call).await?;
        Ok(stripe_outcome(kind, accepted(&answer)?))
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
    use wiremock::matchers::{body_string_contains, header, method, path, query_param};
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
        job.provider_reference = Some(if kind == "refund" { "re_9" } else { "cs_1" }.to_string());
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
        Stripe::new(http, "sk_test_123", "https://ifinsure.example")
    }

    /// A Checkout Session as Stripe answers its creation.
    fn open_session(id: &str) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": id, "object": "checkout.session", "mode": "payment",
            "url": format!("https://checkout.stripe.com/c/pay/{id}"),
            "status": "open", "payment_status": "unpaid", "payment_intent": null,
            "amount_total": 3500000, "currency": "kes"
        }))
    }

    #[tokio::test]
    async fn a_premium_becomes_a_checkout_session_the_payer_is_sent_to_and_returns_from() {
        let server = MockServer::start().await;
        let back = "https%3A%2F%2Fifinsure.example%2Finvoices%2F00000000-0000-0000-0000-000000000008%3Fpayment%3D00000000-0000-0000-0000-000000000007";
        let mut expected = Mock::given(method("POST"))
            .and(path("/v1/checkout/sessions"))
            .and(header("authorization", "Bearer sk_test_123"))
            .and(header(
                "idempotency-key",
                "charge-00000000-0000-0000-0000-000000000007",
            ))
            .and(header("content-type", "application/x-www-form-urlencoded"));
        for field in [
            "mode=payment".to_string(),
            "line_items%5B0%5D%5Bquantity%5D=1".into(),
            "line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=kes".into(),
            "line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=3500000".into(),
            "line_items%5B0%5D%5Bprice_data%5D%5Bproduct_data%5D%5Bname%5D=Insurance+premium".into(),
            format!("success_url={back}"),
            format!("cancel_url={back}"),
            "client_reference_id=00000000-0000-0000-0000-000000000007".into(),
            "metadata%5Bjob_id%5D=00000000-0000-0000-0000-000000000007".into(),
            "payment_intent_data%5Bmetadata%5D%5Bjob_id%5D=00000000-0000-0000-0000-000000000007".into(),
            "payment_intent_data%5Bmetadata%5D%5Binvoice_id%5D=00000000-0000-0000-0000-000000000008".into(),
            "customer_email=payer%40example.com".into(),
        ] {
            expected = expected.and(body_string_contains(field));
        }
        expected
            .respond_with(open_session("cs_test_1"))
            .expect(1)
            .mount(&server)
            .await;
        let mut charge = job("charge", "35000.00");
        charge.payer_contact = Some("payer@example.com".into());
        assert_eq!(
            stripe(&server).submit(&charge).await,
            Ok(Submission::done("cs_test_1").then(NextAction::Redirect {
                url: "https://checkout.stripe.com/c/pay/cs_test_1".into()
            }))
        );
    }

    #[tokio::test]
    async fn server_errors_are_retried_and_client_errors_are_not() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/checkout/sessions"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(2)
            .expect(2)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1/checkout/sessions"))
            .respond_with(open_session("cs_ok"))
            .expect(1)
            .mount(&server)
            .await;
        assert_eq!(
            stripe(&server)
                .submit(&job("charge", "1.00"))
                .await
                .map(|s| s.reference),
            Ok("cs_ok".into())
        );

        let refused = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
                "error": {"type": "invalid_request_error", "message": "Invalid currency: xyz"}
            })))
            .expect(1)
            .mount(&refused)
            .await;
        assert_eq!(
            stripe(&refused).submit(&job("charge", "1.00")).await,
            Err(ProviderError::Rejected("Invalid currency: xyz".into()))
        );
    }

    /// Stripe's answer to retrieving session `cs_1` with its PaymentIntent
    /// expanded.
    async fn retrieved(session: serde_json::Value) -> Result<Option<Outcome>, ProviderError> {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/checkout/sessions/cs_1"))
            .and(query_param("expand[]", "payment_intent"))
            .and(header("authorization", "Bearer sk_test_123"))
            .respond_with(ResponseTemplate::new(200).set_body_json(session))
            .expect(1)
            .mount(&server)
            .await;
        stripe(&server).status(&job("charge", "35000.00")).await
    }

    #[tokio::test]
    async fn a_session_is_paid_once_complete_and_paid_and_recorded_under_its_payment_intent() {
        let session = |status: &str, paid: &str, intent: serde_json::Value| {
            serde_json::json!({
                "id": "cs_1", "object": "checkout.session", "status": status,
                "payment_status": paid, "amount_total": 3500000, "currency": "kes",
                "payment_intent": intent
            })
        };
        let kes = Money::new("35000.00".parse().unwrap(), Currency::KES).unwrap();
        let intent = |status: &str, error: serde_json::Value| {
            serde_json::json!({"id": "pi_123", "object": "payment_intent", "status": status,
                               "last_payment_error": error})
        };
        let declined = serde_json::json!({"message": "Your card was declined."});
        assert_eq!(
            retrieved(session(
                "complete",
                "paid",
                intent("succeeded", serde_json::Value::Null)
            ))
            .await,
            Ok(Some(Outcome::Succeeded {
                reference: Some("pi_123".into()),
                amount: kes
            }))
        );
        // Open, even after a declined card: the payer may try another.
        assert_eq!(
            retrieved(session("open", "unpaid", serde_json::Value::Null)).await,
            Ok(None)
        );
        assert_eq!(
            retrieved(session(
                "open",
                "unpaid",
                intent("requires_payment_method", declined.clone())
            ))
            .await,
            Ok(None)
        );
        // Complete and unpaid: a delayed method still processing, or failed.
        assert_eq!(
            retrieved(session(
                "complete",
                "unpaid",
                intent("processing", serde_json::Value::Null)
            ))
            .await,
            Ok(None)
        );
        assert_eq!(
            retrieved(session(
                "complete",
                "unpaid",
                intent("requires_payment_method", declined)
            ))
            .await,
            Ok(Some(Outcome::Failed {
                reference: Some("pi_123".into()),
                reason: "Your card was declined.".into()
            }))
        );
        assert_eq!(
            retrieved(session("expired", "unpaid", serde_json::Value::Null)).await,
            Ok(Some(Outcome::Failed {
                reference: Some("cs_1".into()),
                reason: "the checkout expired before the payer paid".into()
            }))
        );
    }

    #[tokio::test]
    async fn a_refund_names_the_payment_intent_and_a_status_query_reads_it() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/refunds"))
            .and(header("authorization", "Bearer sk_test_123"))
            .and(body_string_contains("payment_intent=pi_123"))
            .and(body_string_contains("amount=2016438"))
            .and(body_string_contains("reason=requested_by_customer"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"id": "re_9", "object": "refund", "status": "pending"}),
            ))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v1/refunds/re_9"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "id": "re_9", "object": "refund", "status": "succeeded", "amount": 2016438,
                "currency": "kes", "payment_intent": "pi_123"
            })))
            .expect(1)
            .mount(&server)
            .await;
        let stripe = stripe(&server);
        let refund = job("refund", "20164.38");
        assert_eq!(stripe.submit(&refund).await, Ok("re_9".into()));
        assert_eq!(
            stripe.status(&refund).await,
            Ok(Some(Outcome::Succeeded {
                reference: Some("re_9".into()),
                amount: Money::new("20164.38".parse().unwrap(), Currency::KES).unwrap()
            }))
        );

        // A payment recorded under its session alone cannot be refunded by
        // Stripe: said before any call.
        let mut unrefundable = job("refund", "1.00");
        unrefundable.original_reference = Some("cs_1".into());
        assert!(matches!(
            stripe.submit(&unrefundable).await,
            Err(ProviderError::Rejected(message)) if message.contains("PaymentIntent")
        ));
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

    #[tokio::test]
    async fn a_three_decimal_amount_stripe_cannot_take_is_refused_before_any_call() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(open_session("cs_never"))
            .expect(0)
            .mount(&server)
            .await;
        let mut charge = job("charge", "1.234");
        charge.currency = "BHD".into();
        let refused = stripe(&server).submit(&charge).await;
        assert!(
            matches!(&refused, Err(ProviderError::Rejected(why)) if why.contains("BHD")),
            "{refused:?}"
        );
    }
}
