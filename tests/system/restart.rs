//! A restarted server keeps everything and resumes from its checkpoints.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{motor_product, spawn_app, start_on, test_settings, PASSWORD};

#[tokio::test]
async fn a_restart_keeps_users_products_and_checkpoints() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = app
        .post("/policies/products", Some(&admin), &motor_product("KEEP"))
        .await;
    let id = created.body["id"].as_str().unwrap().to_string();
    let db = app.stop().await;
    let handled_before: i64 = sqlx::query_scalar(
        "SELECT events_handled FROM subscription_checkpoints WHERE name = 'products'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();

    let app = start_on(db, test_settings()).await;
    let login = app
        .post(
            "/auth/login",
            None,
            &json!({"email": "admin@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
    let admin = login.body["access_token"].as_str().unwrap().to_string();
    let product = app
        .get(&format!("/policies/products/{id}"), Some(&admin))
        .await;
    assert_eq!(product.body, created.body);

    let retired = app
        .post(
            &format!("/policies/products/{id}/retire"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(retired.body["status"], "retired");
    let handled_after: i64 = sqlx::query_scalar(
        "SELECT events_handled FROM subscription_checkpoints WHERE name = 'products'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(
        handled_after,
        handled_before + 1,
        "resumed from the checkpoint, not from zero"
    );
}

#[tokio::test]
async fn demo_seeding_twice_adds_nothing_the_second_time() {
    let db = crate::common::TestDb::new().await;
    let store = crate::common::store(&db.pool);
    ifinsure::seed::seed(&db.pool, &store).await.unwrap();
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM events")
            .fetch_one(&db.pool)
            .await
            .unwrap()
    };
    let first = count().await;
    assert_eq!(first as usize, ifinsure::seed::DEMO_USERS.len() + 7);
    ifinsure::seed::seed(&db.pool, &store).await.unwrap();
    assert_eq!(count().await, first);
}

#[tokio::test]
async fn an_api_process_sees_projections_run_by_another_process() {
    use ifinsure::app::{self, Parts};
    let db = crate::common::TestDb::new().await;
    let mut settings = test_settings();
    settings.notification_outbox = db.outbox_dir();
    let secret = || secrecy::SecretString::from(crate::common::JWT_SECRET);
    let projector = app::start(
        &settings,
        db.pool.clone(),
        secret(),
        Parts {
            api: false,
            projections: true,
            workers: true,
        },
    )
    .await
    .unwrap();
    let api_pool = projections::db::connect(&db.url, 10).await.unwrap();
    let (api_only, base, token) = crate::common::spawn_api_only(api_pool, test_settings()).await;
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{base}/policies/products"))
        .bearer_auth(&token)
        .json(&motor_product("TWO"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let timing = created.headers()["server-timing"]
        .to_str()
        .unwrap()
        .to_string();
    let waited: f64 = timing
        .trim_start_matches("projection;dur=")
        .parse()
        .unwrap();
    assert!(
        waited < 4000.0,
        "the other process's progress reached this one before the timeout: {timing}"
    );
    let body: serde_json::Value = created.json().await.unwrap();
    let id = body["id"].as_str().unwrap();
    let seen = client
        .get(format!("{base}/policies/products/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(seen.status(), StatusCode::OK);
    assert_eq!(seen.json::<serde_json::Value>().await.unwrap(), body);

    api_only.stop().await;
    projector.stop().await;
}
