//! The product catalogue over HTTP.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{motor_product, spawn_app};

#[tokio::test]
async fn a_product_is_visible_at_each_step_of_its_life() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let customer = app
        .user("wanjiru@example.com", domain::Role::Customer)
        .await;

    let created = app
        .post(
            "/policies/products",
            Some(&admin),
            &motor_product("MOTOR-COMP"),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["status"], "active");
    assert_eq!(created.body["version"], 1);
    assert_eq!(created.body["rate"], "0.035");
    assert_eq!(
        created.body["minimum_premium"],
        json!({"amount": "15000.00", "currency": "KES"})
    );
    assert_eq!(created.header("etag"), Some("\"1\""));
    let id = created.body["id"].as_str().unwrap().to_string();

    // Read-your-writes: a following GET (by anyone signed in) already shows it.
    let seen = app
        .get(&format!("/policies/products/{id}"), Some(&customer))
        .await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(seen.body, created.body);

    let repriced = app
        .post(
            &format!("/policies/products/{id}/reprice"),
            Some(&admin),
            &json!({"rate": "0.04", "minimum_premium": {"amount": "17500", "currency": "KES"}}),
        )
        .await;
    assert_eq!(repriced.status, StatusCode::OK, "{}", repriced.body);
    assert_eq!(repriced.body["rate"], "0.04");
    assert_eq!(repriced.body["minimum_premium"]["amount"], "17500.00");
    assert_eq!(repriced.body["version"], 2);
    assert_eq!(
        app.get(&format!("/policies/products/{id}"), Some(&admin))
            .await
            .body,
        repriced.body
    );

    let retired = app
        .post(
            &format!("/policies/products/{id}/retire"),
            Some(&admin),
            &json!({"reason": "replaced"}),
        )
        .await;
    assert_eq!(retired.status, StatusCode::OK);
    assert_eq!(retired.body["status"], "retired");
    assert_eq!(retired.body["retired_reason"], "replaced");
    assert_eq!(retired.body["version"], 3);
    assert_eq!(
        app.get(&format!("/policies/products/{id}"), Some(&customer))
            .await
            .body,
        retired.body
    );

    let again = app
        .post(
            &format!("/policies/products/{id}/retire"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["code"], "invalid_transition");

    let active = app
        .get("/policies/products?status=active", Some(&customer))
        .await;
    assert_eq!(active.body["items"], json!([]));
    let retired_list = app
        .get("/policies/products?status=retired", Some(&customer))
        .await;
    assert_eq!(retired_list.body["items"][0]["id"], id.as_str());

    // Every event of its life is in the store with who and why.
    let events = app.store().events_of("Product", &id).await.unwrap();
    let types: Vec<_> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        ["ProductDefined", "ProductRepriced", "ProductRetired"]
    );
    for event in &events {
        for key in [
            "user_id",
            "role",
            "request_id",
            "correlation_id",
            "causation_id",
            "client_ip",
        ] {
            assert!(
                event.metadata_str(key).is_some(),
                "{key} missing from {}",
                event.metadata
            );
        }
        assert_eq!(event.metadata_str("role"), Some("admin"));
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_product_endpoints() {
    let app = spawn_app().await;
    let doc = app.get("/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert_eq!(doc.body["openapi"], "3.1.0");
    for (method, path) in api::openapi::OPERATIONS {
        let entry = &doc.body["paths"][format!("/api/v1{path}")][*method];
        assert!(entry.is_object(), "{method} {path} is not documented");
    }
    assert!(
        doc.body["paths"]["/api/v1/policies/products/{id}/reprice"]["post"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "If-Match")
    );
}

#[tokio::test]
async fn only_admins_change_the_catalogue() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for (email, role) in [
        ("c@example.com", domain::Role::Customer),
        ("s@example.com", domain::Role::Staff),
        ("au@example.com", domain::Role::Auditor),
    ] {
        let token = app.user(email, role).await;
        let reply = app
            .post("/policies/products", Some(&token), &motor_product("X"))
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{role}");
        assert_eq!(reply.body["code"], "forbidden");
    }
    let created = app
        .post("/policies/products", Some(&admin), &motor_product("X"))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
}

#[tokio::test]
async fn product_codes_are_unique() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    assert_eq!(
        app.post("/policies/products", Some(&admin), &motor_product("DUP"))
            .await
            .status,
        StatusCode::CREATED
    );
    let dup = app
        .post("/policies/products", Some(&admin), &motor_product("DUP"))
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.body["code"], "code_taken");
}

