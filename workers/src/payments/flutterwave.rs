//! Flutterwave (v3): premiums by M-Pesa direct charge (`/v3/charges?type=mpesa`)
//! when the payer gave a Kenyan phone number for a KES invoice, else by
//! hosted payment (`/v3/payments`, a checkout link for the payer's email);
//! outcomes by `/v3/transactions/verify_by_reference`; refunds by
//! `/v3/transactions/{id}/refund` (no idempotency key: never sent again
//! after an unanswered request), settled from that answer when it says
//! `completed` or `failed`, else from `/v3/refunds/{id}`. Amounts
//! are major-unit decimals, M-Pesa's whole shillings. Our
//! job's key is the `tx_ref`, so a retried charge names the same
//! transaction. Webhooks carry a shared secret (`verif-hash`), so the
//! ingress only asks for a verification query, like M-Pesa's.

use async_trait::async_trait;
use domain::mpesa::msisdn;
use projections::payment_jobs::{flutterwave_outcome, JobKind, NextAction, Outcome, PaymentJob};
use reqwest::Method;
use serde_json::json;

use super::units::{decimal, whole_units};
use super::{approve_on_phone, return_url, PaymentProvider, ProviderError, Submission};
use crate::integrations::{Answer, Auth, Call, Http, ProviderConfig};

/// The Flutterwave adapter.
pub struct Flutterwave {
    http: Http,
    secret_key: String,
    /// Where hosted-checkout payers return (`settings.redirect_url`).
    redirect_url: Option<String>,
    public_base_url: String,
}

impl Flutterwave {
    /// The adapter of `config`. Payers of hosted payments return to
    /// `settings.redirect_url`, or else to the invoice's page under
    /// `public_base_url`.
    ///
    /// # Errors
    /// `Rejected` without a secret key.
    pub fn from_config(
        config: &ProviderConfig,
        http: Http,
        public_base_url: &str,
    ) -> Result<Self, ProviderError> {
        Ok(Self {
            http,
            secret_key: config.require("secret_key")?.to_string(),
            redirect_url: config.value("redirect_url").map(str::to_string),
            public_base_url: public_base_url.to_string(),
        })
    }

    async fn send(&self, call: Call) -> Result<Answer, ProviderError> {
        self.http
            .send(&call.auth(Auth::Bearer(self.secret_key.clone())))
            .await
    }

    fn charge(&self, job: &PaymentJob) -> Result<Call, ProviderError> {
        let amount = decimal(job)?;
        let contact = job.payer_contact.clone().unwrap_or_default();
        let call = match msisdn(&contact).filter(|_| job.currency == "KES") {
            // Whole shillings, and no made-up email (Flutterwave refuses
            // placeholders; the payer approves on the phone).
            Some(phone) => {
                Call::new("charge.mpesa", Method::POST, "/v3/charges?type=mpesa").json(json!({
                    "tx_ref": job.idempotency_key,
                    "amount": whole_units(job)?,
                    "currency": "KES",
                    "phone_number": phone,
                    "meta": {"payment_id": job.payment_id, "invoice_id": job.aggregate_id},
                }))
            }
            None => Call::new("payment.create", Method::POST, "/v3/payments").json(json!({
                "tx_ref": job.idempotency_key,
                "amount": amount.to_string(),
                "currency": job.currency,
                "redirect_url": return_url(self.redirect_url.as_deref(), &self.public_base_url, job),
                "customer": {"email": contact},
                "customizations": {"title": "Insurance premium"},
                "meta": {"payment_id": job.payment_id, "invoice_id": job.aggregate_id},
            })),
        };
        Ok(call.reference("charge", job.id))
    }

    /// A refund's outcome, from `/v3/refunds/{id}`.
    async fn refund_status(&self, job: &PaymentJob) -> Result<Option<Outcome>, ProviderError> {
        let Some(id) = &job.provider_reference else {
            return Ok(None);
        };
        let call = Call::new("refund.fetch", Method::GET, format!("/v3/refunds/{id}"))
            .reference("refund", job.id);
        let answer = self.send(call).await?;
        if !answer.status.is_success() {
            return Err(refusal(&answer));
        }
        refund_outcome(&answer.body["data"], id, job)
    }
}

