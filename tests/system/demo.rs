//! `ifinsure demo`'s seeding: the catalogue, users and a book of business
//! with every policy status, made through the API; seeding again adds nothing.

use std::collections::BTreeSet;
use std::sync::Arc;

use ifinsure::seed;
use projections::clock::{Clock, SettableClock, SystemClock};
use projections::EventStore;

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
    seed::seed(&pool, &EventStore::new(pool.clone()))
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
    seed::seed(&pool, &EventStore::new(pool.clone()))
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
