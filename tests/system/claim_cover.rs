//! The cover cap under races: concurrent approvals of one claim, many
//! rounds, and after each the invariant — what the policy holds for every
//! claim is exactly that claim's approved total, and together they never
//! pass the sum insured.

use std::str::FromStr;

use domain::claim::Claim;
use domain::policy::Policy;
use domain::Role;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::json;

use crate::book::*;
use crate::common::*;

/// Staff and admins may approve up to 2,000,000 alone: the races here are
/// between approvals, not proposals.
fn settings() -> ifinsure::settings::Settings {
    ifinsure::settings::Settings {
        claims_authority_limit: Decimal::from(2_000_000),
        claims_dual_control_limit: Some(Decimal::from(2_000_000)),
        ..test_settings()
    }
}

/// What the policy holds for each claim equals the claim's approved total,
/// and the total held is within the sum insured.
async fn cover_is_exact(book: &Book, policy_id: &str, claims: &[&str]) {
    let (policy, _) = book.app.store().load::<Policy>(policy_id).await.unwrap();
    let sum_insured = policy.sum_insured.unwrap().amount();
    let mut total = Decimal::ZERO;
    for claim_id in claims {
        let (claim, _) = book.app.store().load::<Claim>(claim_id).await.unwrap();
        let approved = claim.cover_held().map_or(Decimal::ZERO, |m| m.amount());
        let held = policy
            .claims_approved
            .iter()
            .find(|(id, _)| id.to_string() == *claim_id)
            .map_or(Decimal::ZERO, |(_, m)| m.amount());
        assert_eq!(
            held, approved,
            "claim {claim_id}: held {held}, approved {approved}"
        );
        total += held;
    }
    assert!(total <= sum_insured, "{total} held on {sum_insured}");
}

#[tokio::test]
async fn parallel_approvals_of_one_claim_hold_its_cover_exactly_once() {
    let book = Book::open_with(settings()).await;
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    for round in 0..6 {
        let (policy, _) = book.active_policy(&customer, "1000000.00").await;
        let filed = book
            .file_claim(&customer, &policy, TODAY, "1000000.00", "total loss")
            .await;
        assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
        let a = filed.body["id"].as_str().unwrap().to_string();
        let filed = book
            .file_claim(&customer, &policy, TODAY, "1000000.00", "second loss")
            .await;
        let b = filed.body["id"].as_str().unwrap().to_string();
        // Six approvals at once, of different totals.
        let amounts = [
            "1000000.00",
            "400000.00",
            "999999.99",
            "1.00",
            "600000.00",
            "1000000.00",
        ];
        let path = format!("/claims/{a}/approve");
        let bodies: Vec<_> = amounts
            .iter()
            .map(|amount| json!({"approved_amount": kes(amount)}))
            .collect();
        let approvals = bodies
            .iter()
            .map(|body| book.app.post(&path, Some(&book.admin), body));
        // Meanwhile B asks for what A's losing requests would leave, were
        // they to hold less than A's winner for a moment.
        let b_path = format!("/claims/{b}/approve");
        let b_body = json!({"approved_amount": kes("600000.00")});
        let b_approval = book.app.post(&b_path, Some(&book.staff), &b_body);
        let (replies, b_reply) =
            futures::future::join(futures::future::join_all(approvals), b_approval).await;
        let won: Vec<_> = replies
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .collect();
        assert_eq!(
            won.len(),
            1,
            "round {round}: {:?}",
            replies
                .iter()
                .map(|r| (r.status, r.body["code"].clone()))
                .collect::<Vec<_>>()
        );
        for lost in replies.iter().filter(|r| r.status != StatusCode::OK) {
            assert_eq!(lost.status, StatusCode::CONFLICT, "{}", lost.body);
        }
        cover_is_exact(&book, &policy, &[&a, &b]).await;
        let b_won = b_reply.status == StatusCode::OK;

        // Whatever won, a third total loss finds only what is left.
        let approved =
            Decimal::from_str(won[0].body["approved_amount"]["amount"].as_str().unwrap()).unwrap();
        let filed = book
            .file_claim(&customer, &policy, TODAY, "1000000.00", "third loss")
            .await;
        let c = filed.body["id"].as_str().unwrap().to_string();
        let whole = book
            .app
            .post(
                &format!("/claims/{c}/approve"),
                Some(&book.admin),
                &json!({"approved_amount": kes("1000000.00")}),
            )
            .await;
        if approved.is_zero() && !b_won {
            assert_eq!(whole.status, StatusCode::OK, "{}", whole.body);
        } else {
            assert_eq!(whole.status, StatusCode::CONFLICT, "{}", whole.body);
            assert_eq!(whole.body["code"], "exceeds_sum_insured");
        }
        cover_is_exact(&book, &policy, &[&a, &b, &c]).await;
    }
}

