//! Paystack: premiums by hosted checkout (`/transaction/initialize`, the
//! customer pays on Paystack's page), confirmed by the signed
//! `charge.success` webhook or by `/transaction/verify`; refunds by
//! `/refund` (no idempotency key: an unanswered refund is looked for in the
//! refunds list by the note naming our job, and sent again only if that
//! list shows it was never made). Amounts in minor units, JSON bodies, the secret key as a
//! bearer token. Paystack has no idempotency header: our job's key is the
//! transaction `reference`, unique at Paystack, so a retried initialize is
//! refused as a duplicate reference and treated as the first one.

use async_trait::async_trait;
use projections::payment_jobs::{paystack_outcome, JobKind, NextAction, Outcome, PaymentJob};
use reqwest::Method;
use serde_json::json;

use super::units::minor_units;
use super::{return_url, Lookup, PaymentProvider, ProviderError, Submission};
use crate::integrations::{Answer, Auth, Call, Http, ProviderConfig};

/// The Paystack adapter.
pub struct Paystack {
    http: Http,
    secret_key: String,
    /// Where checkout payers return (`settings.callback_url`).
    callback_url: Option<String>,
    public_base_url: String,
}

impl Paystack {
    /// The adapter of `config`: payers return from the checkout to
    /// `settings.callback_url`, or else to the invoice's page under
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
            callback_url: config.value("callback_url").map(str::to_string),
            public_base_url: public_base_url.to_string(),
        })
    }

    async fn send(&self, call: Call) -> Result<Answer, ProviderError> {
        self.http
            .send(&call.auth(Auth::Bearer(self.secret_key.clone())))
            .await
    }
}

/// Paystack's `message` for a refusal.
fn refusal(answer: &Answer) -> String {
    answer.body["message"]
        .as_str()
        .map_or_else(|| format!("HTTP {}", answer.status), str::to_string)
}

/// The note a refund of ours carries (`merchant_note`), naming its job.
fn refund_note(job: &PaymentJob) -> String {
    format!("ifinsure refund {}", job.id)
}

/// Pages of refunds read when looking for an unanswered one.
const LISTED_PAGES: u32 = 5;

/// A Paystack reference from our idempotency key (letters, digits, `-`,
/// `.` and `=` only).
pub fn reference(job: &PaymentJob) -> String {
    job.idempotency_key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '='))
        .collect()
}

/// How long an initialised, unpaid checkout (`abandoned`) stays a pending
/// payment; after it, the payment fails so the customer may pay anew.
const CHECKOUT_LIFETIME: chrono::Duration = chrono::Duration::hours(24);

/// Whether `job`'s checkout has been open longer than it stays payable.
fn abandoned_for_good(job: &PaymentJob) -> bool {
    job.submitted_at
        .is_some_and(|at| chrono::Utc::now() - at > CHECKOUT_LIFETIME)
}

