//! The settings admins save: who may read and write which section, every
//! validation as field errors that record nothing, a `SettingsChanged`
//! event naming the fields and the admin, and the values in force — in
//! this process at once and in a second process within a second and a
//! half (it looks every 250 ms): the brand in the console and in new
//! documents, the email sender and footer, the lockout, the password
//! minimum and the token lifetime.

use std::time::{Duration, Instant};

use domain::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::book::*;
use crate::common::{spawn_api_only, test_settings, PASSWORD};

async fn put(book: &Book, section: &str, body: &Value) -> crate::common::Reply {
    book.app
        .send(
            reqwest::Method::PUT,
            &format!("/settings/{section}"),
            Some(&book.admin),
            Some(body),
            &[],
        )
        .await
}

#[tokio::test]
async fn sections_are_read_by_role_and_refused_values_are_named_and_record_nothing() {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    let mine = book.app.get("/settings", Some(&customer)).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(mine.body["branding"]["brand_name"], "ifinsure");
    assert!(mine.body.get("security").is_none(), "{}", mine.body);
    assert!(mine.body.get("email").is_none(), "{}", mine.body);
    let all = book.app.get("/settings", Some(&book.admin)).await;
    assert_eq!(all.body["security"]["lockout_threshold"], 5);
    assert_eq!(all.body["saved_sections"], json!([]));
    assert_eq!(all.body["version"], 0);

    let by_staff = book
        .app
        .send(
            reqwest::Method::PUT,
            "/settings/branding",
            Some(&book.staff),
            Some(&json!({"brand_name": "Mine"})),
            &[],
        )
        .await;
    assert_eq!(by_staff.status, StatusCode::FORBIDDEN, "{}", by_staff.body);
    assert_eq!(
        put(&book, "colours", &json!({})).await.status,
        StatusCode::NOT_FOUND
    );

    let refused = put(
        &book,
        "branding",
        &json!({"primary_colour": "blue", "logo_url": "http://cdn.example/logo.png", "brand_name": " "}),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    let fields: Vec<&str> = refused.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["brand_name", "logo_url", "primary_colour"],
        "{}",
        refused.body
    );
    for (section, body, field) in [
        (
            "security",
            json!({"lockout_threshold": 0}),
            "lockout_threshold",
        ),
        (
            "security",
            json!({"password_min_length": 8}),
            "password_min_length",
        ),
        (
            "security",
            json!({"lockout_threshold": "five"}),
            "lockout_threshold",
        ),
        ("email", json!({"from_address": "nobody"}), "from_address"),
        (
            "general",
            json!({"default_currency": "XYZ"}),
            "default_currency",
        ),
        ("branding", json!({"colour": "#000000"}), "colour"),
    ] {
        let refused = put(&book, section, &body).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            refused.body
        );
        assert_eq!(
            refused.body["errors"][0]["field"], field,
            "{}",
            refused.body
        );
    }
    let recorded: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_type = 'Settings'")
            .fetch_one(&book.app.db.pool)
            .await
            .unwrap();
    assert_eq!(recorded, 0);

    // A save names the fields that changed and the admin; a stale If-Match
    // is refused.
    let saved = put(
        &book,
        "branding",
        &json!({"brand_name": "Bima Bora", "primary_colour": "#AA3300"}),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.body["branding"]["primary_colour"], "#aa3300");
    assert_eq!(saved.body["saved_sections"], json!(["branding"]));
    assert_eq!(saved.body["version"], 1);
    let (payload, metadata): (Value, Value) = sqlx::query_as(
        "SELECT payload, metadata FROM events WHERE aggregate_type = 'Settings' AND event_type = 'SettingsChanged'",
    )
    .fetch_one(&book.app.db.pool)
    .await
    .unwrap();
    assert_eq!(
        payload["SettingsChanged"]["fields"],
        json!(["brand_name", "primary_colour"])
    );
    assert_eq!(metadata["role"], "admin");
    assert!(metadata["user_id"].is_string());
    let stale = book
        .app
        .send(
            reqwest::Method::PUT,
            "/settings/branding",
            Some(&book.admin),
            Some(&json!({"brand_name": "Other"})),
            &[("if-match", "\"0\"")],
        )
        .await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.body
    );
}

