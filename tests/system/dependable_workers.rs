//! Workers that never lose a job: a payment provider that stays down
//! leaves a dead letter (and `/health/workers` says so) instead of retrying
//! for ever, and the job goes once re-driven; two worker processes on one
//! database share 500 events' notifications without sending one twice; a
//! stopping process finishes the message it is sending.

use reqwest::StatusCode;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::book::*;
use crate::common::*;

const SECRET_KEY: &str = "sk_test_paystack_dead_letter";

fn initialized() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "status": true, "message": "Authorization URL created",
        "data": {"authorization_url": "https://checkout.paystack.com/x", "access_code": "x", "reference": "r"}
    }))
}

async fn health(book: &Book) -> Value {
    let reply = book.app.get("/health/workers", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body
}

fn queue<'a>(health: &'a Value, name: &str) -> &'a Value {
    health["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == name)
        .unwrap()
}

#[tokio::test]
async fn a_payment_provider_that_stays_down_leaves_a_dead_letter_and_the_job_goes_once_re_driven() {
    let paystack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/transaction/initialize"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&paystack)
        .await;
    let mut settings = test_settings();
    settings.payment_max_attempts = 2;
    let book = Book::open_with(settings).await;
    book.configure(
        &json!({"provider": "paystack", "name": "Paystack", "environment": "sandbox",
                           "credentials": {"secret_key": SECRET_KEY},
                           "settings": {"base_url": paystack.uri()}}),
    )
    .await;
    assert_eq!(health(&book).await["status"], "ok");
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let (_, invoice_id) = book.approved_policy(&customer, "1000000.00").await;
    let paying = book
        .pay_with(
            &customer,
            &invoice_id,
            &json!({"provider": "paystack", "email": "c@example.com"}),
        )
        .await;
    assert_eq!(paying.status, StatusCode::ACCEPTED, "{}", paying.body);

    // Two attempts (each retried by the HTTP client), then a dead letter.
    let letter = eventually("the payment job's dead letter", || async {
        let letters = book.app.get("/admin/dead-letters", Some(&book.admin)).await;
        letters.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["worker"] == "payments")
            .cloned()
    })
    .await;
    assert_eq!(letter["attempts"], 2);
    // The retries inside the first attempt opened the circuit breaker.
    let error = letter["error"].as_str().unwrap();
    assert!(
        error.contains("503") || error.contains("circuit open"),
        "{letter}"
    );
    let status: String = sqlx::query_scalar(
        "SELECT status FROM payment_jobs WHERE aggregate_id = $1::uuid AND kind = 'charge'",
    )
    .bind(&invoice_id)
    .fetch_one(&book.app.db.pool)
    .await
    .unwrap();
    assert_eq!(status, "dead");
    let now = health(&book).await;
    assert_eq!(now["status"], "degraded");
    assert_eq!(queue(&now, "payments")["dead"], 1);
    assert_eq!(queue(&now, "payments")["dead_letters"], 1);

    // Paystack is back and the breaker's 30 s have passed (the log is
    // moved back rather than the test sleeping); an admin re-drives the
    // job: submitted once.
    paystack.reset().await;
    sqlx::query("UPDATE integration_log SET created_at = created_at - interval '31 seconds'")
        .execute(&book.app.db.pool)
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/transaction/initialize"))
        .respond_with(initialized())
        .expect(1)
        .mount(&paystack)
        .await;
    let id = letter["id"].as_str().unwrap();
    let retried = book.retry_dead_letter(id).await;
    assert_eq!(retried.status, StatusCode::ACCEPTED, "{}", retried.body);
    book.submitted_charge(&invoice_id).await;
    let after = health(&book).await;
    assert_eq!(after["status"], "ok");
    assert_eq!(queue(&after, "payments")["dead"], 0);
    assert_eq!(queue(&after, "payments")["in_flight"], 1, "{after}");
}

