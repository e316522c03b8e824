//! Rebuilding every read model from the event store gives exactly the
//! tables live processing built (on the demo book plus a crowd of users: a
//! few thousand events), and a rebuild while commands keep arriving loses
//! none of them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use projections::read_models::{self, Projection};
use projections::subscription::rebuild::rebuild;
use sqlx::PgPool;

use crate::book::{eventually, register_crowd};

/// Every row of every table of `projection`, as JSON text, in key order.
async fn snapshot(pool: &PgPool, projection: &dyn Projection) -> String {
    let mut text = String::new();
    for table in projection.tables() {
        let rows: String = sqlx::query_scalar(&format!(
            "SELECT coalesce(json_agg(t ORDER BY t)::text, '[]') FROM {table} t"
        ))
        .fetch_one(pool)
        .await
        .unwrap();
        text.push_str(table);
        text.push_str(&rows);
    }
    text
}

/// Waits until every projection has read every event.
async fn caught_up(pool: &PgPool) {
    eventually("every projection to catch up", || async {
        let behind: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM subscription_checkpoints c
             WHERE c.name = ANY($1) AND c.events_handled < (SELECT count(*) FROM events)",
        )
        .bind(
            read_models::all()
                .iter()
                .map(|p| p.name().to_string())
                .collect::<Vec<_>>(),
        )
        .fetch_one(pool)
        .await
        .unwrap();
        (behind == 0).then_some(serde_json::json!(true))
    })
    .await;
}

#[tokio::test]
async fn every_read_model_rebuilt_from_the_seeded_book_equals_the_live_one_and_loses_nothing() {
    let (app, _clock) = crate::demo::seeded_demo().await;
    let pool = app.db.pool.clone();
    let workers = app.running.as_ref().unwrap().workers.as_ref().unwrap();
    let store = workers.store.clone();
    register_crowd(&store, "crowd", "example.com", 0, 2500).await;
    caught_up(&pool).await;
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(events >= 2500, "{events} events");

    // Quiet: each rebuilt read model is byte for byte the live one.
    for projection in read_models::all() {
        let live = snapshot(&pool, projection.as_ref()).await;
        let replayed = rebuild(
            &pool,
            crate::common::store(&pool).seals(),
            projection.clone(),
            500,
            |_| {},
        )
        .await
        .unwrap();
        assert!(replayed as i64 >= events);
        assert_eq!(
            snapshot(&pool, projection.as_ref()).await,
            live,
            "{} rebuilt differs from live",
            projection.name()
        );
    }

    // Busy: users keep registering while the users read model is rebuilt.
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let (store, writing) = (store.clone(), writing.clone());
        tokio::spawn(async move {
            let mut next = 2500;
            while writing.load(Ordering::SeqCst) {
                register_crowd(&store, "crowd", "example.com", next, 25).await;
                next += 25;
            }
            next - 2500
        })
    };
    let users = read_models::by_name("users").unwrap();
    rebuild(
        &pool,
        crate::common::store(&pool).seals(),
        users.clone(),
        200,
        |_| {},
    )
    .await
    .unwrap();
    writing.store(false, Ordering::SeqCst);
    let added = writer.await.unwrap();
    assert!(added > 0);
    caught_up(&pool).await;
    let (rows, registered): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM users),
                (SELECT count(*) FROM events WHERE event_type = 'UserRegistered')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows, registered,
        "every user registered during the rebuild is there"
    );
    let live = snapshot(&pool, users.as_ref()).await;
    rebuild(
        &pool,
        crate::common::store(&pool).seals(),
        users.clone(),
        500,
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(snapshot(&pool, users.as_ref()).await, live);
}
