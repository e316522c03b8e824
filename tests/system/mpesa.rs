//! M-Pesa configured by an admin through the API as a new user would, with
//! Daraja faked at its HTTP boundary: the connection test, a premium by STK
//! push, callbacks authenticated by the URL token and confirmed by an STK
//! query, the integration log, and no secret anywhere it should not be.

use reqwest::StatusCode;
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::book::*;
use crate::common::captured_logs;

const CONSUMER_SECRET: &str = "daraja-consumer-secret-77aa";
const PASSKEY: &str = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919";
const INITIATOR_PASSWORD: &str = "Safaricom999!*!-initiator";
const TOKEN: &str = "SGWcJPtNtYNPGm6uSYR9yPYrAI3Bm";

/// Daraja's OAuth endpoint, answering every request with `TOKEN`.
async fn mock_oauth(daraja: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/oauth/v1/generate"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": TOKEN, "expires_in": "3599"})),
        )
        .mount(daraja)
        .await;
}

async fn fake_daraja() -> MockServer {
    let daraja = MockServer::start().await;
    mock_oauth(&daraja).await;
    for checkout in ["ws_CO_forged", "ws_CO_paid"] {
        Mock::given(method("POST"))
            .and(path("/mpesa/stkpush/v1/processrequest"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "MerchantRequestID": "3201-9121900-1", "CheckoutRequestID": checkout,
                "ResponseCode": "0", "ResponseDescription": "Success. Request accepted for processing",
                "CustomerMessage": "Success. Request accepted for processing"
            })))
            .up_to_n_times(1)
            .mount(&daraja)
            .await;
    }
    for (checkout, code, desc) in [
        (
            "ws_CO_forged",
            "1032",
            "[STK_CB - ]Request cancelled by user",
        ),
        (
            "ws_CO_paid",
            "0",
            "The service request is processed successfully.",
        ),
    ] {
        Mock::given(method("POST"))
            .and(path("/mpesa/stkpushquery/v1/query"))
            .and(body_partial_json(json!({"CheckoutRequestID": checkout})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "ResponseCode": "0", "ResultCode": code, "ResultDesc": desc
            })))
            .mount(&daraja)
            .await;
    }
    daraja
}

fn paid_callback(checkout: &str) -> Value {
    json!({"Body": {"stkCallback": {
        "MerchantRequestID": "3201-9121900-1", "CheckoutRequestID": checkout,
        "ResultCode": 0, "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": [
            {"Name": "Amount", "Value": 35000.0}, {"Name": "MpesaReceiptNumber", "Value": "SKL7OWQX0R"},
            {"Name": "Balance"}, {"Name": "TransactionDate", "Value": 20261125154800i64},
            {"Name": "PhoneNumber", "Value": 254712345678i64}]}}}})
}

async fn callback(book: &Book, url: &str, body: &Value) -> StatusCode {
    book.app
        .client
        .post(url)
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
}

/// The CallBackURL ifinsure gave Daraja in its latest STK push.
async fn callback_url(daraja: &MockServer) -> String {
    let pushes: Vec<Value> = daraja
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/mpesa/stkpush/v1/processrequest")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    pushes.last().unwrap()["CallBackURL"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Waits until the push Daraja answered with `checkout` is recorded as
/// submitted (Daraja calls back once the customer has answered the prompt).
async fn submitted(book: &Book, checkout: &str) {
    eventually("the STK push to be submitted", || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM payment_jobs WHERE provider_reference = $1 AND status = 'submitted'",
        )
        .bind(checkout)
        .fetch_one(&book.app.db.pool)
        .await
        .unwrap();
        (n == 1).then_some(json!(n))
    })
    .await;
}

