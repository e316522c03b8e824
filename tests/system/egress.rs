//! An admin token cannot lift a provider's stored secret: moving a
//! configuration to another `base_url` means entering its secrets again;
//! in production a base URL must be one of the provider's hosts (or
//! allow-listed) and never an internal address, checked again at every
//! call; redirects are not followed; and an unknown host's answer is never
//! shown back through the integration log.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

const SECRET: &str = "sk_live_51StoredSecretNobodyShouldSee4242";

/// A listener that records whatever it is sent and echoes a body.
async fn listener() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"echo": "what you sent"})))
        .mount(&server)
        .await;
    server
}

async fn patch(app: &TestApp, admin: &str, id: &str, body: &Value) -> Reply {
    app.send(
        Method::PATCH,
        &format!("/integrations/configs/{id}"),
        Some(admin),
        Some(body),
        &[],
    )
    .await
}

async fn create_stripe(app: &TestApp, admin: &str, settings: Value) -> Reply {
    app.post(
        "/integrations/configs",
        Some(admin),
        &json!({"provider": "stripe", "name": "Stripe live", "environment": "production",
                "credentials": {"secret_key": SECRET, "webhook_secret": "whsec_stored_secret_0001"},
                "settings": settings}),
    )
    .await
}

fn production(allowed_hosts: &str) -> ifinsure::settings::Settings {
    use base64::Engine;
    ifinsure::settings::Settings {
        production: true,
        master_key: Some(secrecy::SecretString::from(
            base64::engine::general_purpose::STANDARD.encode([9u8; 32]),
        )),
        default_payment_provider: None,
        chain_key: Some(secrecy::SecretString::from(
            "chain-key-for-production-tests-0123456789",
        )),
        integration_allowed_hosts: allowed_hosts.into(),
        ..test_settings()
    }
}

#[tokio::test]
async fn moving_a_configuration_elsewhere_needs_its_secrets_entered_again() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = create_stripe(&app, &admin, json!({})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let attacker = listener().await;

    let moved = patch(
        &app,
        &admin,
        &id,
        &json!({"settings": {"base_url": format!("{}/anything?x=", attacker.uri())}}),
    )
    .await;
    assert_eq!(
        moved.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        moved.body
    );
    assert_eq!(moved.body["errors"][0]["field"], "credentials");
    assert!(moved.body.to_string().contains("secret_key"));
    let tested = app
        .post(
            &format!("/integrations/configs/{id}/test"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(tested.status, StatusCode::OK, "{}", tested.body);
    assert!(
        attacker.received_requests().await.unwrap().is_empty(),
        "the stored secret went nowhere new"
    );

    // Re-entering the secrets moves it: it is then the admin's own secret
    // that goes there, and what that host answers is not kept.
    let reentered = patch(
        &app,
        &admin,
        &id,
        &json!({"settings": {"base_url": attacker.uri()},
                "credentials": {"secret_key": "sk_live_entered_again_0000", "webhook_secret": "whsec_again_0000"}}),
    )
    .await;
    assert_eq!(reentered.status, StatusCode::OK, "{}", reentered.body);
    app.post(
        &format!("/integrations/configs/{id}/test"),
        Some(&admin),
        &json!({}),
    )
    .await;
    let sent = attacker.received_requests().await.unwrap();
    assert!(!sent.is_empty());
    let headers = format!("{:?}", sent[0].headers);
    assert!(!headers.contains(SECRET), "the old secret never left");
    let log = app
        .get("/integrations/logs?provider=stripe", Some(&admin))
        .await;
    let text = log.body.to_string();
    assert!(!text.contains("what you sent"), "{text}");
    assert!(text.contains("not kept"), "{text}");
}

#[tokio::test]
async fn in_production_a_base_url_must_be_the_providers_own_or_allow_listed() {
    let app = spawn_app_with(production("")).await;
    let admin = app.admin().await;
    let attacker = listener().await;

    for url in [
        attacker.uri(),
        "https://169.254.169.254/latest".into(),
        "https://attacker.example".into(),
        "http://api.stripe.com".into(),
    ] {
        let refused = create_stripe(&app, &admin, json!({"base_url": url})).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{url}: {}",
            refused.body
        );
        assert_eq!(refused.body["errors"][0]["field"], "settings.base_url");
    }
    let created = create_stripe(&app, &admin, json!({})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let moved = patch(
        &app,
        &admin,
        id,
        &json!({"settings": {"base_url": attacker.uri()},
                "credentials": {"secret_key": "sk_live_x_0000000000", "webhook_secret": "whsec_x_0000"}}),
    )
    .await;
    assert_eq!(
        moved.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        moved.body
    );
    assert!(attacker.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_base_url_let_in_once_is_refused_at_the_call_when_no_longer_allowed() {
    let attacker = listener().await;
    let app = spawn_app_with(production("127.0.0.1")).await;
    let admin = app.admin().await;
    let created = create_stripe(&app, &admin, json!({"base_url": attacker.uri()})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();

    // The operator takes the proxy off the allow-list and restarts.
    let db = app.stop().await;
    let app = start_on(db, production("")).await;
    let admin = app.wait_for_login("admin@example.com").await;
    let tested = app
        .post(
            &format!("/integrations/configs/{id}/test"),
            Some(&admin),
            &json!({}),
        )
        .await;

    assert_eq!(tested.status, StatusCode::OK, "{}", tested.body);
    assert_eq!(tested.body["last_test"]["ok"], false, "{}", tested.body);
    assert!(
        tested.body["last_test"]["detail"]
            .as_str()
            .unwrap()
            .contains("base_url refused"),
        "{}",
        tested.body
    );
    assert!(attacker.received_requests().await.unwrap().is_empty());
}
