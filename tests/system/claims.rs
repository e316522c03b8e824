//! Claims over HTTP: filing on an active policy, documents, review, notes,
//! approval within cover and authority, payout through the sandbox, and the
//! rejections the rules require.

use std::sync::Arc;

use domain::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::book::*;
use crate::common::*;

const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 1, 2, 3,
];

/// POSTs `bytes` as the multipart field `file` named `filename`.
pub(crate) async fn upload(
    book: &Book,
    token: &str,
    claim_id: &str,
    filename: &str,
    bytes: &[u8],
) -> Reply {
    let boundary = "ifinsure-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let response = book
        .app
        .client
        .post(format!("{}/claims/{claim_id}/documents", book.app.base))
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

/// What the claims of these tests say happened.
const INCIDENT: &str = "Hit by a matatu on Mombasa Road";

#[tokio::test]
async fn a_claim_from_first_notice_to_payout() {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    let (_, staff_id) = (book.staff.clone(), {
        let me = book.app.get("/auth/me", Some(&book.staff)).await;
        me.body["id"].as_str().unwrap().to_string()
    });
    let (policy_id, _) = book.active_policy(&customer, "1000000.00").await;

    let filed = book
        .file_claim(&customer, &policy_id, TODAY, "120000.00", INCIDENT)
        .await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    assert_eq!(filed.body["status"], "submitted");
    assert!(filed.body["claim_number"]
        .as_str()
        .unwrap()
        .starts_with("CLM-2026-"));
    let id = filed.body["id"].as_str().unwrap().to_string();

    let photo = upload(&book, &customer, &id, "../../dented door.jpeg", JPEG).await;
    assert_eq!(photo.status, StatusCode::CREATED, "{}", photo.body);
    assert_eq!(photo.body["content_type"], "image/jpeg");
    assert_eq!(photo.body["filename"], "dented_door.jpg");
    assert_eq!(photo.body["size"], JPEG.len());
    assert_eq!(photo.body["sha256"].as_str().unwrap().len(), 64);

    let assigned = book
        .app
        .post(
            &format!("/claims/{id}/assign"),
            Some(&book.staff),
            &json!({"assignee_id": staff_id}),
        )
        .await;
    assert_eq!(assigned.body["status"], "under_review", "{}", assigned.body);
    let internal = book
        .app
        .post(
            &format!("/claims/{id}/notes"),
            Some(&book.staff),
            &json!({"text": "Garage quote looks inflated"}),
        )
        .await;
    assert_eq!(internal.status, StatusCode::CREATED);
    assert_eq!(internal.body["internal"], true);
    let shared = book
        .app
        .post(
            &format!("/claims/{id}/notes"),
            Some(&book.staff),
            &json!({"text": "We will pay the assessed amount", "internal": false}),
        )
        .await;
    assert_eq!(shared.status, StatusCode::CREATED);
    let approved = book
        .app
        .post(
            &format!("/claims/{id}/approve"),
            Some(&book.staff),
            &json!({"approved_amount": kes("95000.00")}),
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(approved.body["status"], "approved");
    assert_eq!(approved.body["approved_amount"], kes("95000.00"));

    let paying = book
        .app
        .post(&format!("/claims/{id}/pay"), Some(&book.staff), &json!({}))
        .await;
    assert_eq!(paying.status, StatusCode::ACCEPTED, "{}", paying.body);
    assert_eq!(paying.body["amount"], kes("95000.00"));
    let paid = eventually("the payout to confirm", || async {
        let claim = book
            .app
            .get(&format!("/claims/{id}"), Some(&customer))
            .await
            .body;
        (claim["status"] == "paid").then_some(claim)
    })
    .await;
    assert_eq!(paid["paid_amount"], kes("95000.00"));
    assert!(paid["payouts"][0]["provider_reference"]
        .as_str()
        .unwrap()
        .starts_with("sbx_"));
    let notes: Vec<&str> = paid["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        notes,
        ["We will pay the assessed amount"],
        "the customer never sees internal notes"
    );
    assert_eq!(paid["reserve"], Value::Null);
    let timeline: Vec<&str> = paid["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(timeline.iter().filter(|t| **t == "NoteAdded").count(), 1);
    assert!(
        timeline.ends_with(&["PayoutSucceeded", "ClaimPaid"]),
        "{timeline:?}"
    );
    let staff_view = book
        .app
        .get(&format!("/claims/{id}"), Some(&book.staff))
        .await
        .body;
    assert_eq!(staff_view["notes"].as_array().unwrap().len(), 2);

    let doc_id = photo.body["id"].as_str().unwrap();
    let download = book
        .app
        .client
        .get(format!("{}/claims/{id}/documents/{doc_id}", book.app.base))
        .bearer_auth(&customer)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.headers()["content-type"], "image/jpeg");
    assert_eq!(
        download.headers()["content-disposition"],
        "attachment; filename=\"dented_door.jpg\""
    );
    assert_eq!(download.bytes().await.unwrap().as_ref(), JPEG);
    // The customer's summary shows the shared note, not the internal one;
    // staff's shows both.
    let summary =
        crate::documents::pdf(&book, &customer, &format!("/claims/{id}/summary.pdf")).await;
    assert!(
        summary.text.contains("We will pay the assessed amount"),
        "{}",
        summary.text
    );
    assert!(!summary.text.contains("inflated"), "{}", summary.text);
    let staffs =
        crate::documents::pdf(&book, &book.staff, &format!("/claims/{id}/summary.pdf")).await;
    assert!(
        staffs
            .text
            .contains("Internal note Garage quote looks inflated"),
        "{}",
        staffs.text
    );

    // The customer heard of each step (by SMS too where the contract says),
    // and the staff queue of the new claim.
    let expected = [
        ("claim_submitted", "email", 1),
        ("claim_status_update", "email", 1),
        ("claim_status_update", "sms", 1),
        ("claim_approved", "email", 1),
        ("claim_paid", "email", 1),
        ("claim_paid", "sms", 1),
    ];
    eventually("the claim's notifications", || async {
        let items = book
            .app
            .get("/me/notifications?limit=100", Some(&customer))
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .clone();
        let count = |template: &str, channel: &str| {
            items
                .iter()
                .filter(|n| {
                    n["template"] == template && n["channel"] == channel && n["status"] == "sent"
                })
                .count()
        };
        expected
            .iter()
            .all(|(t, c, n)| count(t, c) == *n)
            .then_some(json!(items.len()))
    })
    .await;
    let staff = book
        .app
        .get(
            "/notifications?template=claim_submitted&recipient=support@ifinsure.example",
            Some(&book.staff),
        )
        .await;
    assert_eq!(
        staff.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        staff.body
    );
}

#[tokio::test]
async fn claims_the_rules_refuse() {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    let (other, _) = book.user("o@example.com", Role::Customer).await;
    let (policy_id, _) = book.active_policy(&customer, "1000000.00").await;

    // A policy that lapsed.
    let unpaid = book.apply(&customer, None, "500000.00").await;
    let unpaid_id = unpaid["id"].as_str().unwrap().to_string();
    book.approve(&unpaid_id).await;
    workers::scheduler::run_once(book.workers(), "2027-01-20".parse().unwrap())
        .await
        .unwrap();
    book.policy_becomes(&customer, &unpaid_id, "lapsed").await;
    let lapsed = book
        .file_claim(&customer, &unpaid_id, TODAY, "1000.00", INCIDENT)
        .await;
    assert_eq!(lapsed.status, StatusCode::CONFLICT);
    assert_eq!(lapsed.body["code"], "policy_not_active");

    // Before the start date.
    let early = book
        .file_claim(&customer, &policy_id, "2026-11-24", "1000.00", INCIDENT)
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert_eq!(early.body["code"], "incident_outside_cover");

    // Someone else's policy, and someone else's claim.
    let theirs = book
        .file_claim(&other, &policy_id, TODAY, "1000.00", INCIDENT)
        .await;
    assert_eq!(theirs.status, StatusCode::UNPROCESSABLE_ENTITY);
    let big = book
        .file_claim(&customer, &policy_id, TODAY, "900000.00", INCIDENT)
        .await;
    let big_id = big.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        book.app
            .get(&format!("/claims/{big_id}"), Some(&other))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        upload(&book, &other, &big_id, "x.jpg", JPEG).await.status,
        StatusCode::NOT_FOUND
    );

    // Files: an .exe renamed .pdf, and 11 MiB.
    let exe = upload(
        &book,
        &customer,
        &big_id,
        "receipt.pdf",
        b"MZ\x90\x00\x03\x00\x00\x00 this program",
    )
    .await;
    assert_eq!(
        exe.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        exe.body
    );
    let mut huge = b"%PDF-1.7\n".to_vec();
    huge.resize(11 * 1024 * 1024, b' ');
    let too_big = upload(&book, &customer, &big_id, "big.pdf", &huge).await;
    assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);

    // Staff above their authority; an admin may.
    let over = book
        .app
        .post(
            &format!("/claims/{big_id}/approve"),
            Some(&book.staff),
            &json!({"approved_amount": kes("600000.00")}),
        )
        .await;
    assert_eq!(over.status, StatusCode::FORBIDDEN);
    assert_eq!(over.body["code"], "authority_limit");
    let proposed = book
        .app
        .post(
            &format!("/claims/{big_id}/approve"),
            Some(&book.admin),
            &json!({"approved_amount": kes("900000.00")}),
        )
        .await;
    assert_eq!(proposed.status, StatusCode::ACCEPTED, "{}", proposed.body);
    let ok = book.confirm(&big_id, "approval").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["status"], "approved");

    // A second claim beyond the remaining sum insured.
    let second = book
        .file_claim(&customer, &policy_id, TODAY, "200000.00", INCIDENT)
        .await;
    let second_id = second.body["id"].as_str().unwrap().to_string();
    let beyond = book
        .app
        .post(
            &format!("/claims/{second_id}/approve"),
            Some(&book.staff),
            &json!({"approved_amount": kes("150000.00")}),
        )
        .await;
    assert_eq!(beyond.status, StatusCode::CONFLICT, "{}", beyond.body);
    assert_eq!(beyond.body["code"], "exceeds_sum_insured");
    let within = book
        .app
        .post(
            &format!("/claims/{second_id}/approve"),
            Some(&book.staff),
            &json!({"approved_amount": kes("100000.00")}),
        )
        .await;
    assert_eq!(within.status, StatusCode::OK, "{}", within.body);

    // A customer can't approve, and can't amend once under review.
    let by_customer = book
        .app
        .post(
            &format!("/claims/{second_id}/approve"),
            Some(&customer),
            &json!({"approved_amount": kes("1.00")}),
        )
        .await;
    assert_eq!(by_customer.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn two_claims_approved_at_once_never_exceed_the_sum_insured() {
    let book = Arc::new(Book::open().await);
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    let (policy_id, _) = book.active_policy(&customer, "1000000.00").await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let filed = book
            .file_claim(&customer, &policy_id, TODAY, "700000.00", INCIDENT)
            .await;
        ids.push(filed.body["id"].as_str().unwrap().to_string());
    }
    // Above the dual-control limit: the admin proposes, staff confirm both
    // at once.
    for id in &ids {
        let proposed = book
            .app
            .post(
                &format!("/claims/{id}/approve"),
                Some(&book.admin),
                &json!({"approved_amount": kes("700000.00")}),
            )
            .await;
        assert_eq!(proposed.status, StatusCode::ACCEPTED, "{}", proposed.body);
    }
    let approve = |book: Arc<Book>, id: String| async move { book.confirm(&id, "approval").await };
    let (a, b) = tokio::join!(
        tokio::spawn(approve(book.clone(), ids[0].clone())),
        tokio::spawn(approve(book.clone(), ids[1].clone()))
    );
    let mut replies = [a.unwrap(), b.unwrap()];
    replies.sort_by_key(|r| r.status);
    assert_eq!(replies[0].status, StatusCode::OK, "{}", replies[0].body);
    assert_eq!(
        replies[1].status,
        StatusCode::CONFLICT,
        "{}",
        replies[1].body
    );
    assert_eq!(replies[1].body["code"], "exceeds_sum_insured");
    let approved: Vec<String> = sqlx::query_scalar("SELECT status FROM claims ORDER BY status")
        .fetch_all(&book.app.db.pool)
        .await
        .unwrap();
    assert_eq!(approved.iter().filter(|s| *s == "approved").count(), 1);
}

