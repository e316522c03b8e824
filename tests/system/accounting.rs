//! Every shilling accounted for: the accounting review's cases, each with
//! its figures worked out here by hand. A KES product at 0.035 over 12
//! months; sum insured 100,000 gives a premium of 3,500.00 for the term
//! 2026-12-03 to 2027-12-02 (365 days).
//!
//! Pro rata: an endorsement from 2027-01-01 covers 336 of the 365 days; a
//! cancellation effective 2027-02-15 ends cover after 75 days of the term
//! and 46 days of such an endorsement.

use std::str::FromStr;
use std::time::Duration;

use domain::Role;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use crate::book::*;
use crate::common::*;

const START: &str = "2026-12-03";

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn amount(value: &Value) -> Decimal {
    dec(value["amount"]
        .as_str()
        .unwrap_or_else(|| panic!("{value}")))
}

struct Case {
    book: Book,
    customer: String,
    customer_id: String,
    product: String,
}

impl Case {
    /// The book on 2026-12-03, its sandbox settling on its own, or only
    /// when a test says so (`quiet`).
    async fn open(quiet: bool) -> Self {
        let clock = projections::clock::SettableClock::at(START.parse().unwrap());
        let settings = ifinsure::settings::Settings {
            clock: std::sync::Arc::new(clock),
            sandbox_webhook_delay: if quiet {
                None
            } else {
                Some(Duration::from_millis(20))
            },
            ..test_settings()
        };
        let book = Book::open_with(settings).await;
        let product = book
            .app
            .post(
                "/policies/products",
                Some(&book.admin),
                &json!({
                    "code": "HOME", "name": "Home Contents", "line": "property",
                    "description": "Contents", "currency": "KES", "rate": "0.035",
                    "minimum_premium": kes("1.00"),
                    "sum_insured_min": kes("50000.00"),
                    "sum_insured_max": kes("1000000.00"),
                    "term_months": 12
                }),
            )
            .await;
        assert_eq!(product.status, StatusCode::CREATED, "{}", product.body);
        let (customer, customer_id) = book.user("c@example.com", Role::Customer).await;
        Self {
            product: product.body["id"].as_str().unwrap().to_string(),
            book,
            customer,
            customer_id,
        }
    }

    /// An approved policy of `sum` from `start`: its id and premium invoice.
    async fn approved(&self, sum: &str, start: &str) -> (String, String) {
        let applied = self
            .book
            .app
            .post(
                "/policies/applications",
                Some(&self.customer),
                &json!({"product_id": self.product, "sum_insured": kes(sum),
                    "start_date": start, "insured": {"address": "Plot 7, Kilimani"}}),
            )
            .await;
        assert_eq!(applied.status, StatusCode::CREATED, "{}", applied.body);
        let id = applied.body["id"].as_str().unwrap().to_string();
        let invoice = self.book.approve(&id).await["invoice_id"]
            .as_str()
            .unwrap()
            .to_string();
        (id, invoice)
    }

    /// `POST .../pay` through the sandbox, of `part` or the balance.
    async fn pay(&self, invoice: &str, part: Option<&str>) -> Reply {
        let mut body = json!({"provider": "sandbox"});
        if let Some(part) = part {
            body["amount"] = kes(part);
        }
        self.book.pay_with(&self.customer, invoice, &body).await
    }

    /// Pays `part` (or the balance) and waits for the money to arrive.
    async fn paid(&self, invoice: &str, part: Option<&str>) -> String {
        let reply = self.pay(invoice, part).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
        let payment = reply.body["payment_id"].as_str().unwrap().to_string();
        eventually("the payment to succeed", || async {
            let shown = self.book.payment(&self.customer, &payment).await;
            (shown["status"] == "succeeded").then_some(())
        })
        .await;
        payment
    }

    /// An active policy of `sum` from `start`, its premium paid.
    async fn active(&self, sum: &str, start: &str) -> (String, String) {
        let (id, invoice) = self.approved(sum, start).await;
        self.paid(&invoice, None).await;
        self.book
            .policy_becomes(&self.customer, &id, "active")
            .await;
        (id, invoice)
    }

