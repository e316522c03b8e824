//! The PDFs read back with a PDF text extractor: each document carries its
//! key facts and the insurer's branding; a document is kept in the document
//! store under the versions it reflects, served from there while they hold
//! and drawn anew when they change; a statement's closing balance matches
//! figures worked out here.

use std::sync::Arc;

use reqwest::StatusCode;

use crate::book::*;
use crate::common::{test_settings, TODAY};

/// A PDF's bytes, its extracted text and whether it came from the store.
pub(crate) struct Pdf {
    pub(crate) bytes: Vec<u8>,
    pub(crate) text: String,
    pub(crate) cache: String,
}

/// The PDF at `path` as `token` gets it, read back.
pub(crate) async fn pdf(book: &Book, token: &str, path: &str) -> Pdf {
    let reply = book
        .app
        .client
        .get(format!("{}{path}", book.app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK, "{path}");
    assert_eq!(reply.headers()["content-type"], "application/pdf");
    let cache = reply.headers()["x-document-cache"]
        .to_str()
        .unwrap()
        .to_string();
    let bytes = reply.bytes().await.unwrap().to_vec();
    let text = pdf_extract::extract_text_from_mem(&bytes).expect("a readable PDF");
    // One space between words, whatever the layout put there.
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    Pdf { bytes, text, cache }
}

fn has(document: &Pdf, facts: &[&str]) {
    for fact in facts {
        assert!(
            document.text.contains(fact),
            "{fact:?} missing from: {}",
            document.text
        );
    }
}

#[tokio::test]
async fn each_document_shows_its_key_facts_and_is_kept_by_version() {
    let mut settings = test_settings();
    settings.branding.name = "Savannah Mutual".into();
    settings.branding.support_phone = Some("+254 20 555 0100".into());
    settings.clock = Arc::new(projections::clock::SettableClock::at(
        TODAY.parse().unwrap(),
    ));
    let book = Book::open_with(settings).await;
    let (customer, customer_id) = book
        .user("wanjiku@example.com", domain::Role::Customer)
        .await;
    let (auditor, _) = book
        .user("auditor@example.com", domain::Role::Auditor)
        .await;
    let (stranger, _) = book.user("other@example.com", domain::Role::Customer).await;
    // 3.5% of 1,000,000 paid; a second policy's 15,000 minimum premium unpaid.
    let (policy_id, invoice_id) = book.active_policy(&customer, "1000000.00").await;
    let (_, unpaid_id) = book.approved_policy(&customer, "200000.00").await;
    let policy = book.policy(&customer, &policy_id).await;
    let number = policy["policy_number"].as_str().unwrap().to_string();

    let certificate = pdf(
        &book,
        &customer,
        &format!("/policies/policies/{policy_id}/certificate.pdf"),
    )
    .await;
    has(
        &certificate,
        &[
            "Certificate of insurance",
            &number,
            "Test customer",
            "25 Nov 2026 to 24 Nov 2027",
            "KES 35,000.00",
            "KES 1,000,000.00",
            "KDA 123A",
            "Savannah Mutual",
            "+254 20 555 0100",
            "Page 1 of 1",
        ],
    );
    assert_eq!(certificate.cache, "miss");
    let again = pdf(
        &book,
        &auditor,
        &format!("/policies/policies/{policy_id}/certificate.pdf"),
    )
    .await;
    assert_eq!(again.cache, "hit", "the same versions come from the store");
    assert_eq!(again.bytes, certificate.bytes);
    let kept = book
        .app
        .db
        .documents_dir()
        .join("generated/certificates")
        .join(&policy_id);
    assert_eq!(
        std::fs::read_dir(&kept).unwrap().count(),
        1,
        "kept under the policy's version"
    );

    let paid = book.invoice(&customer, &invoice_id).await;
    let paid_number = paid["invoice_number"].as_str().unwrap().to_string();
    let invoice = pdf(
        &book,
        &customer,
        &format!("/billing/invoices/{invoice_id}/invoice.pdf"),
    )
    .await;
    has(
        &invoice,
        &[
            &paid_number,
            &number,
            "Balance due KES 0.00",
            "Paid KES 35,000.00",
        ],
    );

    let payment = &paid["payments"][0];
    let payment_id = payment["id"].as_str().unwrap();
    let reference = payment["provider_reference"].as_str().unwrap();
    let receipt = pdf(
        &book,
        &customer,
        &format!("/billing/payments/{payment_id}/receipt.pdf"),
    )
    .await;
    has(
        &receipt,
        &[
            "Payment receipt",
            "KES 35,000.00",
            reference,
            "sandbox",
            &paid_number,
        ],
    );

    // The unpaid invoice: its balance; once paid, a new version and a new
    // document.
    let unpaid_path = format!("/billing/invoices/{unpaid_id}/invoice.pdf");
    let unpaid = pdf(&book, &customer, &unpaid_path).await;
    has(&unpaid, &["Balance due KES 15,000.00"]);
    assert_eq!(pdf(&book, &customer, &unpaid_path).await.cache, "hit");

    // A claim approved for 95,000 and paid.
    let filed = book
        .file_claim(
            &customer,
            &policy_id,
            TODAY,
            "120000.00",
            "Hail damage to the roof and bonnet",
        )
        .await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    let claim_id = filed.body["id"].as_str().unwrap().to_string();
    let claim_number = filed.body["claim_number"].as_str().unwrap().to_string();
    let approved = book.approve_claim(&claim_id, "95000.00").await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    let summary = pdf(&book, &customer, &format!("/claims/{claim_id}/summary.pdf")).await;
    has(
        &summary,
        &[
            &claim_number,
            "Approved amount KES 95,000.00",
            "Claimed KES 120,000.00",
            "approved",
            "Hail damage",
        ],
    );

    // The statement: 35,000 and 15,000 invoiced, 35,000 paid; closing 15,000.
    book.pay(&customer, &unpaid_id).await;
    book.invoice_becomes(&customer, &unpaid_id, "paid").await;
    let refreshed = pdf(&book, &customer, &unpaid_path).await;
    assert_eq!(
        refreshed.cache, "miss",
        "a new version draws a new document"
    );
    has(&refreshed, &["Balance due KES 0.00"]);
    let period = "from=2026-11-01&to=2026-11-30";
    let statement = eventually("both payments on the statement", || async {
        let body = book
            .app
            .get(
                &format!("/customers/{customer_id}/statement?{period}"),
                Some(&customer),
            )
            .await
            .body;
        (body["statements"][0]["lines"].as_array()?.len() == 4).then_some(body)
    })
    .await;
    let kes_statement = &statement["statements"][0];
    assert_eq!(kes_statement["opening_balance"], kes("0.00"));
    assert_eq!(kes_statement["total_debits"], kes("50000.00"));
    assert_eq!(kes_statement["total_credits"], kes("50000.00"));
    assert_eq!(kes_statement["closing_balance"], kes("0.00"));
    let balances: Vec<&str> = kes_statement["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["balance"]["amount"].as_str().unwrap())
        .collect();
    assert_eq!(balances, ["35000.00", "0.00", "15000.00", "0.00"]);
    let printed = pdf(
        &book,
        &customer,
        &format!("/customers/{customer_id}/statement.pdf?{period}"),
    )
    .await;
    has(
        &printed,
        &[
            "Statement of account",
            "Test customer",
            "1 Nov 2026 to 30 Nov 2026",
            "Closing balance KES 0.00",
            &paid_number,
            "Payment by sandbox",
        ],
    );
    // Before the second payment: the statement for the first day alone.
    let first_day = book
        .app
        .get(
            &format!("/customers/{customer_id}/statement?from=2026-11-25&to=2026-11-25"),
            Some(&auditor),
        )
        .await;
    assert_eq!(first_day.status, StatusCode::OK);

    // Nobody else's.
    for path in [
        format!("/customers/{customer_id}/statement.pdf?{period}"),
        format!("/policies/policies/{policy_id}/certificate.pdf"),
        format!("/claims/{claim_id}/summary.pdf"),
    ] {
        assert_eq!(
            book.app.get(&path, Some(&stranger)).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let backwards = book
        .app
        .get(
            &format!("/customers/{customer_id}/statement?from=2026-12-01&to=2026-11-01"),
            Some(&customer),
        )
        .await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);
}
