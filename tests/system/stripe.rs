//! Quote to cash through Stripe, configured in the Integrations Center as the
//! primary provider and faked at its HTTP boundary: the adapter's Checkout
//! Session the payer is sent to, a declined card that leaves the payment
//! pending, Stripe's signed `checkout.session.completed` settling the
//! invoice and activating the policy, then a cancellation refunded through
//! the same configuration and confirmed by Stripe's refund webhook.

use domain::stripe_signature::sign;
use reqwest::StatusCode;
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::book::*;

const WEBHOOK_SECRET: &str = "whsec_test_journey_secret_0001";

async fn stripe_webhook(book: &Book, body: &serde_json::Value, secret: &str) -> StatusCode {
    let bytes = serde_json::to_vec(body).unwrap();
    let signature = sign(secret.as_bytes(), chrono::Utc::now().timestamp(), &bytes);
    book.app
        .client
        .post(format!("{}/webhooks/stripe", book.app.base))
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(bytes)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_premium_paid_through_a_stripe_checkout_session_activates_the_policy() {
    let stripe = MockServer::start().await;
    let session_url = "https://checkout.stripe.com/c/pay/cs_journey_1";
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(header("authorization", "Bearer sk_test_journey_4242"))
        .and(body_string_contains("mode=payment"))
        .and(body_string_contains(
            "line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=3500000",
        ))
        .and(body_string_contains(
            "line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=kes",
        ))
        .and(body_string_contains("success_url="))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cs_journey_1", "object": "checkout.session", "mode": "payment",
            "status": "open", "payment_status": "unpaid", "payment_intent": null,
            "amount_total": 3500000, "currency": "kes", "url": session_url
        })))
        .expect(1)
        .mount(&stripe)
        .await;
    let book = Book::open().await;
    book.configure(&json!({"provider": "stripe", "name": "Stripe (fake)", "environment": "sandbox", "is_primary": true,
                           "credentials": {"secret_key": "sk_test_journey_4242", "webhook_secret": WEBHOOK_SECRET},
                           "settings": {"base_url": stripe.uri()}}))
        .await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let (id, invoice_id) = book.approved_policy(&customer, "1000000.00").await;
    let unknown = book
        .pay_with(&customer, &invoice_id, &json!({"provider": "paystack"}))
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let paying = book
        .pay_with(&customer, &invoice_id, &json!({"provider": "stripe"}))
        .await;
    assert_eq!(paying.status, StatusCode::ACCEPTED, "{}", paying.body);
    assert_eq!(book.submitted_charge(&invoice_id).await, "cs_journey_1");
    let payment_id = paying.body["payment_id"].as_str().unwrap().to_string();
    let redirect = json!({"type": "redirect", "url": session_url});
    let pending = book.payment(&customer, &payment_id).await;
    assert_eq!(pending["next_action"], redirect, "{pending}");
    let job_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM payment_jobs WHERE provider_reference = 'cs_journey_1'")
            .fetch_one(&book.app.db.pool)
            .await
            .unwrap();

    // A declined card on Stripe's page: the payer may try another.
    let declined = json!({
        "id": "evt_journey_0", "object": "event", "type": "payment_intent.payment_failed",
        "data": {"object": {"id": "pi_journey_1", "object": "payment_intent",
                             "status": "requires_payment_method", "currency": "kes",
                             "last_payment_error": {"code": "card_declined", "message": "Your card was declined."},
                             "metadata": {"job_id": job_id.to_string()}}}
    });
    assert_eq!(
        stripe_webhook(&book, &declined, WEBHOOK_SECRET).await,
        StatusCode::OK
    );

    let completed = json!({
        "id": "evt_journey_1", "object": "event", "type": "checkout.session.completed",
        "data": {"object": {"id": "cs_journey_1", "object": "checkout.session", "status": "complete",
                             "payment_status": "paid", "payment_intent": "pi_journey_1",
                             "amount_total": 3500000, "currency": "kes",
                             "metadata": {"job_id": job_id.to_string()}}}
    });
    assert_eq!(
        stripe_webhook(&book, &completed, "whsec_wrong_secret_000000").await,
        StatusCode::UNAUTHORIZED
    );
    let still = book.payment(&customer, &payment_id).await;
    assert_eq!(
        still["status"], "pending",
        "a declined card is not final: {still}"
    );
    assert_eq!(book.invoice(&customer, &invoice_id).await["status"], "open");
    assert_eq!(
        stripe_webhook(&book, &completed, WEBHOOK_SECRET).await,
        StatusCode::OK
    );
    assert_eq!(
        stripe_webhook(&book, &completed, WEBHOOK_SECRET).await,
        StatusCode::OK,
        "a duplicate is acknowledged"
    );
    book.invoice_becomes(&customer, &invoice_id, "paid").await;
    let policy = book.policy_becomes(&customer, &id, "active").await;
    assert_eq!(policy["amount_paid"], kes("35000.00"));
    // The session's PaymentIntent succeeding too (a second event of the
    // same payment) moves nothing more.
    let succeeded = json!({
        "id": "evt_journey_1b", "object": "event", "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_journey_1", "object": "payment_intent", "status": "succeeded",
                             "amount_received": 3500000, "currency": "kes",
                             "metadata": {"job_id": job_id.to_string()}}}
    });
    assert_eq!(
        stripe_webhook(&book, &succeeded, WEBHOOK_SECRET).await,
        StatusCode::OK
    );
    let payment = book.payment(&customer, &payment_id).await;
    assert_eq!(payment["status"], "succeeded", "{payment}");
    assert_eq!(payment["provider"], "stripe");
    assert_eq!(payment["provider_reference"], "pi_journey_1");
    assert_eq!(payment["next_action"], serde_json::Value::Null);
    let invoice = book.invoice(&customer, &invoice_id).await;
    assert_eq!(invoice["amount_paid"], kes("35000.00"), "{invoice}");

    // Cancelled: the unearned premium goes back through Stripe.
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .and(header("authorization", "Bearer sk_test_journey_4242"))
        .and(body_string_contains("payment_intent=pi_journey_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "re_journey_1", "object": "refund", "status": "pending"
        })))
        .expect(1)
        .mount(&stripe)
        .await;
    let cancelled = book
        .cancel(&customer, &id, "sold the car", "2027-05-24")
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    let refund = cancelled.body["refund"]["amount"]
        .as_str()
        .unwrap()
        .to_string();
    let minor: i64 = refund.replace('.', "").parse().unwrap();
    eventually("the refund to be sent to Stripe", || async {
        let reference: Option<String> = sqlx::query_scalar(
            "SELECT provider_reference FROM payment_jobs WHERE kind = 'refund' AND status = 'submitted'",
        )
        .fetch_optional(&book.app.db.pool)
        .await
        .unwrap()
        .flatten();
        reference.filter(|r| r == "re_journey_1").map(|r| json!(r))
    })
    .await;
    let refunded = json!({
        "id": "evt_journey_2", "object": "event", "type": "refund.updated",
        "data": {"object": {"id": "re_journey_1", "object": "refund", "status": "succeeded",
                             "amount": minor, "currency": "kes", "payment_intent": "pi_journey_1"}}
    });
    assert_eq!(
        stripe_webhook(&book, &refunded, WEBHOOK_SECRET).await,
        StatusCode::OK
    );
    let invoice = eventually("the refund to be recorded", || async {
        let invoice = book.invoice(&customer, &invoice_id).await;
        (invoice["refunds"][0]["status"] == "succeeded").then_some(invoice)
    })
    .await;
    assert_eq!(invoice["refunds"][0]["amount"], kes(&refund));
    assert_eq!(invoice["refunds"][0]["provider_reference"], "re_journey_1");
}
