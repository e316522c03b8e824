//! SMS and email providers configured through the Integrations Center as an
//! admin would, tested against fakes of their APIs; Twilio's status
//! callbacks must carry a valid `X-Twilio-Signature`.

use domain::signatures::twilio_signature;
use reqwest::StatusCode;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::book::*;

const AUTH_TOKEN: &str = "twilio-auth-token-journey";

#[tokio::test]
async fn twilio_and_sendgrid_pass_their_connection_tests_and_twilio_callbacks_are_verified() {
    let fake = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/2010-04-01/Accounts/AC0042.json"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"sid": "AC0042", "status": "active"})),
        )
        .expect(1)
        .mount(&fake)
        .await;
    Mock::given(method("GET"))
        .and(path("/v3/scopes"))
        .and(header("authorization", "Bearer SG.wrong-key-000000"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "errors": [{"field": null, "message": "authorization required"}]
        })))
        .expect(1)
        .mount(&fake)
        .await;
    let book = Book::open().await;
    let mut ids = Vec::new();
    for body in [
        json!({"provider": "twilio", "name": "Twilio", "environment": "sandbox", "is_primary": true,
               "credentials": {"account_sid": "AC0042", "auth_token": AUTH_TOKEN, "from": "+15005550006"},
               "settings": {"base_url": fake.uri()}}),
        json!({"provider": "sendgrid", "name": "SendGrid", "environment": "sandbox", "is_primary": true,
               "credentials": {"api_key": "SG.wrong-key-000000", "from": "no-reply@ifinsure.example"},
               "settings": {"base_url": fake.uri()}}),
    ] {
        let created = book
            .app
            .post("/integrations/configs", Some(&book.admin), &body)
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        ids.push(created.body["id"].as_str().unwrap().to_string());
    }
    let test = |id: String| {
        let book = &book;
        async move { book.test_connection(&id).await }
    };
    let twilio = test(ids[0].clone()).await;
    assert_eq!(twilio.status, StatusCode::OK, "{}", twilio.body);
    assert_eq!(twilio.body["last_test"]["ok"], true, "{}", twilio.body);
    let sendgrid = test(ids[1].clone()).await;
    assert_eq!(sendgrid.body["last_test"]["ok"], false, "{}", sendgrid.body);
    assert!(sendgrid.body["last_test"]["detail"]
        .as_str()
        .unwrap()
        .contains("authorization required"));
    assert!(!sendgrid.body.to_string().contains("SG.wrong-key-000000"));

    let url = format!("{}/webhooks/twilio", book.app.base);
    let params: Vec<(String, String)> = [
        ("AccountSid", "AC0042"),
        ("MessageSid", "SM1f0e8ae6ade43cb3c0ce4525424e404f"),
        ("MessageStatus", "delivered"),
        ("To", "+254712345678"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .to_vec();
    let send = |signature: String| {
        let book = &book;
        let url = url.clone();
        let params = params.clone();
        async move {
            book.app
                .client
                .post(url)
                .header("x-twilio-signature", signature)
                .form(&params)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        send(twilio_signature(b"another-token", &url, &params)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(twilio_signature(AUTH_TOKEN.as_bytes(), &url, &params)).await,
        StatusCode::OK
    );
    let outcomes: Vec<(bool, String)> = sqlx::query_as(
        "SELECT verified, outcome FROM webhook_deliveries WHERE provider = 'twilio' ORDER BY id",
    )
    .fetch_all(&book.app.db.pool)
    .await
    .unwrap();
    assert!(!outcomes[0].0, "the forged callback is stored unverified");
    assert_eq!(
        outcomes[1],
        (
            true,
            "ignored: no sent message SM1f0e8ae6ade43cb3c0ce4525424e404f awaits a report"
                .to_string()
        )
    );
}
