//! Whole journeys in the console, without JavaScript: a customer signs up,
//! gets a quote, applies, is approved by staff, pays through the sandbox
//! and sees the policy active; files a claim with a photo that staff take
//! to payout.

use reqwest::StatusCode;

use super::{id_after, Book, CUSTOMER};
use crate::common::{eventually, TODAY};

/// A PNG's first bytes (the API judges a document by its content).
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";

#[tokio::test]
async fn a_customer_signs_up_gets_a_quote_applies_is_approved_pays_and_is_covered() {
    let book = Book::open().await;
    let dashboard = book.customer.get("/dashboard").await;
    assert_eq!(dashboard.h1(), "Dashboard");
    assert!(
        dashboard.shows("Wanjiru Kamau"),
        "the header names the customer"
    );
    assert!(dashboard.shows("Welcome: your account is ready"));

    // A quote first: nothing recorded.
    let apply = format!("/products/{}/apply", book.product_id);
    let form = book.customer.get(&apply).await;
    assert_eq!(form.status, StatusCode::OK);
    let quoted = book
        .customer
        .submit(
            &form,
            &format!("/products/{}/quote", book.product_id),
            &[
                ("sum_insured", "1,000,000"),
                ("start_date", TODAY),
                ("insured_registration", "KDA 123A"),
            ],
        )
        .await;
    assert_eq!(quoted.status, StatusCode::OK, "{}", quoted.html);
    assert!(
        quoted.shows("Quoted premium: KES 35,000.00"),
        "{}",
        quoted.html
    );
    assert!(quoted.shows("value=\"KDA 123A\""), "what was typed is kept");
    let none = book
        .app
        .get("/policies/applications", Some(&book.admin))
        .await;
    assert_eq!(
        none.body["items"].as_array().unwrap().len(),
        0,
        "a quote records nothing"
    );

    // Submitted twice (two clicks): one application.
    let fields = [
        ("sum_insured", "1,000,000"),
        ("start_date", TODAY),
        ("insured_registration", "KDA 123A"),
    ];
    let first = book.customer.submit(&quoted, &apply, &fields).await;
    let second = book.customer.submit(&quoted, &apply, &fields).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.html);
    assert_eq!(
        first.location(),
        second.location(),
        "the second click lands on the same application"
    );
    let id = id_after(&first, "/applications/");
    let all = book
        .app
        .get("/policies/applications", Some(&book.admin))
        .await;
    assert_eq!(
        all.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        all.body
    );
    // The command's event carries who, from where, under which request.
    let events = book
        .app
        .get(
            &format!("/audit/events?aggregate_type=Policy&aggregate_id={id}"),
            Some(&book.admin),
        )
        .await;
    let metadata = &events.body["items"][0]["metadata"];
    let me = book
        .app
        .get("/users?role=customer", Some(&book.admin))
        .await
        .body["items"][0]["id"]
        .clone();
    assert_eq!(metadata["user_id"], me, "{metadata}");
    assert_eq!(metadata["role"], "customer");
    assert_eq!(metadata["client_ip"], "127.0.0.1");
    assert!(
        metadata["request_id"]
            .as_str()
            .is_some_and(|r| r.len() >= 32),
        "{metadata}"
    );
    assert!(metadata["correlation_id"]
        .as_str()
        .is_some_and(|c| !c.is_empty()));
    let page = book.customer.follow(&first).await;
    assert!(page.shows("Application submitted"));
    assert!(page.shows("Submitted"));
    assert!(page.shows("KES 35,000.00"));
    assert!(
        page.form(&format!("/applications/{id}/approve")).is_none(),
        "customers do not decide"
    );

    // Staff approve from the queue.
    let queue = book.staff.get("/applications?status=submitted").await;
    assert!(queue.targets().contains(&format!("/applications/{id}")));
    book.approve(&id).await;
    let policy = book.customer.get(&format!("/policies/{id}")).await;
    assert!(policy.h1().starts_with("Policy POL-"), "{}", policy.h1());
    assert!(policy.shows("Approved"));

    // The customer pays the premium through the sandbox.
    let invoice = book.invoice_of(&id).await;
    let invoice_page = book.customer.get(&format!("/invoices/{invoice}")).await;
    assert!(invoice_page.shows("KES 35,000.00"));
    assert!(
        invoice_page
            .form(&format!("/invoices/{invoice}/pay"))
            .is_some(),
        "a Pay button"
    );
    let received = book.pay(&invoice).await;
    assert!(received
        .form(&format!(
            "/payments/{}/receipt.pdf",
            id_of(&received, "/payments/")
        ))
        .is_some());

    let active = eventually("the policy to show active", || async {
        let page = book.customer.get(&format!("/policies/{id}")).await;
        page.shows("status-active").then_some(page)
    })
    .await;
    assert!(
        active.shows("Application approved"),
        "the history names each event: {}",
        active.html
    );
    assert!(active.shows("Policy activated"));
    assert!(active.shows("Test staff (staff)"), "and who did it");
    let certificate = book
        .customer
        .get(&format!("/policies/{id}/certificate.pdf"))
        .await;
    assert_eq!(certificate.status, StatusCode::OK);
    assert_eq!(certificate.header("content-type"), Some("application/pdf"));

    let paid_invoice = book.customer.get(&format!("/invoices/{invoice}")).await;
    assert!(paid_invoice.shows("status-paid"));
    assert!(
        paid_invoice
            .form(&format!("/invoices/{invoice}/pay"))
            .is_none(),
        "nothing left to pay"
    );
    let _ = CUSTOMER;
}