#[tokio::test]
async fn a_saved_brand_is_in_a_second_process_within_a_second_and_in_new_documents() {
    let book = Book::open().await;
    let (_other, other_base, _) = spawn_api_only(book.app.db.pool.clone(), test_settings()).await;
    let origin = other_base.trim_end_matches("/api/v1").to_string();
    let client = reqwest::Client::new();
    let login_page = || async {
        client
            .get(format!("{origin}/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    assert!(login_page().await.contains("ifinsure"));

    let saved = put(&book, "branding", &json!({"brand_name": "Bima Bora"})).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let at = Instant::now();
    loop {
        if login_page().await.contains("Bima Bora") {
            break;
        }
        assert!(
            at.elapsed() < Duration::from_millis(1500),
            "the other process still shows the old brand"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A new invoice's PDF carries the brand.
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    let (_, invoice) = book.approved_policy(&customer, "500000.00").await;
    let document = crate::documents::pdf(
        &book,
        &customer,
        &format!("/billing/invoices/{invoice}/invoice.pdf"),
    )
    .await;
    assert!(document.text.contains("Bima Bora"), "{}", document.text);
}

#[tokio::test]
async fn security_settings_apply_to_the_next_sign_in_and_password() {
    let book = Book::open().await;
    book.user("c@example.com", Role::Customer).await;
    let saved = put(
        &book,
        "security",
        &json!({"lockout_threshold": 2, "password_min_length": 16, "access_token_ttl_secs": 120}),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.body["security"]["lockout_minutes"], 15, "kept");

    let login = |password: &'static str| {
        let app = &book.app;
        async move {
            app.post(
                "/auth/login",
                None,
                &json!({"email": "c@example.com", "password": password}),
            )
            .await
        }
    };
    let ok = login(PASSWORD).await;
    assert_eq!(ok.body["expires_in"], 120, "{}", ok.body);
    assert_eq!(
        login("wrong password 1").await.status,
        StatusCode::UNAUTHORIZED
    );
    let locked = login("wrong password 2").await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.body
    );
    assert_eq!(locked.body["code"], "account_locked");

    let short = book
        .app
        .post(
            "/auth/register",
            None,
            &json!({"email": "d@example.com", "password": "kilimanjaro 42", "full_name": "D", "phone_number": null}),
        )
        .await;
    assert_eq!(
        short.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        short.body
    );
    assert_eq!(
        short.body["errors"][0]["message"],
        "must be at least 16 characters"
    );
}

#[tokio::test]
async fn emails_go_from_the_saved_sender_with_the_saved_footer() {
    let book = Book::open().await;
    let saved = put(
        &book,
        "email",
        &json!({"from_name": "Bima Bora", "from_address": "policies@bimabora.example",
                "reply_to": "help@bimabora.example", "footer": "Bima Bora Ltd, regulated by the IRA"}),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    book.user("c@example.com", Role::Customer).await;
    let outbox = book.app.db.outbox_dir();
    let welcome = eventually("the welcome email", || async {
        std::fs::read_dir(&outbox)
            .ok()?
            .filter_map(Result::ok)
            .map(|f| f.path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name.contains("email-welcome") && name.ends_with(".txt")
            })
            .map(|p| std::fs::read_to_string(p).unwrap())
            .find(|t| t.contains("To: c@example.com"))
            .map(Value::String)
    })
    .await;
    let welcome = welcome.as_str().unwrap();
    assert!(
        welcome.starts_with(
            "From: Bima Bora <policies@bimabora.example>\nReply-To: help@bimabora.example\nTo: c@example.com\n"
        ),
        "{welcome}"
    );
    assert!(
        welcome.contains("Bima Bora Ltd, regulated by the IRA"),
        "{welcome}"
    );
}
