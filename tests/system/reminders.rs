//! Reminders and who hears what: the scheduler's overdue reminders (due+1,
//! due+7, a final notice before lapse) and policy-expiring reminders (30
//! and 7 days before the end), each sent once; the unsubscribe link in
//! every email (no login) stops reminder emails but not the notices the
//! law requires (lapse, cancellation); the customer's agent gets copies and
//! the staff queue hears of new applications.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::book::*;

/// The log's entries for `recipient` and `template`, as staff see them.
async fn log(book: &Book, recipient: &str, template: &str) -> Vec<Value> {
    let recipient = recipient.replace('+', "%2B");
    let path = format!("/notifications?recipient={recipient}&template={template}&limit=100");
    let reply = book.app.get(&path, Some(&book.staff)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["items"].as_array().unwrap().clone()
}

/// Channels of `recipient`'s `template` notifications, once `n` are sent.
async fn sent(book: &Book, recipient: &str, template: &str, n: usize) -> Vec<String> {
    let items = eventually(&format!("{n} {template} to {recipient}"), || async {
        let items = log(book, recipient, template).await;
        let sent = items.iter().filter(|i| i["status"] == "sent").count();
        (sent == n).then_some(Value::Array(items))
    })
    .await;
    let mut channels: Vec<String> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["channel"].as_str().unwrap().to_string())
        .collect();
    channels.sort();
    channels
}

