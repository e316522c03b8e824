//! The auditor's desk: the stream with its filters, an aggregate's history
//! with its state at any version and what changed between two, one flow
//! across aggregates, the integrity check (and what it says once someone
//! with the database has edited an event), and an auditor who can change
//! nothing.

use reqwest::StatusCode;

use super::browser::Browser;
use super::Book;
use crate::common::PASSWORD;

async fn auditor(book: &Book) -> Browser {
    book.app
        .user("auditor@example.com", domain::Role::Auditor)
        .await;
    let auditor = Browser::new(&book.app);
    auditor.sign_in("auditor@example.com", PASSWORD).await;
    auditor
}

#[tokio::test]
async fn an_auditor_follows_a_policy_through_its_versions_and_its_flow() {
    let book = Book::open().await;
    let policy = book.active_policy().await;
    let auditor = auditor(&book).await;

    // The stream, filtered to the policy: each event with its metadata.
    let stream = auditor
        .get(&format!(
            "/audit?aggregate_type=Policy&aggregate_id={policy}"
        ))
        .await;
    assert_eq!(stream.status, StatusCode::OK, "{}", stream.html);
    assert_eq!(stream.h1(), "Audit");
    for shown in [
        "Application submitted",
        "Application approved",
        "Policy activated",
        "Customer",
        "Business date",
    ] {
        assert!(
            stream.shows(shown) || stream.shows(&shown.to_lowercase()),
            "{shown}: {}",
            stream.html
        );
    }
    assert!(stream.shows(&format!("href=\"/audit/Policy/{policy}\"")));
    // Filtered to a type it is not: none of its events.
    let other = auditor
        .get(&format!(
            "/audit?aggregate_type=Claim&aggregate_id={policy}"
        ))
        .await;
    assert!(other.shows("No events."), "{}", other.html);

    // The aggregate: now, at version 1, and what changed from 1 to now.
    let now = auditor.get(&format!("/audit/Policy/{policy}")).await;
    assert_eq!(now.status, StatusCode::OK, "{}", now.html);
    assert!(now.shows("(as it is now)"), "{}", now.html);
    assert!(now.shows("\"status\": \"active\""), "{}", now.html);
    let events = book
        .app
        .get(
            &format!("/audit/events?aggregate_type=Policy&aggregate_id={policy}"),
            Some(&book.admin),
        )
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .len();
    assert!(
        now.shows(&format!("It has {events} events")),
        "{}",
        now.html
    );
    let first = auditor
        .get(&format!("/audit/Policy/{policy}?version=1"))
        .await;
    assert!(
        first.shows(&format!("At version 1 of {events}")),
        "{}",
        first.html
    );
    assert!(first.shows("\"status\": \"submitted\""), "{}", first.html);
    assert!(!first.shows("(as it is now)"));
    let before = auditor
        .get(&format!("/audit/Policy/{policy}?version=0"))
        .await;
    assert!(before.shows("It did not exist yet"), "{}", before.html);
    let compared = auditor
        .get(&format!(
            "/audit/Policy/{policy}?compare_from=1&compare_to={events}"
        ))
        .await;
    assert!(
        compared.shows(&format!("From version 1 to version {events}")),
        "{}",
        compared.html
    );
    let status_row = compared
        .html
        .split("<tr>")
        .find(|row| row.contains("<code>status</code>"))
        .unwrap_or_else(|| panic!("the status changed: {}", compared.html));
    assert!(status_row.contains("submitted") && status_row.contains("active"));

    // The flow that approved it reaches the invoice it issued.
    let approval = book
        .app
        .get(
            &format!("/audit/events?aggregate_type=Policy&aggregate_id={policy}"),
            Some(&book.admin),
        )
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "ApplicationApproved")
        .cloned()
        .unwrap();
    let flow = approval["metadata"]["correlation_id"].as_str().unwrap();
    assert!(now.shows(&format!("href=\"/audit/correlations/{flow}\"")));
    let across = auditor.get(&format!("/audit/correlations/{flow}")).await;
    assert_eq!(across.status, StatusCode::OK, "{}", across.html);
    assert!(across.shows("Application approved"), "{}", across.html);
    assert!(across.shows("Invoice created"), "{}", across.html);
    assert!(across.shows("href=\"/audit/Invoice/"), "{}", across.html);

    // Nothing here or on the record pages lets an auditor change anything.
    for path in [
        format!("/audit/Policy/{policy}"),
        format!("/policies/{policy}"),
        format!("/invoices/{}", book.invoice_of(&policy).await),
    ] {
        let page = auditor.get(&path).await;
        let posts = page.html.matches("method=\"post\"").count();
        assert_eq!(posts, 1, "{path}: only Sign out posts: {}", page.html);
    }
    let page = auditor.get(&format!("/policies/{policy}")).await;
    let mut fields = page.form("/logout").unwrap();
    fields.retain(|(name, _)| name == "csrf");
    fields.push(("idempotency_key".into(), uuid::Uuid::now_v7().to_string()));
    let renewed = auditor
        .post(&format!("/policies/{policy}/renew"), &fields)
        .await;
    assert_eq!(renewed.status, StatusCode::FORBIDDEN, "{}", renewed.html);
}

