//! What SMS and email providers report after they took a message: Africa's
//! Talking's delivery reports (unsigned: the configuration's token in the
//! URL the admin registers) and SendGrid's signed event webhook mark the
//! notification delivered or failed, as Twilio's signed status callbacks
//! do. Each provider is faked at its HTTP boundary with the answers its
//! documentation gives; reports are sent as the providers send them.

use std::sync::atomic::{AtomicUsize, Ordering};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use domain::signatures::twilio_signature;
use reqwest::StatusCode;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::book::*;

/// Africa's Talking's answer to a send (africastalking-python's shape),
/// each message with its own `messageId`.
struct AtSent(AtomicUsize);

impl Respond for AtSent {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(201).set_body_json(json!({"SMSMessageData": {
            "Message": "Sent to 1/1 Total Cost: KES 0.8000",
            "Recipients": [{"statusCode": 101, "number": "+254711000000", "status": "Success",
                            "cost": "KES 0.8000", "messageId": format!("ATPid_{n}")}]}}))
    }
}

/// The customer's SMS notifications, by template.
async fn sms(book: &Book, customer: &str, template: &str) -> Value {
    let mine = book.app.get("/me/notifications", Some(customer)).await;
    mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["template"] == template && n["channel"] == "sms")
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn africas_talking_reports_need_the_registered_token_and_mark_each_sms_delivered_or_failed() {
    let at = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/version1/messaging"))
        .respond_with(AtSent(AtomicUsize::new(0)))
        .mount(&at)
        .await;
    let book = Book::open().await;
    let id = book
        .configure(&json!({"provider": "africastalking", "name": "Africa's Talking", "environment": "sandbox",
            "is_primary": true, "credentials": {"username": "sandbox", "api_key": "atsk_journey_0000000000"},
            "settings": {"base_url": at.uri()}}))
        .await;
    // The URL to register in Africa's Talking's dashboard, token included.
    let config = book
        .app
        .get(&format!("/integrations/configs/{id}"), Some(&book.admin))
        .await;
    let url = config.body["webhook_url"].as_str().unwrap().to_string();
    assert!(
        url.contains("/api/v1/webhooks/africastalking?token="),
        "{url}"
    );
    assert!(!url.contains("{callback_token}"), "{url}");

    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    book.active_policy(&customer, "1000000.00").await;
    let (paid, activated) = eventually("both SMS sent through Africa's Talking", || async {
        let paid = sms(&book, &customer, "payment_received").await;
        let activated = sms(&book, &customer, "policy_activated").await;
        (paid["status"] == "sent" && activated["status"] == "sent")
            .then(|| json!([paid, activated]))
    })
    .await
    .as_array()
    .map(|both| (both[0].clone(), both[1].clone()))
    .unwrap();
    assert_eq!(paid["provider"], "africastalking");
    let report = |url: &str, message: &Value, status: &str, reason: &str| {
        let client = book.app.client.clone();
        let url = url.to_string();
        let form = vec![
            (
                "id",
                message["provider_message_id"].as_str().unwrap().to_string(),
            ),
            ("status", status.to_string()),
            ("phoneNumber", "+254711000000".to_string()),
            ("networkCode", "63902".to_string()),
            ("failureReason", reason.to_string()),
            ("retryCount", "0".to_string()),
        ];
        async move { client.post(url).form(&form).send().await.unwrap().status() }
    };
    // Without the token, or with another, nothing is taken.
    let public = url.split('?').next().unwrap().to_string();
    let forged = format!("{public}?token=guessed-token");
    for bad in [&public, &forged] {
        assert_eq!(
            report(bad, &paid, "Success", "").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        sms(&book, &customer, "payment_received").await["status"],
        "sent"
    );
    // On its way, then delivered; the other one failed.
    assert_eq!(report(&url, &paid, "Buffered", "").await, StatusCode::OK);
    assert_eq!(
        sms(&book, &customer, "payment_received").await["status"],
        "sent"
    );
    assert_eq!(report(&url, &paid, "Success", "").await, StatusCode::OK);
    assert_eq!(
        report(&url, &activated, "Failed", "UserInBlacklist").await,
        StatusCode::OK
    );
    let paid = sms(&book, &customer, "payment_received").await;
    assert_eq!(paid["status"], "delivered", "{paid}");
    assert!(paid["delivered_at"].is_string(), "{paid}");
    let activated = sms(&book, &customer, "policy_activated").await;
    assert_eq!(activated["status"], "failed", "{activated}");
    assert_eq!(
        activated["delivery_detail"],
        "Africa's Talking: Failed (UserInBlacklist)"
    );
    // A late, contrary report does not undo the first final one.
    assert_eq!(
        report(&url, &paid, "Failed", "DeliveryFailure").await,
        StatusCode::OK
    );
    assert_eq!(
        sms(&book, &customer, "payment_received").await["status"],
        "delivered"
    );
    // Staff find the failures.
    let failed = book
        .app
        .get("/notifications?status=failed", Some(&book.staff))
        .await;
    assert_eq!(failed.status, StatusCode::OK, "{}", failed.body);
    assert_eq!(failed.body["items"].as_array().unwrap().len(), 1);
}

/// A P-256 key pair as SendGrid's Mail Settings would hold it: the
/// verification key (base64 DER SubjectPublicKeyInfo) and a signer.
fn sendgrid_keys() -> (String, EcdsaKeyPair) {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    // id-ecPublicKey, prime256v1, then the uncompressed point.
    let prefix: [u8; 26] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    let key = STANDARD.encode([&prefix[..], pair.public_key().as_ref()].concat());
    (key, pair)
}

#[tokio::test]
async fn sendgrid_events_signed_with_the_configured_key_mark_an_email_bounced_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .respond_with(
            ResponseTemplate::new(202).insert_header("X-Message-Id", "W9QIRLf5Q6yg0hjM-6_pYA"),
        )
        .mount(&server)
        .await;
    let book = Book::open().await;
    let (key, signer) = sendgrid_keys();
    crate::notifications::sendgrid_with(&book, &server, json!({"webhook_verification_key": key}))
        .await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let welcome = eventually("the welcome email sent by SendGrid", || async {
        let mine = book.app.get("/me/notifications", Some(&customer)).await;
        mine.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["template"] == "welcome" && n["status"] == "sent")
            .cloned()
    })
    .await;
    assert_eq!(welcome["provider_message_id"], "W9QIRLf5Q6yg0hjM-6_pYA");
    let url = format!("{}/webhooks/sendgrid", book.app.base);
    let event = |kind: &str, id: &str| {
        json!({"email": "c@example.com", "timestamp": 1765101600, "event": kind,
               "sg_event_id": id, "reason": "550 5.1.1 The email account that you tried to reach does not exist",
               "sg_message_id": "W9QIRLf5Q6yg0hjM-6_pYA.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
               "smtp-id": "<W9QIRLf5Q6yg0hjM-6_pYA@ismtpd0001p1las1.sendgrid.net>", "type": "bounce"})
    };
    let post = |body: Vec<u8>, signature: String| {
        let client = book.app.client.clone();
        let url = url.clone();
        async move {
            client
                .post(url)
                .header("content-type", "application/json")
                .header("X-Twilio-Email-Event-Webhook-Signature", signature)
                .header("X-Twilio-Email-Event-Webhook-Timestamp", "1765101600")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let rng = ring::rand::SystemRandom::new();
    let sign = |body: &[u8]| {
        let mut message = b"1765101600".to_vec();
        message.extend_from_slice(body);
        STANDARD.encode(signer.sign(&rng, &message).unwrap())
    };
    let batch = serde_json::to_vec(&json!([
        event("processed", "ev-1"),
        event("deferred", "ev-2")
    ]))
    .unwrap();
    // Signed by another key, or for another body: refused, nothing changes.
    let (_, stranger) = sendgrid_keys();
    let mut signed = b"1765101600".to_vec();
    signed.extend_from_slice(&batch);
    let foreign = STANDARD.encode(stranger.sign(&rng, &signed).unwrap());
    assert_eq!(post(batch.clone(), foreign).await, StatusCode::UNAUTHORIZED);
    let bounce = serde_json::to_vec(&json!([event("bounce", "ev-3")])).unwrap();
    assert_eq!(
        post(bounce.clone(), sign(&batch)).await,
        StatusCode::UNAUTHORIZED
    );
    // On its way: still sent.
    assert_eq!(post(batch.clone(), sign(&batch)).await, StatusCode::OK);
    assert_eq!(welcome_of(&book, &customer).await["status"], "sent");
    // The bounce: failed, with SendGrid's reason; a redelivery and a late
    // "delivered" change nothing.
    assert_eq!(post(bounce.clone(), sign(&bounce)).await, StatusCode::OK);
    assert_eq!(post(bounce.clone(), sign(&bounce)).await, StatusCode::OK);
    let late = serde_json::to_vec(&json!([event("delivered", "ev-4")])).unwrap();
    assert_eq!(post(late.clone(), sign(&late)).await, StatusCode::OK);
    let welcome = welcome_of(&book, &customer).await;
    assert_eq!(welcome["status"], "failed", "{welcome}");
    assert_eq!(
        welcome["delivery_detail"],
        "SendGrid: bounce (550 5.1.1 The email account that you tried to reach does not exist)"
    );
}

/// The customer's welcome email as the log shows it.
async fn welcome_of(book: &Book, customer: &str) -> Value {
    let mine = book.app.get("/me/notifications", Some(customer)).await;
    mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["template"] == "welcome")
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn twilios_signed_status_callback_marks_the_sms_delivered() {
    let twilio = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2010-04-01/Accounts/AC0042/Messages.json"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "sid": "SM1f0e8ae6ade43cb3c0ce4525424e404f", "status": "queued", "num_segments": "1",
            "to": "+254711000000", "from": "+15005550006", "direction": "outbound-api",
            "error_code": null, "error_message": null
        })))
        .mount(&twilio)
        .await;
    let book = Book::open().await;
    book.configure(&json!({"provider": "twilio", "name": "Twilio", "environment": "sandbox",
            "is_primary": true,
            "credentials": {"account_sid": "AC0042", "auth_token": "twilio-auth-token-reports", "from": "+15005550006"},
            "settings": {"base_url": twilio.uri()}}))
        .await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    book.active_policy(&customer, "1000000.00").await;
    eventually("the SMS sent through Twilio", || async {
        let paid = sms(&book, &customer, "payment_received").await;
        (paid["status"] == "sent").then_some(paid)
    })
    .await;
    let url = format!("{}/webhooks/twilio", book.app.base);
    let params: Vec<(String, String)> = [
        ("AccountSid", "AC0042"),
        ("MessageSid", "SM1f0e8ae6ade43cb3c0ce4525424e404f"),
        ("MessageStatus", "delivered"),
        ("To", "+254711000000"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .to_vec();
    let signature = twilio_signature(b"twilio-auth-token-reports", &url, &params);
    let sent = book
        .app
        .client
        .post(&url)
        .header("x-twilio-signature", signature)
        .form(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::OK);
    // Both SMS carry Twilio's (fake's) one sid: both are delivered.
    let paid = sms(&book, &customer, "payment_received").await;
    assert_eq!(paid["status"], "delivered", "{paid}");
}
