//! The Integrations Center: admins configure providers; credentials are
//! encrypted at rest, masked in every response, and never in an event.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;

const SECRET: &str = "sk_test_51HqXyZsupersecretvalue4242";
const WEBHOOK_SECRET: &str = "whsec_test_verysecret_9876";

fn stripe() -> serde_json::Value {
    json!({
        "provider": "stripe", "name": "Stripe test", "environment": "sandbox",
        "enabled": true, "is_primary": true, "priority": 1,
        "credentials": {"secret_key": SECRET, "webhook_secret": WEBHOOK_SECRET},
        "settings": {"base_url": "http://127.0.0.1:9"},
    })
}

#[tokio::test]
async fn credentials_are_encrypted_masked_and_never_in_events() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = app
        .post("/integrations/configs", Some(&admin), &stripe())
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["credentials"]["secret_key"], "sk_test_…4242");
    assert_eq!(created.body["credentials"]["webhook_secret"], "whsec_…9876");
    assert_eq!(created.body["category"], "payment");
    assert!(created.body["webhook_url"]
        .as_str()
        .unwrap()
        .ends_with("/api/v1/webhooks/stripe"));
    let id = created.body["id"].as_str().unwrap().to_string();

    let shown = app
        .get(&format!("/integrations/configs/{id}"), Some(&admin))
        .await;
    let listed = app
        .get("/integrations/configs?category=payment", Some(&admin))
        .await;
    for body in [
        created.body.to_string(),
        shown.body.to_string(),
        listed.body.to_string(),
    ] {
        assert!(
            !body.contains(SECRET) && !body.contains(WEBHOOK_SECRET),
            "{body}"
        );
    }
    let leaked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE payload::text LIKE '%supersecret%' OR metadata::text LIKE '%supersecret%'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(leaked, 0, "no secret in the event store");
    let stored: Vec<u8> = sqlx::query_scalar(
        "SELECT ciphertext FROM integration_credentials WHERE config_id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert!(!String::from_utf8_lossy(&stored).contains("supersecret"));

    // Replacing one credential keeps the other; the event names the field only.
    let updated = app
        .send(
            reqwest::Method::PATCH,
            &format!("/integrations/configs/{id}"),
            Some(&admin),
            Some(&json!({"credentials": {"secret_key": "sk_test_anothersecretvalue_1111"}, "priority": 2})),
            &[],
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["credentials"]["secret_key"], "sk_test_…1111");
    assert_eq!(updated.body["credentials"]["webhook_secret"], "whsec_…9876");
    let changed: serde_json::Value = sqlx::query_scalar(
        "SELECT payload FROM events WHERE aggregate_id = $1 AND event_type = 'IntegrationUpdated'",
    )
    .bind(&id)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(
        changed["IntegrationUpdated"]["changed"],
        json!([
            "priority",
            "credentials.secret_key",
            "credentials.webhook_secret"
        ])
    );
    assert!(!changed.to_string().contains("anothersecret"));

    let toggled = app
        .post(
            &format!("/integrations/configs/{id}/toggle"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(toggled.body["enabled"], false);
}

#[tokio::test]
async fn only_admins_configure_and_the_schema_is_enforced() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let staff = app.user("staff@example.com", domain::Role::Staff).await;
    assert_eq!(
        app.post("/integrations/configs", Some(&staff), &stripe())
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/integrations/providers", Some(&staff))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let providers = app
        .get("/integrations/providers?category=payment", Some(&admin))
        .await;
    let slugs: Vec<&str> = providers.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap())
        .collect();
    assert_eq!(
        slugs,
        ["sandbox", "mpesa", "stripe", "paystack", "flutterwave"]
    );

    let incomplete = json!({
        "provider": "mpesa", "name": "M-Pesa", "environment": "sandbox",
        "credentials": {"consumer_key": "ck-0123456789abcdef"},
        "settings": {"passkey": "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"},
    });
    let reply = app
        .post("/integrations/configs", Some(&admin), &incomplete)
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    let fields: Vec<&str> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "credentials.consumer_secret",
            "settings.shortcode",
            "credentials.passkey",
            "settings.passkey"
        ]
    );
    assert!(
        !reply.body.to_string().contains("bfb279f9"),
        "a secret sent in the wrong place is not echoed"
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM integration_credentials")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(
        rows, 0,
        "a refused configuration leaves no credentials behind"
    );
}

