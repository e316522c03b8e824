//! What an auditor does: follow one policy's story through the stream,
//! replay it as it was after each event (equal to what the command side
//! had then), follow one business flow across aggregates, stream a range as
//! NDJSON, and never issue a command.

use domain::policy::Policy;
use domain::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::book::*;

async fn get(book: &Book, token: &str, path: &str) -> Value {
    let reply = book.app.get(path, Some(token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
    reply.body
}

#[tokio::test]
async fn a_policy_replayed_at_each_version_equals_what_the_command_side_had_then() {
    let book = Book::open().await;
    let (auditor, _) = book.user("auditor@example.com", Role::Auditor).await;
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    let store = &book.workers().store;
    let mut seen = Vec::new();
    let application = book.apply(&customer, None, "1000000.00").await;
    let id = application["id"].as_str().unwrap().to_string();
    seen.push(store.load::<Policy>(&id).await.unwrap());
    let approved = book.approve(&id).await;
    seen.push(store.load::<Policy>(&id).await.unwrap());
    let invoice_id = approved["invoice_id"].as_str().unwrap();
    book.pay(&customer, invoice_id).await;
    book.policy_becomes(&customer, &id, "active").await;
    seen.push(store.load::<Policy>(&id).await.unwrap());
    let cancelled = book
        .cancel(&customer, &id, "Sold the car", "2027-05-24")
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    seen.push(store.load::<Policy>(&id).await.unwrap());

    for (aggregate, version) in &seen {
        let past = get(
            &book,
            &auditor,
            &format!("/audit/Policy/{id}/state?version={version}"),
        )
        .await;
        assert_eq!(past["version"], *version);
        assert_eq!(
            past["state"],
            serde_json::to_value(aggregate).unwrap(),
            "v{version}"
        );
    }
    let (_, current) = seen.last().unwrap();

    // The same by time: as of each event's recording, the state after it.
    let story = get(
        &book,
        &auditor,
        &format!("/audit/events?aggregate_type=Policy&aggregate_id={id}"),
    )
    .await;
    let events = story["items"].as_array().unwrap();
    assert_eq!(events.len() as u64, *current);
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(types[0], "ApplicationSubmitted");
    assert!(types.contains(&"PolicyActivated") && types.contains(&"PolicyCancelled"));
    for event in events {
        let at = event["recorded_at"].as_str().unwrap().replace('+', "%2B");
        let past = get(
            &book,
            &auditor,
            &format!("/audit/Policy/{id}/state?as_of={at}"),
        )
        .await;
        assert!(past["version"].as_i64().unwrap() >= event["sequence"].as_i64().unwrap());
        let metadata = &event["metadata"];
        assert!(metadata["request_id"].is_string() && metadata["correlation_id"].is_string());
    }
    let before = get(
        &book,
        &auditor,
        &format!("/audit/Policy/{id}/state?as_of=2000-01-01T00:00:00Z"),
    )
    .await;
    assert_eq!(
        (before["version"].clone(), before["state"].clone()),
        (json!(0), Value::Null)
    );
    assert_eq!(before["current_version"], *current);

    // Bad questions get clear answers.
    for (path, status) in [
        (
            format!("/audit/Policy/{id}/state?version=1&as_of=2026-11-25T00:00:00Z"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            format!("/audit/Policy/{id}/state?as_of=yesterday"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            format!("/audit/Spaceship/{id}/state"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/audit/Policy/00000000-0000-0000-0000-000000000000/state".to_string(),
            StatusCode::NOT_FOUND,
        ),
        (
            "/audit/events?after_position=999999999".to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        assert_eq!(
            book.app.get(&path, Some(&auditor)).await.status,
            status,
            "{path}"
        );
    }
}

#[tokio::test]
async fn an_auditor_follows_one_flow_across_aggregates_pages_and_streams_and_commands_nothing() {
    let book = Book::open().await;
    let (auditor, _) = book.user("auditor@example.com", Role::Auditor).await;
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    // A console passes one correlation id through a customer's purchase:
    // the flow then runs across policy, invoice and payment, in order.
    let flow = [("x-correlation-id", "purchase-0042")];
    let send = |path: String, token: String| {
        let book = &book;
        async move {
            book.app
                .send(
                    reqwest::Method::POST,
                    &path,
                    Some(&token),
                    Some(&json!({})),
                    &flow,
                )
                .await
        }
    };
    let applied = book
        .app
        .send(
            reqwest::Method::POST,
            "/policies/applications",
            Some(&customer),
            Some(&json!({"product_id": book.product_id, "sum_insured": kes("1000000.00"),
                          "start_date": crate::common::TODAY, "insured": {"registration": "KDA 123A"}})),
            &flow,
        )
        .await;
    assert_eq!(applied.status, StatusCode::CREATED, "{}", applied.body);
    let policy_id = applied.body["id"].as_str().unwrap().to_string();
    let approved = send(
        format!("/policies/applications/{policy_id}/approve"),
        book.staff.clone(),
    )
    .await;
    let invoice_id = approved.body["invoice_id"].as_str().unwrap().to_string();
    let paid = send(
        format!("/billing/invoices/{invoice_id}/pay"),
        customer.clone(),
    )
    .await;
    assert_eq!(paid.status, StatusCode::ACCEPTED, "{}", paid.body);
    book.policy_becomes(&customer, &policy_id, "active").await;
    let story = get(&book, &auditor, "/audit/correlations/purchase-0042").await;
    let kinds: Vec<String> = story["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["aggregate_type"].as_str().unwrap(),
                e["event_type"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "Policy ApplicationSubmitted",
            "Policy ApplicationApproved",
            "Invoice InvoiceCreated",
            "Invoice PaymentRequested",
            "Invoice PaymentSucceeded",
            "Invoice InvoicePaid",
            "Policy PremiumPaymentRecorded",
            "Policy PolicyActivated",
        ]
    );
    assert_eq!(story["items"][2]["aggregate_id"], invoice_id);
    assert_eq!(
        story["items"][2]["metadata"]["causation_id"],
        format!("event:{}", story["items"][1]["position"])
    );
    assert_eq!(
        book.app
            .get("/audit/correlations/no-such-flow", Some(&auditor))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Paging through the whole stream equals streaming it as NDJSON.
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = get(
            &book,
            &auditor,
            &format!("/audit/events?limit=7&after_position={cursor}"),
        )
        .await;
        paged.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    let streamed = book
        .app
        .client
        .get(format!("{}/audit/events", book.app.base))
        .bearer_auth(&auditor)
        .header("accept", "application/x-ndjson")
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.headers()["content-type"], "application/x-ndjson");
    let text = streamed.text().await.unwrap();
    let mut lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The last line says what the stream covered.
    let reach = lines.pop().unwrap();
    assert_eq!(reach["export"]["events"], lines.len() as i64, "{reach}");
    assert!(reach["export"]["horizon_tx"].is_i64(), "{reach}");
    assert!(lines.len() >= 12, "{}", lines.len());
    assert_eq!(lines, paged, "paging and streaming read the same stream");
    let by_user = get(
        &book,
        &auditor,
        "/audit/events?limit=200&from=2000-01-01T00:00:00Z",
    )
    .await;
    assert!(!by_user["items"].as_array().unwrap().is_empty());

    // Only auditors and admins read it.
    for token in [&customer, &book.staff] {
        assert_eq!(
            book.app.get("/audit/events", Some(token)).await.status,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        get(&book, &book.admin, "/audit/events?limit=1").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // And an auditor issues no command: every POST of the contract is 403.
    let openapi = get(&book, &auditor, "/openapi.json").await;
    let mut refused = 0;
    for (path, item) in openapi["paths"].as_object().unwrap() {
        let path = path.strip_prefix("/api/v1").unwrap();
        if path.starts_with("/auth/") || path.starts_with("/webhooks/") || path == "/unsubscribe" {
            continue;
        }
        let path = path
            .split('/')
            .map(|part| {
                if part.starts_with('{') {
                    "00000000-0000-0000-0000-000000000001"
                } else {
                    part
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in ["post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let reply = book
                .app
                .send(
                    method.to_uppercase().parse().unwrap(),
                    &path,
                    Some(&auditor),
                    Some(&json!({})),
                    &[],
                )
                .await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{method} {path}: {}",
                reply.body
            );
            refused += 1;
        }
    }
    assert!(refused >= 25, "{refused}");
}

/// `ifinsure audit <args>` against the book's database: success and output.
fn audit_cli(book: &Book, command: &str) -> (bool, String) {
    audit_cli_args(book, &[command])
}

pub(crate) fn audit_cli_args(book: &Book, args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ifinsure"))
        .arg("audit")
        .args(args)
        .env("DATABASE_URL", &book.app.db.url)
        .env("JWT_SECRET", crate::common::JWT_SECRET)
        .env("CHAIN_ANCHOR_PATH", book.app.db.anchor_dir())
        .env("RUST_LOG", "warn")
        .output()
        .expect("running ifinsure");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[tokio::test]
async fn a_changed_event_and_a_removed_tail_are_named_by_the_verification() {
    let book = Book::open().await;
    let (auditor, _) = book.user("auditor@example.com", Role::Auditor).await;
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    let (policy_id, invoice_id) = book.active_policy(&customer, "1000000.00").await;
    let pool = &book.app.db.pool;

    let clean = get(&book, &auditor, "/audit/verify").await;
    assert_eq!(clean["ok"], true, "{clean}");
    assert!(clean["events_checked"].as_i64().unwrap() >= 12);
    assert_eq!(clean["unhashed"], 0);
    assert_eq!(clean["hashed"], 0);
    assert_eq!(clean["sealed"], clean["events_checked"], "{clean}");
    // The export holds every event, with its metadata, in stream order,
    // and says what it covered.
    let (ok, exported) = audit_cli_args(&book, &["export", "--from", "2000-01-01T00:00:00Z"]);
    assert!(ok, "{exported}");
    let mut lines: Vec<Value> = exported
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let reach = lines.pop().unwrap();
    assert_eq!(reach["export"]["complete"], true, "{reach}");
    assert_eq!(reach["export"]["events"], lines.len() as i64, "{reach}");
    assert_eq!(
        lines.len() as i64,
        clean["events_checked"].as_i64().unwrap()
    );
    assert!(lines.iter().all(|e| e["metadata"]["seal"].is_string()));
    let (ok, none) = audit_cli_args(&book, &["export", "--to", "2000-01-01T00:00:00Z"]);
    assert!(ok && none.lines().count() == 1, "{none}");
    let (ok, printed) = audit_cli(&book, "checkpoint");
    assert!(ok && printed.contains("checkpoint 1 recorded"), "{printed}");
    let (ok, printed) = audit_cli(&book, "verify");
    assert!(ok, "{printed}");
    assert!(printed.contains("\"checkpoints_checked\": 1"), "{printed}");

    // Someone edits an approved premium in the database.
    let (position, original): (i64, Value) = sqlx::query_as(
        "SELECT global_position, payload FROM events WHERE aggregate_id = $1 AND sequence = 2",
    )
    .bind(&policy_id)
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query("UPDATE events SET payload = jsonb_set(payload, '{policy_number}', '\"POL-FORGED\"', true) WHERE global_position = $1")
        .bind(position)
        .execute(pool)
        .await
        .unwrap();
    let tampered = get(&book, &auditor, "/audit/verify").await;
    assert_eq!(tampered["ok"], false);
    assert_eq!(tampered["first_broken"]["position"], position, "{tampered}");
    assert_eq!(tampered["first_broken"]["aggregate_id"], policy_id);
    let (ok, printed) = audit_cli(&book, "verify");
    assert!(
        !ok && printed.contains(&format!("\"position\": {position}")),
        "{printed}"
    );
    sqlx::query("UPDATE events SET payload = $2 WHERE global_position = $1")
        .bind(position)
        .bind(&original)
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(get(&book, &auditor, "/audit/verify").await["ok"], true);

    // Someone removes the invoice's last event: every chain still holds,
    // but the signed checkpoint remembers it.
    let removed: i64 = sqlx::query_scalar(
        "DELETE FROM events WHERE aggregate_id = $1
           AND sequence = (SELECT max(sequence) FROM events WHERE aggregate_id = $1)
         RETURNING sequence",
    )
    .bind(&invoice_id)
    .fetch_one(pool)
    .await
    .unwrap();
    let truncated = get(&book, &auditor, "/audit/verify").await;
    assert_eq!(truncated["ok"], false, "{truncated}");
    let broken = &truncated["first_broken"];
    assert_eq!(broken["aggregate_id"], invoice_id, "{truncated}");
    assert_eq!(broken["sequence"], removed);
    assert!(
        broken["reason"].as_str().unwrap().contains("removed"),
        "{broken}"
    );

    // A forged checkpoint (signed without the key) is named too.
    sqlx::query("UPDATE chain_checkpoints SET heads = '[]'::jsonb")
        .execute(pool)
        .await
        .unwrap();
    let forged = get(&book, &auditor, "/audit/verify").await;
    assert!(forged["first_broken"]["reason"]
        .as_str()
        .unwrap()
        .contains("checkpoint 1 is not signed"));
}
