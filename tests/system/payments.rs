//! Payments through the sandbox provider: signed webhooks (duplicates and bad
//! signatures), reconciliation when no webhook comes, a worker killed between
//! the provider call and recording it, declines, and concurrent payments.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::sandbox::{sign, SandboxEvent, SandboxTransaction};
use projections::payment_jobs::{Outcome, PaymentJob};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use workers::payments::sandbox::{Sandbox, SandboxConfig};
use workers::payments::{PaymentProvider, ProviderError, Providers};

use crate::book::*;
use crate::common::*;

fn webhook_secret() -> Vec<u8> {
    api::config::derived_secret(&SecretString::from(JWT_SECRET), "sandbox webhook")
        .expose_secret()
        .as_bytes()
        .to_vec()
}

async fn event_count(book: &Book, invoice_id: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_type = 'Invoice' AND aggregate_id = $1",
    )
    .bind(invoice_id)
    .fetch_one(&book.app.db.pool)
    .await
    .unwrap()
}

async fn post_webhook(
    book: &Book,
    body: &[u8],
    signature: &str,
) -> (StatusCode, serde_json::Value) {
    let url = book.app.base.replace("/api/v1", "/api/v1/webhooks/sandbox");
    let response = book
        .app
        .client
        .post(url)
        .header("content-type", "application/json")
        .header("sandbox-signature", signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(json!(null)))
}

async fn sandbox_event(book: &Book, invoice_id: &str) -> SandboxEvent {
    let (reference, key, amount): (String, String, rust_decimal::Decimal) = sqlx::query_as(
        "SELECT t.reference, t.idempotency_key, t.amount FROM sandbox_transactions t
         JOIN payment_jobs j ON j.idempotency_key = t.idempotency_key WHERE j.aggregate_id = $1::uuid",
    )
    .bind(invoice_id)
    .fetch_one(&book.app.db.pool)
    .await
    .unwrap();
    SandboxEvent {
        id: format!("evt_{reference}_succeeded"),
        event_type: "charge.succeeded".into(),
        created: chrono::Utc::now().timestamp(),
        data: SandboxTransaction {
            reference,
            idempotency_key: key,
            kind: "charge".into(),
            outcome: "succeeded".into(),
            amount: amount.to_string(),
            currency: "KES".into(),
            failure_reason: None,
        },
    }
}

