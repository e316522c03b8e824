//! A premium paid through Paystack's hosted checkout, Paystack faked at its
//! HTTP boundary: `x-paystack-signature` (HMAC-SHA512 of the raw body under
//! the secret key) is required, and a tampered body or another key is 401.

use domain::signatures::paystack_signature;
use reqwest::StatusCode;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::book::*;

const SECRET_KEY: &str = "sk_test_paystack_journey_01";

async fn webhook(book: &Book, body: &[u8], key: &str) -> StatusCode {
    book.app
        .client
        .post(format!("{}/webhooks/paystack", book.app.base))
        .header("content-type", "application/json")
        .header(
            "x-paystack-signature",
            paystack_signature(key.as_bytes(), body),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_signed_charge_success_pays_the_invoice_and_a_bad_signature_changes_nothing() {
    let paystack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/transaction/initialize"))
        .and(header("authorization", format!("Bearer {SECRET_KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": true, "message": "Authorization URL created",
            "data": {"authorization_url": "https://checkout.paystack.com/x", "access_code": "x", "reference": "r"}
        })))
        .expect(1)
        .mount(&paystack)
        .await;
    let book = Book::open().await;
    book.configure(
        &json!({"provider": "paystack", "name": "Paystack", "environment": "sandbox",
                           "credentials": {"secret_key": SECRET_KEY},
                           "settings": {"base_url": paystack.uri()}}),
    )
    .await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let (id, invoice_id) = book.approved_policy(&customer, "1000000.00").await;
    let paying = book
        .pay_with(
            &customer,
            &invoice_id,
            &json!({"provider": "paystack", "email": "c@example.com"}),
        )
        .await;
    assert_eq!(paying.status, StatusCode::ACCEPTED, "{}", paying.body);
    let reference = book.submitted_charge(&invoice_id).await;
    // The payer is sent to Paystack's checkout to pay.
    let payment_id = paying.body["payment_id"].as_str().unwrap();
    let payment = book
        .app
        .get(&format!("/billing/payments/{payment_id}"), Some(&customer))
        .await;
    assert_eq!(
        payment.body["next_action"],
        json!({"type": "redirect", "url": "https://checkout.paystack.com/x"}),
        "{}",
        payment.body
    );
    let event = serde_json::to_vec(&json!({"event": "charge.success", "data": {
        "id": 59214, "status": "success", "reference": reference, "amount": 3500000,
        "currency": "KES", "gateway_response": "Approved", "metadata": ""}}))
    .unwrap();
    let mut tampered = event.clone();
    let at = tampered.len() - 5;
    tampered[at] = b'X';
    assert_eq!(
        webhook(&book, &event, "sk_test_some_other_key").await,
        StatusCode::UNAUTHORIZED
    );
    let signature = paystack_signature(SECRET_KEY.as_bytes(), &event);
    let forged = book
        .app
        .client
        .post(format!("{}/webhooks/paystack", book.app.base))
        .header("x-paystack-signature", signature)
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(book.invoice(&customer, &invoice_id).await["status"], "open");
    assert_eq!(webhook(&book, &event, SECRET_KEY).await, StatusCode::OK);
    assert_eq!(
        webhook(&book, &event, SECRET_KEY).await,
        StatusCode::OK,
        "a duplicate is acknowledged"
    );
    book.invoice_becomes(&customer, &invoice_id, "paid").await;
    book.policy_becomes(&customer, &id, "active").await;
    let outcomes: Vec<String> = sqlx::query_scalar(
        "SELECT outcome FROM webhook_deliveries WHERE provider = 'paystack' ORDER BY id",
    )
    .fetch_all(&book.app.db.pool)
    .await
    .unwrap();
    assert_eq!(outcomes.len(), 4, "{outcomes:?}");
    assert_eq!(outcomes[2], "recorded");
    assert_eq!(outcomes[3], "ignored: duplicate");
}

#[tokio::test]
async fn a_provider_that_does_not_take_the_invoices_currency_is_refused_before_any_call() {
    let paystack = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&paystack)
        .await;
    let book = Book::open().await;
    let configure = |settings: serde_json::Value| {
        let book = &book;
        async move {
            book.app
                .post(
                    "/integrations/configs",
                    Some(&book.admin),
                    &json!({"provider": "paystack", "name": "Paystack Nigeria", "environment": "sandbox",
                            "enabled": true, "credentials": {"secret_key": SECRET_KEY},
                            "settings": settings}),
                )
                .await
        }
    };
    // A currency Paystack does not take cannot be configured.
    let refused = configure(json!({"base_url": paystack.uri(), "currencies": "NGN,BHD"})).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert_eq!(refused.body["errors"][0]["field"], "settings.currencies");
    assert!(
        refused.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("BHD is not a currency Paystack takes"),
        "{}",
        refused.body
    );
    // An account that settles naira only is not offered for a KES invoice.
    let created = configure(json!({"base_url": paystack.uri(), "currencies": "NGN"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let (_, invoice_id) = book.approved_policy(&customer, "1000000.00").await;
    let paying = book
        .pay_with(
            &customer,
            &invoice_id,
            &json!({"provider": "paystack", "email": "c@example.com"}),
        )
        .await;
    assert_eq!(
        paying.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        paying.body
    );
    assert_eq!(
        paying.body["errors"][0]["message"], "does not take KES here; available for KES: sandbox",
        "{}",
        paying.body
    );
    assert_eq!(
        book.invoice(&customer, &invoice_id).await["payments"],
        json!([])
    );
}

/// A checkout the payer opened and has not paid is `abandoned` at
/// Paystack's verify (PaystackOSS: still payable at its
/// authorization_url): reconciliation leaves the payment pending, and the
/// payer's later `charge.success` pays the invoice.
#[tokio::test]
async fn an_abandoned_checkout_stays_pending_and_a_later_charge_success_pays_it() {
    let paystack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/transaction/initialize"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": true, "message": "Authorization URL created",
            "data": {"authorization_url": "https://checkout.paystack.com/0peioxfhpn",
                     "access_code": "0peioxfhpn", "reference": "r"}
        })))
        .expect(1)
        .mount(&paystack)
        .await;
    let book = Book::open().await;
    book.configure(
        &json!({"provider": "paystack", "name": "Paystack", "environment": "sandbox",
                "credentials": {"secret_key": SECRET_KEY},
                "settings": {"base_url": paystack.uri()}}),
    )
    .await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let (id, invoice_id) = book.approved_policy(&customer, "1000000.00").await;
    let paying = book
        .pay_with(
            &customer,
            &invoice_id,
            &json!({"provider": "paystack", "email": "c@example.com"}),
        )
        .await;
    assert_eq!(paying.status, StatusCode::ACCEPTED, "{}", paying.body);
    let payment_id = paying.body["payment_id"].as_str().unwrap().to_string();
    let reference = book.submitted_charge(&invoice_id).await;
    Mock::given(method("GET"))
        .and(path(format!("/transaction/verify/{reference}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": true, "message": "Verification successful",
            "data": {"id": 4099260516i64, "domain": "test", "status": "abandoned",
                     "reference": reference, "amount": 3500000, "message": null,
                     "gateway_response": "The transaction was not completed", "paid_at": null,
                     "created_at": "2026-11-25T10:00:00.000Z", "channel": "card", "currency": "KES"}
        })))
        .expect(1)
        .mount(&paystack)
        .await;
    let settled = workers::payments::reconcile::run_once(book.workers(), std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(settled, 0, "an abandoned checkout settles nothing");
    let payment = book.payment(&customer, &payment_id).await;
    assert_eq!(payment["status"], "pending", "{payment}");
    assert_eq!(
        payment["next_action"]["url"], "https://checkout.paystack.com/0peioxfhpn",
        "still payable where it was: {payment}"
    );

    let event = serde_json::to_vec(&json!({"event": "charge.success", "data": {
        "id": 4099260516i64, "status": "success", "reference": reference, "amount": 3500000,
        "currency": "KES", "gateway_response": "Approved", "metadata": ""}}))
    .unwrap();
    assert_eq!(webhook(&book, &event, SECRET_KEY).await, StatusCode::OK);
    book.invoice_becomes(&customer, &invoice_id, "paid").await;
    book.policy_becomes(&customer, &id, "active").await;
    assert_eq!(
        book.payment(&customer, &payment_id).await["status"],
        "succeeded"
    );
}