#[tokio::test]
async fn a_premium_paid_by_mpesa_is_recorded_only_once_daraja_confirms_it() {
    let logs = captured_logs();
    let daraja = fake_daraja().await;
    let book = Book::open().await;

    // An admin configures M-Pesa in the provider's own vocabulary.
    let created = book
        .app
        .post(
            "/integrations/configs",
            Some(&book.admin),
            &json!({"provider": "mpesa", "name": "M-Pesa paybill", "environment": "sandbox",
                    "enabled": true, "is_primary": true, "priority": 0,
                    "credentials": {"consumer_key": "daraja-consumer-key-01", "consumer_secret": CONSUMER_SECRET,
                                    "shortcode": "174379", "passkey": PASSKEY,
                                    "initiator_name": "testapi", "initiator_password": INITIATOR_PASSWORD},
                    "settings": {"base_url": daraja.uri()}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let config_id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(created.body["credentials"]["passkey"], "…c919");
    assert!(created.body["credentials"]["callback_token"].is_string());

    let tested = book.test_connection(&config_id).await;
    assert_eq!(tested.status, StatusCode::OK, "{}", tested.body);
    assert_eq!(tested.body["last_test"]["ok"], true, "{}", tested.body);

    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let (id, invoice_id) = book.approved_policy(&customer, "1000000.00").await;
    let pay = format!("/billing/invoices/{invoice_id}/pay");
    let no_phone = book
        .app
        .post(&pay, Some(&customer), &json!({"provider": "mpesa"}))
        .await;
    assert_eq!(no_phone.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_phone.body["errors"][0]["field"], "phone_number");

    // The primary (M-Pesa) is the default; a forged "paid" callback is
    // checked by an STK query, which says the customer cancelled.
    let first = book
        .app
        .post(
            &pay,
            Some(&customer),
            &json!({"phone_number": "+254712345678"}),
        )
        .await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
    assert_eq!(first.body["provider"], "mpesa");
    submitted(&book, "ws_CO_forged").await;
    let url = callback_url(&daraja).await;
    assert!(url.starts_with(&format!("{}/webhooks/daraja?token=", book.app.base)));
    let wrong = url.split("token=").next().unwrap().to_string() + "token=guessed";
    assert_eq!(
        callback(&book, &wrong, &paid_callback("ws_CO_forged")).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        callback(&book, &url, &paid_callback("ws_CO_forged")).await,
        StatusCode::OK
    );
    let payment_id = first.body["payment_id"].as_str().unwrap();
    let failed = eventually("the forged payment to be checked", || async {
        let p = book
            .app
            .get(&format!("/billing/payments/{payment_id}"), Some(&customer))
            .await
            .body;
        (p["status"] == "failed").then_some(p)
    })
    .await;
    assert!(failed.to_string().contains("cancelled"), "{failed}");
    assert_eq!(book.invoice(&customer, &invoice_id).await["status"], "open");

    // A real payment: the callback, confirmed by the query, pays the invoice.
    let second = book
        .app
        .post(
            &pay,
            Some(&customer),
            &json!({"provider": "mpesa", "phone_number": "0712345678"}),
        )
        .await;
    assert_eq!(second.status, StatusCode::ACCEPTED, "{}", second.body);
    submitted(&book, "ws_CO_paid").await;
    // The payer is told what to do next, in the answer and on the payment
    // while it is pending.
    let approve = json!({"type": "approve_on_phone",
        "message": "Check your phone: approve the payment of KES 35000.00 with your M-Pesa PIN."});
    let payment_id = second.body["payment_id"].as_str().unwrap();
    let pending = book
        .app
        .get(&format!("/billing/payments/{payment_id}"), Some(&customer))
        .await;
    assert_eq!(pending.body["next_action"], approve, "{}", pending.body);
    // (The answer has it when the charge reached Daraja within two seconds.)
    if !second.body["next_action"].is_null() {
        assert_eq!(second.body["next_action"], approve, "{}", second.body);
    }
    let url = callback_url(&daraja).await;
    assert_eq!(
        callback(&book, &url, &paid_callback("ws_CO_paid")).await,
        StatusCode::OK
    );
    assert_eq!(
        callback(&book, &url, &paid_callback("ws_CO_paid")).await,
        StatusCode::OK,
        "a duplicate is acknowledged"
    );
    book.invoice_becomes(&customer, &invoice_id, "paid").await;
    book.policy_becomes(&customer, &id, "active").await;
    let payment = book
        .app
        .get(&format!("/billing/payments/{payment_id}"), Some(&customer))
        .await;
    assert!(
        payment.body.get("next_action").is_none(),
        "paid: {}",
        payment.body
    );
    assert_eq!(payment.body["provider"], "mpesa");
    assert_eq!(payment.body["provider_reference"], "SKL7OWQX0R");

    // Every delivery is stored; the guessed token as unverified.
    let deliveries: Vec<(bool, String)> = sqlx::query_as(
        "SELECT verified, outcome FROM webhook_deliveries WHERE provider = 'mpesa' ORDER BY id",
    )
    .fetch_all(&book.app.db.pool)
    .await
    .unwrap();
    assert_eq!(deliveries.len(), 4);
    assert!(!deliveries[0].0 && deliveries[0].1.starts_with("rejected"));
    assert_eq!(deliveries[3].1, "ignored: duplicate");

    // The integration log shows each call, with nothing secret in it.
    let log = book
        .app
        .get(
            "/integrations/logs?provider=mpesa&limit=200",
            Some(&book.admin),
        )
        .await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    let actions: Vec<&str> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in ["oauth.generate", "stk_push", "stk_query"] {
        assert!(actions.contains(&action), "{actions:?}");
    }
    let token = url.split("token=").nth(1).unwrap().to_string();
    let config = book
        .app
        .get(
            &format!("/integrations/configs/{config_id}"),
            Some(&book.admin),
        )
        .await;
    let everything = format!("{}{}{}{}", log.body, config.body, created.body, tested.body);
    let captured = logs.text();
    for secret in [
        CONSUMER_SECRET,
        PASSKEY,
        INITIATOR_PASSWORD,
        TOKEN,
        token.as_str(),
    ] {
        assert!(!everything.contains(secret), "{secret} in an API response");
        assert!(!captured.contains(secret), "{secret} in a log line");
    }
    assert!(
        captured.contains("stk_push") || captured.contains("mpesa"),
        "logs were captured"
    );
}

#[tokio::test]
async fn a_failing_primary_fails_over_to_the_next_configuration_and_opens_its_breaker() {
    let down = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&down)
        .await;
    let up = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cs_failover_1", "object": "checkout.session", "status": "open",
            "payment_status": "unpaid", "url": "https://checkout.stripe.com/c/pay/cs_failover_1"
        })))
        .expect(1)
        .mount(&up)
        .await;
    let book = Book::open().await;
    let mut ids = Vec::new();
    for (name, server, primary, priority) in
        [("Stripe A", &down, true, 0), ("Stripe B", &up, false, 1)]
    {
        ids.push(
            book.configure(&json!({"provider": "stripe", "name": name, "environment": "sandbox",
                    "is_primary": primary, "priority": priority,
                    "credentials": {"secret_key": format!("sk_test_{name}_0000"), "webhook_secret": "whsec_0000000000"},
                    "settings": {"base_url": server.uri()}}))
                .await,
        );
    }
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let (_, invoice_id) = book.approved_policy(&customer, "1000000.00").await;
    let paying = book.pay_with(&customer, &invoice_id, &json!({})).await;
    assert_eq!(paying.status, StatusCode::ACCEPTED, "{}", paying.body);
    assert_eq!(paying.body["provider"], "stripe");
    eventually("the payment to go through the secondary", || async {
        let row: Option<(String, uuid::Uuid)> = sqlx::query_as(
            "SELECT provider_reference, config_id FROM payment_jobs WHERE aggregate_id = $1::uuid AND status = 'submitted'",
        )
        .bind(&invoice_id)
        .fetch_optional(&book.app.db.pool)
        .await
        .unwrap();
        row.filter(|(_, config)| config.to_string() == ids[1])
            .map(|(reference, _)| json!(reference))
    })
    .await;
    let log = book
        .app
        .get("/integrations/logs?provider=stripe", Some(&book.admin))
        .await;
    let attempts: Vec<(String, bool)> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["config_id"].as_str().unwrap().to_string(),
                e["ok"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(attempts.len(), 4, "{attempts:?}");
    assert_eq!(attempts[0], (ids[1].clone(), true));
    assert!(attempts[1..].iter().all(|(id, ok)| id == &ids[0] && !ok));
    let health = book
        .app
        .get("/health/integrations", Some(&book.admin))
        .await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["status"], "degraded", "{}", health.body);
    let primary = health.body["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["config_id"] == ids[0])
        .unwrap();
    assert_eq!(primary["circuit"], "open");
    assert_eq!(primary["consecutive_failures"], 3);
}