#[tokio::test]
async fn a_duplicate_webhook_changes_nothing_and_a_bad_signature_is_refused() {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let (_, invoice_id) = book.active_policy(&customer, "1000000.00").await;
    let before = event_count(&book, &invoice_id).await;
    let event = sandbox_event(&book, &invoice_id).await;
    let body = serde_json::to_vec(&event).unwrap();
    let now = chrono::Utc::now().timestamp();

    let (status, reply) = post_webhook(&book, &body, &sign(&webhook_secret(), now, &body)).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(event_count(&book, &invoice_id).await, before);

    for bad in [
        sign(b"not-the-secret", now, &body),
        sign(&webhook_secret(), now - 3600, &body),
        "t=1,v1=00".to_string(),
    ] {
        let (status, reply) = post_webhook(&book, &body, &bad).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(reply["code"], "unauthorized");
    }
    // A forged failure for a paid invoice, badly signed: nothing changes.
    let mut forged = event.clone();
    forged.data.outcome = "failed".into();
    let forged_body = serde_json::to_vec(&forged).unwrap();
    let (status, _) = post_webhook(&book, &forged_body, &sign(&webhook_secret(), now, &body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(event_count(&book, &invoice_id).await, before);
    assert_eq!(book.invoice(&customer, &invoice_id).await["status"], "paid");
}

fn quiet_sandbox() -> ifinsure::settings::Settings {
    ifinsure::settings::Settings {
        sandbox_webhook_delay: None,
        ..test_settings()
    }
}

async fn job_status(book: &Book, invoice_id: &str) -> String {
    sqlx::query_scalar("SELECT status FROM payment_jobs WHERE aggregate_id = $1::uuid")
        .bind(invoice_id)
        .fetch_optional(&book.app.db.pool)
        .await
        .unwrap()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_payment_whose_webhook_never_comes_is_settled_by_reconciliation() {
    let book = Book::open_with(quiet_sandbox()).await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let application = book.apply(&customer, None, "1000000.00").await;
    let id = application["id"].as_str().unwrap().to_string();
    let invoice_id = book.approve(&id).await["invoice_id"]
        .as_str()
        .unwrap()
        .to_string();
    book.pay(&customer, &invoice_id).await;
    eventually("the payment to be submitted", || async {
        (job_status(&book, &invoice_id).await == "submitted").then_some(json!(true))
    })
    .await;
    assert_eq!(book.invoice(&customer, &invoice_id).await["status"], "open");

    let settled = workers::payments::reconcile::run_once(book.workers(), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(settled, 1);
    book.invoice_becomes(&customer, &invoice_id, "paid").await;
    book.policy_becomes(&customer, &id, "active").await;
    assert_eq!(job_status(&book, &invoice_id).await, "settled");
    let again = workers::payments::reconcile::run_once(book.workers(), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(again, 0);
}

/// A provider that forwards to the sandbox and then dies before its caller
/// can record the result: the process is killed mid-payment.
struct DiesAfterCalling(Sandbox);

#[async_trait]
impl PaymentProvider for DiesAfterCalling {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn submit(
        &self,
        job: &PaymentJob,
    ) -> Result<workers::payments::Submission, ProviderError> {
        self.0.submit(job).await?;
        panic!("killed after calling the provider, before recording the result");
    }

    async fn status(&self, job: &PaymentJob) -> Result<Option<Outcome>, ProviderError> {
        self.0.status(job).await
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        self.0.test_connection().await
    }
}

#[tokio::test]
async fn a_worker_killed_after_calling_the_provider_does_not_charge_twice() {
    // The app's own payment worker looks for due jobs only when woken, so
    // a job this test makes due is taken by the test's workers alone.
    let parked = ifinsure::settings::Settings {
        payment_poll: Duration::from_secs(3600),
        ..quiet_sandbox()
    };
    let book = Book::open_with(parked).await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let application = book.apply(&customer, None, "1000000.00").await;
    let id = application["id"].as_str().unwrap().to_string();
    let invoice_id = book.approve(&id).await["invoice_id"]
        .as_str()
        .unwrap()
        .to_string();

    // A worker that dies right after the provider charged.
    let pool = book.app.db.pool.clone();
    let sandbox = |delay| {
        Sandbox::new(
            pool.clone(),
            SandboxConfig {
                webhook_url: book.app.base.replace("/api/v1", "/api/v1/webhooks/sandbox"),
                secret: webhook_secret(),
                delay,
            },
        )
    };
    let mut dying = book.workers().clone();
    dying.providers = Providers::default().with(Arc::new(DiesAfterCalling(sandbox(None))));
    // Park the app's own payment worker: jobs recorded from now on are not due
    // for an hour (as if another worker held their lease), so only the
    // workers of this test take them, when the test makes them due.
    sqlx::query("ALTER TABLE payment_jobs ALTER COLUMN next_attempt_at SET DEFAULT now() + interval '1 hour'")
        .execute(&pool)
        .await
        .unwrap();
    book.pay(&customer, &invoice_id).await;
    eventually("the payment job", || async {
        (job_status(&book, &invoice_id).await == "queued").then_some(json!(true))
    })
    .await;
    sqlx::query("UPDATE payment_jobs SET next_attempt_at = now()")
        .execute(&pool)
        .await
        .unwrap();
    let killed =
        tokio::spawn(async move { workers::payments::runner::run_once(&dying).await }).await;
    assert!(killed.is_err_and(|e| e.is_panic()), "the worker was killed");
    let charges: i64 = sqlx::query_scalar("SELECT count(*) FROM sandbox_transactions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(charges, 1, "the provider charged once before the kill");
    assert_eq!(
        job_status(&book, &invoice_id).await,
        "queued",
        "nothing was recorded"
    );

    // Restarted after its lease ran out, the worker submits again with the same key.
    sqlx::query("UPDATE payment_jobs SET next_attempt_at = now()")
        .execute(&pool)
        .await
        .unwrap();
    let mut restarted = book.workers().clone();
    restarted.providers = Providers::default().with(Arc::new(sandbox(Some(Duration::ZERO))));
    let pass = workers::payments::runner::run_once(&restarted)
        .await
        .unwrap();
    assert_eq!(pass.submitted, 1);
    book.invoice_becomes(&customer, &invoice_id, "paid").await;
    book.policy_becomes(&customer, &id, "active").await;
    let charges: i64 = sqlx::query_scalar("SELECT count(*) FROM sandbox_transactions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(charges, 1, "no second charge");
    let invoice = book.invoice(&customer, &invoice_id).await;
    assert_eq!(invoice["amount_paid"], kes("35000.00"));
    assert_eq!(invoice["credit"], kes("0.00"));
}

#[tokio::test]
async fn an_amount_ending_in_13_cents_is_declined_and_the_invoice_stays_open() {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    // 3.5% of 1,000,003.71 is 35,000.13: the sandbox declines it.
    let application = book.apply(&customer, None, "1000003.71").await;
    assert_eq!(application["premium"], kes("35000.13"));
    let id = application["id"].as_str().unwrap().to_string();
    let invoice_id = book.approve(&id).await["invoice_id"]
        .as_str()
        .unwrap()
        .to_string();
    let payment = book.pay(&customer, &invoice_id).await;
    let payment_id = payment["payment_id"].as_str().unwrap().to_string();
    let failed = eventually("the payment to fail", || async {
        let reply = book
            .app
            .get(&format!("/billing/payments/{payment_id}"), Some(&customer))
            .await;
        (reply.body["status"] == "failed").then_some(reply.body)
    })
    .await;
    assert!(
        failed["failure_reason"].as_str().unwrap().contains(".13"),
        "{failed}"
    );
    let invoice = book.invoice(&customer, &invoice_id).await;
    assert_eq!(invoice["status"], "open");
    assert_eq!(invoice["balance"], kes("35000.13"));
    assert_eq!(book.policy(&customer, &id).await["status"], "approved");
}

#[tokio::test]
async fn fifty_concurrent_payments_never_push_amount_paid_past_the_amount() {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let application = book.apply(&customer, None, "1000000.00").await;
    let id = application["id"].as_str().unwrap().to_string();
    let invoice_id = book.approve(&id).await["invoice_id"]
        .as_str()
        .unwrap()
        .to_string();
    let book = Arc::new(book);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (book, customer, invoice_id) = (book.clone(), customer.clone(), invoice_id.clone());
        tasks.push(tokio::spawn(async move {
            book.pay_with(&customer, &invoice_id, &json!({}))
                .await
                .status
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        let status = task.await.unwrap();
        assert!(
            status == StatusCode::ACCEPTED || status == StatusCode::CONFLICT,
            "{status}"
        );
        accepted += usize::from(status == StatusCode::ACCEPTED);
    }
    assert!(accepted >= 1);
    let settled = eventually("every accepted payment to settle", || async {
        let invoice = book.invoice(&customer, &invoice_id).await;
        let payments = invoice["payments"].as_array().unwrap();
        let done =
            payments.len() == accepted && payments.iter().all(|p| p["status"] == "succeeded");
        done.then_some(invoice)
    })
    .await;
    let received: rust_decimal::Decimal = settled["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["amount_received"]["amount"]
                .as_str()
                .unwrap()
                .parse::<rust_decimal::Decimal>()
                .unwrap()
        })
        .sum();
    let paid: rust_decimal::Decimal = settled["amount_paid"]["amount"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let credit: rust_decimal::Decimal = settled["credit"]["amount"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(settled["amount_paid"], kes("35000.00"));
    assert_eq!(settled["status"], "paid");
    assert_eq!(
        paid + credit,
        received,
        "every shilling received is applied or credited"
    );
    let policy = book.policy_becomes(&customer, &id, "active").await;
    assert_eq!(policy["amount_paid"], kes("35000.00"));
}
