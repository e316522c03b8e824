use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use domain::integration::{ConfigDetails, Environment, Settings};
use domain::{Currency, IntegrationId, Money};
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::{Pkcs1v15Encrypt, RsaPrivateKey};
use rust_decimal::Decimal;
use serde_json::json;
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::*;
use crate::integrations::Memory;
use crate::payments::Lookup;

const PASSKEY: &str = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919";
const CONSUMER_SECRET: &str = "consumer-secret-0123456789";
const TOKEN: &str = "SGWcJPtNtYNPGm6uSYR9yPYrAI3Bm";
/// An initiator with a portal-generated security credential.
const INITIATOR: [(&str, &str); 2] = [
    ("initiator_name", "testapi"),
    ("security_credential", "precomputed-credential=="),
];

fn config(server: &MockServer, extra: &[(&str, &str)]) -> ProviderConfig {
    let details = ConfigDetails {
        config_id: IntegrationId(Uuid::from_u128(42)),
        provider: "mpesa".into(),
        category: "payment".into(),
        name: "M-Pesa".into(),
        environment: Environment::Sandbox,
        enabled: true,
        is_primary: true,
        priority: 0,
        settings: Settings::from([("base_url".to_string(), server.uri())]),
        credential_fields: vec![],
    };
    let mut credentials: projections::vault::Credentials = [
        ("consumer_key", "consumer-key-abc"),
        ("consumer_secret", CONSUMER_SECRET),
        ("shortcode", "174379"),
        ("passkey", PASSKEY),
        ("callback_token", "cb-token-0123456789abcdef"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        credentials.insert(k.to_string(), v.to_string());
    }
    ProviderConfig::new(Uuid::from_u128(42), &details, credentials).unwrap()
}

fn mpesa(config: &ProviderConfig, log: &Memory) -> Mpesa {
    let http = config
        .http(Arc::new(log.clone()), &Default::default())
        .unwrap()
        .with_timing(Duration::from_millis(500), Duration::from_millis(5));
    Mpesa::from_config(config, http, "https://ifinsure.example", Arc::default()).unwrap()
}

fn job(kind: &str, amount: &str) -> PaymentJob {
    let mut job = crate::payments::test_job(kind, "mpesa", amount);
    job.id = Uuid::from_u128(0xabcdef0123456789);
    job.payment_id = job.id;
    job.payer_contact = Some("+254 712 345 678".into());
    job.original_reference = (kind == "refund").then(|| "LGR7OWQX0R".to_string());
    job.provider_reference = Some("ws_CO_27072017151044001".into());
    job.config_id = Some(Uuid::from_u128(42));
    job.provider_receipt = Some("LGR7OWQX0R".into());
    job
}

async fn oauth(server: &MockServer, times: u64) {
    let basic = STANDARD.encode(format!("consumer-key-abc:{CONSUMER_SECRET}"));
    Mock::given(method("GET"))
        .and(path("/oauth/v1/generate"))
        .and(query_param("grant_type", "client_credentials"))
        .and(header("authorization", format!("Basic {basic}").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": TOKEN, "expires_in": "3599"})),
        )
        .expect(times)
        .mount(server)
        .await;
}

/// The STK password in the request is base64(shortcode + passkey + its own
/// Timestamp), and the timestamp is Daraja's 14-digit format.
fn password_matches(request: &Request) -> bool {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
    let timestamp = body["Timestamp"].as_str().unwrap_or_default();
    timestamp.len() == 14
        && timestamp.chars().all(|c| c.is_ascii_digit())
        && body["Password"] == password("174379", PASSKEY, timestamp)
}

#[tokio::test]
async fn an_stk_push_sends_darajas_fields_with_the_derived_password_and_caches_the_token() {
    let server = MockServer::start().await;
    oauth(&server, 1).await;
    Mock::given(method("POST"))
        .and(path("/mpesa/stkpush/v1/processrequest"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(json!({
            "BusinessShortCode": "174379",
            "TransactionType": "CustomerPayBillOnline",
            "Amount": 35000,
            "PartyA": "254712345678",
            "PartyB": "174379",
            "PhoneNumber": "254712345678",
            "CallBackURL": "https://ifinsure.example/api/v1/webhooks/daraja?token=cb-token-0123456789abcdef",
            "AccountReference": "EF0123456789",
            "TransactionDesc": "Premium",
        })))
        .and(password_matches)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "MerchantRequestID": "3201-9121900-1",
            "CheckoutRequestID": "ws_CO_2704202217362331144871229",
            "ResponseCode": "0",
            "ResponseDescription": "Success. Request accepted for processing",
            "CustomerMessage": "Success. Request accepted for processing"
        })))
        .expect(2)
        .mount(&server)
        .await;
    let log = Memory::default();
    let mpesa = mpesa(&config(&server, &[]), &log);
    for _ in 0..2 {
        assert_eq!(
            mpesa.submit(&job("charge", "35000.00")).await,
            Ok(Submission::done("ws_CO_2704202217362331144871229")
                .then(NextAction::ApproveOnPhone {
                message:
                    "Check your phone: approve the payment of KES 35000.00 with your M-Pesa PIN."
                        .into()
            }))
        );
    }
    let logged = serde_json::to_string(&format!("{:?}", log.entries())).unwrap();
    for secret in [PASSKEY, CONSUMER_SECRET, TOKEN, "cb-token-0123456789abcdef"] {
        assert!(!logged.contains(secret), "{secret} leaked into the log");
    }
    assert_eq!(log.entries().len(), 3, "one token call, two pushes");
}

