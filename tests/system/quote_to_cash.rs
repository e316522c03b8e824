//! The whole policy journey over HTTP: apply, approve, pay through the
//! sandbox's signed webhook, endorse up and down, cancel with a pro-rata
//! refund; a second policy lapses and a third expires and renews when the
//! business date moves.

use reqwest::StatusCode;
use serde_json::json;

use crate::book::*;
use crate::common::*;

fn date(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

#[tokio::test]
async fn apply_approve_pay_endorse_and_cancel_with_a_pro_rata_refund() {
    let book = Book::open().await;
    let app = &book.app;
    let registered = app
        .post(
            "/auth/register",
            None,
            &json!({"email": "wanjiru@example.com", "password": PASSWORD, "full_name": "Wanjiru Kamau", "phone_number": "0712345678"}),
        )
        .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
    let customer = app.wait_for_login("wanjiru@example.com").await;

    // Apply: the premium is quoted at today's rate, 3.5% of 1,000,000.
    let application = book.apply(&customer, None, "1000000.00").await;
    assert_eq!(application["status"], "submitted");
    assert_eq!(application["premium"], kes("35000.00"));
    assert_eq!(application["end_date"], "2027-11-24");
    let id = application["id"].as_str().unwrap().to_string();

    // Approve: a policy number and the premium invoice, readable at once.
    let approved = book.approve(&id).await;
    assert_eq!(approved["status"], "approved");
    let number = approved["policy_number"].as_str().unwrap();
    assert!(
        number.starts_with("POL-2026-") && number.len() == 15,
        "{number}"
    );
    let invoice_id = approved["invoice_id"].as_str().unwrap().to_string();
    let invoice = book.invoice(&customer, &invoice_id).await;
    assert_eq!(invoice["status"], "open", "{invoice}");
    assert_eq!(invoice["amount"], kes("35000.00"));
    assert_eq!(invoice["balance"], kes("35000.00"));
    assert_eq!(invoice["due_date"], "2026-12-09");
    assert!(invoice["invoice_number"]
        .as_str()
        .unwrap()
        .starts_with("INV-2026-"));

    // Pay through the sandbox: its signed webhook settles, the policy goes live.
    let payment = book.pay(&customer, &invoice_id).await;
    assert_eq!(payment["status"], "pending");
    assert_eq!(payment["amount"], kes("35000.00"));
    let active = book.policy_becomes(&customer, &id, "active").await;
    assert_eq!(active["amount_paid"], kes("35000.00"));
    let paid = book.invoice_becomes(&customer, &invoice_id, "paid").await;
    assert_eq!(paid["balance"], kes("0.00"));
    let payment_id = payment["payment_id"].as_str().unwrap();
    let settled = app
        .get(&format!("/billing/payments/{payment_id}"), Some(&customer))
        .await;
    assert_eq!(settled.body["status"], "succeeded");
    assert!(settled.body["provider_reference"]
        .as_str()
        .unwrap()
        .starts_with("sbx_"));

    // Endorse up from 1 December: 17,500 more a year for 359 of 365 days.
    let up = app
        .post(
            &format!("/policies/policies/{id}/endorse"),
            Some(&book.staff),
            &json!({"sum_insured": kes("1500000.00"), "effective_date": "2026-12-01"}),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    assert_eq!(up.body["sum_insured"], kes("1500000.00"));
    let extra_id = up.body["invoice_ids"][1].as_str().unwrap().to_string();
    let extra = book.invoice(&customer, &extra_id).await;
    assert_eq!(extra["kind"], "endorsement");
    assert_eq!(extra["amount"], kes("17212.33"));
    book.pay(&customer, &extra_id).await;
    book.invoice_becomes(&customer, &extra_id, "paid").await;
    eventually("the endorsement payment on the policy", || async {
        let policy = book.policy(&customer, &id).await;
        (policy["amount_paid"] == kes("52212.33")).then_some(policy)
    })
    .await;

    // Endorse down from 1 January: 15,726.03 back through the last payment.
    let down = app
        .post(
            &format!("/policies/policies/{id}/endorse"),
            Some(&book.staff),
            &json!({"sum_insured": kes("1000000.00"), "effective_date": "2027-01-01"}),
        )
        .await;
    assert_eq!(down.status, StatusCode::OK, "{}", down.body);
    assert_eq!(down.body["invoice_ids"].as_array().unwrap().len(), 2);
    let refunded = eventually("the endorsement refund", || async {
        let invoice = book.invoice(&customer, &extra_id).await;
        (invoice["refunds"][0]["status"] == "succeeded").then_some(invoice)
    })
    .await;
    assert_eq!(refunded["refunds"][0]["amount"], kes("15726.03"));
    assert_eq!(refunded["refunded"], kes("15726.03"));

    // Cancel with cover ending 24 May 2027: 18,842.46 earned of 36,486.30 paid.
    let cancelled = app
        .post(
            &format!("/policies/policies/{id}/cancel"),
            Some(&customer),
            &json!({"reason": "sold the car", "effective_date": "2027-05-24"}),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["refund"], kes("17643.84"));
    // Paid back newest payment first: what is left of the endorsement's, then the premium's.
    let endorsement_refunds = eventually("both cancellation refunds", || async {
        let extra = book.invoice(&customer, &extra_id).await;
        let premium = book.invoice(&customer, &invoice_id).await;
        let done = extra["refunds"].as_array().unwrap().len() == 2
            && extra["refunds"][1]["status"] == "succeeded"
            && premium["refunds"][0]["status"] == "succeeded";
        done.then(|| {
            json!([
                extra["refunds"][1]["amount"],
                premium["refunds"][0]["amount"]
            ])
        })
    })
    .await;
    assert_eq!(
        endorsement_refunds,
        json!([kes("1486.30"), kes("16157.54")])
    );

    // Cancelling again is an illegal transition.
    let again = app
        .post(
            &format!("/policies/policies/{id}/cancel"),
            Some(&customer),
            &json!({"reason": "twice", "effective_date": "2027-05-24"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["code"], "invalid_transition");
}

#[tokio::test]
async fn an_unpaid_policy_lapses_and_another_expires_then_renews_at_the_new_rate() {
    let book = Book::open().await;
    let (customer, _) = book.user("amina@example.com", domain::Role::Customer).await;
    let unpaid = book.apply(&customer, None, "500000.00").await;
    let unpaid_id = unpaid["id"].as_str().unwrap().to_string();
    let unpaid_invoice = book.approve(&unpaid_id).await["invoice_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (renewing_id, _) = book.active_policy(&customer, "1000000.00").await;

    // The day after the due date the invoice is overdue; the policy waits out its grace.
    let workers = book.workers();
    let tick = workers::scheduler::run_once(workers, date("2026-12-10"))
        .await
        .unwrap();
    assert_eq!(tick.overdue, 1);
    book.invoice_becomes(&customer, &unpaid_invoice, "overdue")
        .await;
    assert_eq!(
        book.policy(&customer, &unpaid_id).await["status"],
        "approved"
    );
    let tick = workers::scheduler::run_once(workers, date("2027-01-08"))
        .await
        .unwrap();
    assert_eq!(tick.lapsed, 0);
    let tick = workers::scheduler::run_once(workers, date("2027-01-09"))
        .await
        .unwrap();
    assert_eq!(tick.lapsed, 1);
    let lapsed = book.policy_becomes(&customer, &unpaid_id, "lapsed").await;
    assert_eq!(lapsed["lapsed_on"], "2027-01-09");
    let voided = book
        .invoice_becomes(&customer, &unpaid_invoice, "void")
        .await;
    assert_eq!(voided["void_reason"], "policy lapsed: premium never paid");

    // The product is repriced; past its end date the active policy is offered
    // a renewal at the new rate, and expires while that is unpaid.
    let repriced = book
        .app
        .post(
            &format!("/policies/products/{}/reprice", book.product_id),
            Some(&book.admin),
            &json!({"rate": "0.04", "minimum_premium": kes("15000.00")}),
        )
        .await;
    assert_eq!(repriced.status, StatusCode::OK);
    let tick = workers::scheduler::run_once(workers, date("2027-11-25"))
        .await
        .unwrap();
    assert_eq!((tick.renewed, tick.expired), (1, 1), "{tick:?}");
    let expired = book
        .policy_becomes(&customer, &renewing_id, "expired")
        .await;
    let renewal = &expired["renewal"];
    assert_eq!(renewal["premium"], kes("40000.00"));
    assert_eq!(renewal["start_date"], "2027-11-25");
    assert_eq!(renewal["end_date"], "2028-11-24");

    // Staff can't renew twice; paying the renewal puts the policy back in force.
    let twice = book
        .app
        .post(
            &format!("/policies/policies/{renewing_id}/renew"),
            Some(&book.staff),
            &json!({}),
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(twice.body["code"], "already_renewed");
    let renewal_invoice = renewal["invoice_id"].as_str().unwrap().to_string();
    let invoice = book
        .invoice_becomes(&customer, &renewal_invoice, "open")
        .await;
    assert_eq!(invoice["kind"], "renewal");
    book.pay(&customer, &renewal_invoice).await;
    let renewed = book.policy_becomes(&customer, &renewing_id, "active").await;
    assert_eq!(renewed["term_number"], 2);
    assert_eq!(renewed["start_date"], "2027-11-25");
    assert_eq!(renewed["premium"], kes("40000.00"));
}

#[tokio::test]
async fn a_paid_renewal_takes_over_when_the_term_ends() {
    let book = Book::open().await;
    let (customer, _) = book
        .user("otieno@example.com", domain::Role::Customer)
        .await;
    let (id, _) = book.active_policy(&customer, "1000000.00").await;
    let renewed = book
        .app
        .post(
            &format!("/policies/policies/{id}/renew"),
            Some(&book.staff),
            &json!({}),
        )
        .await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);
    assert_eq!(renewed.body["status"], "active");
    let invoice_id = renewed.body["renewal"]["invoice_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        book.invoice(&customer, &invoice_id).await["due_date"],
        "2027-11-25"
    );
    book.pay(&customer, &invoice_id).await;
    eventually("the renewal to be paid", || async {
        let policy = book.policy(&customer, &id).await;
        (policy["renewal"]["paid"] == true).then_some(policy)
    })
    .await;
    let tick = workers::scheduler::run_once(book.workers(), date("2027-11-25"))
        .await
        .unwrap();
    assert_eq!(tick.expired, 1);
    let policy = eventually("the second term to start", || async {
        let policy = book.policy(&customer, &id).await;
        (policy["term_number"] == 2).then_some(policy)
    })
    .await;
    assert_eq!(policy["status"], "active");
    assert_eq!(policy["end_date"], "2028-11-24");
}

#[tokio::test]
async fn cancelling_before_payment_refunds_nothing_and_voids_the_invoice() {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let application = book.apply(&customer, None, "1000000.00").await;
    let id = application["id"].as_str().unwrap().to_string();
    let invoice_id = book.approve(&id).await["invoice_id"]
        .as_str()
        .unwrap()
        .to_string();
    let cancelled = book
        .app
        .post(
            &format!("/policies/policies/{id}/cancel"),
            Some(&customer),
            &json!({"reason": "changed my mind"}),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(cancelled.body["refund"], kes("0.00"));
    assert_eq!(cancelled.body["cancellation"]["effective_date"], TODAY);
    let certificate = book
        .app
        .get(
            &format!("/policies/policies/{id}/certificate.pdf"),
            Some(&customer),
        )
        .await;
    assert_eq!(certificate.status, StatusCode::CONFLICT);
    assert_eq!(certificate.body["code"], "policy_not_active");
    book.invoice_becomes(&customer, &invoice_id, "void").await;
    let pay = book.pay_with(&customer, &invoice_id, &json!({})).await;
    assert_eq!(pay.status, StatusCode::CONFLICT);
    assert_eq!(pay.body["code"], "invalid_transition");
    let backdated = book.cancel(&customer, &id, "x", "2026-01-01").await;
    assert_eq!(backdated.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// `(aggregate_type, event_type, correlation_id, causation_id, position)` of
/// every event, in stream order.
async fn trail(book: &Book) -> Vec<(String, String, String, String, i64)> {
    sqlx::query_as(
        "SELECT aggregate_type, event_type, metadata->>'correlation_id', metadata->>'causation_id', global_position
         FROM events ORDER BY global_position",
    )
    .fetch_all(&book.app.db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn follow_up_commands_carry_their_cause_and_the_flows_correlation() {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let application = book.apply(&customer, None, "1000000.00").await;
    let id = application["id"].as_str().unwrap().to_string();
    let approved = book
        .app
        .send(
            reqwest::Method::POST,
            &format!("/policies/applications/{id}/approve"),
            Some(&book.staff),
            Some(&json!({})),
            &[("x-correlation-id", "flow-approve-1")],
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK);
    let invoice_id = approved.body["invoice_id"].as_str().unwrap().to_string();
    let paid = book
        .app
        .send(
            reqwest::Method::POST,
            &format!("/billing/invoices/{invoice_id}/pay"),
            Some(&customer),
            Some(&json!({})),
            &[("x-correlation-id", "flow-pay-1")],
        )
        .await;
    assert_eq!(paid.status, StatusCode::ACCEPTED);
    book.policy_becomes(&customer, &id, "active").await;

    let events = trail(&book).await;
    let find = |event_type: &str| {
        events
            .iter()
            .find(|e| e.1 == event_type)
            .unwrap_or_else(|| panic!("no {event_type}"))
            .clone()
    };
    let approval = find("ApplicationApproved");
    let created = find("InvoiceCreated");
    assert_eq!(approval.2, "flow-approve-1");
    assert_eq!(created.2, "flow-approve-1");
    assert_eq!(created.3, format!("event:{}", approval.4));

    let flow: Vec<&str> = events
        .iter()
        .filter(|e| e.2 == "flow-pay-1")
        .map(|e| e.1.as_str())
        .collect();
    assert_eq!(
        flow,
        [
            "PaymentRequested",
            "PaymentSucceeded",
            "InvoicePaid",
            "PremiumPaymentRecorded",
            "PolicyActivated"
        ]
    );
    let succeeded = find("PaymentSucceeded");
    assert!(
        succeeded.3.starts_with("evt_sbx_"),
        "caused by the provider's event: {}",
        succeeded.3
    );
    let activated = find("PolicyActivated");
    let invoice_paid = find("InvoicePaid");
    assert_eq!(activated.3, format!("event:{}", invoice_paid.4));
}

#[tokio::test]
async fn the_scheduler_in_two_places_at_once_does_each_transition_once() {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let application = book.apply(&customer, None, "1000000.00").await;
    let id = application["id"].as_str().unwrap().to_string();
    let invoice_id = book.approve(&id).await["invoice_id"]
        .as_str()
        .unwrap()
        .to_string();
    let workers = book.workers();
    let (a, b) = tokio::join!(
        workers::scheduler::run_once(workers, date("2027-02-01")),
        workers::scheduler::run_once(workers, date("2027-02-01"))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.overdue + b.overdue, 1, "{a:?} {b:?}");
    assert_eq!(a.lapsed + b.lapsed, 1, "{a:?} {b:?}");
    book.policy_becomes(&customer, &id, "lapsed").await;
    let overdue: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'InvoiceOverdue'",
    )
    .bind(&invoice_id)
    .fetch_one(&book.app.db.pool)
    .await
    .unwrap();
    assert_eq!(overdue, 1);
}

#[tokio::test]
async fn the_scheduler_skips_what_it_cannot_act_on() {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    // A partly paid first premium: the policy lapses, what was paid goes
    // back and the invoice closes.
    let application = book.apply(&customer, None, "1000000.00").await;
    let id = application["id"].as_str().unwrap().to_string();
    let invoice_id = book.approve(&id).await["invoice_id"]
        .as_str()
        .unwrap()
        .to_string();
    let part = book
        .pay_with(&customer, &invoice_id, &json!({"amount": kes("5000.00")}))
        .await;
    assert_eq!(part.status, StatusCode::ACCEPTED, "{}", part.body);
    eventually("the installment", || async {
        let invoice = book.invoice(&customer, &invoice_id).await;
        (invoice["amount_paid"] == kes("5000.00")).then_some(invoice)
    })
    .await;
    // An active policy whose product is retired before its renewal is due.
    let (active_id, _) = book.active_policy(&customer, "1000000.00").await;
    let retired = book
        .app
        .post(
            &format!("/policies/products/{}/retire", book.product_id),
            Some(&book.admin),
            &json!({}),
        )
        .await;
    assert_eq!(retired.status, StatusCode::OK);

    let workers = book.workers();
    let first = workers::scheduler::run_once(workers, date("2027-01-20"))
        .await
        .unwrap();
    assert_eq!(first.lapsed, 1);
    book.policy_becomes(&customer, &id, "lapsed").await;
    let invoice = eventually("the installment to be refunded", || async {
        let invoice = book.invoice(&customer, &invoice_id).await;
        (invoice["refunds"][0]["status"] == "succeeded").then_some(invoice)
    })
    .await;
    assert_eq!(
        invoice["refunded"],
        kes("5000.00"),
        "never in force: paid back"
    );
    assert_eq!(
        (&invoice["status"], &invoice["balance"]),
        (&json!("void"), &kes("0.00")),
        "nothing stays payable after a lapse"
    );
    let lapse_list = projections::read_models::billing::policies_unpaid_since(
        &book.app.db.pool,
        date("2027-01-20"),
        500,
    )
    .await
    .unwrap();
    assert!(lapse_list.is_empty(), "{lapse_list:?}");
    let renewal_list = projections::read_models::policies::ids_due_for_renewal(
        &book.app.db.pool,
        date("2027-12-01"),
        500,
    )
    .await
    .unwrap();
    assert!(
        renewal_list.is_empty(),
        "a retired product is not renewed: {renewal_list:?}"
    );
    let at_end = workers::scheduler::run_once(workers, date("2027-11-25"))
        .await
        .unwrap();
    assert_eq!((at_end.renewed, at_end.expired), (0, 1));
    book.policy_becomes(&customer, &active_id, "expired").await;
}
