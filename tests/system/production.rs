//! `IFINSURE_ENV=production`: the built-in sandbox, which settles payments
//! without moving money, exists nowhere — not offered, not configurable,
//! no webhook — and no message is written to disk for want of a provider.
//! In every mode the sandbox's webhook settles only the sandbox's jobs.

use domain::sandbox::{sign, SandboxEvent, SandboxTransaction};
use domain::stripe_signature;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::book::*;
use crate::common::*;

const WEBHOOK_SECRET: &str = "whsec_production_test_secret_01";

fn production() -> ifinsure::settings::Settings {
    use base64::Engine;
    ifinsure::settings::Settings {
        production: true,
        master_key: Some(SecretString::from(
            base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
        )),
        default_payment_provider: None,
        chain_key: Some(secrecy::SecretString::from(
            "chain-key-for-production-tests-0123456789",
        )),
        // The fake Stripe listens on loopback, which production refuses
        // unless the operator allows it.
        integration_allowed_hosts: "127.0.0.1".into(),
        ..test_settings()
    }
}

/// A Stripe that opens every Checkout Session (the payer still has to pay).
async fn stripe() -> MockServer {
    let stripe = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cs_live_1", "object": "checkout.session", "status": "open",
            "payment_status": "unpaid", "payment_intent": null,
            "url": "https://checkout.stripe.com/c/pay/cs_live_1"
        })))
        .mount(&stripe)
        .await;
    stripe
}

async fn configure_stripe(book: &Book, stripe: &MockServer, environment: &str) {
    book.configure(
        &json!({"provider": "stripe", "name": "Stripe", "environment": environment,
                           "is_primary": true,
                           "credentials": {"secret_key": "sk_live_productiontest4242",
                                           "webhook_secret": WEBHOOK_SECRET},
                           "settings": {"base_url": stripe.uri()}}),
    )
    .await;
}

/// A sandbox event saying the job of `invoice_id` succeeded, validly signed
/// with this deployment's sandbox secret.
async fn forged_sandbox_success(book: &Book, invoice_id: &str) -> (Vec<u8>, String) {
    let (key, amount): (String, rust_decimal::Decimal) = sqlx::query_as(
        "SELECT idempotency_key, amount FROM payment_jobs WHERE aggregate_id = $1::uuid",
    )
    .bind(invoice_id)
    .fetch_one(&book.app.db.pool)
    .await
    .unwrap();
    let event = SandboxEvent {
        id: format!("evt_forged_{key}"),
        event_type: "charge.succeeded".into(),
        created: chrono::Utc::now().timestamp(),
        data: SandboxTransaction {
            reference: "sbx_forged".into(),
            idempotency_key: key,
            kind: "charge".into(),
            outcome: "succeeded".into(),
            amount: amount.to_string(),
            currency: "KES".into(),
            failure_reason: None,
        },
    };
    let body = serde_json::to_vec(&event).unwrap();
    let secret = api::config::derived_secret(&SecretString::from(JWT_SECRET), "sandbox webhook");
    let signature = sign(
        secret.expose_secret().as_bytes(),
        chrono::Utc::now().timestamp(),
        &body,
    );
    (body, signature)
}