/// A claim approved for 95,000 being paid out through a fake Daraja's B2C
/// v3 (the default).
struct B2cPayout {
    book: Book,
    customer: String,
    claim_id: String,
    /// The B2C request Daraja received.
    request: Value,
    result_url: String,
    timeout_url: String,
}

impl B2cPayout {
    /// The claim as its customer sees it.
    async fn claim(&self) -> Value {
        self.book
            .app
            .get(&format!("/claims/{}", self.claim_id), Some(&self.customer))
            .await
            .body
    }
}

async fn b2c_payout(daraja: &MockServer) -> B2cPayout {
    mock_oauth(daraja).await;
    Mock::given(method("POST"))
        .and(path("/mpesa/b2c/v3/paymentrequest"))
        .and(body_partial_json(json!({
            "InitiatorName": "testapi", "SecurityCredential": "portal-generated-credential==",
            "CommandID": "BusinessPayment", "Amount": 95000, "PartyA": "600980",
            "PartyB": "254711000000"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ConversationID": "AG_20261125_payout_1", "OriginatorConversationID": "1",
            "ResponseCode": "0", "ResponseDescription": "Accept the service request successfully."
        })))
        .expect(1)
        .mount(daraja)
        .await;
    let book = Book::open().await;
    book.configure(&json!({"provider": "mpesa", "name": "M-Pesa B2C", "environment": "sandbox",
            "credentials": {"consumer_key": "daraja-consumer-key-02", "consumer_secret": CONSUMER_SECRET,
                            "shortcode": "600980", "passkey": PASSKEY, "initiator_name": "testapi",
                            "security_credential": "portal-generated-credential=="},
            "settings": {"base_url": daraja.uri()}}))
        .await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let (policy_id, _) = book.active_policy(&customer, "1000000.00").await;
    let filed = book
        .file_claim(
            &customer,
            &policy_id,
            crate::common::TODAY,
            "95000.00",
            "Windscreen",
        )
        .await;
    let claim_id = filed.body["id"].as_str().unwrap().to_string();
    let approved = book.approve_claim(&claim_id, "95000.00").await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    let paying = book
        .app
        .post(
            &format!("/claims/{claim_id}/pay"),
            Some(&book.staff),
            &json!({"provider": "mpesa"}),
        )
        .await;
    assert_eq!(paying.status, StatusCode::ACCEPTED, "{}", paying.body);
    let request = eventually("the B2C request", || async {
        let requests = daraja.received_requests().await.unwrap_or_default();
        requests
            .iter()
            .find(|r| r.url.path() == "/mpesa/b2c/v3/paymentrequest")
            .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
    })
    .await;
    // Our id goes as OriginatorConversationID, so a retry cannot pay twice.
    let job_id = request["OriginatorConversationID"].as_str().unwrap();
    assert!(job_id.parse::<uuid::Uuid>().is_ok(), "{request}");
    assert!(
        request["Occassion"].is_string(),
        "v3 spells it Occassion: {request}"
    );
    let url = |key: &str| request[key].as_str().unwrap().to_string();
    let (result_url, timeout_url) = (url("ResultURL"), url("QueueTimeOutURL"));
    assert!(
        result_url.contains("/webhooks/daraja?token="),
        "{result_url}"
    );
    assert_eq!(timeout_url, format!("{result_url}&timeout=1"));
    submitted(&book, "AG_20261125_payout_1").await;
    B2cPayout {
        book,
        customer,
        claim_id,
        request,
        result_url,
        timeout_url,
    }
}

