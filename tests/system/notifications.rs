//! Notifications end to end: a customer's journey produces each message
//! once, through the sandbox outbox (files a person can read) and the
//! notification log; replaying every event after a restart sends nothing
//! twice.

use reqwest::StatusCode;
use serde_json::Value;

use crate::book::*;
use crate::common::*;

async fn mine(book: &Book, token: &str) -> Vec<Value> {
    let reply = book
        .app
        .get("/me/notifications?limit=200", Some(token))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["items"].as_array().unwrap().clone()
}

fn sent(items: &[Value], template: &str, channel: &str) -> bool {
    items
        .iter()
        .any(|n| n["template"] == template && n["channel"] == channel && n["status"] == "sent")
}

/// Waits until the notifications subscription has handled every event.
async fn caught_up(db: &TestDb) {
    crate::common::caught_up(&db.pool, "notifications").await;
}

#[tokio::test]
async fn a_customers_journey_is_told_once_by_email_and_sms_even_after_a_replay() {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let (policy_id, _) = book.active_policy(&customer, "1000000.00").await;
    let expected = [
        ("welcome", "email"),
        ("application_submitted", "email"),
        ("application_approved", "email"),
        ("invoice_created", "email"),
        ("payment_received", "email"),
        ("payment_received", "sms"),
        ("policy_activated", "email"),
        ("policy_activated", "sms"),
    ];
    let items = eventually("every notification to be sent", || async {
        let items = mine(&book, &customer).await;
        expected
            .iter()
            .all(|(t, c)| sent(&items, t, c))
            .then_some(Value::Array(items))
    })
    .await;
    let items = items.as_array().unwrap();
    assert_eq!(items.len(), expected.len(), "{items:#?}");
    let activated = items
        .iter()
        .find(|n| n["template"] == "policy_activated" && n["channel"] == "sms")
        .unwrap();
    assert_eq!(activated["recipient"], "+254711000000");
    assert_eq!(activated["provider"], "sandbox");
    assert_eq!(activated["attempts"], 1);

    // A person can read what was sent.
    let outbox = book.app.db.outbox_dir();
    let files: Vec<String> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let text = files
        .iter()
        .find(|f| f.contains("email-policy_activated") && f.ends_with(".txt"))
        .expect("the activation email in the outbox");
    let email = std::fs::read_to_string(outbox.join(text)).unwrap();
    let policy = book.policy(&customer, &policy_id).await;
    let number = policy["policy_number"].as_str().unwrap();
    assert!(
        email.starts_with(
            "From: ifinsure <no-reply@ifinsure.example>\nTo: c@example.com\nSubject: Your cover under"
        ),
        "{email}"
    );
    assert!(
        email.contains(&format!(
            "Policy {number} (Motor Private Comprehensive) is active from 25 Nov 2026"
        )),
        "{email}"
    );
    assert!(files
        .iter()
        .any(|f| f.contains("email-policy_activated") && f.ends_with(".html")));

    // Staff see the log of everyone; a customer only their own.
    let staff = book
        .app
        .get(
            "/notifications?template=payment_received&channel=sms",
            Some(&book.staff),
        )
        .await;
    assert_eq!(staff.status, StatusCode::OK);
    assert_eq!(staff.body["items"].as_array().unwrap().len(), 1);
    let forbidden = book.app.get("/notifications", Some(&customer)).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    let bad = book
        .app
        .get("/notifications?template=birthday", Some(&book.staff))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Restart and replay every event: nothing new is queued or written.
    let count = |pool: sqlx::PgPool| async move {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM notifications")
            .fetch_one(&pool)
            .await
            .unwrap();
        n
    };
    let before = count(book.app.db.pool.clone()).await;
    let db = book.app.stop().await;
    sqlx::query(
        "UPDATE subscription_checkpoints SET tx_id = 0, global_position = 0 WHERE name = 'notifications'",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let app = start_on(db, test_settings()).await;
    caught_up(&app.db).await;
    assert_eq!(count(app.db.pool.clone()).await, before);
    // Nothing was planned again, so nothing waits to be sent.
    let queued: i64 =
        sqlx::query_scalar("SELECT count(*) FROM notifications WHERE status <> 'sent'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(queued, 0);
    let files_after = std::fs::read_dir(app.db.outbox_dir()).unwrap().count();
    assert_eq!(files_after, files.len(), "nothing was sent again");
}

/// The reset token the sandbox "emailed" to `email` (the latest).
async fn emailed_token(db: &TestDb, email: &str, nth: usize) -> String {
    let outbox = db.outbox_dir();
    let text = eventually("the reset email", || async {
        let mut files: Vec<String> = std::fs::read_dir(&outbox)
            .ok()?
            .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| f.contains("email-password_reset") && f.ends_with(".txt"))
            .collect();
        files.sort();
        let texts: Vec<String> = files
            .iter()
            .map(|f| std::fs::read_to_string(outbox.join(f)).unwrap())
            .filter(|t| t.contains(&format!("\nTo: {email}\n")))
            .collect();
        texts.get(nth).map(|t| Value::String(t.clone()))
    })
    .await;
    let text = text.as_str().unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("minutes: "))
        .expect("the token line");
    line.rsplit(": ").next().unwrap().trim().to_string()
}