/// `reply` is a `409` of `code`.
fn is_refused(reply: &Reply, code: &str) {
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert_eq!(reply.body["code"], code, "{}", reply.body);
}

/// Staff approve claim `id` for `amount` (KES).
async fn approve(book: &Book, id: &str, amount: &str) -> Reply {
    book.app
        .post(
            &format!("/claims/{id}/approve"),
            Some(&book.admin),
            &json!({"approved_amount": kes(amount)}),
        )
        .await
}

/// A claim on `policy` for an incident on `on`; its id.
async fn filed(book: &Book, customer: &str, policy: &str, on: &str, amount: &str) -> String {
    let filed = book.file_claim(customer, policy, on, amount, "storm").await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    filed.body["id"].as_str().unwrap().to_string()
}

/// Pays claim `id` out and waits for the provider.
async fn paid_out(book: &Book, customer: &str, id: &str) {
    let paying = book
        .app
        .post(&format!("/claims/{id}/pay"), Some(&book.staff), &json!({}))
        .await;
    assert_eq!(paying.status, StatusCode::ACCEPTED, "{}", paying.body);
    eventually("the payout to confirm", || async {
        let claim = book
            .app
            .get(&format!("/claims/{id}"), Some(customer))
            .await
            .body;
        (claim["status"] == "paid").then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_sum_insured_is_a_limit_per_term() {
    let clock = projections::clock::SettableClock::at(TODAY.parse().unwrap());
    let book = Book::open_with(ifinsure::settings::Settings {
        clock: std::sync::Arc::new(clock.clone()),
        ..settings()
    })
    .await;
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    let (policy, _) = book.active_policy(&customer, "1000000.00").await;
    // A total loss in the first term.
    let first = filed(&book, &customer, &policy, TODAY, "1000000.00").await;
    assert_eq!(
        approve(&book, &first, "1000000.00").await.status,
        StatusCode::OK
    );
    let renewed = book
        .app
        .post(
            &format!("/policies/policies/{policy}/renew"),
            Some(&book.staff),
            &json!({}),
        )
        .await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);
    let invoice = renewed.body["renewal"]["invoice_id"]
        .as_str()
        .unwrap()
        .to_string();
    book.pay(&customer, &invoice).await;
    eventually("the renewal to be paid", || async {
        let shown = book.policy(&customer, &policy).await;
        (shown["renewal"]["paid"] == true).then_some(())
    })
    .await;
    let next_term = "2027-11-25";
    clock.set(next_term.parse().unwrap());
    workers::scheduler::run_once(book.workers(), next_term.parse().unwrap())
        .await
        .unwrap();
    eventually("the second term to start", || async {
        let shown = book.policy(&customer, &policy).await;
        (shown["term_number"] == 2).then_some(())
    })
    .await;
    // The new term has its whole cover; the first term none left.
    let second = filed(&book, &customer, &policy, next_term, "1000000.00").await;
    let approved = approve(&book, &second, "1000000.00").await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    let late = filed(&book, &customer, &policy, "2027-11-24", "10.00").await;
    let refused = approve(&book, &late, "10.00").await;
    is_refused(&refused, "exceeds_sum_insured");
}

#[tokio::test]
async fn an_endorsement_may_not_lower_the_sum_insured_below_what_is_approved() {
    let book = Book::open_with(settings()).await;
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    let (policy, _) = book.active_policy(&customer, "1000000.00").await;
    let claim = filed(&book, &customer, &policy, TODAY, "800000.00").await;
    assert_eq!(
        approve(&book, &claim, "800000.00").await.status,
        StatusCode::OK
    );
    let endorse = |sum: &'static str| {
        let path = format!("/policies/policies/{policy}/endorse");
        let body = json!({"sum_insured": kes(sum), "effective_date": TODAY});
        let book = &book;
        async move { book.app.post(&path, Some(&book.staff), &body).await }
    };
    let below = endorse("500000.00").await;
    is_refused(&below, "below_approved_claims");
    let at = endorse("800000.00").await;
    assert_eq!(at.status, StatusCode::OK, "{}", at.body);
}

#[tokio::test]
async fn a_reopened_paid_claim_approved_again_for_what_was_paid_goes_back_to_paid() {
    let book = Book::open_with(settings()).await;
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    let (policy, _) = book.active_policy(&customer, "1000000.00").await;
    let claim = filed(&book, &customer, &policy, TODAY, "800000.00").await;
    assert_eq!(
        approve(&book, &claim, "800000.00").await.status,
        StatusCode::OK
    );
    paid_out(&book, &customer, &claim).await;
    let reopened = book
        .app
        .post(
            &format!("/claims/{claim}/reopen"),
            Some(&book.staff),
            &json!({"reason": "audit"}),
        )
        .await;
    assert_eq!(reopened.status, StatusCode::OK, "{}", reopened.body);
    let again = approve(&book, &claim, "800000.00").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["status"], "paid", "{}", again.body);
    cover_is_exact(&book, &policy, &[&claim]).await;
}