#[tokio::test]
async fn the_connectivity_check_records_each_result_and_old_logs_are_pruned_but_never_events() {
    let twilio = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/2010-04-01/Accounts/AC0042.json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"sid": "AC0042"})))
        .expect(1)
        .mount(&twilio)
        .await;
    let book = Book::open().await;
    let id = book
        .configure(
            &json!({"provider": "twilio", "name": "Twilio", "environment": "sandbox",
                           "credentials": {"account_sid": "AC0042", "auth_token": "token-0042",
                                           "from": "+15005550006"},
                           "settings": {"base_url": twilio.uri()}}),
        )
        .await;
    let checked = workers::integrations::connectivity::run_once(book.workers())
        .await
        .unwrap();
    assert_eq!((checked.ok, checked.failed), (1, 0));

    // The account's token is revoked at Twilio: the next check says so.
    twilio.reset().await;
    Mock::given(method("GET"))
        .and(path("/2010-04-01/Accounts/AC0042.json"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"message": "Authenticate"})))
        .expect(1)
        .mount(&twilio)
        .await;
    let checked = workers::integrations::connectivity::run_once(book.workers())
        .await
        .unwrap();
    assert_eq!((checked.ok, checked.failed), (0, 1));
    let config = eventually("the failed test on the configuration", || async {
        let config = book
            .app
            .get(&format!("/integrations/configs/{id}"), Some(&book.admin))
            .await
            .body;
        (config["last_test"]["ok"] == false).then_some(config)
    })
    .await;
    assert!(!config.to_string().contains("token-0042"));
    let tests: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'ConnectionTested'",
    )
    .bind(&id)
    .fetch_one(&book.app.db.pool)
    .await
    .unwrap();
    assert_eq!(tests, 2, "each check is an event on the configuration");

    // Past the retention: log rows go, notification bodies go, rows and events stay.
    let (_, _) = book.user("c@example.com", domain::Role::Customer).await;
    let pool = &book.app.db.pool;
    eventually("the welcome to be sent", || async {
        let sent: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM notifications WHERE recipient = 'c@example.com' AND status = 'sent'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        (sent == 1).then_some(json!(sent))
    })
    .await;
    let events_before: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE integration_log SET created_at = now() - interval '91 days'")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE notifications SET created_at = now() - interval '91 days' WHERE recipient = 'c@example.com'",
    )
    .execute(pool)
    .await
    .unwrap();
    let retention = workers::maintenance::Retention::default();
    let pruned = workers::maintenance::run_once(pool, &retention)
        .await
        .unwrap();
    assert_eq!(pruned.integration_log, 2);
    assert_eq!(pruned.notification_bodies, 1);
    let (subject, body): (Option<String>, String) = sqlx::query_as(
        "SELECT subject, body_text FROM notifications WHERE recipient = 'c@example.com'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert!(subject.is_some() && body.is_empty());
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM notifications WHERE body_text <> ''")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(kept > 0, "recent notifications keep their bodies");
    let events_after: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(events_after, events_before);
    let again = workers::maintenance::run_once(pool, &retention)
        .await
        .unwrap();
    assert_eq!((again.integration_log, again.notification_bodies), (0, 0));
}

#[tokio::test]
async fn two_worker_processes_on_one_database_send_500_welcomes_exactly_once() {
    use ifinsure::app::{self, Parts};
    let book = Book::open().await;
    let mut settings = test_settings();
    settings.notification_outbox = book.app.db.outbox_dir();
    let second = app::start(
        &settings,
        book.app.db.pool.clone(),
        secrecy::SecretString::from(JWT_SECRET),
        Parts {
            api: false,
            projections: false,
            workers: true,
        },
    )
    .await
    .expect("starting the second worker process");
    register_crowd(&book.workers().store, "user", "load.example", 0, 500).await;
    let pool = &book.app.db.pool;
    eventually("500 welcomes sent", || async {
        let sent: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM notifications WHERE recipient LIKE '%@load.example' AND status = 'sent'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        (sent == 500).then_some(())
    })
    .await;
    let (rows, recipients, max_attempts): (i64, i64, i32) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT recipient), max(attempts) FROM notifications
         WHERE recipient LIKE '%@load.example' AND status = 'sent'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!((rows, recipients, max_attempts), (500, 500, 1));
    second.stop().await;
    // Each one written to the outbox once.
    let outbox = book.app.db.outbox_dir();
    let mut written = std::collections::HashMap::<String, usize>::new();
    for file in std::fs::read_dir(&outbox).unwrap() {
        let path = file.unwrap().path();
        if path.extension().is_some_and(|e| e == "txt") {
            let text = std::fs::read_to_string(&path).unwrap();
            let to = text
                .lines()
                .find(|l| l.starts_with("To: "))
                .unwrap()
                .to_string();
            if to.ends_with("@load.example") {
                *written.entry(to).or_default() += 1;
            }
        }
    }
    assert_eq!(written.len(), 500);
    assert!(written.values().all(|n| *n == 1));
}

#[tokio::test]
async fn a_stopping_process_finishes_the_email_it_is_sending_and_a_restart_sends_nothing_again() {
    use std::time::Duration;
    let sendgrid = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("X-Message-Id", "sg-slow-1")
                .set_delay(Duration::from_millis(1500)),
        )
        .expect(1)
        .mount(&sendgrid)
        .await;
    let book = Book::open().await;
    crate::notifications::sendgrid(&book, &sendgrid).await;
    book.user("c@example.com", domain::Role::Customer).await;
    eventually("the email to reach SendGrid", || async {
        let received = sendgrid.received_requests().await.unwrap_or_default();
        (!received.is_empty()).then_some(json!(received.len()))
    })
    .await;
    // SIGTERM arrives while SendGrid is still answering.
    let db = book.app.stop().await;
    let (status, attempts, message_id): (String, i32, Option<String>) = sqlx::query_as(
        "SELECT status, attempts, provider_message_id FROM notifications WHERE recipient = 'c@example.com'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), attempts, message_id.as_deref()),
        ("sent", 1, Some("sg-slow-1"))
    );
    let app = start_on(db, test_settings()).await;
    // A full pass of the restarted sender finds nothing to send.
    let workers = app.running.as_ref().unwrap().workers.as_ref().unwrap();
    workers::notifications::sender::run_once(workers)
        .await
        .unwrap();
    let attempts: i32 =
        sqlx::query_scalar("SELECT attempts FROM notifications WHERE recipient = 'c@example.com'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(attempts, 1, "not tried again");
    app.stop().await;
    // `expect(1)`: SendGrid was called once in all.
}
