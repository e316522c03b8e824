//! The command side: optimistic concurrency with retries, and metadata.

use std::sync::Arc;

use domain::product::{Line, NewProduct, Product, ProductCommand};
use domain::{Currency, Money};
use projections::{CommandMetadata, ExecuteError};

use crate::common::TestDb;

fn kes(s: &str) -> Money {
    Money::new(s.parse().unwrap(), Currency::KES).unwrap()
}

fn define(code: &str) -> ProductCommand {
    ProductCommand::DefineProduct(NewProduct {
        code: code.into(),
        name: "Hot".into(),
        line: Line::Other,
        description: String::new(),
        currency: Currency::KES,
        rate: "0.01".parse().unwrap(),
        minimum_premium: kes("1"),
        sum_insured_min: kes("1"),
        sum_insured_max: kes("100"),
        term_months: 12,
        commission_rate: rust_decimal::Decimal::ZERO,
    })
}

#[tokio::test]
async fn concurrent_commands_on_one_aggregate_from_two_processes_all_land() {
    let db = TestDb::new().await;
    // Two stores stand for two processes: no shared in-process lock.
    let stores = [
        crate::common::store(&db.pool),
        crate::common::store(&db.pool),
    ];
    let meta = Arc::new(CommandMetadata::system("test"));
    let id = uuid::Uuid::now_v7().to_string();
    stores[0]
        .execute::<Product>(&id, define("HOT"), None, &meta)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let store = stores[i % 2].clone();
        let meta = meta.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            let rate = format!("0.{:03}", 100 + i).parse().unwrap();
            store
                .execute::<Product>(
                    &id,
                    ProductCommand::Reprice {
                        rate,
                        minimum_premium: kes("1"),
                    },
                    None,
                    &meta,
                )
                .await
                .map(|c| c.version)
        }));
    }
    let mut versions = Vec::new();
    for task in tasks {
        versions.push(task.await.unwrap().expect("no command is lost to a race"));
    }
    versions.sort();
    assert_eq!(versions, (2..=25).collect::<Vec<u64>>());
    let (_, version) = stores[0].load::<Product>(&id).await.unwrap();
    assert_eq!(version, 25);
}

#[tokio::test]
async fn an_expected_version_that_is_not_current_is_refused() {
    let db = TestDb::new().await;
    let store = crate::common::store(&db.pool);
    let meta = CommandMetadata::system("test");
    let id = uuid::Uuid::now_v7().to_string();
    store
        .execute::<Product>(&id, define("V"), None, &meta)
        .await
        .unwrap();
    let result = store
        .execute::<Product>(&id, ProductCommand::Retire { reason: None }, Some(0), &meta)
        .await;
    assert!(matches!(
        result,
        Err(ExecuteError::VersionMismatch {
            expected: 0,
            actual: 1
        })
    ));
}

#[tokio::test]
async fn every_event_records_who_and_why_and_its_place_in_the_stream() {
    let db = TestDb::new().await;
    let store = crate::common::store(&db.pool);
    let meta = CommandMetadata {
        user_id: Some(uuid::Uuid::now_v7()),
        role: "admin".into(),
        request_id: "req-1".into(),
        correlation_id: "flow-1".into(),
        causation_id: "req-1".into(),
        client_ip: Some("10.1.2.3".into()),
        provider_event_id: None,
    };
    let id = uuid::Uuid::now_v7().to_string();
    let committed = store
        .execute::<Product>(&id, define("M"), None, &meta)
        .await
        .unwrap();
    assert_eq!(committed.version, 1);
    let position = committed.last_position.unwrap();
    let events = store.events_of("Product", &id).await.unwrap();
    assert_eq!(events[0].stream_position(), position);
    assert_eq!(events[0].metadata_str("correlation_id"), Some("flow-1"));
    assert_eq!(events[0].metadata_str("client_ip"), Some("10.1.2.3"));
    assert_eq!(
        events[0].metadata_str("user_id"),
        Some(meta.user_id.unwrap().to_string().as_str())
    );
    // A command that changes nothing appends nothing.
    let same = store
        .execute::<Product>(
            &id,
            ProductCommand::Reprice {
                rate: "0.01".parse().unwrap(),
                minimum_premium: kes("1"),
            },
            None,
            &meta,
        )
        .await
        .unwrap();
    assert!(same.events.is_empty());
    assert_eq!(same.version, 1);
}