/// A book whose business date the test moves.
async fn book_with_clock() -> (Book, projections::clock::SettableClock) {
    let clock = projections::clock::SettableClock::at(TODAY.parse().unwrap());
    let book = Book::open_with(ifinsure::settings::Settings {
        clock: std::sync::Arc::new(clock.clone()),
        ..settings()
    })
    .await;
    (book, clock)
}

#[tokio::test]
async fn an_approval_racing_a_backdated_cancellation_never_pays_a_loss_outside_cover() {
    let (book, clock) = book_with_clock().await;
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    for round in 0..5 {
        clock.set(TODAY.parse().unwrap());
        let (policy, _) = book.active_policy(&customer, "1000000.00").await;
        clock.set("2026-12-15".parse().unwrap());
        let claim = filed(&book, &customer, &policy, "2026-12-10", "300000.00").await;
        // Cover ends 2026-12-05, before the loss, while it is being approved.
        let cancel = book.cancel(&book.staff, &policy, "fraud found", "2026-12-05");
        let approval = approve(&book, &claim, "300000.00");
        let (cancelled, approved) = futures::future::join(cancel, approval).await;
        assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
        assert!(
            [StatusCode::OK, StatusCode::CONFLICT].contains(&approved.status),
            "round {round}: {}",
            approved.body
        );
        if approved.status == StatusCode::CONFLICT {
            assert_eq!(
                approved.body["code"], "incident_outside_cover",
                "{}",
                approved.body
            );
        }
        // Whichever came first, nothing is paid for it.
        let paying = book
            .app
            .post(
                &format!("/claims/{claim}/pay"),
                Some(&book.staff),
                &json!({}),
            )
            .await;
        assert_eq!(
            paying.status,
            StatusCode::CONFLICT,
            "round {round}: {}",
            paying.body
        );
        cover_is_exact(&book, &policy, &[&claim]).await;
    }
}