#[async_trait]
impl PaymentProvider for Paystack {
    fn name(&self) -> &'static str {
        "paystack"
    }

    #[tracing::instrument(skip_all, fields(job = %job.id, kind = %job.kind))]
    async fn submit(&self, job: &PaymentJob) -> Result<Submission, ProviderError> {
        match job.kind() {
            JobKind::Charge => {
                let reference = reference(job);
                let email = job.payer_contact.clone().unwrap_or_default();
                let call = Call::new(
                    "transaction.initialize",
                    Method::POST,
                    "/transaction/initialize",
                )
                .json(json!({
                    "email": email,
                    "amount": minor_units(job)?,
                    "currency": job.currency,
                    "reference": reference,
                    "callback_url": return_url(self.callback_url.as_deref(), &self.public_base_url, job),
                    "metadata": {"payment_id": job.payment_id, "invoice_id": job.aggregate_id},
                }))
                .reference("charge", job.id);
                let answer = self.send(call).await?;
                if answer.status.is_success() || refusal(&answer).contains("Duplicate") {
                    // The payer pays at Paystack's checkout (a retry
                    // answered "Duplicate" names no page: none is shown).
                    let submission = Submission::done(reference);
                    return Ok(match answer.body["data"]["authorization_url"].as_str() {
                        Some(url) => submission.then(NextAction::Redirect { url: url.into() }),
                        None => submission,
                    });
                }
                Err(ProviderError::Rejected(refusal(&answer)))
            }
            JobKind::Refund => {
                let transaction = job.original_reference.clone().ok_or_else(|| {
                    ProviderError::Rejected("the payment has no Paystack reference".into())
                })?;
                // Paystack takes no idempotency key for refunds: a repeat is
                // a second refund. Our note names the job, so an unanswered
                // request can be found in the refunds list.
                let call = Call::new("refund.create", Method::POST, "/refund")
                    .json(
                        json!({"transaction": transaction, "amount": minor_units(job)?,
                                 "merchant_note": refund_note(job)}),
                    )
                    .reference("refund", job.id)
                    .not_idempotent();
                let answer = self.send(call).await?;
                if !answer.status.is_success() {
                    return Err(ProviderError::Rejected(refusal(&answer)));
                }
                answer.body["data"]["id"]
                    .as_i64()
                    .map(|id| Submission::done(id.to_string()))
                    .ok_or_else(|| {
                        ProviderError::Uncertain("Paystack queued a refund without its id".into())
                    })
            }
            JobKind::Payout => Err(ProviderError::Rejected(
                "claim payouts do not go through Paystack here; use M-Pesa".into(),
            )),
        }
    }

    async fn status(&self, job: &PaymentJob) -> Result<Option<Outcome>, ProviderError> {
        let Some(reference) = &job.provider_reference else {
            return Ok(None);
        };
        let (action, path) = match job.kind() {
            JobKind::Refund => ("refund.fetch", format!("/refund/{reference}")),
            _ => (
                "transaction.verify",
                format!("/transaction/verify/{reference}"),
            ),
        };
        let answer = self
            .send(Call::new(action, Method::GET, path).reference(job.kind().as_str(), job.id))
            .await?;
        if !answer.status.is_success() {
            return Err(ProviderError::Rejected(refusal(&answer)));
        }
        let data = &answer.body["data"];
        if job.kind() == JobKind::Refund {
            let amount = job
                .money()
                .map_err(|e| ProviderError::Rejected(e.to_string()))?;
            return Ok(match data["status"].as_str() {
                Some("processed") => Some(Outcome::Succeeded {
                    reference: Some(reference.clone()),
                    amount,
                }),
                Some("failed") => Some(Outcome::Failed {
                    reference: Some(reference.clone()),
                    reason: "the refund failed at Paystack".into(),
                }),
                _ => None,
            });
        }
        if data["status"] == "abandoned" && abandoned_for_good(job) {
            return Ok(Some(Outcome::Failed {
                reference: Some(reference.clone()),
                reason: "the payer left Paystack's checkout unpaid".into(),
            }));
        }
        Ok(paystack_outcome(data))
    }

    fn deduplicates(&self, job: &PaymentJob) -> bool {
        job.kind() != JobKind::Refund
    }

    /// An unanswered refund is looked for in Paystack's refunds since just
    /// before it was sent: one of the payment's transaction whose note names
    /// the job was made; none in a complete listing was not.
    async fn look_up(&self, job: &PaymentJob) -> Result<Lookup, ProviderError> {
        let (JobKind::Refund, Some(transaction)) = (job.kind(), &job.original_reference) else {
            return Ok(Lookup::Unknown);
        };
        let since =
            job.submitted_at.unwrap_or_else(chrono::Utc::now) - chrono::Duration::minutes(5);
        let note = refund_note(job);
        for page in 1..=LISTED_PAGES {
            let path = format!(
                "/refund?from={}&perPage=100&page={page}",
                since.format("%Y-%m-%dT%H:%M:%SZ")
            );
            let call = Call::new("refund.list", Method::GET, path).reference("refund", job.id);
            let answer = self.send(call).await?;
            if !answer.status.is_success() {
                return Err(ProviderError::Unavailable(refusal(&answer)));
            }
            let found = answer.body["data"].as_array().and_then(|refunds| {
                refunds.iter().find(|r| {
                    r["transaction_reference"].as_str() == Some(transaction)
                        && r["merchant_note"].as_str() == Some(note.as_str())
                })
            });
            if let Some(id) = found.and_then(|r| r["id"].as_i64()) {
                return Ok(Lookup::Made(Submission::done(id.to_string())));
            }
            let pages = answer.body["meta"]["pageCount"].as_i64().unwrap_or(1);
            if i64::from(page) >= pages {
                return Ok(Lookup::NotMade);
            }
        }
        Ok(Lookup::Unknown)
    }

    fn can_serve(&self, job: &PaymentJob) -> bool {
        match job.kind() {
            JobKind::Charge => job
                .payer_contact
                .as_deref()
                .is_some_and(|c| c.contains('@')),
            JobKind::Refund => job.original_reference.is_some(),
            JobKind::Payout => false,
        }
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let answer = self
            .send(Call::new(
                "transaction.list",
                Method::GET,
                "/transaction?perPage=1",
            ))
            .await?;
        if !answer.status.is_success() {
            return Err(ProviderError::Rejected(refusal(&answer)));
        }
        Ok("Paystack accepted the secret key".into())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use rust_decimal::Decimal;
    use wiremock::matchers::{body_json, header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::integrations::redact::Secrets;
    use crate::integrations::Memory;
    use domain::{Currency, Money};

    fn paystack(server: &MockServer) -> Paystack {
        let http = Http::new(
            "paystack",
            None,
            &server.uri(),
            Secrets::new(["sk_test_paystack_1"]),
            Arc::new(Memory::default()),
        )
        .with_timing(Duration::from_secs(2), Duration::from_millis(5));
        Paystack {
            http,
            secret_key: "sk_test_paystack_1".into(),
            callback_url: Some("https://broker.example/paid".into()),
            public_base_url: "https://ifinsure.example".into(),
        }
    }

    fn job(kind: &str) -> PaymentJob {
        let mut job = crate::payments::test_job(kind, "paystack", "500.00");
        job.payer_contact = Some("payer@example.com".into());
        job.original_reference = Some("charge-00000000-0000-0000-0000-000000000007".into());
        job.provider_reference = Some("charge-00000000-0000-0000-0000-000000000007".into());
        job
    }

    #[tokio::test]
    async fn a_premium_initializes_a_transaction_in_minor_units_under_our_reference() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/transaction/initialize"))
            .and(header("authorization", "Bearer sk_test_paystack_1"))
            .and(body_json(json!({
                "email": "payer@example.com", "amount": 50000, "currency": "KES",
                "reference": "charge-00000000-0000-0000-0000-000000000007",
                "callback_url": "https://broker.example/paid",
                "metadata": {"payment_id": "00000000-0000-0000-0000-000000000007",
                             "invoice_id": "00000000-0000-0000-0000-000000000008"}
            })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": true, "message": "Authorization URL created",
                "data": {"authorization_url": "https://checkout.paystack.com/0peioxfhpn",
                         "access_code": "0peioxfhpn", "reference": "charge-00000000-0000-0000-0000-000000000007"}
            })))
            .expect(1)
            .mount(&server)
            .await;
        assert_eq!(
            paystack(&server).submit(&job("charge")).await,
            Ok(
                Submission::done("charge-00000000-0000-0000-0000-000000000007").then(
                    NextAction::Redirect {
                        url: "https://checkout.paystack.com/0peioxfhpn".into()
                    }
                )
            )
        );
    }

    #[tokio::test]
    async fn verify_reads_the_outcome_and_a_refund_names_the_transaction() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/transaction/verify/charge-00000000-0000-0000-0000-000000000007"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": true, "message": "Verification successful",
                "data": {"id": 4099260516i64, "status": "success", "reference": "charge-00000000-0000-0000-0000-000000000007",
                         "amount": 50000, "currency": "KES", "gateway_response": "Approved"}
            })))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/refund"))
            .and(body_json(json!({"transaction": "charge-00000000-0000-0000-0000-000000000007", "amount": 50000,
                                  "merchant_note": "ifinsure refund 00000000-0000-0000-0000-000000000007"})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": true, "message": "Refund has been queued for processing",
                "data": {"id": 3018284, "status": "pending", "amount": 50000, "currency": "KES"}
            })))
            .expect(1)
            .mount(&server)
            .await;
        let paystack = paystack(&server);
        assert_eq!(
            paystack.status(&job("charge")).await,
            Ok(Some(Outcome::Succeeded {
                reference: Some("charge-00000000-0000-0000-0000-000000000007".into()),
                amount: Money::new(Decimal::new(50000, 2), Currency::KES).unwrap(),
            }))
        );
        assert_eq!(paystack.submit(&job("refund")).await, Ok("3018284".into()));
        let mut no_email = job("charge");
        no_email.payer_contact = Some("+254712345678".into());
        assert!(!paystack.can_serve(&no_email));
    }

    #[tokio::test]
    async fn an_abandoned_checkout_is_pending_until_it_is_a_day_old() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/transaction/verify/charge-00000000-0000-0000-0000-000000000007"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": true, "message": "Verification successful",
                "data": {"id": 4099260516i64, "status": "abandoned",
                         "reference": "charge-00000000-0000-0000-0000-000000000007",
                         "amount": 50000, "currency": "KES", "gateway_response": "The transaction was not completed"}
            })))
            .expect(2)
            .mount(&server)
            .await;
        let paystack = paystack(&server);
        let mut open = job("charge");
        open.submitted_at = Some(chrono::Utc::now() - chrono::Duration::minutes(5));
        assert_eq!(paystack.status(&open).await, Ok(None), "still payable");
        let mut old = job("charge");
        old.submitted_at = Some(chrono::Utc::now() - chrono::Duration::hours(25));
        assert!(matches!(
            paystack.status(&old).await,
            Ok(Some(Outcome::Failed { reason, .. })) if reason.contains("unpaid")
        ));
    }

    #[tokio::test]
    async fn an_unanswered_refund_is_found_by_its_note_before_anything_is_sent_again() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/refund"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
            .expect(1)
            .mount(&server)
            .await;
        let adapter = paystack(&server);
        let mut refund = job("refund");
        assert!(!adapter.deduplicates(&refund));
        let result = adapter.submit(&refund).await;
        assert!(
            matches!(result, Err(ProviderError::Uncertain(_))),
            "{result:?}"
        );

        // Paystack's list (PaystackOSS/openapi RefundListResponse): another
        // refund of the same transaction, then ours, named by its note.
        refund.submitted_at = Some("2026-12-07T10:00:00Z".parse().unwrap());
        let listed = |items: serde_json::Value, pages: i64| {
            ResponseTemplate::new(200).set_body_json(json!({
                "status": true, "message": "Refunds retrieved", "data": items,
                "meta": {"total": 2, "skipped": 0, "perPage": "100", "page": 1,
                         "pageCount": pages, "failedRefundCount": 0}
            }))
        };
        let item = |id: i64, note: &str| {
            json!({
                "integration": 1, "transaction": 4099260516i64, "dispute": null, "settlement": null,
                "id": id, "domain": "test", "currency": "KES", "amount": 50000, "status": "pending",
                "refunded_at": null, "refunded_by": "ops@example.com", "customer_note": "",
                "merchant_note": note, "deducted_amount": 0, "fully_deducted": 0,
                "createdAt": "2026-12-07T10:00:01.000Z", "bank_reference": null,
                "transaction_reference": "charge-00000000-0000-0000-0000-000000000007",
                "reason": "", "refund_type": "full", "transaction_amount": 50000,
                "initiated_by": "api", "refund_channel": "card", "session_id": null,
                "collect_account_number": false
            })
        };
        let found = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/refund"))
            .and(query_param("from", "2026-12-07T09:55:00Z"))
            .respond_with(listed(
                json!([
                    item(3018283, "a refund made by hand"),
                    item(
                        3018284,
                        "ifinsure refund 00000000-0000-0000-0000-000000000007"
                    )
                ]),
                1,
            ))
            .expect(1)
            .mount(&found)
            .await;
        assert_eq!(
            paystack(&found).look_up(&refund).await,
            Ok(Lookup::Made(Submission::done("3018284")))
        );
        // A complete listing without it: never made, so it may be sent again.
        let absent = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/refund"))
            .respond_with(listed(json!([item(3018283, "a refund made by hand")]), 1))
            .expect(1)
            .mount(&absent)
            .await;
        assert_eq!(
            paystack(&absent).look_up(&refund).await,
            Ok(Lookup::NotMade)
        );
    }
}
