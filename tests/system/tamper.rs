//! Tamper evidence against someone with write access to the database and
//! without `CHAIN_KEY`: each tampering is done with SQL on the test
//! database, as an attacker would, then verification's answer (and what
//! the service does with the tampered history) is asserted.

use domain::Role;
use projections::event_store::chain;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::audit::audit_cli_args;
use crate::book::*;

async fn verify(book: &Book) -> Value {
    let reply = book.app.get("/audit/verify", Some(&book.admin)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body
}

fn reason(verification: &Value) -> String {
    verification["first_broken"]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn sql(book: &Book, statement: &str) {
    sqlx::query(statement)
        .execute(&book.app.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

fn checkpoint(book: &Book) -> (bool, String) {
    audit_cli_args(book, &["checkpoint"])
}

/// A book with one active policy, checkpointed.
async fn checkpointed() -> (Book, String, String, String) {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    let (policy, invoice) = book.active_policy(&customer, "1000000.00").await;
    let (ok, printed) = checkpoint(&book);
    assert!(ok && printed.contains("checkpoint 1 recorded"), "{printed}");
    (book, customer, policy, invoice)
}

#[tokio::test]
async fn removing_the_newest_checkpoint_is_caught_and_nothing_is_signed_until_an_admin_acknowledges_it(
) {
    let (book, customer, _, _) = checkpointed().await;
    book.approved_policy(&customer, "500000.00").await;
    let (ok, printed) = checkpoint(&book);
    assert!(ok && printed.contains("checkpoint 2 recorded"), "{printed}");
    let clean = verify(&book).await;
    assert_eq!(clean["ok"], true, "{clean}");
    assert_eq!(clean["anchored"], 2, "{clean}");

    sql(
        &book,
        "DELETE FROM chain_checkpoints WHERE id = (SELECT max(id) FROM chain_checkpoints)",
    )
    .await;
    let blinded = verify(&book).await;
    assert_eq!(blinded["ok"], false, "{blinded}");
    assert!(
        reason(&blinded).contains("checkpoint 2 is in the anchor but not in the database"),
        "{blinded}"
    );
    // The service signs nothing over it: an integrity alarm instead.
    book.approved_policy(&customer, "400000.00").await;
    let (ok, printed) = checkpoint(&book);
    assert!(!ok, "{printed}");
    let health = book.app.get("/health", None).await;
    assert_eq!(health.body["status"], "degraded", "{}", health.body);
    assert!(health.body["warnings"]
        .to_string()
        .contains("integrity alarm"));
    let alarms = book.app.get("/audit/alarms", Some(&book.admin)).await;
    let alarm = &alarms.body["items"][0];
    assert!(
        alarm["problem"].as_str().unwrap().contains("checkpoint 2"),
        "{alarm}"
    );
    assert!(alarm["acknowledged_at"].is_null());
    let id = alarm["id"].as_str().unwrap().to_string();

    // Only an admin acknowledges, saying why.
    let (auditor, _) = book.user("auditor@example.com", Role::Auditor).await;
    let path = format!("/audit/alarms/{id}/acknowledge");
    let by_auditor = book
        .app
        .post(&path, Some(&auditor), &json!({"note": "seen"}))
        .await;
    assert_eq!(by_auditor.status, StatusCode::FORBIDDEN);
    let silent = book
        .app
        .post(&path, Some(&book.admin), &json!({"note": " "}))
        .await;
    assert_eq!(
        silent.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        silent.body
    );
    let acknowledged = book
        .app
        .post(
            &path,
            Some(&book.admin),
            &json!({"note": "restored from the anchor; incident 7"}),
        )
        .await;
    assert_eq!(acknowledged.status, StatusCode::OK, "{}", acknowledged.body);
    assert_eq!(
        acknowledged.body["acknowledged_note"],
        "restored from the anchor; incident 7"
    );
    let health = book.app.get("/health", None).await;
    assert_eq!(health.body["status"], "ok", "{}", health.body);
    // Signing resumes after the anchor's newest; the gap stays visible.
    let (ok, printed) = checkpoint(&book);
    assert!(ok && printed.contains("checkpoint 3 recorded"), "{printed}");
    let after = verify(&book).await;
    assert_eq!(after["ok"], false, "{after}");
    assert!(
        reason(&after).contains("checkpoint 2 is missing"),
        "{after}"
    );
}

#[tokio::test]
async fn truncated_checkpoints_are_caught_by_the_anchor_and_without_one_by_events_left_uncovered() {
    let (book, ..) = checkpointed().await;
    sql(&book, "TRUNCATE chain_checkpoints").await;
    let blinded = verify(&book).await;
    assert!(
        reason(&blinded).contains("checkpoint 1 is in the anchor but not in the database"),
        "{blinded}"
    );
    // Without the anchor, events stay uncovered past twice the interval.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (ok, printed) = ifinsure(
        &book,
        &["audit", "verify"],
        &[("CHAIN_ANCHOR", "none"), ("CHAIN_CHECKPOINT_SECS", "1")],
    )
    .await;
    assert!(!ok, "{printed}");
    assert!(
        printed.contains("are covered by no checkpoint"),
        "{printed}"
    );
}

/// `ifinsure <args>` on `book`'s database with the test apps' secret and
/// `env`, off the test's runtime (which keeps serving meanwhile).
async fn ifinsure(book: &Book, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let url = book.app.db.url.clone();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_ifinsure"))
            .args(&args)
            .env("DATABASE_URL", url)
            .env("JWT_SECRET", crate::common::JWT_SECRET)
            .env("RUST_LOG", "error")
            .envs(env)
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    })
    .await
    .unwrap()
}

/// Events of `aggregate_id` as stored: `(sequence, event_type, payload, metadata)`.
async fn stored(book: &Book, aggregate_id: &str) -> Vec<(i64, String, Value, Value)> {
    sqlx::query_as(
        "SELECT sequence, event_type, payload, metadata FROM events WHERE aggregate_id = $1 ORDER BY sequence",
    )
    .bind(aggregate_id)
    .fetch_all(&book.app.db.pool)
    .await
    .unwrap()
}

/// Appends to the invoice `target` copies of `events`, each with its
/// SHA-256 hash recomputed the way anyone can: what an attacker without
/// the key can forge. With `tx_id`, they are backdated to it. Returns the
/// first one's position.
async fn forge(
    book: &Book,
    target: &str,
    events: &[(i64, String, Value, Value)],
    tx_id: Option<&str>,
) -> i64 {
    let before = stored(book, target).await;
    let mut previous = before
        .last()
        .map(|(_, _, _, m)| m["seal"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default();
    let mut sequence = before.len() as i64;
    let mut first = None;
    for (_, event_type, payload, metadata) in events {
        sequence += 1;
        let mut metadata = metadata.clone();
        for field in ["seal", "previous", "recorded_at"] {
            metadata.as_object_mut().unwrap().remove(field);
        }
        let hash = chain::hash(
            chain::Link {
                aggregate_type: "Invoice",
                aggregate_id: target,
                sequence,
                event_type,
                event_version: "1.0",
                payload,
                metadata: &metadata,
            },
            &previous,
        );
        metadata["hash"] = json!(hash);
        previous = hash;
        let position: i64 = sqlx::query_scalar(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, tx_id)
             VALUES ('Invoice', $1, $2, $3, '1.0', $4, $5, coalesce($6::text::xid8, pg_current_xact_id()))
             RETURNING global_position",
        )
        .bind(target)
        .bind(sequence)
        .bind(event_type)
        .bind(payload)
        .bind(&metadata)
        .bind(tx_id)
        .fetch_one(&book.app.db.pool)
        .await
        .unwrap();
        first.get_or_insert(position);
    }
    first.unwrap()
}

#[tokio::test]
async fn events_forged_onto_an_invoice_reach_no_read_model_no_decision_and_no_time_travel() {
    let (book, customer, _, paid) = checkpointed().await;
    let (policy, unpaid) = book.approved_policy(&customer, "1000000.00").await;
    // The paid invoice's payment, copied onto the unpaid one.
    let payment: Vec<_> = stored(&book, &paid)
        .await
        .into_iter()
        .filter(|(_, t, _, _)| {
            ["PaymentRequested", "PaymentSucceeded", "InvoicePaid"].contains(&t.as_str())
        })
        .collect();
    assert_eq!(payment.len(), 3);
    let first = forge(&book, &unpaid, &payment, None).await;

    let caught = verify(&book).await;
    assert_eq!(caught["ok"], false, "{caught}");
    assert_eq!(caught["first_broken"]["position"], first, "{caught}");
    assert!(reason(&caught).contains("no seal"), "{caught}");
    // No read model takes it: the invoice stays open, the policy approved.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(book.invoice(&customer, &unpaid).await["status"], "open");
    assert_eq!(book.policy(&customer, &policy).await["status"], "approved");
    // No decision is taken on it.
    let paying = book
        .app
        .post(
            &format!("/billing/invoices/{unpaid}/pay"),
            Some(&customer),
            &json!({}),
        )
        .await;
    assert_eq!(
        paying.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        paying.body
    );
    // Time travel refuses it.
    let (auditor, _) = book.user("auditor@example.com", Role::Auditor).await;
    let past = book
        .app
        .get(
            &format!("/audit/Invoice/{unpaid}/state?version=1"),
            Some(&auditor),
        )
        .await;
    assert_eq!(past.status, StatusCode::CONFLICT, "{}", past.body);
    assert_eq!(past.body["code"], "tampering_detected");
    // Nor is it signed into a checkpoint.
    let (ok, printed) = checkpoint(&book);
    assert!(!ok, "{printed}");
}

#[tokio::test]
async fn a_forged_event_backdated_below_every_checkpoint_is_caught_and_no_rebuild_takes_it() {
    let (book, customer, _, paid) = checkpointed().await;
    let (_, unpaid) = book.approved_policy(&customer, "1000000.00").await;
    let paid_events: Vec<_> = stored(&book, &paid)
        .await
        .into_iter()
        .filter(|(_, t, _, _)| t == "InvoicePaid")
        .collect();
    forge(&book, &unpaid, &paid_events, Some("3")).await;
    let caught = verify(&book).await;
    assert_eq!(caught["ok"], false, "{caught}");
    assert!(reason(&caught).contains("no seal"), "{caught}");
    let (ok, printed) = ifinsure(&book, &["projections", "rebuild", "invoices"], &[]).await;
    assert!(!ok, "a rebuild must not take the forged event: {printed}");
    assert_eq!(book.invoice(&customer, &unpaid).await["status"], "open");
}

#[tokio::test]
async fn an_event_moved_in_time_or_in_the_stream_is_caught() {
    let (book, customer, policy, _) = checkpointed().await;
    let (auditor, _) = book.user("auditor@example.com", Role::Auditor).await;
    // Later in time: a year on.
    let (position, at): (i64, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
        "SELECT global_position, recorded_at FROM events WHERE aggregate_id = $1 ORDER BY sequence DESC LIMIT 1",
    )
    .bind(&policy)
    .fetch_one(&book.app.db.pool)
    .await
    .unwrap();
    sql(&book, &format!("UPDATE events SET recorded_at = recorded_at + interval '1 year' WHERE global_position = {position}")).await;
    let moved = verify(&book).await;
    assert_eq!(moved["first_broken"]["position"], position, "{moved}");
    assert!(reason(&moved).contains("moved in time"), "{moved}");
    let as_of = (at + chrono::Duration::days(1)).to_rfc3339();
    let past = book
        .app
        .get(
            &format!("/audit/Policy/{policy}/state?as_of={}", urlencode(&as_of)),
            Some(&auditor),
        )
        .await;
    assert_eq!(past.status, StatusCode::CONFLICT, "{}", past.body);
    sql(
        &book,
        &format!(
            "UPDATE events SET recorded_at = '{}' WHERE global_position = {position}",
            at.to_rfc3339()
        ),
    )
    .await;
    assert_eq!(verify(&book).await["ok"], true);

    // Elsewhere in the stream: an event given another transaction's id,
    // inside the stretch checkpoint 1 covers.
    let (first_tx, last_position): (i64, i64) =
        sqlx::query_as("SELECT min(tx_id::text::bigint), max(global_position) FROM events")
            .fetch_one(&book.app.db.pool)
            .await
            .unwrap();
    sql(
        &book,
        &format!(
            "UPDATE events SET tx_id = '{first_tx}'::xid8 WHERE global_position = {last_position}"
        ),
    )
    .await;
    let reordered = verify(&book).await;
    assert_eq!(reordered["ok"], false, "{reordered}");
    assert!(
        reason(&reordered).contains("checkpoint 1 covers no longer holds"),
        "{reordered}"
    );
    let _ = customer;
}

fn urlencode(text: &str) -> String {
    text.replace(':', "%3A").replace('+', "%2B")
}

/// `ifinsure audit export <args>` on `book`'s database.
async fn export(book: &Book, args: &[&str]) -> (bool, String) {
    let args: Vec<&str> = ["audit", "export"]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    ifinsure(book, &args, &[]).await
}

#[tokio::test]
async fn an_export_says_what_a_running_transaction_held_back_and_waits_for_it() {
    let book = Book::open().await;
    // A transaction that has taken an id and stays open; then events are
    // committed after it.
    let mut open = book.app.db.pool.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *open)
        .await
        .unwrap();
    let store = book.app.store();
    for n in 0..3 {
        store
            .execute::<domain::integrity_alarm::IntegrityAlarm>(
                &format!("held-back-{n}"),
                domain::integrity_alarm::IntegrityAlarmCommand::Raise {
                    problem: "an event committed behind an open transaction".into(),
                },
                None,
                &projections::CommandMetadata::system("test"),
            )
            .await
            .unwrap();
    }
    let (ok, exported) = export(&book, &[]).await;
    assert!(!ok, "an export that left events behind is not a success");
    let reach: Value = serde_json::from_str(exported.lines().last().unwrap()).unwrap();
    assert_eq!(reach["export"]["complete"], false, "{reach}");
    assert_eq!(reach["export"]["held_back"], 3, "{reach}");
    let short = reach["export"]["events"].as_i64().unwrap();
    // With --wait, it reads them once the transaction ends.
    let closer = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        open.commit().await.unwrap();
    });
    let (ok, exported) = export(&book, &["--wait", "20"]).await;
    closer.await.unwrap();
    assert!(ok, "{exported}");
    let reach: Value = serde_json::from_str(exported.lines().last().unwrap()).unwrap();
    assert_eq!(reach["export"]["complete"], true, "{reach}");
    assert_eq!(
        reach["export"]["events"].as_i64().unwrap(),
        short + 3,
        "{reach}"
    );
    assert_eq!(exported.lines().count() as i64, short + 3 + 1);
}