    /// Staff endorse `policy` to `sum` from `from`; the reply's body.
    async fn endorse(&self, policy: &str, sum: &str, from: &str) -> Value {
        let reply = self
            .book
            .app
            .post(
                &format!("/policies/policies/{policy}/endorse"),
                Some(&self.book.staff),
                &json!({"sum_insured": kes(sum), "effective_date": from}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body
    }

    /// The invoice endorsement `n` of `policy` raised.
    async fn endorsement_invoice(&self, policy: &str, n: usize) -> String {
        let shown = self.book.policy(&self.customer, policy).await;
        shown["invoice_ids"][n].as_str().unwrap().to_string()
    }

    /// Staff cancel `policy` with cover ending on `on`; the refund.
    async fn cancel(&self, policy: &str, on: &str) -> Decimal {
        let reply = self
            .book
            .cancel(&self.book.staff, policy, "customer asked", on)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        amount(&reply.body["refund"])
    }

    /// Staff close claim `id`.
    async fn close_claim(&self, id: &str) {
        let closed = self
            .book
            .app
            .post(
                &format!("/claims/{id}/close"),
                Some(&self.book.staff),
                &json!({}),
            )
            .await;
        assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
    }

    async fn invoice(&self, id: &str) -> Value {
        self.book.invoice(&self.customer, id).await
    }

    /// The items of list `path`, as staff see them.
    async fn items(&self, path: &str) -> Vec<Value> {
        let listed = self.book.app.get(path, Some(&self.book.staff)).await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
        listed.body["items"].as_array().cloned().unwrap_or_default()
    }

    /// The customer's invoices.
    async fn customer_invoices(&self) -> Vec<Value> {
        self.items(&format!(
            "/billing/invoices?customer_id={}",
            self.customer_id
        ))
        .await
    }

    /// Waits until every refund of the customer's invoices is settled and
    /// the reporting projection has seen it all.
    async fn settled(&self) {
        // The process managers first (they ask for the refunds), then the
        // providers' answers, then the reports.
        let pool = &self.book.app.db.pool;
        caught_up(pool, "billing_process").await;
        caught_up(pool, "policy_process").await;
        eventually("every refund to be settled", || async {
            let invoices = self.customer_invoices().await;
            let pending = invoices.iter().any(|i| {
                i["refunds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["status"] == "pending")
                    || i["payments"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p["status"] == "pending")
            });
            (!pending).then_some(())
        })
        .await;
        caught_up(pool, "billing_process").await;
        caught_up(pool, "policy_process").await;
        caught_up(pool, "reporting").await;
    }

    /// The customer's statement over the whole book: its lines and closing
    /// balance.
    async fn statement(&self) -> (Vec<Value>, Decimal) {
        let statement = self
            .book
            .app
            .get(
                &format!(
                    "/customers/{}/statement?from=2026-01-01&to=2028-12-31",
                    self.customer_id
                ),
                Some(&self.book.staff),
            )
            .await;
        assert_eq!(statement.status, StatusCode::OK, "{}", statement.body);
        let kes = &statement.body["statements"][0];
        (
            kes["lines"].as_array().cloned().unwrap_or_default(),
            amount(&kes["closing_balance"]),
        )
    }

    /// What the customer owes on open invoices less the credit their
    /// policies hold: what every statement must close at.
    async fn owed_less_credit(&self) -> Decimal {
        let invoices = self.customer_invoices().await;
        let owed: Decimal = invoices
            .iter()
            .filter(|i| i["status"] == "open" || i["status"] == "overdue")
            .map(|i| amount(&i["balance"]))
            .sum();
        let policies = self
            .items(&format!(
                "/policies/policies?customer_id={}",
                self.customer_id
            ))
            .await;
        let credit: Decimal = policies.iter().map(|p| amount(&p["credit"])).sum();
        owed - credit
    }

    /// Money taken from the customer less money given back, on `policy`.
    async fn kept(&self, policy: &str) -> Decimal {
        let invoices = self
            .items(&format!("/billing/invoices?policy_id={policy}"))
            .await;
        invoices
            .iter()
            .map(|i| {
                let received: Decimal = i["payments"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| amount(&p["amount_received"]))
                    .sum();
                received - amount(&i["refunded"])
            })
            .sum()
    }
}

#[tokio::test]
async fn a_partly_paid_endorsement_invoice_is_closed_at_cancellation_and_nothing_stays_payable() {
    let case = Case::open(false).await;
    let (policy, _) = case.active("100000.00", START).await;
    // 7,000 − 3,500 for 336 of 365 days: 3,221.917… → 3,221.92.
    let endorsed = case.endorse(&policy, "200000.00", "2027-01-01").await;
    assert_eq!(amount(&endorsed["premium"]), dec("7000.00"));
    let endorsement = case.endorsement_invoice(&policy, 1).await;
    let invoice = case.invoice(&endorsement).await;
    assert_eq!(amount(&invoice["amount"]), dec("3221.92"), "{invoice}");
    case.paid(&endorsement, Some("1000.00")).await;

    // Earned by 2027-02-15: 3,500 × 75/365 = 719.18 and 3,221.92 × 46/336
    // = 441.10, so 1,160.28; paid 4,500.00, refund 3,339.72.
    let refund = case.cancel(&policy, "2027-02-15").await;
    assert_eq!(refund, dec("3339.72"));
    let closed = case
        .book
        .invoice_becomes(&case.customer, &endorsement, "void")
        .await;
    assert_eq!(amount(&closed["balance"]), dec("0.00"));
    let again = case.pay(&endorsement, None).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    case.settled().await;
    assert_eq!(case.kept(&policy).await, dec("1160.28"));
    let (lines, closing) = case.statement().await;
    assert_eq!(closing, dec("0.00"), "{lines:#?}");
    assert_eq!(closing, case.owed_less_credit().await);
    let ageing = case
        .book
        .app
        .get("/reports/ageing", Some(&case.book.staff))
        .await;
    assert!(
        !ageing.body.to_string().contains("2221.92"),
        "{}",
        ageing.body
    );
}

#[tokio::test]
async fn a_policy_never_in_force_refunds_all_that_was_paid_and_its_invoice_closes() {
    let case = Case::open(false).await;
    let (policy, invoice) = case.approved("100000.00", START).await;
    case.paid(&invoice, Some("1000.00")).await;
    // Cancelled on its start date, before its premium was paid in full:
    // it was never in force, nothing was earned.
    let refund = case.cancel(&policy, START).await;
    assert_eq!(refund, dec("1000.00"));
    let closed = case
        .book
        .invoice_becomes(&case.customer, &invoice, "void")
        .await;
    assert_eq!(amount(&closed["balance"]), dec("0.00"));
    let again = case.pay(&invoice, None).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    case.settled().await;
    assert_eq!(case.kept(&policy).await, dec("0.00"));
    let (lines, closing) = case.statement().await;
    assert_eq!(closing, dec("0.00"), "{lines:#?}");
    let ageing = case
        .book
        .app
        .get("/reports/ageing", Some(&case.book.staff))
        .await
        .body;
    assert!(!ageing.to_string().contains("2500"), "{ageing}");
    let premiums = case
        .book
        .app
        .get(
            "/reports/policies?from=2026-12-01&to=2027-12-31&group_by=product",
            Some(&case.book.staff),
        )
        .await
        .body;
    assert!(
        premiums["items"]
            .as_array()
            .is_none_or(|rows| rows.iter().all(|r| amount(&r["earned"]).is_zero())),
        "{premiums}"
    );
}

fn sandbox_secret() -> Vec<u8> {
    api::config::derived_secret(&SecretString::from(JWT_SECRET), "sandbox webhook")
        .expose_secret()
        .as_bytes()
        .to_vec()
}

/// The sandbox reports that payment `payment` received `received` (KES).
async fn sandbox_confirms(case: &Case, payment: &str, received: &str) {
    let (reference, key): (String, String) = eventually("the charge to be submitted", || async {
        sqlx::query_as(
            "SELECT t.reference, t.idempotency_key FROM sandbox_transactions t
             JOIN payment_jobs j ON j.idempotency_key = t.idempotency_key
             WHERE j.payment_id = $1::uuid AND j.kind = 'charge'",
        )
        .bind(payment)
        .fetch_optional(&case.book.app.db.pool)
        .await
        .unwrap()
    })
    .await;
    let event = domain::sandbox::SandboxEvent {
        id: format!("evt_{reference}_succeeded"),
        event_type: "charge.succeeded".into(),
        created: chrono::Utc::now().timestamp(),
        data: domain::sandbox::SandboxTransaction {
            reference,
            idempotency_key: key,
            kind: "charge".into(),
            outcome: "succeeded".into(),
            amount: received.to_string(),
            currency: "KES".into(),
            failure_reason: None,
        },
    };
    let body = serde_json::to_vec(&event).unwrap();
    let signature = domain::sandbox::sign(&sandbox_secret(), chrono::Utc::now().timestamp(), &body);
    let reply = case
        .book
        .app
        .client
        .post(
            case.book
                .app
                .base
                .replace("/api/v1", "/api/v1/webhooks/sandbox"),
        )
        .header("content-type", "application/json")
        .header("sandbox-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
}

/// Settles every refund the quiet sandbox holds, by asking it.
async fn refunds_settle(case: &Case) {
    let pool = &case.book.app.db.pool;
    eventually("the refunds to settle", || async {
        // Every refund asked for is in the outbox before it is counted:
        // the process managers ask for them, the payments subscription
        // records their jobs.
        for subscription in ["policy_process", "billing_process", "payments"] {
            caught_up(pool, subscription).await;
        }
        workers::payments::reconcile::run_once(case.book.workers(), Duration::ZERO)
            .await
            .unwrap();
        let pending: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM payment_jobs WHERE kind = 'refund' AND status <> 'settled'",
        )
        .fetch_one(&case.book.app.db.pool)
        .await
        .unwrap();
        (pending == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_payment_settling_after_the_cancellation_is_returned_in_full() {
    let case = Case::open(true).await;
    let (policy, invoice) = case.approved("100000.00", START).await;
    let asked = case.pay(&invoice, None).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
    let payment = asked.body["payment_id"].as_str().unwrap().to_string();
    // Cancelled before the provider confirms: nothing received yet.
    assert_eq!(case.cancel(&policy, START).await, dec("0.00"));
    case.book
        .invoice_becomes(&case.customer, &invoice, "void")
        .await;
    sandbox_confirms(&case, &payment, "3500.00").await;
    let returned = eventually("the late payment to be refunded", || async {
        let shown = case.invoice(&invoice).await;
        let refunds = shown["refunds"].as_array().cloned().unwrap_or_default();
        (!refunds.is_empty()).then_some(refunds)
    })
    .await;
    assert_eq!(returned.len(), 1, "{returned:?}");
    assert_eq!(amount(&returned[0]["amount"]), dec("3500.00"));
    assert_eq!(returned[0]["payment_id"], payment.as_str());
    refunds_settle(&case).await;
    case.settled().await;
    assert_eq!(case.kept(&policy).await, dec("0.00"));
    let shown = case.book.policy(&case.customer, &policy).await;
    assert_eq!(amount(&shown["credit"]), dec("0.00"), "{shown}");
    let (lines, closing) = case.statement().await;
    assert_eq!(closing, dec("0.00"), "{lines:#?}");
}

#[tokio::test]
async fn a_second_charge_while_one_is_pending_is_refused_however_often_it_is_clicked() {
    let case = Case::open(true).await;
    let (_, invoice) = case.approved("100000.00", START).await;
    for round in 0..4 {
        let (_, invoice) = if round == 0 {
            (String::new(), invoice.clone())
        } else {
            case.approved("100000.00", START).await
        };
        let clicks = (0..12).map(|_| case.pay(&invoice, None));
        let replies = futures::future::join_all(clicks).await;
        let accepted: Vec<&Reply> = replies
            .iter()
            .filter(|r| r.status == StatusCode::ACCEPTED)
            .collect();
        assert_eq!(
            accepted.len(),
            1,
            "round {round}: {:?}",
            replies
                .iter()
                .map(|r| (r.status, r.body.to_string()))
                .collect::<Vec<_>>()
        );
        let pending = accepted[0].body["payment_id"].as_str().unwrap();
        for refused in replies.iter().filter(|r| r.status != StatusCode::ACCEPTED) {
            assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
            assert_eq!(refused.body["code"], "payment_pending", "{}", refused.body);
            assert_eq!(refused.body["payment_id"], pending, "{}", refused.body);
        }
        let shown = case.invoice(&invoice).await;
        assert_eq!(shown["payments"].as_array().unwrap().len(), 1, "{shown}");
    }
}

#[tokio::test]
async fn money_received_beyond_an_invoice_is_credit_applied_to_the_next_invoice_and_refunded_at_the_end(
) {
    let case = Case::open(true).await;
    let (policy, invoice) = case.approved("100000.00", START).await;
    let asked = case.pay(&invoice, None).await;
    let payment = asked.body["payment_id"].as_str().unwrap().to_string();
    // The customer paid twice over at the provider: 7,000.00 for 3,500.00.
    sandbox_confirms(&case, &payment, "7000.00").await;
    case.book
        .policy_becomes(&case.customer, &policy, "active")
        .await;
    let shown = eventually("the credit to be held", || async {
        let shown = case.book.policy(&case.customer, &policy).await;
        (amount(&shown["credit"]) == dec("3500.00")).then_some(shown)
    })
    .await;
    assert_eq!(amount(&shown["amount_paid"]), dec("7000.00"));

    // The endorsement's 3,221.92 is paid from the credit; 278.08 is left.
    case.endorse(&policy, "200000.00", "2027-01-01").await;
    let endorsement = case.endorsement_invoice(&policy, 1).await;
    let paid = case
        .book
        .invoice_becomes(&case.customer, &endorsement, "paid")
        .await;
    assert_eq!(amount(&paid["balance"]), dec("0.00"));
    assert!(paid["payments"].as_array().unwrap().is_empty(), "{paid}");
    let shown = case.book.policy(&case.customer, &policy).await;
    assert_eq!(amount(&shown["credit"]), dec("278.08"), "{shown}");

    // Cancelled on 2027-02-15: earned 1,160.28 of 7,000.00 received, so
    // 5,839.72 goes back, the credit with it.
    assert_eq!(case.cancel(&policy, "2027-02-15").await, dec("5839.72"));
    caught_up(&case.book.app.db.pool, "billing_process").await;
    refunds_settle(&case).await;
    case.settled().await;
    assert_eq!(case.kept(&policy).await, dec("1160.28"));
    let (lines, closing) = case.statement().await;
    assert_eq!(closing, dec("0.00"), "{lines:#?}");
    assert_eq!(closing, case.owed_less_credit().await);
}

#[tokio::test]
async fn a_lower_endorsement_first_takes_off_what_an_unpaid_higher_one_billed() {
    let case = Case::open(false).await;
    let (policy, _) = case.active("100000.00", START).await;
    // Up to 300,000: (10,500 − 3,500) × 336/365 = 6,443.84, unpaid.
    case.endorse(&policy, "300000.00", "2027-01-01").await;
    let up = case.endorsement_invoice(&policy, 1).await;
    assert_eq!(amount(&case.invoice(&up).await["amount"]), dec("6443.84"));
    // Back to 100,000 from the same day: −6,443.84, all of it off the
    // unpaid invoice; nothing to refund.
    let down = case.endorse(&policy, "100000.00", "2027-01-01").await;
    assert_eq!(amount(&down["premium"]), dec("3500.00"));
    let voided = case.book.invoice_becomes(&case.customer, &up, "void").await;
    assert_eq!(amount(&voided["balance"]), dec("0.00"));
    assert!(voided["refunds"].as_array().unwrap().is_empty());
    let again = case.pay(&up, None).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    case.settled().await;
    assert_eq!(case.kept(&policy).await, dec("3500.00"));
    let (lines, closing) = case.statement().await;
    assert_eq!(closing, dec("0.00"), "{lines:#?}");
    assert_eq!(closing, case.owed_less_credit().await);

    // Partly paid, then lowered by half: (7,000 − 3,500) × 336/365 =
    // 3,221.92 billed, 1,000.00 paid; down to 150,000: −1,610.96 off the
    // 2,221.92 still owed, leaving 610.96 owed and nothing refunded.
    case.endorse(&policy, "200000.00", "2027-01-01").await;
    let second = case.endorsement_invoice(&policy, 2).await;
    case.paid(&second, Some("1000.00")).await;
    case.endorse(&policy, "150000.00", "2027-01-01").await;
    let reduced = eventually("the invoice to be reduced", || async {
        let shown = case.invoice(&second).await;
        (amount(&shown["balance"]) == dec("610.96")).then_some(shown)
    })
    .await;
    assert_eq!(reduced["status"], "open");
    case.settled().await;
    let (lines, closing) = case.statement().await;
    assert_eq!(closing, dec("610.96"), "{lines:#?}");
    assert_eq!(closing, case.owed_less_credit().await);
}

#[tokio::test]
async fn an_unpaid_endorsement_voided_at_cancellation_keeps_its_earned_part_from_the_refund() {
    let case = Case::open(false).await;
    let (policy, _) = case.active("100000.00", START).await;
    case.endorse(&policy, "200000.00", "2027-01-01").await;
    // The 3,221.92 is never paid; cover was 200,000 for 46 days, earning
    // 441.10 of it. Paid 3,500.00 less 719.18 + 441.10 earned: 2,339.72.
    assert_eq!(case.cancel(&policy, "2027-02-15").await, dec("2339.72"));
    case.settled().await;
    assert_eq!(case.kept(&policy).await, dec("1160.28"));
    let (lines, closing) = case.statement().await;
    assert_eq!(closing, dec("0.00"), "{lines:#?}");
    // The statement shows both: the premium not earned given back, and
    // the earned premium nobody paid, kept from it.
    let line = |text: &str| {
        lines
            .iter()
            .find(|l| l["description"].as_str().unwrap().contains(text))
            .unwrap_or_else(|| panic!("no line with {text}: {lines:#?}"))
            .clone()
    };
    assert_eq!(amount(&line("Credit note")["credit"]), dec("2780.82"));
    assert_eq!(amount(&line("earned and not paid")["debit"]), dec("441.10"));
}

#[tokio::test]
async fn a_claim_closed_unpaid_gives_its_cover_back_and_a_reapproval_takes_it_again() {
    let case = Case::open(false).await;
    let (policy, _) = case.active("100000.00", START).await;
    let file = |amount: &'static str| {
        let case = &case;
        let policy = policy.clone();
        async move {
            let filed = case
                .book
                .file_claim(&case.customer, &policy, START, amount, "burst pipe")
                .await;
            assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
            filed.body["id"].as_str().unwrap().to_string()
        }
    };
    let a = file("60000.00").await;
    let b = file("40000.00").await;
    for (claim, sum) in [(&a, "60000.00"), (&b, "40000.00")] {
        let approved = case.book.approve_claim(claim, sum).await;
        assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    }
    let c = file("0.01").await;
    let full = case.book.approve_claim(&c, "0.01").await;
    assert_eq!(full.status, StatusCode::CONFLICT, "{}", full.body);
    assert_eq!(full.body["code"], "exceeds_sum_insured");

    case.close_claim(&b).await;
    let fits = case.book.approve_claim(&c, "0.01").await;
    assert_eq!(fits.status, StatusCode::OK, "{}", fits.body);

    // Reopened, B may take again only what is left (39,999.99): its
    // 40,000.00 again once C's 0.01 is given back.
    let reopened = case
        .book
        .app
        .post(
            &format!("/claims/{b}/reopen"),
            Some(&case.book.staff),
            &json!({"reason": "new evidence"}),
        )
        .await;
    assert_eq!(reopened.status, StatusCode::OK, "{}", reopened.body);
    let over = case.book.approve_claim(&b, "40000.00").await;
    assert_eq!(over.status, StatusCode::CONFLICT, "{}", over.body);
    assert_eq!(over.body["code"], "exceeds_sum_insured");
    case.close_claim(&c).await;
    let again = case.book.approve_claim(&b, "40000.00").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
}

#[tokio::test]
async fn a_policy_cancelled_before_its_start_writes_nothing_in_any_month() {
    let case = Case::open(false).await;
    let (_, _) = case.active("100000.00", START).await;
    let (r2, _) = case.active("100000.00", "2027-01-15").await;
    assert_eq!(case.cancel(&r2, "2026-12-10").await, dec("3500.00"));
    case.settled().await;
    let report = case
        .book
        .app
        .get(
            "/reports/policies?from=2026-12-01&to=2027-12-31&group_by=month",
            Some(&case.book.staff),
        )
        .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let rows = report.body["items"].as_array().unwrap().clone();
    let month = |m: &str| rows.iter().find(|r| r["group"] == m).cloned();
    let december = month("2026-12").unwrap();
    assert_eq!(amount(&december["written"]), dec("3500.00"), "{rows:#?}");
    let january = month("2027-01").unwrap();
    assert_eq!(amount(&january["written"]), dec("0.00"), "{rows:#?}");
    // Over the range: written − earned = unearned at its end, month by month.
    let mut written = Decimal::ZERO;
    let mut earned = Decimal::ZERO;
    for row in &rows {
        written += amount(&row["written"]);
        earned += amount(&row["earned"]);
        assert_eq!(written - earned, amount(&row["unearned"]), "{row}");
    }
    let (lines, closing) = case.statement().await;
    assert_eq!(closing, dec("0.00"), "{lines:#?}");
}

#[tokio::test]
async fn every_money_field_carries_its_currencys_minor_units() {
    let case = Case::open(false).await;
    let (_, invoice) = case.active("100000.00", START).await;
    let shown = case.invoice(&invoice).await;
    let payment = shown["payments"][0]["id"].as_str().unwrap();
    let payment = case.book.payment(&case.customer, payment).await;
    for field in ["amount", "amount_received", "refunded"] {
        assert_eq!(
            payment[field]["amount"]
                .as_str()
                .unwrap()
                .split('.')
                .nth(1)
                .map(str::len),
            Some(2),
            "{field}: {payment}"
        );
    }
    assert_eq!(payment["refunded"]["amount"], "0.00");
}
