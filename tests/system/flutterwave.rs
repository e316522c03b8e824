//! A premium paid through Flutterwave (M-Pesa direct charge), faked at its
//! HTTP boundary: the webhook's `verif-hash` must match the configuration's
//! secret hash, and money is recorded only as Flutterwave's verification
//! says.

use reqwest::StatusCode;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::book::*;

const SECRET_HASH: &str = "flw-secret-hash-0042";

async fn webhook(book: &Book, body: &Value, hash: &str) -> StatusCode {
    book.app
        .client
        .post(format!("{}/webhooks/flutterwave", book.app.base))
        .header("verif-hash", hash)
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_completed_charge_is_recorded_as_flutterwaves_verification_says() {
    let flutterwave = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/charges"))
        .and(query_param("type", "mpesa"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "success", "message": "Charge initiated", "data": {"id": 288200108, "status": "pending"}
        })))
        .expect(1)
        .mount(&flutterwave)
        .await;
    let book = Book::open().await;
    book.configure(&json!({"provider": "flutterwave", "name": "Flutterwave", "environment": "sandbox",
                           "credentials": {"secret_key": "FLWSECK_TEST-journey", "secret_hash": SECRET_HASH},
                           "settings": {"base_url": flutterwave.uri()}}))
        .await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let (id, invoice_id) = book.approved_policy(&customer, "1000000.00").await;
    let paying = book
        .pay_with(
            &customer,
            &invoice_id,
            &json!({"provider": "flutterwave", "phone_number": "+254712345678"}),
        )
        .await;
    assert_eq!(paying.status, StatusCode::ACCEPTED, "{}", paying.body);
    let tx_ref = book.submitted_charge(&invoice_id).await;
    let tx_ref = tx_ref.as_str();
    let event = json!({"event": "charge.completed", "data": {
        "id": 288200108, "tx_ref": tx_ref, "flw_ref": "FLW-MOCK-1", "amount": 35000,
        "currency": "KES", "status": "successful"}});
    assert_eq!(
        webhook(&book, &event, "guessed").await,
        StatusCode::UNAUTHORIZED
    );
    Mock::given(method("GET"))
        .and(path("/v3/transactions/verify_by_reference"))
        .and(query_param("tx_ref", tx_ref))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "success", "message": "Transaction fetched successfully",
            "data": {"id": 288200108, "tx_ref": tx_ref, "amount": 35000, "currency": "KES",
                     "status": "successful"}
        })))
        .expect(1)
        .mount(&flutterwave)
        .await;
    assert_eq!(webhook(&book, &event, SECRET_HASH).await, StatusCode::OK);
    assert_eq!(
        webhook(&book, &event, SECRET_HASH).await,
        StatusCode::OK,
        "a duplicate is acknowledged"
    );
    book.invoice_becomes(&customer, &invoice_id, "paid").await;
    book.policy_becomes(&customer, &id, "active").await;
    let payment = book
        .payment(&customer, paying.body["payment_id"].as_str().unwrap())
        .await;
    assert_eq!(payment["provider"], "flutterwave");
    assert_eq!(payment["provider_reference"], "288200108");
}
