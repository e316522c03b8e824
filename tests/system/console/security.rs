//! The console from the other side: forms without their CSRF token, the
//! headers every page carries, the session cookie, user text shown as
//! text, other people's records, and sessions that end.

use reqwest::StatusCode;

use super::browser::Browser;
use super::{Book, CUSTOMER};
use crate::common::{PASSWORD, TODAY};

#[tokio::test]
async fn every_form_without_its_csrf_token_is_refused_and_changes_nothing() {
    let book = Book::open().await;
    let policy = book.active_policy().await;
    let invoice = book.invoice_of(&policy).await;
    let claim = book
        .app
        .post(
            "/claims",
            Some(&book.admin),
            &serde_json::json!({"policy_id": policy, "incident_date": TODAY, "description": "Cracked windscreen",
                                "claimed_amount": {"amount": "9000.00", "currency": "KES"}}),
        )
        .await;
    let claim = claim.body["id"].as_str().unwrap().to_string();
    let events_before = book
        .app
        .get("/audit/events?limit=200", Some(&book.admin))
        .await;
    let mut checked = 0;
    let pages = [
        format!("/products/{}/apply", book.product_id),
        format!("/policies/{policy}"),
        format!("/policies/{policy}/cancel"),
        format!("/policies/{policy}/endorse"),
        format!("/invoices/{invoice}"),
        format!("/invoices/{invoice}/pay"),
        format!("/claims/{claim}"),
        "/claims/new".to_string(),
        "/profile".to_string(),
        "/profile/password".to_string(),
        "/dashboard".to_string(),
    ];
    for browser in [&book.customer, &book.staff] {
        for path in &pages {
            let page = browser.get(path).await;
            for target in page.targets() {
                let Some(mut fields) = page.form(&target) else {
                    continue;
                };
                if !fields.iter().any(|(name, _)| name == "csrf") {
                    continue; // a GET form (a link that is a button)
                }
                fields.retain(|(name, _)| name != "csrf");
                let refused = if target.ends_with("/documents") {
                    browser
                        .upload_fields(
                            &target,
                            &fields,
                            "document",
                            "a.png",
                            "image/png",
                            b"\x89PNG\r\n\x1a\n".to_vec(),
                        )
                        .await
                } else {
                    browser.post(&target, &fields).await
                };
                assert_eq!(
                    refused.status,
                    StatusCode::FORBIDDEN,
                    "{target} without its token: {}",
                    refused.html
                );
                assert!(
                    refused.shows("You may not do this"),
                    "the 403 page in the console's layout"
                );
                let forged = {
                    let mut f = fields.clone();
                    f.push(("csrf".into(), "forged".into()));
                    if target.ends_with("/documents") {
                        browser
                            .upload_fields(
                                &target,
                                &f,
                                "document",
                                "a.png",
                                "image/png",
                                b"\x89PNG\r\n\x1a\n".to_vec(),
                            )
                            .await
                    } else {
                        browser.post(&target, &f).await
                    }
                };
                assert_eq!(
                    forged.status,
                    StatusCode::FORBIDDEN,
                    "{target} with a forged token"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 12, "only {checked} forms found");
    let events_after = book
        .app
        .get("/audit/events?limit=200", Some(&book.admin))
        .await;
    assert_eq!(
        events_before.body["items"].as_array().unwrap().len(),
        events_after.body["items"].as_array().unwrap().len(),
        "a refused form records nothing"
    );
    // The anonymous forms check their own token.
    let anonymous = Browser::new(&book.app);
    for path in ["/login", "/register", "/password/reset"] {
        anonymous.get(path).await;
        let refused = anonymous
            .post(
                path,
                &[
                    ("email".into(), CUSTOMER.into()),
                    ("password".into(), PASSWORD.into()),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test]
async fn pages_carry_the_security_headers_and_the_session_cookie_is_locked_down() {
    let book = Book::open().await;
    let anonymous = Browser::new(&book.app);
    let login = anonymous.get("/login").await;
    let dashboard = book.customer.get("/dashboard").await;
    let missing = book.customer.get("/no/such/page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.shows("Page not found"));
    for page in [&login, &dashboard, &missing] {
        let csp = page.header("content-security-policy").unwrap();
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(page.header("referrer-policy"), Some("same-origin"));
        assert!(!page.html.contains("<script>"), "no inline script");
        assert!(
            !page.html.contains("http://") && !page.html.contains("https://"),
            "nothing from another origin"
        );
    }
    let signed_in = Browser::new(&book.app);
    let form = signed_in.get("/login").await;
    let done = signed_in
        .submit(
            &form,
            "/login",
            &[("email", CUSTOMER), ("password", PASSWORD)],
        )
        .await;
    let cookie = done
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("ifinsure_session="))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    let htmx = anonymous.get("/assets/htmx-2.0.11.min.js").await;
    assert_eq!(htmx.status, StatusCode::OK);
}

#[tokio::test]
async fn text_people_typed_is_shown_as_text() {
    let book = Book::open().await;
    let policy = book.active_policy().await;
    let form = book
        .customer
        .get(&format!("/claims/new?policy_id={policy}"))
        .await;
    let filed = book
        .customer
        .submit(
            &form,
            "/claims/new",
            &[
                ("policy_id", &policy),
                ("incident_date", TODAY),
                (
                    "description",
                    "<script>alert('x')</script><img src=x onerror=alert(1)>",
                ),
                ("claimed_amount", "1000"),
            ],
        )
        .await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.html);
    for browser in [&book.customer, &book.staff] {
        let page = browser.follow(&filed).await;
        assert!(!page.html.contains("<script>alert"), "{}", page.html);
        assert!(!page.html.contains("<img src=x"));
        assert!(page.html.contains("&lt;script&gt;alert("), "shown as text");
    }
}

#[tokio::test]
async fn another_customers_records_are_the_404_page() {
    let book = Book::open().await;
    let theirs = book.other_customer().await;
    for path in [
        format!("/applications/{theirs}"),
        format!("/policies/{theirs}"),
        format!("/policies/{theirs}/cancel"),
    ] {
        let page = book.customer.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.shows("Page not found"));
        assert!(page.shows("Sign out"), "in the signed-in layout");
    }
    let staff_view = book.staff.get(&format!("/applications/{theirs}")).await;
    assert_eq!(staff_view.status, StatusCode::OK);
    let not_an_id = book.customer.get("/policies/not-an-id").await;
    assert_eq!(not_an_id.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn signing_out_or_changing_the_password_ends_sessions() {
    let book = Book::open().await;
    let elsewhere = Browser::new(&book.app);
    elsewhere.sign_in(CUSTOMER, PASSWORD).await;

    let profile = book.customer.get("/profile/password").await;
    let wrong = book
        .customer
        .submit(
            &profile,
            "/profile/password",
            &[
                ("current_password", "not it at all"),
                ("new_password", "a brand new passphrase 7"),
            ],
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.html
    );
    assert!(
        wrong.shows("id=\"f-current_password-error\""),
        "{}",
        wrong.html
    );
    // Sent again from the page that said so (as a person would).
    let changed = book
        .customer
        .submit(
            &wrong,
            "/profile/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new passphrase 7"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.html);
    // This session goes on; the other one ended.
    assert_eq!(book.customer.get("/dashboard").await.status, StatusCode::OK);
    crate::common::eventually("the other session to end", || async {
        let page = elsewhere.get("/dashboard").await;
        (page.status == StatusCode::SEE_OTHER).then_some(())
    })
    .await;

    let dashboard = book.customer.get("/dashboard").await;
    let out = book.customer.submit(&dashboard, "/logout", &[]).await;
    assert_eq!(out.location(), Some("/login"));
    let after = book.customer.get("/dashboard").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(after.location().unwrap().starts_with("/login"));
    let back = Browser::new(&book.app);
    back.sign_in(CUSTOMER, "a brand new passphrase 7").await;
}

#[tokio::test]
async fn a_wrong_password_says_so_on_the_page() {
    let book = Book::open().await;
    let browser = Browser::new(&book.app);
    let form = browser.get("/login").await;
    let wrong = browser
        .submit(
            &form,
            "/login",
            &[("email", CUSTOMER), ("password", "not the password")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.shows("Email or password is incorrect"));
    assert!(
        wrong.shows(&format!("value=\"{CUSTOMER}\"")),
        "the email is kept"
    );
    assert_eq!(
        browser.get("/dashboard").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn an_expired_session_signs_in_no_one_and_is_swept() {
    let book = Book::open().await;
    sqlx::query(
        "UPDATE console_sessions SET expires_at = now() - interval '1 minute'
         WHERE user_id = (SELECT id FROM users WHERE email = $1)",
    )
    .bind(CUSTOMER)
    .execute(&book.app.db.pool)
    .await
    .unwrap();
    let page = book.customer.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().unwrap().starts_with("/login"));
    let pruned = workers::maintenance::run_once(
        &book.app.db.pool,
        &workers::maintenance::Retention::default(),
    )
    .await
    .unwrap();
    assert_eq!(pruned.console_sessions, 1);
    assert_eq!(
        book.staff.get("/dashboard").await.status,
        StatusCode::OK,
        "live sessions stay"
    );
}

#[tokio::test]
async fn a_session_idle_longer_than_the_security_settings_allow_ends() {
    let book = Book::open().await;
    let saved = book
        .app
        .send(
            reqwest::Method::PUT,
            "/settings/security",
            Some(&book.admin),
            Some(&serde_json::json!({"session_idle_minutes": 10})),
            &[],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let last_seen = |minutes: i32| {
        let pool = book.app.db.pool.clone();
        async move {
            sqlx::query(
                "UPDATE console_sessions SET last_seen_at = now() - make_interval(mins => $2)
                 WHERE user_id = (SELECT id FROM users WHERE email = $1)",
            )
            .bind(CUSTOMER)
            .bind(minutes)
            .execute(&pool)
            .await
            .unwrap();
        }
    };
    // Used 9 minutes ago: still signed in, and the use is recorded.
    last_seen(9).await;
    assert_eq!(book.customer.get("/dashboard").await.status, StatusCode::OK);
    let fresh: bool = sqlx::query_scalar(
        "SELECT last_seen_at > now() - interval '1 minute' FROM console_sessions
         WHERE user_id = (SELECT id FROM users WHERE email = $1)",
    )
    .bind(CUSTOMER)
    .fetch_one(&book.app.db.pool)
    .await
    .unwrap();
    assert!(fresh);
    // Unused for 11 minutes: the session has ended.
    last_seen(11).await;
    let page = book.customer.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().unwrap().starts_with("/login"));
}
