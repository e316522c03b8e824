//! Every answer tells the browser to handle it safely: API answers, files
//! (PDFs) and the unsubscribe page cannot be sniffed into something else,
//! framed, or leak a referrer; HSTS where the service is public over https.

use reqwest::StatusCode;

use crate::book::*;
use crate::common::*;

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

fn assert_safe(response: &reqwest::Response, what: &str) {
    assert_eq!(
        header(response, "x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        header(response, "referrer-policy"),
        Some("same-origin"),
        "{what}"
    );
    let policy = header(response, "content-security-policy").unwrap_or_default();
    assert!(
        policy.contains("frame-ancestors 'none'"),
        "{what}: {policy}"
    );
    assert!(policy.contains("default-src 'none'"), "{what}: {policy}");
}

#[tokio::test]
async fn api_answers_files_and_the_unsubscribe_page_carry_the_security_headers() {
    let settings = ifinsure::settings::Settings {
        public_base_url: Some("https://insurer.example".into()),
        ..test_settings()
    };
    let book = Book::open_with(settings).await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let (_, invoice_id) = book.approved_policy(&customer, "1000000.00").await;
    let client = &book.app.client;

    let json = client
        .get(format!("{}/billing/invoices/{invoice_id}", book.app.base))
        .bearer_auth(&customer)
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::OK);
    assert_safe(&json, "an API answer");
    assert_eq!(
        header(&json, "strict-transport-security"),
        Some("max-age=31536000; includeSubDomains")
    );

    let pdf = client
        .get(format!(
            "{}/billing/invoices/{invoice_id}/invoice.pdf",
            book.app.base
        ))
        .bearer_auth(&customer)
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    assert_eq!(header(&pdf, "content-type"), Some("application/pdf"));
    assert_safe(&pdf, "a PDF");

    let error = client
        .get(format!("{}/nowhere", book.app.base))
        .send()
        .await
        .unwrap();
    assert_safe(&error, "an error");

    let page = client
        .get(format!("{}/unsubscribe?token=broken", book.app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert_safe(&page, "the unsubscribe page");
    let policy = header(&page, "content-security-policy").unwrap();
    assert!(policy.contains("form-action 'self'"), "{policy}");
    assert!(
        !policy.contains("script-src"),
        "no script may run: {policy}"
    );
}

#[tokio::test]
async fn plain_http_deployments_send_no_hsts() {
    let app = spawn_app().await;
    let health = app
        .client
        .get(format!("{}/health", app.base))
        .send()
        .await
        .unwrap();
    assert_safe(&health, "/health");
    assert_eq!(header(&health, "strict-transport-security"), None);
}
