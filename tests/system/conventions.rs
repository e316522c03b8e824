//! The API conventions every endpoint shares: error shapes, idempotency,
//! optimistic concurrency, request ids, health and metrics.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{motor_product, spawn_app};

#[tokio::test]
async fn the_same_idempotency_key_replays_the_first_response_and_appends_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = motor_product("IDEM");
    let key = [("idempotency-key", "create-idem-1")];
    let first = app
        .send(
            Method::POST,
            "/policies/products",
            Some(&admin),
            Some(&body),
            &key,
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let second = app
        .send(
            Method::POST,
            "/policies/products",
            Some(&admin),
            Some(&body),
            &key,
        )
        .await;
    assert_eq!(second.status, StatusCode::CREATED);
    assert_eq!(second.body, first.body);
    assert_eq!(second.header("etag"), first.header("etag"));
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_type = 'Product'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(events, 1);

    let mut other = body.clone();
    other["name"] = json!("Something else");
    let reused = app
        .send(
            Method::POST,
            "/policies/products",
            Some(&admin),
            Some(&other),
            &key,
        )
        .await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reused.body["code"], "idempotency_key_reused");

    // Keys are per caller: another admin's same key is another request.
    let other_admin = app.user("admin2@example.com", domain::Role::Admin).await;
    let mut theirs = motor_product("IDEM-2");
    theirs["name"] = json!("Theirs");
    let separate = app
        .send(
            Method::POST,
            "/policies/products",
            Some(&other_admin),
            Some(&theirs),
            &key,
        )
        .await;
    assert_eq!(separate.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_replayed_command_on_an_existing_aggregate_appends_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = app
        .post("/policies/products", Some(&admin), &motor_product("R"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"rate": "0.05", "minimum_premium": {"amount": "100", "currency": "KES"}});
    let key = [("idempotency-key", "reprice-1")];
    let path = format!("/policies/products/{id}/reprice");
    let first = app
        .send(Method::POST, &path, Some(&admin), Some(&body), &key)
        .await;
    let again = app
        .send(Method::POST, &path, Some(&admin), Some(&body), &key)
        .await;
    assert_eq!(first.body, again.body);
    assert_eq!(again.body["version"], 2);
}

#[tokio::test]
async fn a_stale_if_match_is_412_and_a_current_one_succeeds() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = app
        .post("/policies/products", Some(&admin), &motor_product("ETAG"))
        .await;
    let id = created.body["id"].as_str().unwrap();
    let path = format!("/policies/products/{id}/reprice");
    let body = json!({"rate": "0.05", "minimum_premium": {"amount": "100", "currency": "KES"}});
    let ok = app
        .send(
            Method::POST,
            &path,
            Some(&admin),
            Some(&body),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.header("etag"), Some("\"2\""));
    let body = json!({"rate": "0.06", "minimum_premium": {"amount": "100", "currency": "KES"}});
    let stale = app
        .send(
            Method::POST,
            &path,
            Some(&admin),
            Some(&body),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.body["code"], "precondition_failed");
    assert_eq!(
        app.get(&format!("/policies/products/{id}"), Some(&admin))
            .await
            .body["rate"],
        "0.05"
    );
    let garbage = app
        .send(
            Method::POST,
            &path,
            Some(&admin),
            Some(&body),
            &[("if-match", "yesterday")],
        )
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
}

