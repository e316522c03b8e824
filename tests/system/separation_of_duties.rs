//! No one member of staff can file, approve and pay a claim to their own
//! phone: whoever filed or amended a claim cannot approve it; above the
//! dual-control limit an approval waits for a second person; a payout goes
//! to the claimant's own number unless one person proposed another payee
//! and a second confirmed it. Every step is an event an auditor can read.

use domain::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::book::*;
use crate::common::{Reply, TODAY};

const STAFF_PHONE: &str = "+254700000002";

async fn post(book: &Book, token: &str, path: &str, body: serde_json::Value) -> Reply {
    book.app.post(path, Some(token), &body).await
}

#[tokio::test]
async fn one_staff_member_cannot_file_approve_and_pay_a_claim_to_their_own_phone() {
    let book = Book::open().await;
    let (customer, customer_id) = book.user("c@example.com", Role::Customer).await;
    let (second, second_id) = book.user("second@example.com", Role::Staff).await;
    let (policy_id, _) = book.active_policy(&customer, "1000000.00").await;
    let insider = book.staff.clone();

    // The insider files on the customer's policy, then tries to approve.
    let filed = book
        .file_claim(
            &insider,
            &policy_id,
            TODAY,
            "450000.00",
            "Vehicle written off",
        )
        .await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    let claim = filed.body["id"].as_str().unwrap().to_string();
    let approve = json!({"approved_amount": kes("450000.00")});
    let own = post(
        &book,
        &insider,
        &format!("/claims/{claim}/approve"),
        approve.clone(),
    )
    .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.body);
    assert_eq!(own.body["code"], "separation_of_duties");

    // A second staff member may, but above half the authority limit it is
    // only a proposal, which its proposer cannot confirm.
    let proposed = post(&book, &second, &format!("/claims/{claim}/approve"), approve).await;
    assert_eq!(proposed.status, StatusCode::ACCEPTED, "{}", proposed.body);
    assert_eq!(proposed.body["status"], "submitted");
    assert_eq!(
        proposed.body["pending_approval"]["approved_amount"],
        kes("450000.00")
    );
    let confirm = json!({"subject": "approval"});
    let by_proposer = post(
        &book,
        &second,
        &format!("/claims/{claim}/confirm"),
        confirm.clone(),
    )
    .await;
    assert_eq!(
        by_proposer.status,
        StatusCode::FORBIDDEN,
        "{}",
        by_proposer.body
    );
    let by_filer = post(
        &book,
        &insider,
        &format!("/claims/{claim}/confirm"),
        confirm.clone(),
    )
    .await;
    assert_eq!(by_filer.status, StatusCode::FORBIDDEN, "{}", by_filer.body);
    let premature = post(&book, &second, &format!("/claims/{claim}/pay"), json!({})).await;
    assert_eq!(premature.status, StatusCode::CONFLICT, "nothing to pay yet");
    let confirmed = post(
        &book,
        &book.admin,
        &format!("/claims/{claim}/confirm"),
        confirm,
    )
    .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    assert_eq!(confirmed.body["status"], "approved");

    // Paying to the insider's phone is refused; a payee proposed by the
    // insider needs someone else's confirmation.
    let to_insider = post(
        &book,
        &insider,
        &format!("/claims/{claim}/pay"),
        json!({"phone_number": STAFF_PHONE}),
    )
    .await;
    assert_eq!(
        to_insider.status,
        StatusCode::CONFLICT,
        "{}",
        to_insider.body
    );
    assert_eq!(to_insider.body["code"], "confirmation_required");
    let payee = post(
        &book,
        &insider,
        &format!("/claims/{claim}/payee"),
        json!({"phone_number": STAFF_PHONE, "reason": "The customer asked"}),
    )
    .await;
    assert_eq!(payee.status, StatusCode::OK, "{}", payee.body);
    assert_eq!(payee.body["payee"]["confirmed"], false);
    let blocked = post(&book, &insider, &format!("/claims/{claim}/pay"), json!({})).await;
    assert_eq!(blocked.status, StatusCode::CONFLICT, "{}", blocked.body);
    let self_confirmed = post(
        &book,
        &insider,
        &format!("/claims/{claim}/confirm"),
        json!({"subject": "payee"}),
    )
    .await;
    assert_eq!(
        self_confirmed.status,
        StatusCode::FORBIDDEN,
        "{}",
        self_confirmed.body
    );

    // Another payee proposal replaces it; the claimant's number is the default.
    let restored = post(
        &book,
        &second,
        &format!("/claims/{claim}/payee"),
        json!({"phone_number": "+254711000000", "reason": "Pay the policyholder, as filed"}),
    )
    .await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    let confirmed = post(
        &book,
        &book.admin,
        &format!("/claims/{claim}/confirm"),
        json!({"subject": "payee"}),
    )
    .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let paying = post(&book, &second, &format!("/claims/{claim}/pay"), json!({})).await;
    assert_eq!(paying.status, StatusCode::ACCEPTED, "{}", paying.body);
    // The payments subscription writes the job after the 202.
    let payee: Option<String> = eventually("the payout job", || async {
        sqlx::query_scalar(
            "SELECT payer_contact FROM payment_jobs WHERE aggregate_id = $1::uuid AND kind = 'payout'",
        )
        .bind(&claim)
        .fetch_optional(&book.app.db.pool)
        .await
        .unwrap()
    })
    .await;
    assert_eq!(payee.as_deref(), Some("+254711000000"));

    // Each step is on the record, with who took it.
    let events: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "SELECT event_type, metadata FROM events WHERE aggregate_id = $1 ORDER BY sequence",
    )
    .bind(&claim)
    .fetch_all(&book.app.db.pool)
    .await
    .unwrap();
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    for expected in [
        "ApprovalProposed",
        "ApprovalConfirmed",
        "ClaimApproved",
        "PayeeProposed",
        "PayeeConfirmed",
        "PayoutRequested",
    ] {
        assert!(types.contains(&expected), "{types:?}");
    }
    let proposer = events
        .iter()
        .find(|(t, _)| t == "ApprovalProposed")
        .map(|(_, m)| m["user_id"].as_str().unwrap().to_string());
    assert_eq!(proposer.as_deref(), Some(second_id.as_str()));
    let _ = customer_id;
}

#[tokio::test]
async fn only_the_customer_who_owns_a_claim_amends_it() {
    // The contract: `PATCH /claims/{id}` is the owner's. Staff can't change
    // what was claimed and then approve it.
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    let (policy_id, _) = book.active_policy(&customer, "1000000.00").await;
    let filed = book
        .file_claim(&customer, &policy_id, TODAY, "80000.00", "Side mirror")
        .await;
    let claim = filed.body["id"].as_str().unwrap().to_string();
    let amend = |token: &str| {
        let path = format!("/claims/{claim}");
        let body = json!({"claimed_amount": kes("90000.00")});
        let token = token.to_string();
        let book = &book;
        async move {
            book.app
                .send(
                    reqwest::Method::PATCH,
                    &path,
                    Some(&token),
                    Some(&body),
                    &[],
                )
                .await
        }
    };
    for other in [&book.staff, &book.admin] {
        let refused = amend(other).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    }
    let amended = amend(&customer).await;
    assert_eq!(amended.status, StatusCode::OK, "{}", amended.body);
    assert_eq!(amended.body["claimed_amount"], kes("90000.00"));
    let approved = book.approve_claim(&claim, "90000.00").await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
}