#[tokio::test]
async fn bad_filters_and_versions_say_what_to_type() {
    let book = Book::open().await;
    let id = book.apply().await;
    let auditor = auditor(&book).await;
    let unknown = uuid::Uuid::now_v7();
    // (what is asked, the status, what the page says)
    let refused = [
        (
            "/audit?from=yesterday".to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter a date, e.g. 2026-12-01",
        ),
        (
            format!("/audit/Policy/{id}?version=three"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter a whole number",
        ),
        (
            format!("/audit/Policy/{id}?compare_from=0&compare_to=99"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter a version from 0 to 1",
        ),
        (
            format!("/audit/Policy/{id}?version=1&at=2026-12-01T09:30"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Give a version or a time, not both",
        ),
        (
            format!("/audit/Policy/{unknown}"),
            StatusCode::NOT_FOUND,
            "",
        ),
    ];
    for (path, status, says) in refused {
        let page = auditor.get(&path).await;
        assert_eq!(page.status, status, "{path}: {}", page.html);
        assert!(page.shows(says), "{path} should say {says}: {}", page.html);
    }
    let bad_day = auditor.get("/audit?from=yesterday").await;
    assert!(
        bad_day.shows("value=\"yesterday\""),
        "what was typed is kept"
    );
    // A time before it existed.
    let earlier = auditor
        .get(&format!("/audit/Policy/{id}?at=2020-01-01T00:00"))
        .await;
    assert!(earlier.shows("It did not exist yet"), "{}", earlier.html);
    // Whole days, To included: today's events are in today.
    let today = chrono::Utc::now().date_naive();
    let days = auditor
        .get(&format!("/audit?aggregate_id={id}&from={today}&to={today}"))
        .await;
    assert!(days.shows("Application submitted"), "{}", days.html);
    let before = auditor
        .get(&format!(
            "/audit?aggregate_id={id}&to={}",
            today.pred_opt().unwrap()
        ))
        .await;
    assert!(before.shows("No events."), "{}", before.html);
}

#[tokio::test]
async fn verify_integrity_finds_an_event_edited_in_the_database() {
    let book = Book::open().await;
    let id = book.apply().await;
    let auditor = auditor(&book).await;
    let page = auditor.get("/audit/verify").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.shows("Verify integrity</button>"));
    assert!(!page.shows("Integrity verified"), "run only when asked");
    let clean = auditor.get("/audit/verify?run=1").await;
    assert!(clean.shows("Integrity verified"), "{}", clean.html);
    assert!(clean.shows("Events checked"));

    // Someone with the database raises the sum insured.
    sqlx::query(
        "UPDATE events SET payload = jsonb_set(payload, '{ApplicationSubmitted,sum_insured,amount}', '\"9000000.00\"')
         WHERE aggregate_id = $1 AND sequence = 1",
    )
    .bind(&id)
    .execute(&book.app.db.pool)
    .await
    .unwrap();
    let broken = auditor.get("/audit/verify?run=1").await;
    assert!(broken.shows("Integrity check failed"), "{}", broken.html);
    assert!(
        broken.shows(&format!("href=\"/audit/Policy/{id}\"")),
        "{}",
        broken.html
    );
    // Its page does not replay it, and says why.
    let record = auditor.get(&format!("/audit/Policy/{id}")).await;
    assert_eq!(record.status, StatusCode::CONFLICT, "{}", record.html);
    assert!(record.shows("fails the integrity check"), "{}", record.html);
    assert!(
        record.shows("Application submitted"),
        "the events are listed"
    );
}
