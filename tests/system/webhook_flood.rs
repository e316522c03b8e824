//! Webhooks are open to anyone: what does not verify cannot fill the
//! database. An unverified delivery keeps only its first 4 KiB (with the
//! digest and size of the whole), an address that keeps sending them is
//! refused without anything stored, and housekeeping removes them after
//! `LOG_RETENTION_DAYS` (verified ones keep their row, not their body).

use reqwest::StatusCode;
use sha2::Digest as _;

use crate::common::*;

async fn unsigned(app: &TestApp, provider: &str, body: Vec<u8>) -> StatusCode {
    app.client
        .post(format!("{}/webhooks/{provider}", app.base))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

/// A megabyte of JSON-looking junk, just under the body limit.
fn megabyte(fill: u8) -> Vec<u8> {
    let mut body = b"{\"junk\":\"".to_vec();
    body.extend(std::iter::repeat_n(fill, 1_000_000 - body.len() - 2));
    body.extend(b"\"}");
    body
}

#[tokio::test]
async fn an_unverified_megabyte_keeps_only_its_first_4_kib_and_its_digest() {
    let app = spawn_app().await;
    let mut sent = Vec::new();
    for (provider, fill) in [
        ("stripe", b'a'),
        ("stripe", b'b'),
        ("flutterwave", b'c'),
        ("flutterwave", b'd'),
    ] {
        let body = megabyte(fill);
        assert_eq!(
            unsigned(&app, provider, body.clone()).await,
            StatusCode::UNAUTHORIZED
        );
        sent.push(body);
    }

    let rows: Vec<(bool, Vec<u8>, Vec<u8>, i32)> = sqlx::query_as(
        "SELECT verified, body, body_sha256, body_size FROM webhook_deliveries ORDER BY id",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 4);
    for ((verified, kept, digest, size), body) in rows.iter().zip(&sent) {
        assert!(!verified);
        assert_eq!(kept.as_slice(), &body[..4096]);
        assert_eq!(digest.as_slice(), sha2::Sha256::digest(body).as_slice());
        assert_eq!(*size, 1_000_000);
    }
}

#[tokio::test]
async fn an_address_that_keeps_failing_verification_is_refused_and_nothing_is_stored() {
    let settings = ifinsure::settings::Settings {
        webhook_rejections_per_minute: 3,
        ..test_settings()
    };
    let app = spawn_app_with(settings).await;
    for _ in 0..3 {
        assert_eq!(
            unsigned(&app, "stripe", b"{}".to_vec()).await,
            StatusCode::UNAUTHORIZED
        );
    }
    for provider in ["stripe", "paystack", "sandbox"] {
        let refused = app
            .client
            .post(format!("{}/webhooks/{provider}", app.base))
            .body(megabyte(b'x'))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.headers().contains_key("retry-after"));
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 3, "the refused deliveries left nothing");
}

#[tokio::test]
async fn housekeeping_removes_old_rejected_deliveries_and_old_verified_bodies() {
    let db = TestDb::new().await;
    for (verified, days) in [(false, 100), (false, 1), (true, 100), (true, 1)] {
        sqlx::query(
            "INSERT INTO webhook_deliveries (provider, provider_event_id, verified, outcome, body, received_at)
             VALUES ('stripe', $1, $2, 'test', '\\x7b7d'::bytea, now() - make_interval(days => $3))",
        )
        .bind(format!("evt_{verified}_{days}"))
        .bind(verified)
        .bind(days)
        .execute(&db.pool)
        .await
        .unwrap();
    }

    let retention = workers::maintenance::Retention::default();
    let pruned = workers::maintenance::run_once(&db.pool, &retention)
        .await
        .unwrap();

    assert_eq!((pruned.rejected_webhooks, pruned.webhook_bodies), (1, 1));
    let left: Vec<(String, i32)> = sqlx::query_as(
        "SELECT provider_event_id, length(body) FROM webhook_deliveries ORDER BY provider_event_id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        left,
        [
            ("evt_false_1".to_string(), 2),
            ("evt_true_1".to_string(), 2),
            ("evt_true_100".to_string(), 0),
        ],
        "the old verified row stays (it recognises a late duplicate), without its body"
    );
}