#[tokio::test]
async fn rotating_the_master_key_re_encrypts_every_row() {
    use base64::Engine;
    use projections::vault::{Credentials, MasterKey, Vault};
    let db = TestDb::new().await;
    ifinsure::app::prepare(&db.pool).await.unwrap();
    let old = MasterKey::from_bytes(&[1; 32]);
    let new = MasterKey::from_bytes(&[2; 32]);
    let id = uuid::Uuid::now_v7();
    let secrets = Credentials::from([("api_key".to_string(), "SG.abcdefghijklmnop".to_string())]);
    Vault::new(old.clone(), vec![])
        .store(&db.pool, id, &secrets)
        .await
        .unwrap();
    let rotated = Vault::new(new.clone(), vec![old]);
    assert_eq!(rotated.rotate(&db.pool).await.unwrap(), 1);
    assert_eq!(rotated.rotate(&db.pool).await.unwrap(), 0);
    assert_eq!(
        Vault::new(new, vec![]).load(&db.pool, id).await.unwrap(),
        secrets
    );
    assert!(
        MasterKey::from_base64(&base64::engine::general_purpose::STANDARD.encode([3u8; 16]))
            .is_err()
    );
}

/// A default build has no S3 or GCS adapter: it does not offer them, and a
/// configuration of one is refused rather than kept and failing at use.
#[cfg(not(any(feature = "s3", feature = "gcs")))]
#[tokio::test]
async fn a_build_without_the_storage_features_does_not_offer_s3_or_gcs() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let storage = app
        .get("/integrations/providers?category=storage", Some(&admin))
        .await;
    let slugs: Vec<&str> = storage.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["slug"].as_str())
        .collect();
    assert_eq!(slugs, ["local"], "{}", storage.body);
    let s3 = serde_json::json!({"provider": "s3", "name": "Documents", "environment": "production",
        "credentials": {"secret_access_key": "s3-secret-key-0123456789"},
        "settings": {"bucket": "claims", "region": "eu-west-1", "access_key_id": "AKIAEXAMPLE"}});
    let refused = app.post("/integrations/configs", Some(&admin), &s3).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert_eq!(refused.body["errors"][0]["field"], "provider");
}

#[tokio::test]
async fn webhook_deliveries_are_listed_by_filter_and_shown_with_secrets_redacted() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let staff = app.user("s@example.com", domain::Role::Staff).await;
    let client = reqwest::Client::new();
    // Two unsigned deliveries: a small one with a secret in it, and one
    // larger than the 4 KiB an unverified delivery keeps.
    let small =
        r#"{"id":"evt_small","data":{"object":{"client_secret":"pi_1_secret_2","amount":100}}}"#;
    let large = format!(r#"{{"id":"evt_large","padding":"{}"}}"#, "x".repeat(6000));
    for body in [small.to_string(), large.clone()] {
        let reply = client
            .post(format!("{}/webhooks/stripe", app.base))
            .header("stripe-signature", "t=1,v1=00")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    }

    assert_eq!(
        app.get("/integrations/webhooks", Some(&staff)).await.status,
        StatusCode::FORBIDDEN
    );
    let all = app
        .get(
            "/integrations/webhooks?provider=stripe&verified=false",
            Some(&admin),
        )
        .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    let items = all.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", all.body);
    assert_eq!(items[0]["verified"], false);
    assert!(items[0]["received_at"].is_string());
    let verified = app
        .get("/integrations/webhooks?verified=true", Some(&admin))
        .await;
    assert_eq!(verified.body["items"], json!([]));
    let paged = app
        .get("/integrations/webhooks?limit=1", Some(&admin))
        .await;
    let cursor = paged.body["next_cursor"].as_str().unwrap();
    let next = app
        .get(
            &format!("/integrations/webhooks?limit=1&cursor={cursor}"),
            Some(&admin),
        )
        .await;
    assert_ne!(next.body["items"][0]["id"], paged.body["items"][0]["id"]);

    // Newest first: the large one, kept only in part.
    let large_id = &items[0]["id"];
    let shown = app
        .get(&format!("/integrations/webhooks/{large_id}"), Some(&admin))
        .await;
    assert_eq!(shown.body["body_truncated"], true, "{}", shown.body);
    assert_eq!(shown.body["body_size"], large.len());
    assert!(shown.body["body_sha256"].as_str().unwrap().len() == 64);
    let small_id = &items[1]["id"];
    let shown = app
        .get(&format!("/integrations/webhooks/{small_id}"), Some(&admin))
        .await;
    assert_eq!(
        shown.body["body"]["data"]["object"]["client_secret"],
        "[redacted]"
    );
    assert_eq!(shown.body["body"]["data"]["object"]["amount"], 100);
    assert_eq!(
        shown.body["headers"]["stripe-signature"], "t=1,v1=00",
        "{}",
        shown.body
    );
    assert_eq!(
        app.get("/integrations/webhooks/999999", Some(&admin))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