#[tokio::test]
async fn a_claim_is_paid_out_by_b2c_when_darajas_result_confirms_the_amount() {
    let daraja = MockServer::start().await;
    let payout = b2c_payout(&daraja).await;
    let (book, result_url) = (&payout.book, payout.result_url.as_str());
    let result = |amount: i64| {
        json!({"Result": {"ResultType": 0, "ResultCode": 0,
            "ResultDesc": "The service request is processed successfully.",
            "OriginatorConversationID": "1", "ConversationID": "AG_20261125_payout_1",
            "TransactionID": "SKP3197RIB",
            "ResultParameters": {"ResultParameter": [
                {"Key": "TransactionAmount", "Value": amount},
                {"Key": "TransactionReceipt", "Value": "SKP3197RIB"}]},
            "ReferenceData": {"ReferenceItem": {"Key": "QueueTimeoutURL", "Value": "https://x"}}}})
    };
    // A time-out in Daraja's queue is not a result: nothing is recorded.
    let timed_out = json!({"Result": {"ResultType": 0, "ResultCode": "SVC0001",
        "ResultDesc": "Request timed out in the queue", "OriginatorConversationID": "1",
        "ConversationID": "AG_20261125_payout_1"}});
    assert_eq!(
        callback(book, &payout.timeout_url, &timed_out).await,
        StatusCode::OK
    );
    let claim = payout.claim().await;
    assert_eq!(claim["payouts"][0]["status"], "pending", "{claim}");
    let mut without_amount = result(95000);
    without_amount["Result"]["ResultParameters"]["ResultParameter"] =
        json!([{"Key": "TransactionReceipt", "Value": "SKP3197RIB"}]);
    assert_eq!(
        callback(book, result_url, &without_amount).await,
        StatusCode::OK
    );
    assert_eq!(
        payout.claim().await["status"],
        "approved",
        "a result that names no amount pays nothing"
    );
    assert_eq!(
        callback(book, result_url, &result(9500)).await,
        StatusCode::OK
    );
    assert_eq!(
        payout.claim().await["status"],
        "approved",
        "another amount pays nothing"
    );
    assert_eq!(
        callback(book, result_url, &result(95000)).await,
        StatusCode::OK
    );
    let paid = eventually("the payout to confirm", || async {
        let claim = payout.claim().await;
        (claim["status"] == "paid").then_some(claim)
    })
    .await;
    assert_eq!(paid["payouts"][0]["provider_reference"], "SKP3197RIB");
}