#[tokio::test]
async fn amounts_with_cents_are_refused_before_any_call() {
    let server = MockServer::start().await;
    oauth(&server, 0).await;
    let mpesa = mpesa(&config(&server, &[]), &Memory::default());
    assert!(matches!(
        mpesa.submit(&job("charge", "35000.50")).await,
        Err(ProviderError::Rejected(reason)) if reason.contains("whole")
    ));
}

#[tokio::test]
async fn the_stk_query_confirms_with_the_receipt_or_reports_the_failure() {
    let server = MockServer::start().await;
    oauth(&server, 1).await;
    Mock::given(method("POST"))
        .and(path("/mpesa/stkpushquery/v1/query"))
        .and(body_partial_json(json!({
            "BusinessShortCode": "174379",
            "CheckoutRequestID": "ws_CO_27072017151044001"
        })))
        .and(password_matches)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ResponseCode": "0", "ResultCode": "0",
            "ResultDesc": "The service request is processed successfully."
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/mpesa/stkpushquery/v1/query"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ResponseCode": "0", "ResultCode": "1032",
            "ResultDesc": "[STK_CB - ]Request cancelled by user"
        })))
        .mount(&server)
        .await;
    let mpesa = mpesa(&config(&server, &[]), &Memory::default());
    let paid = mpesa.status(&job("charge", "100.00")).await.unwrap();
    assert_eq!(
        paid,
        Some(Outcome::Succeeded {
            reference: Some("LGR7OWQX0R".into()),
            amount: Money::new(Decimal::new(10000, 2), Currency::KES).unwrap(),
        })
    );
    let cancelled = mpesa.status(&job("charge", "100.00")).await.unwrap();
    assert!(
        matches!(cancelled, Some(Outcome::Failed { reason, .. }) if reason.contains("cancelled"))
    );
}

#[tokio::test]
async fn server_errors_are_retried_client_errors_are_not_and_a_refused_token_is_dropped() {
    let server = MockServer::start().await;
    oauth(&server, 2).await;
    Mock::given(method("POST"))
        .and(path("/mpesa/stkpush/v1/processrequest"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/mpesa/stkpush/v1/processrequest"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "requestId": "1", "errorCode": "404.001.03", "errorMessage": "Invalid Access Token"
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/mpesa/stkpush/v1/processrequest"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "requestId": "2", "errorCode": "400.002.02",
            "errorMessage": "Bad Request - Invalid BusinessShortCode"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let mpesa = mpesa(&config(&server, &[]), &Memory::default());
    assert!(matches!(
        mpesa.submit(&job("charge", "10.00")).await,
        Err(ProviderError::Unavailable(reason)) if reason.contains("Invalid Access Token")
    ));
    assert_eq!(
        mpesa.submit(&job("charge", "10.00")).await,
        Err(ProviderError::Rejected(
            "400.002.02 Bad Request - Invalid BusinessShortCode".into()
        ))
    );
}

#[tokio::test]
async fn a_payout_is_a_b2c_request_with_the_encrypted_initiator_password() {
    let private = RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
    let pem = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let server = MockServer::start().await;
    oauth(&server, 1).await;
    Mock::given(method("POST"))
        .and(path("/mpesa/b2c/v3/paymentrequest"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_partial_json(json!({
            "InitiatorName": "testapi",
            "CommandID": "BusinessPayment",
            "Amount": 8000,
            "PartyA": "174379",
            "PartyB": "254712345678",
            "ResultURL": "https://ifinsure.example/api/v1/webhooks/daraja?token=cb-token-0123456789abcdef",
            "OriginatorConversationID": "00000000-0000-0000-abcd-ef0123456789",
        })))
        .and(|request: &Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            body["Occassion"].is_string() && body.get("Occasion").is_none()
        })
        .and(move |request: &Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            let encrypted = STANDARD
                .decode(body["SecurityCredential"].as_str().unwrap_or_default())
                .unwrap_or_default();
            private
                .decrypt(Pkcs1v15Encrypt, &encrypted)
                .is_ok_and(|plain| plain == b"Safaricom999!*!")
        })
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ConversationID": "AG_20170717_00006be9c8b5cc46abb6",
            "OriginatorConversationID": "00000000-0000-0000-abcd-ef0123456789",
            "ResponseCode": "0",
            "ResponseDescription": "Accept the service request successfully."
        })))
        .expect(1)
        .mount(&server)
        .await;
    let extra = [
        ("initiator_name", "testapi"),
        ("initiator_password", "Safaricom999!*!"),
        ("certificate", pem.as_str()),
    ];
    let mpesa = mpesa(&config(&server, &extra), &Memory::default());
    assert_eq!(
        mpesa.submit(&job("payout", "8000.00")).await,
        Ok("AG_20170717_00006be9c8b5cc46abb6".into())
    );
}