#[tokio::test]
async fn a_password_reset_token_works_once_and_not_after_it_expires() {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let login = book
        .app
        .post(
            "/auth/login",
            None,
            &serde_json::json!({"email": "c@example.com", "password": PASSWORD}),
        )
        .await;
    let old_refresh = login.body["refresh_token"].as_str().unwrap().to_string();
    let ask = |email: &'static str| {
        let book = &book;
        async move {
            book.app
                .post(
                    "/auth/password-reset",
                    None,
                    &serde_json::json!({"email": email}),
                )
                .await
        }
    };
    let known = ask("c@example.com").await;
    let unknown = ask("nobody@example.com").await;
    assert_eq!(known.status, StatusCode::ACCEPTED);
    assert_eq!((unknown.status, &unknown.body), (known.status, &known.body));

    let token = emailed_token(&book.app.db, "c@example.com", 0).await;
    let confirm = |token: String, password: &'static str| {
        let book = &book;
        async move {
            book.app
                .post(
                    "/auth/password-reset/confirm",
                    None,
                    &serde_json::json!({"token": token, "new_password": password}),
                )
                .await
        }
    };
    let weak = confirm(token.clone(), "password").await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(weak.body["errors"][0]["field"], "new_password");
    let mut forged = token.clone().into_bytes();
    forged[30] = if forged[30] == b'x' { b'y' } else { b'x' };
    let forged = confirm(
        String::from_utf8(forged).unwrap(),
        "a brand new long passphrase",
    )
    .await;
    assert_eq!(forged.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(forged.body["errors"][0]["field"], "token");
    let done = confirm(token.clone(), "a brand new long passphrase").await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.body);
    let again = confirm(token, "another brand new passphrase").await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "single use");

    let new_login = book
        .app
        .post(
            "/auth/login",
            None,
            &serde_json::json!({"email": "c@example.com", "password": "a brand new long passphrase"}),
        )
        .await;
    assert_eq!(new_login.status, StatusCode::OK);
    let refreshed = book
        .app
        .post(
            "/auth/refresh",
            None,
            &serde_json::json!({"refresh_token": old_refresh}),
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::UNAUTHORIZED, "sessions ended");
    let kept: Option<String> = sqlx::query_scalar(
        "SELECT body_text FROM notifications WHERE template = 'password_reset' AND status = 'sent' LIMIT 1",
    )
    .fetch_optional(&book.app.db.pool)
    .await
    .unwrap();
    assert_eq!(kept.as_deref(), Some("[sent; the reset token is not kept]"));

    // A second request, expired before use.
    assert_eq!(ask("c@example.com").await.status, StatusCode::ACCEPTED);
    let late = emailed_token(&book.app.db, "c@example.com", 1).await;
    sqlx::query(
        "UPDATE password_resets SET expires_at = now() - interval '1 minute' WHERE used_at IS NULL",
    )
    .execute(&book.app.db.pool)
    .await
    .unwrap();
    let expired = confirm(late, "yet another long passphrase").await;
    assert_eq!(expired.status, StatusCode::UNPROCESSABLE_ENTITY);
    let _ = customer;
}