#[tokio::test]
async fn a_b2c_result_with_a_text_code_fails_the_payout_found_by_our_originator_id() {
    let daraja = MockServer::start().await;
    let payout = b2c_payout(&daraja).await;
    let sent = &payout.request;
    // As the B2C page shows a failure: a text code, and (as after a retry
    // answered "duplicate") a ConversationID we were never told.
    let failed = json!({"Result": {"ResultType": 0, "ResultCode": "SFC_IC0003",
        "ResultDesc": "The operator does not exist.",
        "OriginatorConversationID": sent["OriginatorConversationID"],
        "ConversationID": "AG_20261125_unknown", "TransactionID": ""}});
    assert_eq!(
        callback(&payout.book, &payout.result_url, &failed).await,
        StatusCode::OK
    );
    let claim = eventually("the payout to fail", || async {
        let claim = payout.claim().await;
        (claim["payouts"][0]["status"] == "failed").then_some(claim)
    })
    .await;
    assert_eq!(claim["status"], "approved", "still owed: {claim}");
}

/// A charge a status query recorded as failed (the payer had not yet
/// answered the prompt when Daraja spoke) is settled by Daraja's later
/// word that the money moved, and no second prompt is sent.
#[tokio::test]
async fn a_payment_recorded_failed_that_daraja_later_confirms_is_settled_once() {
    let daraja = MockServer::start().await;
    mock_oauth(&daraja).await;
    Mock::given(method("POST"))
        .and(path("/mpesa/stkpush/v1/processrequest"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "MerchantRequestID": "3201-9121900-2", "CheckoutRequestID": "ws_CO_late",
            "ResponseCode": "0", "ResponseDescription": "Success. Request accepted for processing",
            "CustomerMessage": "Success. Request accepted for processing"
        })))
        .expect(1)
        .mount(&daraja)
        .await;
    // The first query: Daraja could not reach the phone; the next: paid.
    Mock::given(method("POST"))
        .and(path("/mpesa/stkpushquery/v1/query"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ResponseCode": "0", "ResultCode": "1037",
            "ResultDesc": "DS timeout user cannot be reached"
        })))
        .up_to_n_times(1)
        .mount(&daraja)
        .await;
    Mock::given(method("POST"))
        .and(path("/mpesa/stkpushquery/v1/query"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ResponseCode": "0", "ResultCode": "0",
            "ResultDesc": "The service request is processed successfully."
        })))
        .mount(&daraja)
        .await;
    let book = Book::open().await;
    book.configure(&json!({"provider": "mpesa", "name": "M-Pesa paybill", "environment": "sandbox",
            "is_primary": true,
            "credentials": {"consumer_key": "daraja-consumer-key-03", "consumer_secret": CONSUMER_SECRET,
                            "shortcode": "174379", "passkey": PASSKEY},
            "settings": {"base_url": daraja.uri()}}))
        .await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let (id, invoice_id) = book.approved_policy(&customer, "1000000.00").await;
    let paying = book
        .pay_with(
            &customer,
            &invoice_id,
            &json!({"phone_number": "+254712345678"}),
        )
        .await;
    assert_eq!(paying.status, StatusCode::ACCEPTED, "{}", paying.body);
    let payment_id = paying.body["payment_id"].as_str().unwrap().to_string();
    submitted(&book, "ws_CO_late").await;
    let url = callback_url(&daraja).await;
    let unreachable = json!({"Body": {"stkCallback": {
        "MerchantRequestID": "3201-9121900-2", "CheckoutRequestID": "ws_CO_late",
        "ResultCode": 1037, "ResultDesc": "DS timeout user cannot be reached"}}});
    assert_eq!(callback(&book, &url, &unreachable).await, StatusCode::OK);
    eventually("the payment to be recorded failed", || async {
        let payment = book.payment(&customer, &payment_id).await;
        (payment["status"] == "failed").then_some(payment)
    })
    .await;

    // The payer answers the prompt after all: Daraja calls back paid.
    let mut paid = paid_callback("ws_CO_late");
    paid["Body"]["stkCallback"]["MerchantRequestID"] = json!("3201-9121900-2");
    assert_eq!(callback(&book, &url, &paid).await, StatusCode::OK);
    book.invoice_becomes(&customer, &invoice_id, "paid").await;
    book.policy_becomes(&customer, &id, "active").await;
    let payment = book.payment(&customer, &payment_id).await;
    assert_eq!(payment["status"], "succeeded", "{payment}");
    assert_eq!(payment["provider_reference"], "SKL7OWQX0R");
    let invoice = book.invoice(&customer, &invoice_id).await;
    assert_eq!(invoice["amount_paid"], kes("35000.00"), "{invoice}");
    // Nothing is asked of Daraja again once it has said so.
    let queries = || async {
        daraja
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == "/mpesa/stkpushquery/v1/query")
            .count()
    };
    let asked = queries().await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(
        queries().await,
        asked,
        "the settled job still awaits a query"
    );
}