#[tokio::test]
async fn a_first_command_on_an_id_that_exists_after_all_runs_on_its_real_state() {
    let db = TestDb::new().await;
    let store = crate::common::store(&db.pool);
    let meta = CommandMetadata::system("test");
    let id = uuid::Uuid::now_v7().to_string();
    store
        .execute::<Product>(&id, define("FIRST"), None, &meta)
        .await
        .unwrap();
    // A store that never saw it assumes the id is new; the append conflicts,
    // and the retry on the loaded state refuses to define it twice.
    let other = crate::common::store(&db.pool);
    let result = other
        .execute_new::<Product>(&id, define("SECOND"), &meta)
        .await;
    assert!(matches!(
        result,
        Err(ExecuteError::Domain(
            domain::product::ProductError::AlreadyDefined
        ))
    ));
    assert_eq!(store.events_of("Product", &id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn commands_queued_on_one_aggregate_keep_their_own_outcomes_and_metadata() {
    let db = TestDb::new().await;
    let store = crate::common::store(&db.pool);
    let id = uuid::Uuid::now_v7().to_string();
    store
        .execute::<Product>(&id, define("BATCH"), None, &CommandMetadata::system("test"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..30u32 {
        let store = store.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            let mut meta = CommandMetadata::system("test");
            meta.request_id = format!("req-{i}");
            // Every third command is invalid; every fifth expects version 1.
            let rate = if i % 3 == 0 {
                "2".to_string()
            } else {
                format!("0.{:03}", 100 + i)
            };
            let expected = (i % 5 == 0).then_some(1);
            let command = ProductCommand::Reprice {
                rate: rate.parse().unwrap(),
                minimum_premium: kes("1"),
            };
            (
                i,
                store
                    .execute::<Product>(&id, command, expected, &meta)
                    .await,
            )
        }));
    }
    let mut versions = Vec::new();
    for task in tasks {
        let (i, result) = task.await.unwrap();
        match result {
            Ok(committed) => {
                assert!(i % 3 != 0, "command {i} was invalid");
                assert_eq!(committed.events.len(), 1);
                assert_eq!(
                    committed.events[0].metadata["request_id"],
                    format!("req-{i}")
                );
                let rate = committed.aggregate.terms.as_ref().unwrap().rate;
                assert_eq!(
                    rate.to_string(),
                    format!("0.{:03}", 100 + i),
                    "the state after its own command"
                );
                assert!(committed.last_position.is_some());
                versions.push(committed.version);
            }
            Err(ExecuteError::Domain(_)) => assert_eq!(i % 3, 0, "command {i} was valid"),
            Err(ExecuteError::VersionMismatch { expected: 1, .. }) => assert_eq!(i % 5, 0),
            Err(other) => panic!("command {i}: {other}"),
        }
    }
    versions.sort();
    let n = versions.len() as u64;
    assert_eq!(
        versions,
        (2..2 + n).collect::<Vec<u64>>(),
        "one event each, no gaps"
    );
    let events = store.events_of("Product", &id).await.unwrap();
    assert_eq!(events.len() as u64, 1 + n);
    for event in &events[1..] {
        let request = event.metadata_str("request_id").unwrap();
        let i: u32 = request.trim_start_matches("req-").parse().unwrap();
        assert_eq!(
            event.payload["ProductRepriced"]["rate"],
            format!("0.{:03}", 100 + i)
        );
    }
}