/// What a refund's `data` says: `completed` succeeded, `failed` failed,
/// the rest (`pending`, …) still pending.
fn refund_outcome(
    data: &serde_json::Value,
    id: &str,
    job: &PaymentJob,
) -> Result<Option<Outcome>, ProviderError> {
    let reference = Some(id.to_string());
    Ok(match data["status"].as_str() {
        Some("completed") => Some(Outcome::Succeeded {
            reference,
            amount: job
                .money()
                .map_err(|e| ProviderError::Rejected(e.to_string()))?,
        }),
        Some("failed") => Some(Outcome::Failed {
            reference,
            reason: "the refund failed at Flutterwave".into(),
        }),
        _ => None,
    })
}

fn refusal(answer: &Answer) -> ProviderError {
    ProviderError::Rejected(
        answer.body["message"]
            .as_str()
            .map_or_else(|| format!("HTTP {}", answer.status), str::to_string),
    )
}

#[async_trait]
impl PaymentProvider for Flutterwave {
    fn name(&self) -> &'static str {
        "flutterwave"
    }

    #[tracing::instrument(skip_all, fields(job = %job.id, kind = %job.kind))]
    async fn submit(&self, job: &PaymentJob) -> Result<Submission, ProviderError> {
        match job.kind() {
            JobKind::Charge => {
                let answer = self.send(self.charge(job)?).await?;
                if !answer.status.is_success() || answer.body["status"] != "success" {
                    return Err(refusal(&answer));
                }
                let submission = Submission::done(job.idempotency_key.clone());
                // A hosted payment's page, or the M-Pesa prompt on the phone.
                Ok(match answer.body["data"]["link"].as_str() {
                    Some(url) => submission.then(NextAction::Redirect { url: url.into() }),
                    None => submission.then(NextAction::ApproveOnPhone {
                        message: approve_on_phone(job),
                    }),
                })
            }
            JobKind::Refund => {
                let id = job.original_reference.clone().ok_or_else(|| {
                    ProviderError::Rejected("the payment has no Flutterwave transaction id".into())
                })?;
                // Flutterwave takes no idempotency key for refunds: a repeat
                // is a second refund.
                let call = Call::new(
                    "transaction.refund",
                    Method::POST,
                    format!("/v3/transactions/{id}/refund"),
                )
                .json(json!({
                    "amount": decimal(job)?.to_string(),
                    "comments": format!("ifinsure refund {}", job.id),
                }))
                .reference("refund", job.id)
                .not_idempotent();
                let answer = self.send(call).await?;
                if !answer.status.is_success() {
                    return Err(refusal(&answer));
                }
                let data = &answer.body["data"];
                let id = data["id"]
                    .as_i64()
                    .map(|id| id.to_string())
                    .ok_or_else(|| {
                        ProviderError::Uncertain(
                            "Flutterwave answered a refund without its id".into(),
                        )
                    })?;
                // The answer often says the refund is complete already.
                let submission = Submission::done(id.clone());
                Ok(match refund_outcome(data, &id, job)? {
                    Some(outcome) => submission.settled(outcome),
                    None => submission,
                })
            }
            JobKind::Payout => Err(ProviderError::Rejected(
                "claim payouts do not go through Flutterwave here; use M-Pesa".into(),
            )),
        }
    }

    async fn status(&self, job: &PaymentJob) -> Result<Option<Outcome>, ProviderError> {
        match job.kind() {
            JobKind::Charge => {}
            JobKind::Refund => return self.refund_status(job).await,
            JobKind::Payout => return Ok(None),
        }
        let call = Call::new(
            "transaction.verify",
            Method::GET,
            format!(
                "/v3/transactions/verify_by_reference?tx_ref={}",
                job.idempotency_key
            ),
        )
        .reference("charge", job.id);
        let answer = self.send(call).await?;
        if answer.status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !answer.status.is_success() {
            return Err(refusal(&answer));
        }
        let expected = job
            .money()
            .map_err(|e| ProviderError::Rejected(e.to_string()))?;
        Ok(flutterwave_outcome(
            &answer.body["data"],
            &job.idempotency_key,
            expected,
        ))
    }

    fn deduplicates(&self, job: &PaymentJob) -> bool {
        job.kind() != JobKind::Refund
    }

    fn can_serve(&self, job: &PaymentJob) -> bool {
        match job.kind() {
            JobKind::Charge => job.payer_contact.as_deref().is_some_and(|c| {
                c.contains('@')
                    || (job.currency == "KES" && msisdn(c).is_some() && whole_units(job).is_ok())
            }),
            JobKind::Refund => job.original_reference.is_some(),
            JobKind::Payout => false,
        }
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let answer = self
            .send(Call::new("balances", Method::GET, "/v3/balances"))
            .await?;
        if !answer.status.is_success() {
            return Err(refusal(&answer));
        }
        Ok("Flutterwave accepted the secret key".into())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use domain::{Currency, Money};
    use rust_decimal::Decimal;
    use wiremock::matchers::{body_json, header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::integrations::redact::Secrets;
    use crate::integrations::Memory;

    fn flutterwave(server: &MockServer) -> Flutterwave {
        let http = Http::new(
            "flutterwave",
            None,
            &server.uri(),
            Secrets::new(["FLWSECK_TEST-abc123"]),
            Arc::new(Memory::default()),
        )
        .with_timing(Duration::from_secs(2), Duration::from_millis(5));
        Flutterwave {
            http,
            secret_key: "FLWSECK_TEST-abc123".into(),
            redirect_url: None,
            public_base_url: "https://ifinsure.example/".into(),
        }
    }

    fn job(contact: &str) -> PaymentJob {
        let mut job = crate::payments::test_job("charge", "flutterwave", "1500.50");
        job.idempotency_key = "charge-7".into();
        job.payer_contact = Some(contact.into());
        job.provider_reference = Some("charge-7".into());
        job
    }

    #[tokio::test]
    async fn a_kenyan_phone_gets_an_mpesa_charge_and_an_email_a_hosted_payment() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v3/charges"))
            .and(query_param("type", "mpesa"))
            .and(header("authorization", "Bearer FLWSECK_TEST-abc123"))
            .and(body_json(json!({
                "tx_ref": "charge-7", "amount": 1500, "currency": "KES",
                "phone_number": "254712345678",
                "meta": {"payment_id": "00000000-0000-0000-0000-000000000007",
                         "invoice_id": "00000000-0000-0000-0000-000000000008"}
            })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": "success", "message": "Charge initiated", "data": {"id": 1, "status": "pending"}
            })))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v3/payments"))
            .and(body_json(json!({
                "tx_ref": "charge-7", "amount": "1500.50", "currency": "KES",
                // Back to the invoice's page in the console.
                "redirect_url": "https://ifinsure.example/invoices/00000000-0000-0000-0000-000000000008?payment=00000000-0000-0000-0000-000000000007",
                "customer": {"email": "payer@example.com"},
                "customizations": {"title": "Insurance premium"},
                "meta": {"payment_id": "00000000-0000-0000-0000-000000000007",
                         "invoice_id": "00000000-0000-0000-0000-000000000008"}
            })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": "success", "message": "Hosted Link", "data": {"link": "https://checkout.flutterwave.com/x"}
            })))
            .expect(1)
            .mount(&server)
            .await;
        let flutterwave = flutterwave(&server);
        let mut by_phone = job("+254712345678");
        by_phone.amount = "1500.00".parse().unwrap();
        let on_phone = NextAction::ApproveOnPhone {
            message: "Check your phone: approve the payment of KES 1500.00 with your M-Pesa PIN."
                .into(),
        };
        assert_eq!(
            flutterwave.submit(&by_phone).await,
            Ok(Submission::done("charge-7").then(on_phone))
        );
        // Cents cannot go by M-Pesa: refused before any call, and not served.
        let cents = job("+254712345678");
        assert!(matches!(
            flutterwave.submit(&cents).await,
            Err(ProviderError::Rejected(_))
        ));
        assert!(!flutterwave.can_serve(&cents));
        assert_eq!(
            flutterwave.submit(&job("payer@example.com")).await,
            Ok(Submission::done("charge-7").then(NextAction::Redirect {
                url: "https://checkout.flutterwave.com/x".into()
            }))
        );
    }

    #[tokio::test]
    async fn verification_checks_status_reference_amount_and_currency() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v3/transactions/verify_by_reference"))
            .and(query_param("tx_ref", "charge-7"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": "success", "message": "Transaction fetched successfully",
                "data": {"id": 288200108, "tx_ref": "charge-7", "flw_ref": "FLW-1", "amount": 1500.5,
                         "currency": "KES", "charged_amount": 1500.5, "status": "successful"}
            })))
            .expect(1)
            .mount(&server)
            .await;
        assert_eq!(
            flutterwave(&server).status(&job("payer@example.com")).await,
            Ok(Some(Outcome::Succeeded {
                reference: Some("288200108".into()),
                amount: Money::new(Decimal::new(150050, 2), Currency::KES).unwrap(),
            }))
        );
    }

    #[tokio::test]
    async fn a_refund_settles_from_flutterwaves_refund_status() {
        let server = MockServer::start().await;
        for (id, status) in [
            ("75923", "completed"),
            ("75924", "pending"),
            ("75925", "failed"),
        ] {
            Mock::given(method("GET"))
                .and(path(format!("/v3/refunds/{id}")))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "status": "success", "message": "Refund fetched",
                    "data": {"id": id.parse::<i64>().unwrap(), "account_id": 1, "tx_id": 288200108,
                             "flw_ref": "FLW-1", "wallet_id": 1, "amount_refunded": 1500.5,
                             "status": status, "destination": "payment_source",
                             "meta": {"source": "availablebalance"}, "created_at": "2026-11-25T10:00:00.000Z"}
                })))
                .expect(1)
                .mount(&server)
                .await;
        }
        let flutterwave = flutterwave(&server);
        let refund = |id: &str| {
            let mut job = crate::payments::test_job("refund", "flutterwave", "1500.50");
            job.provider_reference = Some(id.into());
            job
        };
        assert_eq!(
            flutterwave.status(&refund("75923")).await,
            Ok(Some(Outcome::Succeeded {
                reference: Some("75923".into()),
                amount: Money::new(Decimal::new(150050, 2), Currency::KES).unwrap(),
            }))
        );
        assert_eq!(flutterwave.status(&refund("75924")).await, Ok(None));
        assert!(matches!(
            flutterwave.status(&refund("75925")).await,
            Ok(Some(Outcome::Failed { .. }))
        ));
    }

    #[tokio::test]
    async fn a_refund_completed_in_its_answer_settles_at_once_and_an_unanswered_one_is_not_resent()
    {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v3/transactions/288200108/refund"))
            .and(body_json(json!({"amount": "1500.50",
                                  "comments": "ifinsure refund 00000000-0000-0000-0000-000000000007"})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": "success", "message": "Transaction refund initiated",
                "data": {"id": 75923, "account_id": 73362, "tx_id": 288200108,
                         "flw_ref": "URF_1577867664541_3572735", "wallet_id": 74639,
                         "amount_refunded": 1500.5, "status": "completed",
                         "destination": "payment_source", "meta": {"source": "availablebalance"},
                         "created_at": "2026-11-25T10:00:00.000Z"}
            })))
            .expect(1)
            .mount(&server)
            .await;
        let mut refund = crate::payments::test_job("refund", "flutterwave", "1500.50");
        refund.original_reference = Some("288200108".into());
        let adapter = flutterwave(&server);
        assert!(!adapter.deduplicates(&refund));
        assert_eq!(
            adapter.submit(&refund).await,
            Ok(Submission::done("75923").settled(Outcome::Succeeded {
                reference: Some("75923".into()),
                amount: Money::new(Decimal::new(150050, 2), Currency::KES).unwrap(),
            }))
        );

        // No answer: Flutterwave may have refunded; asked once, uncertain.
        let silent = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
            .expect(1)
            .mount(&silent)
            .await;
        let result = flutterwave(&silent).submit(&refund).await;
        assert!(
            matches!(result, Err(ProviderError::Uncertain(_))),
            "{result:?}"
        );
    }
}