/// Daraja configured with a push that is never answered (HTTP 500 after it
/// may have prompted the payer) and a query confirming `ws_CO_found`.
async fn unanswered_push(book: &Book) -> MockServer {
    let daraja = MockServer::start().await;
    mock_oauth(&daraja).await;
    Mock::given(method("POST"))
        .and(path("/mpesa/stkpush/v1/processrequest"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({
            "requestId": "11728-2929992-1", "errorCode": "500.001.1001",
            "errorMessage": "Unable to process the request"
        })))
        .mount(&daraja)
        .await;
    Mock::given(method("POST"))
        .and(path("/mpesa/stkpushquery/v1/query"))
        .and(body_partial_json(
            json!({"CheckoutRequestID": "ws_CO_found"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ResponseCode": "0", "ResultCode": "0",
            "ResultDesc": "The service request is processed successfully."
        })))
        .mount(&daraja)
        .await;
    book.configure(&json!({"provider": "mpesa", "name": "M-Pesa paybill", "environment": "sandbox",
            "is_primary": true,
            "credentials": {"consumer_key": "daraja-consumer-key-05", "consumer_secret": CONSUMER_SECRET,
                            "shortcode": "174379", "passkey": PASSKEY},
            "settings": {"base_url": daraja.uri()}}))
        .await;
    daraja
}