#[tokio::test]
async fn cover_runs_to_a_future_cancellation_and_not_over_an_unpaid_gap() {
    let (book, clock) = book_with_clock().await;
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    let (policy, _) = book.active_policy(&customer, "1000000.00").await;
    // Cancelled from 2027-01-31: cancelled at once, covered until then.
    let cancelled = book
        .cancel(&book.staff, &policy, "sold", "2027-01-31")
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    clock.set("2027-01-20".parse().unwrap());
    let within = book
        .file_claim(&customer, &policy, "2027-01-15", "1000.00", "burst pipe")
        .await;
    assert_eq!(within.status, StatusCode::CREATED, "{}", within.body);
    clock.set("2027-02-10".parse().unwrap());
    let after = book
        .file_claim(&customer, &policy, "2027-02-05", "1000.00", "burst pipe")
        .await;
    is_refused(&after, "incident_outside_cover");
    clock.set("2027-05-02".parse().unwrap());
    let too_late = book
        .file_claim(&customer, &policy, "2027-01-15", "1000.00", "found later")
        .await;
    is_refused(&too_late, "reporting_period_ended");

    // Another policy expires unpaid and is paid two weeks late: the gap is
    // not covered, the days after the payment are.
    clock.set(TODAY.parse().unwrap());
    let (second, _) = book.active_policy(&customer, "1000000.00").await;
    let renewed = book
        .app
        .post(
            &format!("/policies/policies/{second}/renew"),
            Some(&book.staff),
            &json!({}),
        )
        .await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);
    let renewal = renewed.body["renewal"]["invoice_id"]
        .as_str()
        .unwrap()
        .to_string();
    clock.set("2027-11-25".parse().unwrap());
    workers::scheduler::run_once(book.workers(), "2027-11-25".parse().unwrap())
        .await
        .unwrap();
    book.policy_becomes(&customer, &second, "expired").await;
    clock.set("2027-12-09".parse().unwrap());
    book.pay(&customer, &renewal).await;
    book.policy_becomes(&customer, &second, "active").await;
    let gap = book
        .file_claim(&customer, &second, "2027-12-01", "1000.00", "theft")
        .await;
    is_refused(&gap, "incident_outside_cover");
    let covered = book
        .file_claim(&customer, &second, "2027-12-09", "1000.00", "theft")
        .await;
    assert_eq!(covered.status, StatusCode::CREATED, "{}", covered.body);
}

#[tokio::test]
async fn the_queue_reserves_numbers_and_documents_refuse_what_they_should() {
    let book = Book::open_with(settings()).await;
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    let (policy, _) = book.active_policy(&customer, "1000000.00").await;

    // An age no claim can have is refused, not read as "every claim".
    let queue = book
        .app
        .get("/claims?min_age_days=99999999", Some(&book.staff))
        .await;
    assert_eq!(
        queue.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        queue.body
    );

    // A refused filing uses up no claim number.
    let future = book
        .file_claim(&customer, &policy, "2030-01-01", "1000.00", "not yet")
        .await;
    assert_eq!(
        future.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        future.body
    );
    let filed = book
        .file_claim(&customer, &policy, TODAY, "5000.00", "cracked screen")
        .await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    assert!(
        filed.body["claim_number"]
            .as_str()
            .unwrap()
            .ends_with("-000001"),
        "{}",
        filed.body
    );
    let claim = filed.body["id"].as_str().unwrap().to_string();

    // A reserve is at most the sum insured, and only staff see it.
    let reserve = |amount: &str| {
        let path = format!("/claims/{claim}/reserve");
        let body = json!({"amount": kes(amount)});
        let book = &book;
        async move { book.app.post(&path, Some(&book.staff), &body).await }
    };
    let huge = reserve("999999999.00").await;
    assert_eq!(
        huge.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        huge.body
    );
    assert_eq!(reserve("4000.00").await.status, StatusCode::OK);
    let seen = book
        .app
        .get(&format!("/claims/{claim}"), Some(&customer))
        .await
        .body;
    let types: Vec<&str> = seen["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert!(!types.contains(&"ReserveSet"), "{types:?}");
    let staff_view = book
        .app
        .get(&format!("/claims/{claim}"), Some(&book.staff))
        .await
        .body;
    assert!(staff_view["timeline"].to_string().contains("ReserveSet"));

    // A document refused (the claim is closed) leaves nothing in the store.
    let closed = book
        .app
        .post(
            &format!("/claims/{claim}/close"),
            Some(&book.staff),
            &json!({}),
        )
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
    let upload =
        crate::claims::upload(&book, &customer, &claim, "late.pdf", b"%PDF-1.7\n%late\n").await;
    assert_eq!(upload.status, StatusCode::CONFLICT, "{}", upload.body);
    let kept: Vec<_> = walk(&book.app.db.documents_dir().join("claims"));
    assert!(kept.is_empty(), "{kept:?}");
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}