#[tokio::test]
async fn a_refund_reverses_the_receipt_and_payouts_need_an_initiator() {
    let server = MockServer::start().await;
    oauth(&server, 1).await;
    Mock::given(method("POST"))
        .and(path("/mpesa/reversal/v1/request"))
        .and(body_partial_json(json!({
            "Initiator": "testapi",
            "SecurityCredential": "precomputed-credential==",
            "CommandID": "TransactionReversal",
            "TransactionID": "LGR7OWQX0R",
            "Amount": 500,
            "ReceiverParty": "174379",
            "RecieverIdentifierType": "11",
            "QueueTimeOutURL": "https://ifinsure.example/api/v1/webhooks/daraja?token=cb-token-0123456789abcdef&timeout=1",
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ConversationID": "AG_20170727_000050b1d2ffe87c5c4d",
            "OriginatorConversationID": "1", "ResponseCode": "0",
            "ResponseDescription": "Accept the service request successfully."
        })))
        .expect(1)
        .mount(&server)
        .await;
    let with_initiator = mpesa(&config(&server, &INITIATOR), &Memory::default());
    assert_eq!(
        with_initiator.submit(&job("refund", "500.00")).await,
        Ok("AG_20170727_000050b1d2ffe87c5c4d".into())
    );
    let without = mpesa(&config(&server, &[]), &Memory::default());
    assert!(matches!(
        without.submit(&job("payout", "1.00")).await,
        Err(ProviderError::Rejected(reason)) if reason.contains("initiator")
    ));
    let mut abroad = job("charge", "1.00");
    abroad.payer_contact = Some("+14158675309".into());
    assert!(!without.can_serve(&abroad));
    assert!(without.can_serve(&job("charge", "1.00")));
}

#[tokio::test]
async fn a_query_before_the_customer_answers_is_pending_and_no_outage() {
    let server = MockServer::start().await;
    oauth(&server, 1).await;
    // As Daraja answers while the prompt is on the phone: HTTP 500
    // `500.001.1001`, then 200 with ResultCode 4999, then the result.
    Mock::given(method("POST"))
        .and(path("/mpesa/stkpushquery/v1/query"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({
            "requestId": "ws_CO_27072017151044001", "errorCode": "500.001.1001",
            "errorMessage": "The transaction is being processed"
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/mpesa/stkpushquery/v1/query"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ResponseCode": "0", "ResponseDescription": "The service request has been accepted successsfully",
            "MerchantRequestID": "22205-34066-1", "CheckoutRequestID": "ws_CO_27072017151044001",
            "ResultCode": "4999", "ResultDesc": "The transaction is still under processing"
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/mpesa/stkpushquery/v1/query"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ResponseCode": "0", "ResultCode": "0",
            "ResultDesc": "The service request is processed successfully."
        })))
        .expect(1)
        .mount(&server)
        .await;
    let log = Memory::default();
    let mpesa = mpesa(&config(&server, &[]), &log);
    let charge = job("charge", "100.00");
    // Asked once each (the 500 is not retried), pending twice, then paid.
    assert_eq!(mpesa.status(&charge).await, Ok(None));
    assert_eq!(mpesa.status(&charge).await, Ok(None));
    assert!(matches!(
        mpesa.status(&charge).await,
        Ok(Some(Outcome::Succeeded { .. }))
    ));
}