/// The payment id in a page's links under `prefix`.
fn id_of(page: &super::browser::Page, prefix: &str) -> String {
    page.targets()
        .iter()
        .find_map(|t| {
            t.strip_prefix(prefix)
                .map(|rest| rest.split('/').next().unwrap().to_string())
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_claim_with_a_photo_goes_from_filing_to_payout() {
    let book = Book::open().await;
    let policy = book.active_policy().await;

    let policy_page = book.customer.get(&format!("/policies/{policy}")).await;
    assert!(policy_page.form("/claims/new").is_some(), "File a claim");
    let form = book
        .customer
        .get(&format!("/claims/new?policy_id={policy}"))
        .await;
    assert!(
        form.shows(&format!("value=\"{policy}\" selected")),
        "the policy is chosen"
    );
    let filed = book
        .customer
        .submit(
            &form,
            "/claims/new",
            &[
                ("policy_id", &policy),
                ("incident_date", TODAY),
                (
                    "description",
                    "Hit by a matatu at the Kenyatta Avenue lights",
                ),
                ("claimed_amount", "45000"),
            ],
        )
        .await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.html);
    let claim = id_after(&filed, "/claims/");
    let page = book.customer.follow(&filed).await;
    assert!(page.shows("Claim submitted"));
    assert!(page.shows("KES 45,000.00"));

    // A photo is taken; a text file is refused with the API's rule.
    let action = format!("/claims/{claim}/documents");
    let refused = book
        .customer
        .upload(
            &page,
            &action,
            "document",
            "notes.txt",
            "text/plain",
            b"not a photo".to_vec(),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        refused.shows("Only PDF, JPEG and PNG files can be uploaded"),
        "{}",
        refused.html
    );
    let uploaded = book
        .customer
        .upload(
            &refused,
            &action,
            "document",
            "bumper.png",
            "image/png",
            PNG.to_vec(),
        )
        .await;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.html);
    let page = book.customer.follow(&uploaded).await;
    assert!(page.shows("Document uploaded"));
    assert!(page.shows("bumper.png"));
    let document = page
        .targets()
        .into_iter()
        .find(|t| t.starts_with(&format!("/claims/{claim}/documents/")))
        .expect("a link to the document");
    let file = book.customer.get(&document).await;
    assert_eq!(file.status, StatusCode::OK);

    // Staff: assign, note, approve, pay out.
    let page = book.staff.get(&format!("/claims/{claim}")).await;
    let assigned = book
        .staff
        .submit(&page, &format!("/claims/{claim}/assign"), &[])
        .await;
    assert_eq!(assigned.status, StatusCode::SEE_OTHER, "{}", assigned.html);
    let page = book.staff.follow(&assigned).await;
    assert!(page.shows("Claim assigned to you"));
    let noted = book
        .staff
        .submit(
            &page,
            &format!("/claims/{claim}/notes"),
            &[("text", "Assessor booked for Monday")],
        )
        .await;
    assert_eq!(noted.status, StatusCode::SEE_OTHER);
    let page = book.staff.follow(&noted).await;
    let visible = book
        .staff
        .submit(
            &page,
            &format!("/claims/{claim}/notes"),
            &[
                ("text", "We have your photos, thank you"),
                ("visible_to_customer", "1"),
            ],
        )
        .await;
    assert_eq!(visible.status, StatusCode::SEE_OTHER);
    let page = book.staff.follow(&visible).await;
    let approved = book
        .staff
        .submit(
            &page,
            &format!("/claims/{claim}/approve"),
            &[("approved_amount", "40000")],
        )
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.html);
    let page = book.staff.follow(&approved).await;
    assert!(page.shows("Claim approved"), "{}", page.html);
    let paying = book
        .staff
        .submit(&page, &format!("/claims/{claim}/pay"), &[])
        .await;
    assert_eq!(paying.status, StatusCode::SEE_OTHER, "{}", paying.html);

    let paid = eventually("the claim to be paid", || async {
        let page = book.customer.get(&format!("/claims/{claim}")).await;
        page.shows("status-paid").then_some(page)
    })
    .await;
    assert!(paid.shows("KES 40,000.00"));
    assert!(
        paid.shows("We have your photos, thank you"),
        "a note for the customer shows"
    );
    assert!(
        !paid.shows("Assessor booked for Monday"),
        "an internal note does not"
    );
    assert!(paid.shows("Claim paid"), "the timeline: {}", paid.html);
}