#[tokio::test]
async fn an_invalid_product_lists_every_broken_rule_and_frees_its_code() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut body = motor_product("BAD");
    body["rate"] = json!("1.5");
    body["term_months"] = json!(0);
    body["sum_insured_min"] = json!({"amount": "30000000", "currency": "KES"});
    let reply = app.post("/policies/products", Some(&admin), &body).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<_> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, ["rate", "sum_insured_max", "term_months"]);
    let fixed = app
        .post("/policies/products", Some(&admin), &motor_product("BAD"))
        .await;
    assert_eq!(
        fixed.status,
        StatusCode::CREATED,
        "a refused product does not keep its code"
    );
}

#[tokio::test]
async fn amounts_must_be_decimal_strings_in_the_currency_precision() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut float = motor_product("F");
    float["minimum_premium"] = json!({"amount": 15000.5, "currency": "KES"});
    let reply = app.post("/policies/products", Some(&admin), &float).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body["errors"][0]["field"], "minimum_premium.amount");

    let mut precise = motor_product("P");
    precise["minimum_premium"] = json!({"amount": "15000.505", "currency": "KES"});
    let reply = app.post("/policies/products", Some(&admin), &precise).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body["errors"][0]["field"], "minimum_premium");

    let mut currency = motor_product("C");
    currency["currency"] = json!("XYZ");
    let reply = app
        .post("/policies/products", Some(&admin), &currency)
        .await;
    assert_eq!(reply.body["errors"][0]["field"], "currency");
}

#[tokio::test]
async fn lists_page_with_cursors() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for i in 0..5 {
        app.post(
            "/policies/products",
            Some(&admin),
            &motor_product(&format!("P{i}")),
        )
        .await;
    }
    let first = app.get("/policies/products?limit=2", Some(&admin)).await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 2);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/policies/products?limit=2&cursor={cursor}"),
            Some(&admin),
        )
        .await;
    let third = app
        .get(
            &format!(
                "/policies/products?limit=2&cursor={}",
                second.body["next_cursor"].as_str().unwrap()
            ),
            Some(&admin),
        )
        .await;
    assert_eq!(third.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(third.body["next_cursor"], json!(null));
    let codes: Vec<String> = [&first, &second, &third]
        .iter()
        .flat_map(|r| {
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["code"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(codes, ["P0", "P1", "P2", "P3", "P4"]);

    let bad = app.get("/policies/products?limit=500", Some(&admin)).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["errors"][0]["field"], "limit");
    let bad_cursor = app
        .get("/policies/products?cursor=garbage", Some(&admin))
        .await;
    assert_eq!(bad_cursor.body["errors"][0]["field"], "cursor");
    let bad_line = app.get("/policies/products?line=boats", Some(&admin)).await;
    assert_eq!(bad_line.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn an_unknown_product_is_404() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = uuid::Uuid::now_v7();
    assert_eq!(
        app.get(&format!("/policies/products/{id}"), Some(&admin))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let reprice = app
        .post(
            &format!("/policies/products/{id}/reprice"),
            Some(&admin),
            &json!({"rate": "0.04", "minimum_premium": {"amount": "1", "currency": "KES"}}),
        )
        .await;
    assert_eq!(reprice.status, StatusCode::NOT_FOUND);
    let malformed = app.get("/policies/products/not-a-uuid", Some(&admin)).await;
    assert_eq!(malformed.status, StatusCode::NOT_FOUND);
    assert_eq!(malformed.body["code"], "not_found");
}

#[tokio::test]
async fn concurrent_products_with_one_code_make_exactly_one_product() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = motor_product("RACE");
    let replies = futures::future::join_all(
        (0..8).map(|_| app.post("/policies/products", Some(&admin), &body)),
    )
    .await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1);
    for reply in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_eq!(reply.status, StatusCode::CONFLICT);
        assert_eq!(reply.body["code"], "code_taken");
    }
    let (events, claims): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM events WHERE aggregate_type = 'Product'), (SELECT count(*) FROM unique_claims)",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(
        (events, claims),
        (1, 1),
        "no product without its code, no code without its product"
    );
}

#[tokio::test]
async fn a_products_table_from_before_commissions_gains_the_column_at_start() {
    let db = crate::common::TestDb::new().await;
    let columns = || async {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = 'products'",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap();
        names
    };
    sqlx::query("ALTER TABLE products DROP COLUMN commission_rate")
        .execute(&db.pool)
        .await
        .unwrap();
    assert!(!columns().await.contains(&"commission_rate".to_string()));
    ifinsure::app::prepare(&db.pool).await.unwrap();
    assert!(columns().await.contains(&"commission_rate".to_string()));
    // Starting again changes nothing.
    ifinsure::app::prepare(&db.pool).await.unwrap();
}