async fn post_raw(book: &Book, path: &str, header: (&str, &str), body: Vec<u8>) -> StatusCode {
    book.app
        .client
        .post(format!("{}{path}", book.app.base))
        .header("content-type", "application/json")
        .header(header.0, header.1)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

fn slugs(items: &Value) -> Vec<String> {
    items["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn in_production_the_sandbox_is_no_provider_anywhere() {
    let book = Book::open_with(production()).await;
    let admin = book.admin.clone();

    // Not in the catalogue, and not configurable.
    let providers = book.app.get("/integrations/providers", Some(&admin)).await;
    assert!(!slugs(&providers.body).contains(&"sandbox".to_string()));
    let categories = book.app.get("/integrations/categories", Some(&admin)).await;
    assert!(!categories.body.to_string().contains("\"sandbox\""));
    let configured = book
        .app
        .post(
            "/integrations/configs",
            Some(&admin),
            &json!({"provider": "sandbox", "name": "Free cover", "environment": "production"}),
        )
        .await;
    assert_eq!(configured.status, StatusCode::UNPROCESSABLE_ENTITY);

    // With nothing configured, nothing can be paid — not through the sandbox.
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let (policy_id, invoice_id) = book.approved_policy(&customer, "1000000.00").await;
    let unconfigured = book.pay_with(&customer, &invoice_id, &json!({})).await;
    assert_eq!(unconfigured.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unconfigured
        .body
        .to_string()
        .contains("no payment provider here takes KES yet"));

    // With live Stripe as primary, the sandbox is still refused.
    let stripe = stripe().await;
    configure_stripe(&book, &stripe, "production").await;
    let free = book
        .pay_with(
            &customer,
            &invoice_id,
            &json!({"provider": "sandbox", "phone_number": "0712345678"}),
        )
        .await;
    assert_eq!(
        free.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        free.body
    );
    assert!(
        free.body.to_string().contains("available for KES: stripe"),
        "{}",
        free.body
    );
    let paying = book.pay_with(&customer, &invoice_id, &json!({})).await;
    assert_eq!(paying.status, StatusCode::ACCEPTED, "{}", paying.body);
    assert_eq!(paying.body["provider"], "stripe");
    book.submitted_charge(&invoice_id).await;

    // No sandbox webhook: a validly signed sandbox "success" is 404.
    let (body, signature) = forged_sandbox_success(&book, &invoice_id).await;
    let status = post_raw(
        &book,
        "/webhooks/sandbox",
        ("sandbox-signature", &signature),
        body,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(book.invoice(&customer, &invoice_id).await["status"], "open");

    // Stripe's own word puts the policy in force; a payout cannot go
    // through the sandbox either.
    let event = json!({
        "id": "evt_live_1", "object": "event", "type": "checkout.session.completed",
        "data": {"object": {"id": "cs_live_1", "object": "checkout.session", "status": "complete",
                             "payment_status": "paid", "payment_intent": "pi_live_1",
                             "amount_total": 3500000, "currency": "kes"}}
    });
    let bytes = serde_json::to_vec(&event).unwrap();
    let signed = stripe_signature::sign(
        WEBHOOK_SECRET.as_bytes(),
        chrono::Utc::now().timestamp(),
        &bytes,
    );
    let status = post_raw(
        &book,
        "/webhooks/stripe",
        ("stripe-signature", &signed),
        bytes,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    book.policy_becomes(&customer, &policy_id, "active").await;
    let filed = book
        .file_claim(
            &customer,
            &policy_id,
            TODAY,
            "40000.00",
            "A cracked windscreen",
        )
        .await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    let claim_id = filed.body["id"].as_str().unwrap();
    let approved = book.approve_claim(claim_id, "40000.00").await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    let payout = book
        .app
        .post(
            &format!("/claims/{claim_id}/pay"),
            Some(&book.staff),
            &json!({"provider": "sandbox"}),
        )
        .await;
    assert_eq!(
        payout.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        payout.body
    );
}

#[tokio::test]
async fn in_production_messages_without_a_provider_wait_and_nothing_is_written_to_disk() {
    let book = Book::open_with(production()).await;
    book.user("c@example.com", domain::Role::Customer).await;

    // The welcome emails are claimed, found carrier-less and put back untried.
    eventually("the welcome emails to wait for a provider", || async {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM notifications
             WHERE template = 'welcome' AND status = 'queued' AND attempts = 0
               AND last_error LIKE 'no email provider is enabled%'",
        )
        .fetch_one(&book.app.db.pool)
        .await
        .unwrap();
        (waiting >= 3).then_some(())
    })
    .await;
    let outbox = book.app.db.outbox_dir();
    let written = std::fs::read_dir(&outbox).map_or(0, |files| files.count());
    assert_eq!(written, 0, "nothing in {}", outbox.display());

    let health = book.app.get("/health", None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["status"], "degraded");
    let warnings = health.body["warnings"].to_string();
    assert!(
        warnings.contains("no email provider is enabled"),
        "{warnings}"
    );
    assert!(
        warnings.contains("no sms provider is enabled"),
        "{warnings}"
    );
}

#[tokio::test]
async fn the_sandbox_webhook_settles_only_jobs_sent_through_the_sandbox() {
    let book = Book::open().await;
    let stripe = stripe().await;
    configure_stripe(&book, &stripe, "sandbox").await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let (_, invoice_id) = book.approved_policy(&customer, "1000000.00").await;
    let paying = book
        .pay_with(&customer, &invoice_id, &json!({"provider": "stripe"}))
        .await;
    assert_eq!(paying.status, StatusCode::ACCEPTED, "{}", paying.body);
    book.submitted_charge(&invoice_id).await;

    let (body, signature) = forged_sandbox_success(&book, &invoice_id).await;
    let status = post_raw(
        &book,
        "/webhooks/sandbox",
        ("sandbox-signature", &signature),
        body,
    )
    .await;

    assert_eq!(status, StatusCode::OK, "acknowledged, and ignored");
    assert_eq!(book.invoice(&customer, &invoice_id).await["status"], "open");
    let payment = book
        .app
        .get(
            &format!(
                "/billing/payments/{}",
                paying.body["payment_id"].as_str().unwrap()
            ),
            Some(&customer),
        )
        .await;
    assert_eq!(payment.body["status"], "pending");
    let outcome: String = sqlx::query_scalar(
        "SELECT outcome FROM webhook_deliveries WHERE provider = 'sandbox' ORDER BY received_at DESC LIMIT 1",
    )
    .fetch_one(&book.app.db.pool)
    .await
    .unwrap();
    assert_eq!(outcome, "ignored: not a sandbox transaction");
}