#[tokio::test]
async fn a_stale_form_says_so_and_shows_the_current_state() {
    let book = Book::open().await;
    let id = book.apply().await;
    // Staff open the application; meanwhile it is rejected through the API.
    let page = book.staff.get(&format!("/applications/{id}")).await;
    let rejected = book
        .app
        .post(
            &format!("/policies/applications/{id}/reject"),
            Some(&book.admin),
            &serde_json::json!({"reason": "No valid logbook"}),
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
    let stale = book
        .staff
        .submit(&page, &format!("/applications/{id}/approve"), &[])
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.html);
    assert!(
        stale.shows("changed since you opened the page"),
        "{}",
        stale.html
    );
    assert!(
        stale.shows("No valid logbook"),
        "the current state is shown"
    );
    assert!(stale.shows("status-rejected"));
}

#[tokio::test]
async fn bad_input_shows_the_apis_message_beside_the_field_and_keeps_what_was_typed() {
    let book = Book::open().await;
    let apply = format!("/products/{}/apply", book.product_id);
    let form = book.customer.get(&apply).await;
    let refused = book
        .customer
        .submit(
            &form,
            &apply,
            &[
                ("sum_insured", "1000"),
                ("start_date", TODAY),
                ("insured_registration", "KDA 123A"),
            ],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.html
    );
    assert!(
        refused.shows("id=\"f-sum_insured-error\""),
        "{}",
        refused.html
    );
    assert!(refused.shows("aria-invalid=\"true\""));
    assert!(refused.shows("value=\"1000\""), "what was typed stays");
    assert!(refused.shows("value=\"KDA 123A\""));

    let missing = book
        .customer
        .submit(
            &form,
            &apply,
            &[("sum_insured", "500000"), ("start_date", TODAY)],
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.shows("Enter the registration"), "{}", missing.html);

    // A form refused once can be corrected and sent: a fresh key each time.
    let corrected = book
        .customer
        .submit(
            &refused,
            &apply,
            &[
                ("sum_insured", "500000"),
                ("start_date", TODAY),
                ("insured_registration", "KDA 123A"),
            ],
        )
        .await;
    assert_eq!(
        corrected.status,
        StatusCode::SEE_OTHER,
        "{}",
        corrected.html
    );
}

#[tokio::test]
async fn cancelling_shows_the_refund_before_confirming() {
    let book = Book::open().await;
    let policy = book.active_policy().await;
    let page = book.customer.get(&format!("/policies/{policy}")).await;
    assert!(
        page.form(&format!("/policies/{policy}/cancel")).is_some(),
        "Cancel policy"
    );
    let form = book
        .customer
        .get(&format!("/policies/{policy}/cancel"))
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    assert!(
        form.shows("Refund: KES 35,000.00") || form.shows("Refund: KES 34,"),
        "{}",
        form.html
    );
    // A changed date shows its refund first, cancelling nothing.
    let later = (chrono::NaiveDate::parse_from_str(TODAY, "%Y-%m-%d").unwrap()
        + chrono::Days::new(73))
    .to_string();
    let requoted = book
        .customer
        .submit(
            &form,
            &format!("/policies/{policy}/cancel"),
            &[("reason", "Sold the car"), ("effective_date", &later)],
        )
        .await;
    assert_eq!(requoted.status, StatusCode::OK, "{}", requoted.html);
    assert!(requoted.shows("Check the refund for this date"));
    let still = book
        .app
        .get(&format!("/policies/policies/{policy}"), Some(&book.admin))
        .await;
    assert_eq!(still.body["status"], "active");
    let confirmed = book
        .customer
        .submit(
            &requoted,
            &format!("/policies/{policy}/cancel"),
            &[("reason", "Sold the car"), ("effective_date", &later)],
        )
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.html
    );
    let page = book.customer.follow(&confirmed).await;
    assert!(page.shows("Policy cancelled: KES"), "{}", page.html);
    assert!(page.shows("status-cancelled"));
}
