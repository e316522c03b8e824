//! The Integrations Center in the console: an admin finds Stripe in the
//! catalogue, configures it against a fake at Stripe's documented
//! boundary, tests the connection (a good key, then a bad one: Stripe's
//! own error on the page), disables it, edits it with the secret left
//! blank (kept), and finds the calls in the log and an unsigned webhook
//! delivery among the deliveries, its secrets redacted.

use reqwest::StatusCode;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::browser::Browser;
use super::Book;
use crate::common::PASSWORD;

const GOOD_KEY: &str = "sk_test_51ConsoleGoodKey000000004242";
const BAD_KEY: &str = "sk_test_51ConsoleWrongKey00000009999";

/// Stripe's `GET /v1/balance`: the balance for the right key, its
/// documented 401 for any other.
async fn fake_stripe() -> MockServer {
    let stripe = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .and(header(
            "authorization",
            format!("Bearer {GOOD_KEY}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "balance", "livemode": false,
            "available": [{"amount": 0, "currency": "kes", "source_types": {"card": 0}}],
            "pending": [{"amount": 0, "currency": "kes", "source_types": {"card": 0}}]
        })))
        .expect(2)
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .and(header("authorization", format!("Bearer {BAD_KEY}").as_str()))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": {"message": "Invalid API Key provided: sk_test_****9999", "type": "invalid_request_error"}
        })))
        .expect(1)
        .mount(&stripe)
        .await;
    stripe
}

#[tokio::test]
async fn an_admin_configures_stripe_tests_it_toggles_it_and_reads_its_log() {
    let stripe = fake_stripe().await;
    let book = Book::open().await;
    let admin = Browser::new(&book.app);
    admin.sign_in("admin@example.com", PASSWORD).await;

    let index = admin.get("/integrations").await;
    assert_eq!(index.status, StatusCode::OK, "{}", index.html);
    for category in [
        "Payment Providers",
        "SMS Gateways",
        "Email Services",
        "File Storage",
    ] {
        assert!(index.shows(category), "{category}: {}", index.html);
    }
    let payments = admin.get("/integrations/payment").await;
    assert!(
        payments.shows("href=\"/integrations/providers/stripe\""),
        "{}",
        payments.html
    );
    let stripe_page = admin.get("/integrations/providers/stripe").await;
    assert!(
        stripe_page.shows("https://docs.stripe.com/api"),
        "{}",
        stripe_page.html
    );
    assert!(
        stripe_page.shows("Webhook signing secret"),
        "{}",
        stripe_page.html
    );
    assert_eq!(
        admin.get("/integrations/providers/paypal").await.status,
        StatusCode::NOT_FOUND
    );

    let form = admin.get("/integrations/configure/stripe").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    assert!(
        form.shows("id=\"f-secret_key\" name=\"secret_key\" type=\"password\""),
        "{}",
        form.html
    );
    let fields = |key: &'static str, base: &str| {
        vec![
            ("name", "Stripe (fake)".to_string()),
            ("environment", "sandbox".to_string()),
            ("priority", "0".to_string()),
            ("secret_key", key.to_string()),
            (
                "webhook_secret",
                "whsec_console0000000000000000000000".to_string(),
            ),
            ("base_url", base.to_string()),
        ]
    };
    let owned = fields(GOOD_KEY, &stripe.uri());
    let borrowed: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = admin
        .submit(&form, "/integrations/configure/stripe", &borrowed)
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let config_path = saved.location().unwrap().to_string();
    let page = admin.follow(&saved).await;
    assert!(page.shows("Configuration saved"), "{}", page.html);
    // The secret masked, never whole; the URL to register at Stripe.
    assert!(!page.shows(GOOD_KEY), "{}", page.html);
    assert!(page.shows("sk_test_…4242"), "{}", page.html);
    assert!(page.shows("/api/v1/webhooks/stripe"), "{}", page.html);

    let tested = admin
        .submit(&page, &format!("{config_path}/test"), &[])
        .await;
    assert_eq!(tested.status, StatusCode::SEE_OTHER, "{}", tested.html);
    let page = admin.follow(&tested).await;
    assert!(page.shows("Connection successful ("), "{}", page.html);

    let toggled = admin
        .submit(&page, &format!("{config_path}/toggle"), &[])
        .await;
    let page = admin.follow(&toggled).await;
    assert!(
        page.shows("Disabled: no new work goes to this configuration"),
        "{}",
        page.html
    );

    // Edited with the secret left blank: the stored one is kept (the next
    // test passes); with a wrong one, Stripe's own words are shown.
    let edit = admin.get(&format!("{config_path}/edit")).await;
    assert!(
        edit.shows("Leave blank to keep the stored one (sk_test_…4242)."),
        "{}",
        edit.html
    );
    let base = stripe.uri();
    let kept = admin
        .submit(
            &edit,
            &format!("{config_path}/edit"),
            &[
                ("name", "Stripe (renamed)"),
                ("base_url", &base),
                ("secret_key", ""),
                ("webhook_secret", ""),
            ],
        )
        .await;
    assert_eq!(kept.status, StatusCode::SEE_OTHER, "{}", kept.html);
    let page = admin.follow(&kept).await;
    assert!(page.shows("Stripe (renamed)"), "{}", page.html);
    let page = admin
        .follow(
            &admin
                .submit(&page, &format!("{config_path}/test"), &[])
                .await,
        )
        .await;
    assert!(page.shows("Connection successful ("), "{}", page.html);
    let edit = admin.get(&format!("{config_path}/edit")).await;
    let wrong = admin
        .submit(
            &edit,
            &format!("{config_path}/edit"),
            &[
                ("name", "Stripe (renamed)"),
                ("base_url", &base),
                ("secret_key", BAD_KEY),
            ],
        )
        .await;
    let page = admin.follow(&wrong).await;
    let page = admin
        .follow(
            &admin
                .submit(&page, &format!("{config_path}/test"), &[])
                .await,
        )
        .await;
    assert!(page.shows("Connection failed: "), "{}", page.html);
    assert!(page.shows("Invalid API Key provided"), "{}", page.html);

    // The calls in the log, filtered by provider and result.
    let log = admin
        .get("/integrations/logs?provider=stripe&result=succeeded")
        .await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.html);
    assert_eq!(
        log.html.matches("<td>balance.retrieve</td>").count(),
        2,
        "{}",
        log.html
    );
    let failed = admin
        .get("/integrations/logs?provider=stripe&result=failed")
        .await;
    assert_eq!(
        failed.html.matches("<td>balance.retrieve</td>").count(),
        1,
        "{}",
        failed.html
    );

    // An unsigned delivery is listed as not verified; its secrets redacted.
    let forged = reqwest::Client::new()
        .post(format!("{}/webhooks/stripe", book.app.base))
        .header("stripe-signature", "t=1,v1=00")
        .body(r#"{"id":"evt_forged","type":"checkout.session.completed","data":{"object":{"client_secret":"cs_secret_x"}}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let deliveries = admin
        .get("/integrations/webhooks?provider=stripe&verified=false")
        .await;
    assert_eq!(deliveries.status, StatusCode::OK, "{}", deliveries.html);
    let link = deliveries
        .html
        .split("href=\"/integrations/webhooks/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a delivery listed")
        .to_string();
    let delivery = admin.get(&format!("/integrations/webhooks/{link}")).await;
    assert!(delivery.shows("[redacted]"), "{}", delivery.html);
    assert!(!delivery.shows("cs_secret_x"), "{}", delivery.html);
    assert!(delivery.shows("evt_forged"), "{}", delivery.html);
}
