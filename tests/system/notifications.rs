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
    eventually("the notifications subscription to catch up", || async {
        let (checkpoint, last): (i64, i64) = sqlx::query_as(
            "SELECT coalesce((SELECT global_position FROM subscription_checkpoints WHERE name = 'notifications'), 0),
                    (SELECT max(global_position) FROM events)",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap();
        (checkpoint == last).then_some(serde_json::json!(last))
    })
    .await;
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
        email.starts_with("To: c@example.com\nSubject: Your cover under"),
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
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let files_after = std::fs::read_dir(app.db.outbox_dir()).unwrap().count();
    assert_eq!(files_after, files.len(), "nothing was sent again");
}