#[tokio::test]
async fn reminders_follow_the_customers_preferences_and_transactional_notices_do_not() {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let defaults = book
        .app
        .get("/me/notification-preferences", Some(&customer))
        .await;
    assert_eq!(
        defaults.body,
        serde_json::json!({"email": {"reminders": true, "marketing": false},
                           "sms": {"reminders": true, "marketing": false}})
    );
    let quiet = serde_json::json!({"email": {"reminders": true, "marketing": false},
                                   "sms": {"reminders": false, "marketing": false}});
    let set = book
        .app
        .send(
            reqwest::Method::PUT,
            "/me/notification-preferences",
            Some(&customer),
            Some(&quiet),
            &[],
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.body, quiet);
    let incomplete = book
        .app
        .send(
            reqwest::Method::PUT,
            "/me/notification-preferences",
            Some(&customer),
            Some(&serde_json::json!({"email": {"reminders": false}})),
            &[],
        )
        .await;
    assert_eq!(
        incomplete.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        incomplete.body
    );

    // An unpaid invoice goes overdue: the reminder by email only.
    let (_, unpaid) = book.approved_policy(&customer, "500000.00").await;
    let tick = workers::scheduler::run_once(book.workers(), "2026-12-10".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(tick.overdue, 1);
    book.invoice_becomes(&customer, &unpaid, "overdue").await;
    // A payment: transactional, so by SMS too.
    book.active_policy(&customer, "1000000.00").await;
    let items = eventually("the reminder and the payment notices", || async {
        let items = mine(&book, &customer).await;
        let done = sent(&items, "invoice_overdue", "email")
            && sent(&items, "payment_received", "sms")
            && sent(&items, "policy_activated", "sms");
        done.then_some(Value::Array(items))
    })
    .await;
    let items = items.as_array().unwrap();
    assert!(!items
        .iter()
        .any(|n| n["template"] == "invoice_overdue" && n["channel"] == "sms"));
}

/// Configures SendGrid (faked by `server`) as the email provider, once the
/// sandbox has sent what came before (the admin's and staff's welcomes),
/// so only what follows goes through the fake.
pub(crate) async fn sendgrid(book: &Book, server: &wiremock::MockServer) {
    sendgrid_with(book, server, serde_json::json!({})).await;
}

/// As [`sendgrid`], with `settings` besides the fake's base URL.
pub(crate) async fn sendgrid_with(
    book: &Book,
    server: &wiremock::MockServer,
    mut settings: serde_json::Value,
) {
    eventually("the earlier notifications to be sent", || async {
        let (all, unsent): (i64, i64) = sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE status <> 'sent') FROM notifications",
        )
        .fetch_one(&book.app.db.pool)
        .await
        .unwrap();
        (all >= 2 && unsent == 0).then_some(serde_json::json!(all))
    })
    .await;
    settings["base_url"] = serde_json::json!(server.uri());
    book.configure(&serde_json::json!({
        "provider": "sendgrid", "name": "SendGrid", "environment": "sandbox", "is_primary": true,
        "credentials": {"api_key": "SG.journey-key-000000", "from": "no-reply@ifinsure.example"},
        "settings": settings}))
        .await;
}

fn welcome_of(items: &[Value]) -> Option<Value> {
    items.iter().find(|n| n["template"] == "welcome").cloned()
}

#[tokio::test]
async fn an_email_provider_that_fails_twice_then_answers_sends_one_email_on_the_third_attempt() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    // Each attempt is one send, which the HTTP client tries three times.
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(6)
        .expect(6)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .respond_with(ResponseTemplate::new(202).insert_header("X-Message-Id", "sg-msg-1"))
        .expect(1)
        .mount(&server)
        .await;
    let book = Book::open().await;
    sendgrid(&book, &server).await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let welcome = eventually("the welcome email", || async {
        welcome_of(&mine(&book, &customer).await).filter(|n| n["status"] == "sent")
    })
    .await;
    assert_eq!(welcome["attempts"], 3, "{welcome}");
    assert_eq!(welcome["provider"], "sendgrid");
    assert_eq!(welcome["provider_message_id"], "sg-msg-1");
}

#[tokio::test]
async fn an_email_that_never_goes_is_dead_lettered_and_goes_once_retried_after_the_fix() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let book = Book::open().await;
    sendgrid(&book, &server).await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let dead = eventually("the welcome email to die", || async {
        welcome_of(&mine(&book, &customer).await).filter(|n| n["status"] == "dead")
    })
    .await;
    assert_eq!(dead["attempts"], 5);
    let letters = book.app.get("/admin/dead-letters", Some(&book.admin)).await;
    assert_eq!(letters.status, StatusCode::OK);
    let letter = letters.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["job_id"] == dead["id"])
        .cloned()
        .expect("a dead letter for the email");
    assert_eq!(letter["worker"], "notifications");
    assert!(
        letter["error"].as_str().unwrap().contains("503"),
        "{letter}"
    );
    let staff_may_not = book.app.get("/admin/dead-letters", Some(&book.staff)).await;
    assert_eq!(staff_may_not.status, StatusCode::FORBIDDEN);

    // The provider is fixed; an admin re-drives the letter.
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .respond_with(ResponseTemplate::new(202).insert_header("X-Message-Id", "sg-msg-2"))
        .expect(1)
        .mount(&server)
        .await;
    let id = letter["id"].as_str().unwrap();
    let retried = book.retry_dead_letter(id).await;
    assert_eq!(retried.status, StatusCode::ACCEPTED, "{}", retried.body);
    let again = book.retry_dead_letter(id).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "re-driven once");
    let sent = eventually("the welcome email to go", || async {
        welcome_of(&mine(&book, &customer).await).filter(|n| n["status"] == "sent")
    })
    .await;
    assert_eq!(sent["provider_message_id"], "sg-msg-2");
    assert_eq!(sent["attempts"], 1);
}