async fn raw_post(
    app: &crate::common::TestApp,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> crate::common::Reply {
    let response = app
        .client
        .post(format!("{}/policies/products", app.base))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    crate::common::Reply {
        status,
        headers,
        body,
    }
}

#[tokio::test]
async fn bad_bodies_get_400_413_415_and_422_as_problem_json() {
    let app = spawn_app().await;
    let admin = app.admin().await;

    let malformed = raw_post(&app, &admin, "application/json", b"{\"code\": ".to_vec()).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.body["code"], "malformed_json");
    assert_eq!(
        malformed.header("content-type"),
        Some("application/problem+json")
    );
    for key in ["type", "title", "status", "detail", "code", "request_id"] {
        assert!(
            malformed.body.get(key).is_some(),
            "problem+json lacks {key}"
        );
    }
    assert_eq!(malformed.body["status"], 400);

    let text = raw_post(&app, &admin, "text/plain", b"code=X".to_vec()).await;
    assert_eq!(text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(text.body["code"], "unsupported_media_type");

    let mut huge = motor_product("HUGE");
    huge["description"] = json!("x".repeat(2 * 1024 * 1024));
    let too_large = raw_post(
        &app,
        &admin,
        "application/json",
        serde_json::to_vec(&huge).unwrap(),
    )
    .await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(too_large.body["code"], "payload_too_large");

    let missing = app
        .post("/policies/products", Some(&admin), &json!({"code": "M"}))
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.body["code"], "validation_failed");
    assert!(missing.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("missing field"));

    let mut wrong_type = motor_product("W");
    wrong_type["term_months"] = json!("twelve");
    let reply = app
        .post("/policies/products", Some(&admin), &wrong_type)
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body["errors"][0]["field"], "term_months");
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_keeps_the_clients() {
    let app = spawn_app().await;
    let generated = app.get("/health", None).await;
    assert!(generated
        .header("x-request-id")
        .is_some_and(|id| id.len() >= 32));
    let kept = app
        .send(
            Method::GET,
            "/auth/me",
            None,
            None,
            &[("x-request-id", "req-abc-123")],
        )
        .await;
    assert_eq!(kept.header("x-request-id"), Some("req-abc-123"));
    assert_eq!(kept.body["request_id"], "req-abc-123");
}

#[tokio::test]
async fn health_and_metrics_report_the_database_and_subscriptions() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.post("/policies/products", Some(&admin), &motor_product("H"))
        .await;
    assert_eq!(app.get("/health", None).await.body["status"], "ok");
    assert_eq!(app.get("/health/db", None).await.body["status"], "ok");
    let workers = app.get("/health/workers", None).await;
    let subscriptions = workers.body["subscriptions"].as_array().unwrap();
    let products = subscriptions
        .iter()
        .find(|s| s["name"] == "products")
        .unwrap();
    assert_eq!(products["lag_events"], 0);
    assert!(products["events_handled"].as_i64().unwrap() >= 2);

    let metrics = app
        .client
        .get(app.base.replace("/api/v1", "/metrics"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("ifinsure_http_requests_total{method=\"POST\",route=\"/api/v1/policies/products\",status=\"201\"} 1"), "{metrics}");
    assert!(metrics.contains("ifinsure_http_request_duration_seconds_bucket"));
    assert!(metrics.contains("ifinsure_subscription_lag_events{subscription=\"products\"} 0"));
}

#[tokio::test]
async fn a_command_answers_from_the_aggregate_when_the_read_model_lags() {
    let db = crate::common::TestDb::new().await;
    let mut settings = crate::common::test_settings();
    settings.read_your_writes_timeout = std::time::Duration::from_millis(100);
    // An API process alone: no projection runs, so the read model never catches up.
    let (running, base, token) = crate::common::spawn_api_only(db.pool.clone(), settings).await;
    let reply = reqwest::Client::new()
        .post(format!("{base}/policies/products"))
        .bearer_auth(&token)
        .json(&motor_product("LAG"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::CREATED);
    assert_eq!(reply.headers()["etag"], "\"1\"");
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(body["code"], "LAG");
    assert_eq!(body["status"], "active");
    assert_eq!(body["version"], 1);
    assert_eq!(
        body["minimum_premium"],
        json!({"amount": "15000.00", "currency": "KES"})
    );
    running.stop().await;
}

#[tokio::test]
async fn command_responses_report_how_long_they_waited_for_the_read_model() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = app
        .post("/policies/products", Some(&admin), &motor_product("T"))
        .await;
    let timing = created
        .header("server-timing")
        .expect("a Server-Timing header");
    let ms: f64 = timing
        .strip_prefix("projection;dur=")
        .unwrap()
        .parse()
        .unwrap();
    assert!((0.0..5000.0).contains(&ms), "{timing}");
}