/// How many requests Daraja received at `path`.
async fn received(daraja: &MockServer, at: &str) -> usize {
    daraja
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == at)
        .count()
}

/// An STK push Daraja did not answer may still have prompted the payer: it
/// is never sent again. The payer approves; Daraja's callback names a
/// checkout no job knows, with the payer's phone and the amount: the
/// unanswered charge takes it and Daraja's query settles it.
#[tokio::test]
async fn an_unanswered_push_is_not_sent_again_and_its_callback_settles_it() {
    let mut settings = crate::common::test_settings();
    settings.payment_uncertain_for = std::time::Duration::from_secs(600);
    let book = Book::open_with(settings).await;
    let daraja = unanswered_push(&book).await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let (id, invoice_id) = book.approved_policy(&customer, "1000000.00").await;
    let paying = book
        .pay_with(
            &customer,
            &invoice_id,
            &json!({"phone_number": "+254712345678"}),
        )
        .await;
    assert_eq!(paying.status, StatusCode::ACCEPTED, "{}", paying.body);
    let payment_id = paying.body["payment_id"].as_str().unwrap().to_string();
    eventually("the charge to be uncertain", || async {
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM payment_jobs WHERE id = $1::uuid")
                .bind(&payment_id)
                .fetch_optional(&book.app.db.pool)
                .await
                .unwrap();
        (status.as_deref() == Some("uncertain")).then_some(json!(status))
    })
    .await;
    // The payer is never prompted twice, however long the worker runs.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        received(&daraja, "/mpesa/stkpush/v1/processrequest").await,
        1
    );
    let payment = book.payment(&customer, &payment_id).await;
    assert_eq!(payment["status"], "pending", "{payment}");

    // Another phone's paid callback for an unknown checkout adopts nothing.
    let url = callback_url(&daraja).await;
    let mut stranger = paid_callback("ws_CO_stranger");
    stranger["Body"]["stkCallback"]["CallbackMetadata"]["Item"][4]["Value"] =
        json!(254799999999i64);
    assert_eq!(callback(&book, &url, &stranger).await, StatusCode::OK);
    // The payer's own: same phone, same amount.
    assert_eq!(
        callback(&book, &url, &paid_callback("ws_CO_found")).await,
        StatusCode::OK
    );
    book.invoice_becomes(&customer, &invoice_id, "paid").await;
    book.policy_becomes(&customer, &id, "active").await;
    let payment = book.payment(&customer, &payment_id).await;
    assert_eq!(payment["status"], "succeeded", "{payment}");
    assert_eq!(payment["provider_reference"], "SKL7OWQX0R");
    assert_eq!(
        received(&daraja, "/mpesa/stkpush/v1/processrequest").await,
        1
    );
}

