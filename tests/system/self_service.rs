//! What a person asks before acting, and their own account: quotes that
//! are what the command would record, a cancellation's refund before
//! cancelling, and changing one's name, phone and password.

use domain::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::book::*;
use crate::common::{PASSWORD, TODAY};

fn field(reply: &Value) -> String {
    reply["errors"][0]["field"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_quote_is_what_applying_records_and_records_nothing() {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    let path = |query: &str| format!("/policies/products/{}/quote?{query}", book.product_id);
    let quote = book
        .app
        .get(
            &path(&format!("sum_insured=1000000.00&start_date={TODAY}")),
            Some(&customer),
        )
        .await;
    assert_eq!(quote.status, StatusCode::OK, "{}", quote.body);
    let events_before: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&book.app.db.pool)
        .await
        .unwrap();
    let applied = book.apply(&customer, None, "1000000.00").await;
    for key in ["premium", "sum_insured", "start_date", "end_date"] {
        assert_eq!(
            quote.body[key], applied[key],
            "{key}: {} vs {applied}",
            quote.body
        );
    }
    let events_after: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&book.app.db.pool)
        .await
        .unwrap();
    assert_eq!(
        events_after,
        events_before + 1,
        "only the application was recorded"
    );

    // Refused as applying would be, naming the field.
    let too_much = book
        .app
        .get(&path("sum_insured=999999999999.00"), Some(&customer))
        .await;
    assert_eq!(
        too_much.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        too_much.body
    );
    assert_eq!(field(&too_much.body), "sum_insured");
    let not_a_date = book
        .app
        .get(
            &path("sum_insured=1000.00&start_date=soon"),
            Some(&customer),
        )
        .await;
    assert_eq!(field(&not_a_date.body), "start_date");
    let missing = book.app.get(&path(""), Some(&customer)).await;
    assert_eq!(field(&missing.body), "sum_insured");
    let unknown = book
        .app
        .get(
            "/policies/products/00000000-0000-0000-0000-000000000001/quote?sum_insured=1000.00",
            Some(&customer),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        book.app
            .get(&path("sum_insured=1000.00"), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_cancellation_quote_is_what_cancelling_then_refunds() {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    let (other, _) = book.user("o@example.com", Role::Customer).await;
    let (agent, _) = book.user("a@example.com", Role::Agent).await;
    let (id, _) = book.active_policy(&customer, "1000000.00").await;
    let path =
        |date: &str| format!("/policies/policies/{id}/cancellation-quote?effective_date={date}");
    let quote = book.app.get(&path("2027-03-31"), Some(&customer)).await;
    assert_eq!(quote.status, StatusCode::OK, "{}", quote.body);
    let cancelled = book
        .cancel(&customer, &id, "sold the car", "2027-03-31")
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(
        quote.body["refund"], cancelled.body["refund"],
        "{}",
        cancelled.body
    );
    assert_eq!(quote.body["retained"]["currency"], "KES");
    // Nobody else learns of it; roles that may not cancel may not ask.
    assert_eq!(
        book.app.get(&path("2027-03-31"), Some(&other)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        book.app.get(&path("2027-03-31"), Some(&agent)).await.status,
        StatusCode::FORBIDDEN
    );
    // Once cancelled, there is nothing to quote.
    let after = book.app.get(&path("2027-04-30"), Some(&book.staff)).await;
    assert_eq!(after.status, StatusCode::CONFLICT, "{}", after.body);
}

async fn login(book: &Book, email: &str, password: &str) -> crate::common::Reply {
    book.app
        .post(
            "/auth/login",
            None,
            &json!({"email": email, "password": password}),
        )
        .await
}

#[tokio::test]
async fn a_person_changes_their_name_phone_and_password_and_their_other_sessions_end() {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", Role::Customer).await;
    let updated = book
        .app
        .send(
            reqwest::Method::PATCH,
            "/auth/me",
            Some(&customer),
            Some(&json!({"full_name": "  Amina Wanjiru ", "phone_number": "0722 000 111"})),
            &[],
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["full_name"], "Amina Wanjiru");
    assert_eq!(updated.body["phone_number"], "+254722000111");
    let patch = |body: Value| {
        let book = &book;
        let token = customer.clone();
        async move {
            book.app
                .send(
                    reqwest::Method::PATCH,
                    "/auth/me",
                    Some(&token),
                    Some(&body),
                    &[],
                )
                .await
        }
    };
    let bad = patch(json!({"phone_number": "not a phone"})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&bad.body), "phone_number");
    let blank = patch(json!({"full_name": " "})).await;
    assert_eq!(field(&blank.body), "full_name");
    let removed = patch(json!({"phone_number": ""})).await;
    assert_eq!(
        removed.body["phone_number"],
        Value::Null,
        "{}",
        removed.body
    );
    assert_eq!(removed.body["full_name"], "Amina Wanjiru");

    // Two sessions; the password is changed in the first.
    let first = login(&book, "c@example.com", PASSWORD).await;
    let second = login(&book, "c@example.com", PASSWORD).await;
    let token =
        |reply: &crate::common::Reply, name: &str| reply.body[name].as_str().unwrap().to_string();
    let change = |body: Value| {
        let book = &book;
        let access = token(&first, "access_token");
        async move { book.app.post("/auth/password", Some(&access), &body).await }
    };
    let wrong = change(
        json!({"current_password": "not it at all", "new_password": "a brand new long phrase 7"}),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&wrong.body), "current_password");
    let weak = change(json!({"current_password": PASSWORD, "new_password": "password"})).await;
    assert_eq!(field(&weak.body), "new_password");
    let changed =
        change(json!({"current_password": PASSWORD, "new_password": "a brand new long phrase 7"}))
            .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    assert_eq!(
        login(&book, "c@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&book, "c@example.com", "a brand new long phrase 7")
            .await
            .status,
        StatusCode::OK
    );
    // The other session is over; this one goes on.
    let refreshed = book
        .app
        .post(
            "/auth/refresh",
            None,
            &json!({"refresh_token": token(&second, "refresh_token")}),
        )
        .await;
    assert_eq!(
        refreshed.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        refreshed.body
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        book.app
            .get("/auth/me", Some(&token(&second, "access_token")))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        book.app
            .get("/auth/me", Some(&token(&first, "access_token")))
            .await
            .status,
        StatusCode::OK
    );
    let kept = book
        .app
        .post(
            "/auth/refresh",
            None,
            &json!({"refresh_token": token(&first, "refresh_token")}),
        )
        .await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.body);
    // What happened is on the record.
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT event_type FROM events WHERE aggregate_type = 'User' AND event_type IN ('ProfileUpdated', 'PasswordChanged') ORDER BY global_position",
    )
    .fetch_all(&book.app.db.pool)
    .await
    .unwrap();
    assert_eq!(
        events,
        ["ProfileUpdated", "ProfileUpdated", "PasswordChanged"]
    );
}