/// The text of the latest `template` message to `recipient`.
async fn latest_body(book: &Book, recipient: &str, template: &str) -> String {
    sqlx::query_scalar(
        "SELECT body_text FROM notifications WHERE recipient = $1 AND template = $2
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(recipient)
    .bind(template)
    .fetch_one(&book.app.db.pool)
    .await
    .unwrap()
}

async fn run_scheduler(book: &Book, on: &str) -> workers::scheduler::Tick {
    workers::scheduler::run_once(book.workers(), on.parse().unwrap())
        .await
        .unwrap()
}

/// The unsubscribe link in the latest email to `email`.
async fn unsubscribe_link(book: &Book, email: &str) -> String {
    let body: String = sqlx::query_scalar(
        "SELECT body_text FROM notifications WHERE recipient = $1 AND channel = 'email'
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(email)
    .fetch_one(&book.app.db.pool)
    .await
    .unwrap();
    let start = body.find("http").expect("a link in the email");
    body[start..].split_whitespace().next().unwrap().to_string()
}

#[tokio::test]
async fn overdue_reminders_go_once_each_and_the_lapse_notice_ignores_an_unsubscribe() {
    let book = Book::open().await;
    let (agent, agent_id) = book.user("agent@example.com", domain::Role::Agent).await;
    let (customer, customer_id) = book.user("c@example.com", domain::Role::Customer).await;
    let assigned = book
        .app
        .post(
            &format!("/customers/{customer_id}/assign-agent"),
            Some(&book.staff),
            &json!({"agent_id": agent_id}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.body);
    sent(&book, "c@example.com", "welcome", 1).await;

    // The link works without a login: GET asks, POST unsubscribes.
    let link = unsubscribe_link(&book, "c@example.com").await;
    assert!(link.contains("/api/v1/unsubscribe?token="), "{link}");
    let page = book.app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("<form method=\"post\""));
    // The token's last character changed (to one it is not).
    let last = if link.ends_with('A') { 'B' } else { 'A' };
    let forged = book
        .app
        .client
        .post(format!("{}{last}", &link[..link.len() - 1]))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    let done = book.app.client.post(&link).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let preferences = book
        .app
        .get("/me/notification-preferences", Some(&customer))
        .await;
    assert_eq!(
        preferences.body,
        json!({"email": {"reminders": false, "marketing": false},
               "sms": {"reminders": true, "marketing": false}})
    );

    // The staff queue hears of the application; the agent of the approval.
    let (policy_id, invoice_id) = book.approved_policy(&customer, "500000.00").await;
    sent(
        &book,
        "support@ifinsure.example",
        "application_submitted",
        1,
    )
    .await;
    assert_eq!(
        sent(&book, "agent@example.com", "application_approved", 1).await,
        ["email"]
    );

    // Due 9 Dec: overdue on the 10th, again on the 16th, finally on 5 Jan.
    assert_eq!(run_scheduler(&book, "2026-12-10").await.overdue, 1);
    book.invoice_becomes(&customer, &invoice_id, "overdue")
        .await;
    assert_eq!(
        run_scheduler(&book, "2026-12-15").await.overdue_reminders,
        0
    );
    assert_eq!(
        run_scheduler(&book, "2026-12-16").await.overdue_reminders,
        1
    );
    assert_eq!(
        sent(&book, "+254711000000", "invoice_overdue", 2)
            .await
            .len(),
        2
    );
    assert_eq!(
        run_scheduler(&book, "2026-12-17").await.overdue_reminders,
        0
    );
    assert_eq!(
        run_scheduler(&book, "2027-01-05").await.overdue_reminders,
        1
    );
    let sms = sent(&book, "+254711000000", "invoice_overdue", 3).await;
    assert_eq!(sms, ["sms", "sms", "sms"]);
    // Unsubscribed from reminder emails: none by email; the agent has copies.
    assert!(log(&book, "c@example.com", "invoice_overdue")
        .await
        .is_empty());
    sent(&book, "agent@example.com", "invoice_overdue", 3).await;
    let last = latest_body(&book, "+254711000000", "invoice_overdue").await;
    assert!(
        last.contains("FINAL NOTICE") && last.contains("by 8 Jan 2027"),
        "{last}"
    );

    // Lapse on 9 Jan: the notice the law requires goes by email regardless.
    assert_eq!(run_scheduler(&book, "2027-01-09").await.lapsed, 1);
    book.policy_becomes(&customer, &policy_id, "lapsed").await;
    assert_eq!(
        sent(&book, "c@example.com", "policy_lapsed", 1).await,
        ["email"]
    );
    sent(&book, "+254711000000", "policy_lapsed", 1).await;
    sent(&book, "agent@example.com", "policy_lapsed", 1).await;
    let copy: String = sqlx::query_scalar(
        "SELECT subject FROM notifications WHERE recipient = 'agent@example.com'
           AND template = 'policy_lapsed'",
    )
    .fetch_one(&book.app.db.pool)
    .await
    .unwrap();
    assert!(copy.starts_with("[Copy] Policy POL-"), "{copy}");
    // The agent sees their copies as their own notifications.
    let mine = book
        .app
        .get("/me/notifications?limit=100", Some(&agent))
        .await;
    assert!(
        mine.body["items"].as_array().unwrap().len() >= 6,
        "{}",
        mine.body
    );

    // A later pass sends nothing again.
    let again = run_scheduler(&book, "2027-01-10").await;
    assert_eq!((again.overdue_reminders, again.lapsed), (0, 0));
}

#[tokio::test]
async fn a_policy_is_reminded_thirty_and_seven_days_before_it_ends_and_a_cancellation_or_rejection_is_told(
) {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let (policy_id, _) = book.active_policy(&customer, "1000000.00").await;
    // Cover runs 25 Nov 2026 to 24 Nov 2027.
    assert_eq!(run_scheduler(&book, "2027-10-24").await.expiry_reminders, 0);
    assert_eq!(run_scheduler(&book, "2027-10-25").await.expiry_reminders, 1);
    assert_eq!(
        sent(&book, "c@example.com", "policy_expiring", 1).await,
        ["email"]
    );
    sent(&book, "+254711000000", "policy_expiring", 1).await;
    assert_eq!(run_scheduler(&book, "2027-11-01").await.expiry_reminders, 0);
    assert_eq!(run_scheduler(&book, "2027-11-17").await.expiry_reminders, 1);
    sent(&book, "c@example.com", "policy_expiring", 2).await;
    let seven = latest_body(&book, "c@example.com", "policy_expiring").await;
    assert!(
        seven.contains("ends on 24 Nov 2027, in 7 days or less"),
        "{seven}"
    );

    let cancelled = book
        .cancel(&customer, &policy_id, "Sold the car", "2027-11-20")
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(
        sent(&book, "c@example.com", "policy_cancelled", 1).await,
        ["email"]
    );
    sent(&book, "+254711000000", "policy_cancelled", 1).await;
    let notice = latest_body(&book, "c@example.com", "policy_cancelled").await;
    assert!(
        notice.contains("Cover ends on 20 Nov 2027. Reason: Sold the car."),
        "{notice}"
    );

    // A rejected application is explained.
    let application = book.apply(&customer, None, "750000.00").await;
    let id = application["id"].as_str().unwrap();
    let rejected = book
        .app
        .post(
            &format!("/policies/applications/{id}/reject"),
            Some(&book.staff),
            &json!({"reason": "The vehicle is used as a matatu"}),
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
    sent(&book, "c@example.com", "application_rejected", 1).await;
    let why = latest_body(&book, "c@example.com", "application_rejected").await;
    assert!(why.contains("The vehicle is used as a matatu"), "{why}");
}
