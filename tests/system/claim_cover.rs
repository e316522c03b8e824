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
    let (policy, _) = projections::EventStore::new(book.app.db.pool.clone())
        .load::<Policy>(policy_id)
        .await
        .unwrap();
    let sum_insured = policy.sum_insured.unwrap().amount();
    let mut total = Decimal::ZERO;
    for claim_id in claims {
        let (claim, _) = projections::EventStore::new(book.app.db.pool.clone())
            .load::<Claim>(claim_id)
            .await
            .unwrap();
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
