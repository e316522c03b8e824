//! Who may see and do what with applications, policies and invoices, and
//! concurrent decisions on one application.

use std::sync::Arc;

use domain::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::book::*;

#[tokio::test]
async fn two_approvals_at_once_exactly_one_wins() {
    let book = Arc::new(Book::open().await);
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    let application = book.apply(&customer, None, "1000000.00").await;
    let id = application["id"].as_str().unwrap().to_string();
    let approve = |book: Arc<Book>, id: String| async move {
        book.app
            .post(
                &format!("/policies/applications/{id}/approve"),
                Some(&book.staff),
                &json!({}),
            )
            .await
    };
    let (a, b) = tokio::join!(
        tokio::spawn(approve(book.clone(), id.clone())),
        tokio::spawn(approve(book.clone(), id.clone()))
    );
    let mut statuses = [a.unwrap(), b.unwrap()];
    statuses.sort_by_key(|r| r.status);
    assert_eq!(statuses[0].status, StatusCode::OK, "{}", statuses[0].body);
    assert_eq!(
        statuses[1].status,
        StatusCode::CONFLICT,
        "{}",
        statuses[1].body
    );
    assert_eq!(statuses[1].body["code"], "invalid_transition");
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'ApplicationApproved'",
    )
    .bind(&id)
    .fetch_one(&book.app.db.pool)
    .await
    .unwrap();
    assert_eq!(events, 1);
    let invoices = book
        .app
        .get(
            &format!("/billing/invoices?policy_id={id}"),
            Some(&book.staff),
        )
        .await;
    assert_eq!(invoices.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_customer_sees_and_acts_on_only_their_own_records() {
    let book = Book::open().await;
    let (alice, _) = book.user("alice@example.com", Role::Customer).await;
    let (bob, _) = book.user("bob@example.com", Role::Customer).await;
    let application = book.apply(&alice, None, "1000000.00").await;
    let id = application["id"].as_str().unwrap().to_string();
    let invoice_id = book.approve(&id).await["invoice_id"]
        .as_str()
        .unwrap()
        .to_string();

    let invoice_pdf = format!("/billing/invoices/{invoice_id}/invoice.pdf");
    assert_eq!(
        book.app.get(&invoice_pdf, Some(&bob)).await.status,
        StatusCode::NOT_FOUND
    );
    for path in [
        format!("/policies/applications/{id}"),
        format!("/policies/policies/{id}"),
        format!("/billing/invoices/{invoice_id}"),
    ] {
        let reply = book.app.get(&path, Some(&bob)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.body["code"], "not_found");
        assert_eq!(
            book.app.get(&path, Some(&alice)).await.status,
            StatusCode::OK,
            "{path}"
        );
    }
    let pay = book.pay_with(&bob, &invoice_id, &json!({})).await;
    assert_eq!(pay.status, StatusCode::NOT_FOUND);
    let cancel = book
        .app
        .post(
            &format!("/policies/policies/{id}/cancel"),
            Some(&bob),
            &json!({"reason": "mine now"}),
        )
        .await;
    assert_eq!(cancel.status, StatusCode::NOT_FOUND);
    for path in [
        "/policies/applications",
        "/policies/policies",
        "/billing/invoices",
    ] {
        let listed = book.app.get(path, Some(&bob)).await;
        assert_eq!(listed.body["items"], json!([]), "{path}");
        let theirs = book.app.get(path, Some(&alice)).await;
        assert_eq!(theirs.body["items"].as_array().unwrap().len(), 1, "{path}");
    }
    // A customer can't apply for someone else or decide applications.
    let other = json!({"product_id": book.product_id, "customer_id": uuid::Uuid::now_v7(), "sum_insured": kes("1000000.00"), "start_date": crate::common::TODAY});
    let reply = book
        .app
        .post("/policies/applications", Some(&bob), &other)
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reply = book
        .app
        .post(
            &format!("/policies/applications/{id}/reject"),
            Some(&alice),
            &json!({"reason": "x"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_agent_works_only_for_assigned_customers_and_an_auditor_only_reads() {
    let book = Book::open().await;
    let (agent, agent_id) = book.user("agent@example.com", Role::Agent).await;
    let (_, mine) = book.user("mine@example.com", Role::Customer).await;
    let (other_token, other) = book.user("other@example.com", Role::Customer).await;
    let assigned = book
        .app
        .post(
            &format!("/customers/{mine}/assign-agent"),
            Some(&book.staff),
            &json!({"agent_id": agent_id}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.body);

    let application = book.apply(&agent, Some(&mine), "800000.00").await;
    let id = application["id"].as_str().unwrap().to_string();
    let approved = book
        .app
        .post(
            &format!("/policies/applications/{id}/approve"),
            Some(&agent),
            &json!({}),
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);

    let refused = json!({"product_id": book.product_id, "customer_id": other, "sum_insured": kes("800000.00"), "start_date": crate::common::TODAY});
    let reply = book
        .app
        .post("/policies/applications", Some(&agent), &refused)
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body["errors"][0]["field"], "customer_id");
    let theirs = book.apply(&other_token, None, "800000.00").await;
    let theirs_id = theirs["id"].as_str().unwrap();
    let reply = book
        .app
        .post(
            &format!("/policies/applications/{theirs_id}/approve"),
            Some(&agent),
            &json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let listed = book.app.get("/policies/applications", Some(&agent)).await;
    let ids: Vec<_> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(id)]);

    let (auditor, _) = book.user("auditor@example.com", Role::Auditor).await;
    assert_eq!(
        book.app
            .get("/policies/applications", Some(&auditor))
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let reply = book
        .app
        .post(
            &format!("/policies/applications/{theirs_id}/approve"),
            Some(&auditor),
            &json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_applications_get_clear_errors_and_change_nothing() {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    let base = json!({"product_id": book.product_id, "sum_insured": kes("1000000.00"), "start_date": crate::common::TODAY});
    let cases = [
        (
            json!({"sum_insured": kes("50.00")}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "sum_insured",
        ),
        (
            json!({"sum_insured": {"amount": "1000000.00", "currency": "USD"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "sum_insured",
        ),
        (
            json!({"start_date": "2026-01-01"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "start_date",
        ),
        (
            json!({"product_id": uuid::Uuid::now_v7()}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "product_id",
        ),
        (
            json!({"sum_insured": 1000000.0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "sum_insured",
        ),
    ];
    for (change, status, field) in cases {
        let mut body = base.clone();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let reply = book
            .app
            .post("/policies/applications", Some(&customer), &body)
            .await;
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert_eq!(reply.body["errors"][0]["field"], field, "{}", reply.body);
    }
    let retired = book
        .app
        .post(
            &format!("/policies/products/{}/retire", book.product_id),
            Some(&book.admin),
            &json!({}),
        )
        .await;
    assert_eq!(retired.status, StatusCode::OK);
    let reply = book
        .app
        .post("/policies/applications", Some(&customer), &base)
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.body["code"], "product_not_active");
    let listed = book
        .app
        .get("/policies/applications", Some(&book.staff))
        .await;
    assert_eq!(listed.body["items"], json!([]));
}
