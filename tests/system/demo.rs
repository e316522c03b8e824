//! `ifinsure demo`'s seeding: the catalogue, users and a book of business
//! with every policy status, made through the API; seeding again adds nothing.

use std::collections::BTreeSet;
use std::sync::Arc;

use ifinsure::seed;
use projections::clock::{Clock, SettableClock, SystemClock};

use crate::book::eventually;
use crate::common::*;

/// An app whose database holds the demo catalogue, users and book (made
/// through the API while the returned clock replays thirteen months).
pub(crate) async fn seeded_demo() -> (TestApp, SettableClock) {
    let clock = SettableClock::at(SystemClock::default().today());
    let settings = ifinsure::settings::Settings {
        clock: Arc::new(clock.clone()),
        ..test_settings()
    };
    let app = spawn_app_with(settings).await;
    let pool = app.db.pool.clone();
    let workers = app.running.as_ref().unwrap().workers.as_ref().unwrap();
    seed::seed(&pool, &crate::common::store(&pool))
        .await
        .unwrap();
    seed::book::seed_book(&pool, &app.base, &clock, workers)
        .await
        .unwrap();
    (app, clock)
}

#[tokio::test]
async fn the_demo_book_has_every_status_and_is_seeded_once() {
    let (app, clock) = seeded_demo().await;
    let pool = app.db.pool.clone();
    let workers = app.running.as_ref().unwrap().workers.as_ref().unwrap();

    let all = [
        "active",
        "approved",
        "cancelled",
        "expired",
        "lapsed",
        "rejected",
        "submitted",
    ];
    eventually("the read model to show every status", || async {
        let statuses: BTreeSet<String> = sqlx::query_scalar("SELECT status FROM policies")
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
        let expected: BTreeSet<String> = all.iter().map(|s| s.to_string()).collect();
        (statuses == expected).then_some(serde_json::json!(true))
    })
    .await;
    let wanted = [
        ("paid", "premium", true),
        ("overdue", "premium", true), // partly paid
        ("void", "premium", false),   // the lapsed policy's
        ("open", "endorsement", false),
        ("open", "renewal", false),
    ];
    eventually("the read model to show every kind of invoice", || async {
        let invoices: Vec<(String, String, bool, bool)> = sqlx::query_as(
            "SELECT status, kind, (state->'amount_paid'->>'amount')::numeric > 0,
                    jsonb_array_length(state->'refunds') > 0 FROM invoices",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        let has = |(status, kind, paid): (&str, &str, bool)| {
            invoices
                .iter()
                .any(|(s, k, p, _)| s == status && k == kind && *p == paid)
        };
        let refunded = invoices.iter().any(|i| i.3);
        (wanted.into_iter().all(has) && refunded).then_some(serde_json::json!(true))
    })
    .await;
    let claims: BTreeSet<String> = sqlx::query_scalar("SELECT status FROM claims")
        .fetch_all(&pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let expected: BTreeSet<String> = ["paid", "rejected", "submitted"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(claims, expected);
    assert_eq!(clock.today(), SystemClock::default().today());

    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    seed::seed(&pool, &crate::common::store(&pool))
        .await
        .unwrap();
    seed::book::seed_book(&pool, &app.base, &clock, workers)
        .await
        .unwrap();
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(before, after);
}

/// Logs in as a demo user.
async fn demo_login(app: &TestApp, email: &str) -> String {
    let reply = app
        .post(
            "/auth/login",
            None,
            &serde_json::json!({"email": email, "password": seed::DEMO_PASSWORD}),
        )
        .await;
    reply.body["access_token"].as_str().unwrap().to_string()
}

/// Sums `field` of a report's rows per currency.
fn by_currency(
    items: &serde_json::Value,
    field: &str,
) -> std::collections::BTreeMap<String, rust_decimal::Decimal> {
    let mut sums = std::collections::BTreeMap::<String, rust_decimal::Decimal>::new();
    for row in items.as_array().unwrap() {
        let money = &row[field];
        let amount: rust_decimal::Decimal = money["amount"].as_str().unwrap().parse().unwrap();
        *sums
            .entry(money["currency"].as_str().unwrap().to_string())
            .or_default() += amount;
    }
    sums.retain(|_, v| !v.is_zero());
    sums
}

/// Sums per currency of `(currency, amount)` rows worked out from the
/// aggregates, apart from the reporting projection.
fn sums(
    rows: Vec<(String, rust_decimal::Decimal)>,
) -> std::collections::BTreeMap<String, rust_decimal::Decimal> {
    let mut sums = std::collections::BTreeMap::new();
    for (currency, amount) in rows {
        *sums.entry(currency).or_default() += amount;
    }
    sums.retain(|_, v: &mut rust_decimal::Decimal| !v.is_zero());
    sums
}

#[tokio::test]
async fn the_demo_books_reports_and_statements_agree_with_its_records() {
    let (app, clock) = seeded_demo().await;
    let pool = app.db.pool.clone();
    let auditor = demo_login(&app, "auditor@example.com").await;
    let today = clock.today();
    let from = today - chrono::Days::new(800);
    let range = format!("from={from}&to={today}&group_by=product");
    // Everything settled and projected.
    eventually("the demo's payments to settle", || async {
        let pending: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM payments WHERE status = 'pending'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        let behind: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM subscription_checkpoints
             WHERE name = 'reporting' AND events_handled < (SELECT count(*) FROM events WHERE aggregate_type IN ('Product', 'User', 'Policy', 'Invoice', 'Claim'))",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        (pending == 0 && behind == 0).then_some(serde_json::json!(true))
    })
    .await;

    // Collected and refunded: the payments and refunds the invoices record.
    let revenue = app
        .get(&format!("/reports/revenue?{range}"), Some(&auditor))
        .await
        .body;
    let collected: Vec<(String, rust_decimal::Decimal)> = sqlx::query_as(
        "SELECT p.value->'received'->>'currency', (p.value->'received'->>'amount')::numeric
         FROM invoices i, jsonb_array_elements(i.state->'payments') p
         WHERE p.value->>'status' = 'succeeded'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(!collected.is_empty(), "the demo book has payments");
    assert_eq!(by_currency(&revenue["items"], "collected"), sums(collected));
    let refunded: Vec<(String, rust_decimal::Decimal)> = sqlx::query_as(
        "SELECT r.value->'amount'->>'currency', (r.value->'amount'->>'amount')::numeric
         FROM invoices i, jsonb_array_elements(i.state->'refunds') r
         WHERE r.value->>'status' = 'succeeded'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(by_currency(&revenue["items"], "refunded"), sums(refunded));

    // Claims: paid as the claims record it; what is incurred is what was
    // paid plus what is still owed on approved claims.
    let claims = app
        .get(&format!("/reports/claims?{range}"), Some(&auditor))
        .await
        .body;
    let paid: Vec<(String, rust_decimal::Decimal)> = sqlx::query_as(
        "SELECT state->'paid_amount'->>'currency', (state->'paid_amount'->>'amount')::numeric
         FROM claims WHERE state->'paid_amount' IS NOT NULL AND state->'paid_amount' <> 'null'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(!paid.is_empty(), "the demo book has a paid claim");
    let owed: Vec<(String, rust_decimal::Decimal)> = sqlx::query_as(
        "SELECT state->'approved_amount'->>'currency',
                (state->'approved_amount'->>'amount')::numeric - coalesce((state->'paid_amount'->>'amount')::numeric, 0)
         FROM claims WHERE status = 'approved'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(by_currency(&claims["items"], "paid"), sums(paid.clone()));
    assert_eq!(
        by_currency(&claims["items"], "outstanding"),
        sums(owed.clone())
    );
    assert_eq!(
        by_currency(&claims["items"], "incurred"),
        sums(paid.into_iter().chain(owed).collect())
    );

    // Ageing: every unpaid balance past its due date.
    let ageing = app.get("/reports/ageing", Some(&auditor)).await.body;
    let overdue: Vec<(String, rust_decimal::Decimal)> = sqlx::query_as(
        "SELECT state->'details'->'amount'->>'currency',
                (state->'details'->'amount'->>'amount')::numeric - coalesce((state->'amount_paid'->>'amount')::numeric, 0)
         FROM invoices WHERE status IN ('open', 'overdue') AND due_date < $1",
    )
    .bind(today)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(!overdue.is_empty(), "the demo book has an overdue invoice");
    assert_eq!(by_currency(&ageing["items"], "total"), sums(overdue));

    // Each customer's closing balance: what their open invoices still bill
    // (issued less reductions, less paid), less the credit their policies
    // hold.
    let customers: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT DISTINCT customer_id FROM invoices")
            .fetch_all(&pool)
            .await
            .unwrap();
    // The demo's scheduler keeps issuing renewals while this reads; each
    // customer's two sides are compared once every read model has caught
    // up with the same stream head, until they agree.
    for customer in customers {
        eventually(&format!("customer {customer}'s statement to agree"), || async {
            for name in ["reporting", "billing", "policies"] {
                caught_up(&pool, name).await;
            }
            let expected = sums(
                sqlx::query_as(
                    "SELECT state->'details'->'amount'->>'currency',
                            (state->'details'->'amount'->>'amount')::numeric
                            - coalesce((state->'reduced'->>'amount')::numeric, 0)
                            - coalesce((state->'amount_paid'->>'amount')::numeric, 0)
                     FROM invoices WHERE customer_id = $1 AND status IN ('open', 'overdue')
                     UNION ALL
                     SELECT state->'ledger'->>'currency', -(state->'ledger'->'credit'->>'amount')::numeric
                     FROM policies WHERE customer_id = $1 AND state->'ledger'->'credit' IS NOT NULL
                       AND state->'ledger'->'credit' <> 'null'::jsonb",
                )
                .bind(customer)
                .fetch_all(&pool)
                .await
                .unwrap(),
            );
            let statement = app
                .get(
                    &format!("/customers/{customer}/statement?from={from}&to={today}"),
                    Some(&auditor),
                )
                .await
                .body;
            // Every line names its documents, whichever read model is behind.
            let text = statement.to_string();
            assert!(
                !text.contains("Invoice invoice") && !text.contains("()"),
                "a statement line without its numbers: {statement}"
            );
            let closing = by_currency(&statement["statements"], "closing_balance");
            (closing == expected).then_some(())
        })
        .await;
    }
}