#[tokio::test]
async fn session_responses_are_never_stored_for_idempotent_replay() {
    let app = spawn_app().await;
    app.admin().await;
    let body = json!({"email": "admin@example.com", "password": crate::common::PASSWORD});
    let key = [("idempotency-key", "login-1")];
    let first = app
        .send(Method::POST, "/auth/login", None, Some(&body), &key)
        .await;
    let second = app
        .send(Method::POST, "/auth/login", None, Some(&body), &key)
        .await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(second.status, StatusCode::OK);
    assert_ne!(
        first.body["refresh_token"], second.body["refresh_token"],
        "a fresh session, not a replay"
    );
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM idempotency_keys")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "no tokens are kept in the idempotency table");
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problems_too() {
    let app = spawn_app().await;
    let missing = app.get("/no/such/thing", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["code"], "not_found");
    let wrong = app
        .send(Method::DELETE, "/policies/products", None, None, &[])
        .await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.body["code"], "method_not_allowed");
    assert_eq!(
        wrong.header("content-type"),
        Some("application/problem+json")
    );
}

#[tokio::test]
async fn a_client_that_disconnects_still_gets_its_command_recorded_for_the_retry() {
    let db = crate::common::TestDb::new().await;
    let mut settings = crate::common::test_settings();
    settings.read_your_writes_timeout = std::time::Duration::from_millis(1500);
    // No projection runs, so the command waits the whole timeout before answering.
    let (running, base, token) = crate::common::spawn_api_only(db.pool.clone(), settings).await;
    let url = format!("{base}/policies/products");
    let send = |timeout_ms: u64| {
        reqwest::Client::new()
            .post(&url)
            .bearer_auth(&token)
            .header("idempotency-key", "impatient-1")
            .timeout(std::time::Duration::from_millis(timeout_ms))
            .json(&motor_product("GONE"))
            .send()
    };
    assert!(
        send(200).await.is_err(),
        "the client gave up before the answer"
    );
    // The server carries on without the client and stores its answer.
    crate::common::eventually("the abandoned request to finish", || async {
        let status: Option<Option<i16>> =
            sqlx::query_scalar("SELECT status FROM idempotency_keys WHERE key = 'impatient-1'")
                .fetch_optional(&db.pool)
                .await
                .unwrap();
        status.flatten()
    })
    .await;
    let retry = send(5000).await.unwrap();
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_type = 'Product'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(events, 1, "the command ran once");
    running.stop().await;
}

#[tokio::test]
async fn metrics_and_integration_health_are_for_admins_or_the_operations_listener() {
    let operations = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let settings = ifinsure::settings::Settings {
        metrics_addr: Some(operations),
        ..crate::common::test_settings()
    };
    let app = crate::common::spawn_app_with(settings).await;
    let admin = app.admin().await;
    let staff = app.user("staff@example.com", domain::Role::Staff).await;
    let root = app.base.replace("/api/v1", "");
    for path in [
        "/metrics",
        "/api/v1/metrics",
        "/health/integrations",
        "/api/v1/health/integrations",
    ] {
        let url = format!("{root}{path}");
        let anonymous = app.client.get(&url).send().await.unwrap().status();
        assert_eq!(anonymous, StatusCode::UNAUTHORIZED, "{path}");
        let by_staff = app
            .client
            .get(&url)
            .bearer_auth(&staff)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(by_staff, StatusCode::FORBIDDEN, "{path}");
        let by_admin = app
            .client
            .get(&url)
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(by_admin, StatusCode::OK, "{path}");
    }
    assert_eq!(
        app.get("/health", None).await.status,
        StatusCode::OK,
        "/health stays public"
    );

    // Made-up methods share one label instead of growing the series.
    for n in 0..25 {
        let method = Method::from_bytes(format!("JUNK{n}").as_bytes()).unwrap();
        app.client
            .request(method, format!("{root}/health"))
            .send()
            .await
            .unwrap();
    }
    let internal = format!("http://{operations}");
    let metrics = app
        .client
        .get(format!("{internal}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        metrics.status(),
        StatusCode::OK,
        "the operations listener needs no token"
    );
    let text = metrics.text().await.unwrap();
    assert!(!text.contains("JUNK"), "{text}");
    assert!(text.contains("method=\"other\""), "{text}");
    let integrations = app
        .client
        .get(format!("{internal}/health/integrations"))
        .send()
        .await
        .unwrap();
    assert_eq!(integrations.status(), StatusCode::OK);
    let elsewhere = app
        .client
        .get(format!("{internal}/api/v1/policies/products"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        elsewhere.status(),
        StatusCode::NOT_FOUND,
        "nothing else is served there"
    );
}