#[tokio::test]
async fn other_server_errors_of_the_query_are_still_outages() {
    let server = MockServer::start().await;
    oauth(&server, 1).await;
    Mock::given(method("POST"))
        .and(path("/mpesa/stkpushquery/v1/query"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({
            "requestId": "1", "errorCode": "500.001.1001x", "errorMessage": "Service unavailable"
        })))
        .expect(3)
        .mount(&server)
        .await;
    let mpesa = mpesa(&config(&server, &[]), &Memory::default());
    assert!(matches!(
        mpesa.status(&job("charge", "100.00")).await,
        Err(ProviderError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_b2c_retry_refused_as_a_duplicate_is_already_submitted_under_our_id() {
    let server = MockServer::start().await;
    oauth(&server, 1).await;
    Mock::given(method("POST"))
        .and(path("/mpesa/b2c/v3/paymentrequest"))
        .and(body_partial_json(json!({
            "OriginatorConversationID": "00000000-0000-0000-abcd-ef0123456789",
        })))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "requestId": "11728-2929992-1", "errorCode": "400.002.02",
            "errorMessage": "Bad Request - Duplicate OriginatorConversationID"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let mpesa = mpesa(&config(&server, &INITIATOR), &Memory::default());
    assert_eq!(
        mpesa.submit(&job("payout", "8000.00")).await,
        Ok("00000000-0000-0000-abcd-ef0123456789".into())
    );
}

#[tokio::test]
async fn a_push_that_goes_unanswered_is_never_sent_again() {
    // Daraja does not deduplicate a push: a second one is a second prompt.
    let server = MockServer::start().await;
    oauth(&server, 1).await;
    Mock::given(method("POST"))
        .and(path("/mpesa/stkpush/v1/processrequest"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .expect(1)
        .mount(&server)
        .await;
    let mpesa = mpesa(&config(&server, &[]), &Memory::default());
    let charge = job("charge", "35000.00");
    assert!(!mpesa.deduplicates(&charge));
    let result = mpesa.submit(&charge).await;
    assert!(
        matches!(result, Err(ProviderError::Uncertain(_))),
        "{result:?}"
    );
    // Nothing at Daraja tells an unanswered push from one never made.
    assert_eq!(mpesa.look_up(&charge).await, Ok(Lookup::Unknown));
}

#[tokio::test]
async fn a_partial_refund_or_one_without_a_receipt_is_paid_back_to_the_payer_by_b2c() {
    let server = MockServer::start().await;
    oauth(&server, 1).await;
    Mock::given(method("POST"))
        .and(path("/mpesa/b2c/v3/paymentrequest"))
        .and(body_partial_json(json!({
            "OriginatorConversationID": "00000000-0000-0000-abcd-ef0123456789",
            "InitiatorName": "testapi",
            "SecurityCredential": "precomputed-credential==",
            "CommandID": "BusinessPayment",
            "Amount": 2339,
            "PartyA": "174379",
            "PartyB": "254712345678",
            "Remarks": "Premium refund",
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ConversationID": "AG_20261207_refund", "OriginatorConversationID": "00000000-0000-0000-abcd-ef0123456789",
            "ResponseCode": "0", "ResponseDescription": "Accept the service request successfully."
        })))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/mpesa/reversal/v1/request"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let mpesa = mpesa(&config(&server, &INITIATOR), &Memory::default());
    // Part of a 35,000.00 payment: a reversal carries only the whole.
    let mut partial = job("refund", "2339.00");
    partial.original_amount = Some(Decimal::new(35000, 0));
    // The whole payment, confirmed by STK query: no receipt to reverse.
    let mut unreceipted = job("refund", "2339.00");
    unreceipted.original_reference = Some("ws_CO_27072017151044001".into());
    for refund in [partial, unreceipted] {
        assert!(mpesa.can_serve(&refund));
        assert!(mpesa.deduplicates(&refund), "B2C v3 names our id");
        assert_eq!(
            mpesa.submit(&refund).await,
            Ok(Submission::done("AG_20261207_refund"))
        );
    }
    // A whole refund with its receipt is a reversal, which is not deduplicated.
    assert!(!mpesa.deduplicates(&job("refund", "2339.00")));
    // Nowhere to send it: not servable.
    let mut nowhere = job("refund", "2339.00");
    nowhere.original_reference = None;
    nowhere.payer_contact = None;
    assert!(!mpesa.can_serve(&nowhere));
}