#[tokio::test]
async fn documents_go_to_the_store_chosen_in_the_integrations_center_and_old_ones_stay_readable() {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    let (policy_id, _) = book.active_policy(&customer, "1000000.00").await;
    let filed = book
        .file_claim(&customer, &policy_id, TODAY, "50000.00", INCIDENT)
        .await;
    let claim_id = filed.body["id"].as_str().unwrap().to_string();
    let before = upload(&book, &customer, &claim_id, "before.jpg", JPEG).await;
    assert_eq!(before.status, StatusCode::CREATED, "{}", before.body);

    let dir = book.app.db.documents_dir().join("chosen-in-the-center");
    let created = book
        .app
        .post(
            "/integrations/configs",
            Some(&book.admin),
            &json!({"provider": "local", "name": "Claims archive", "environment": "production",
                    "is_primary": true, "settings": {"path": dir.to_str().unwrap()}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let config_id = created.body["id"].as_str().unwrap().to_string();
    let tested = book.test_connection(&config_id).await;
    assert_eq!(tested.body["last_test"]["ok"], true, "{}", tested.body);

    let after = upload(&book, &customer, &claim_id, "after.jpg", JPEG).await;
    assert_eq!(after.status, StatusCode::CREATED, "{}", after.body);
    let stored = dir
        .join("claims")
        .join(&claim_id)
        .join(after.body["id"].as_str().unwrap());
    assert!(stored.exists(), "{stored:?} holds the new document");
    assert!(!dir
        .join("claims")
        .join(&claim_id)
        .join(before.body["id"].as_str().unwrap())
        .exists());

    // Switched off for new documents, the archive still serves its own.
    let toggled = book
        .app
        .post(
            &format!("/integrations/configs/{config_id}/toggle"),
            Some(&book.admin),
            &json!({}),
        )
        .await;
    assert_eq!(toggled.body["enabled"], false);
    for document in [&before, &after] {
        let id = document.body["id"].as_str().unwrap();
        let file = book
            .app
            .client
            .get(format!(
                "{}/claims/{claim_id}/documents/{id}",
                book.app.base
            ))
            .bearer_auth(&customer)
            .send()
            .await
            .unwrap();
        assert_eq!(file.status(), StatusCode::OK);
        assert_eq!(file.bytes().await.unwrap().as_ref(), JPEG);
    }
}