/// With no callback, the unanswered charge fails once its wait is over, so
/// the customer may pay again (a new push); it is never resent by itself.
#[tokio::test]
async fn an_unanswered_push_with_no_callback_fails_and_the_customer_may_pay_again() {
    let mut settings = crate::common::test_settings();
    settings.payment_uncertain_for = std::time::Duration::from_secs(2);
    let book = Book::open_with(settings).await;
    let daraja = unanswered_push(&book).await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let (_, invoice_id) = book.approved_policy(&customer, "1000000.00").await;
    let body = json!({"phone_number": "+254712345678"});
    let paying = book.pay_with(&customer, &invoice_id, &body).await;
    assert_eq!(paying.status, StatusCode::ACCEPTED, "{}", paying.body);
    let payment_id = paying.body["payment_id"].as_str().unwrap().to_string();
    let failed = eventually("the unanswered charge to fail", || async {
        let payment = book.payment(&customer, &payment_id).await;
        (payment["status"] == "failed").then_some(payment)
    })
    .await;
    assert!(
        failed["failure_reason"]
            .as_str()
            .is_some_and(|why| why.contains("never answered")),
        "{failed}"
    );
    assert_eq!(received(&daraja, "/mpesa/stkpushquery/v1/query").await, 0);
    assert_eq!(
        received(&daraja, "/mpesa/stkpush/v1/processrequest").await,
        1
    );
    let again = book.pay_with(&customer, &invoice_id, &body).await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
    eventually("the second push", || async {
        let pushes = received(&daraja, "/mpesa/stkpush/v1/processrequest").await;
        (pushes == 2).then_some(json!(pushes))
    })
    .await;
}

/// A process that stops while its STK push is in flight leaves the job
/// marked as sent: the process that takes the job over when the lease runs
/// out does not push again (a second prompt); the job is uncertain.
#[tokio::test]
async fn a_push_whose_sender_stopped_mid_request_is_not_sent_again_by_the_next_process() {
    let daraja = MockServer::start().await;
    mock_oauth(&daraja).await;
    Mock::given(method("POST"))
        .and(path("/mpesa/stkpush/v1/processrequest"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(60)))
        .mount(&daraja)
        .await;
    let book = Book::open().await;
    book.configure(&json!({"provider": "mpesa", "name": "M-Pesa paybill", "environment": "sandbox",
            "is_primary": true,
            "credentials": {"consumer_key": "daraja-consumer-key-06", "consumer_secret": CONSUMER_SECRET,
                            "shortcode": "174379", "passkey": PASSKEY},
            "settings": {"base_url": daraja.uri()}}))
        .await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let (_, invoice_id) = book.approved_policy(&customer, "1000000.00").await;
    let paying = book
        .pay_with(
            &customer,
            &invoice_id,
            &json!({"phone_number": "+254712345678"}),
        )
        .await;
    assert_eq!(paying.status, StatusCode::ACCEPTED, "{}", paying.body);
    let payment_id = paying.body["payment_id"].as_str().unwrap().to_string();
    eventually("the push to be in flight", || async {
        let pushes = received(&daraja, "/mpesa/stkpush/v1/processrequest").await;
        (pushes == 1).then_some(json!(pushes))
    })
    .await;
    // The sender is gone: its lease runs out, and another process's pass
    // claims the job. (This process's own worker is held in the hanging
    // request meanwhile, as a stopped one would be.)
    sqlx::query("UPDATE payment_jobs SET next_attempt_at = now() WHERE id = $1::uuid")
        .bind(&payment_id)
        .execute(&book.app.db.pool)
        .await
        .unwrap();
    let pass = workers::payments::runner::run_once(book.workers())
        .await
        .unwrap();
    assert_eq!(pass.uncertain, 1, "{pass:?}");
    let (status, why): (String, String) =
        sqlx::query_as("SELECT status, last_error FROM payment_jobs WHERE id = $1::uuid")
            .bind(&payment_id)
            .fetch_one(&book.app.db.pool)
            .await
            .unwrap();
    assert_eq!(status, "uncertain");
    assert!(
        why.contains("stopped before its answer was recorded"),
        "{why}"
    );
    assert_eq!(
        received(&daraja, "/mpesa/stkpush/v1/processrequest").await,
        1
    );
}
