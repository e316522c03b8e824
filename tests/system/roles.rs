//! Changing a user's role: only an admin, never their own, recorded as a
//! `RoleChanged` event naming the admin; the user's current sessions stop
//! working and the next sign-in carries the new role. An agent who still
//! serves customers and a customer who holds an application keep theirs.

use domain::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::book::*;
use crate::common::{caught_up, PASSWORD};

#[tokio::test]
async fn an_admin_changes_a_role_and_the_old_sessions_stop_working() {
    let book = Book::open().await;
    let app = &book.app;
    let (agent, agent_id) = book.user("agent@example.com", Role::Agent).await;
    let path = format!("/users/{agent_id}/role");

    // Only an admin; never their own; a role that does not exist is named.
    let by_staff = app
        .post(&path, Some(&book.staff), &json!({"role": "staff"}))
        .await;
    assert_eq!(by_staff.status, StatusCode::FORBIDDEN, "{}", by_staff.body);
    let admin_id = app.get("/auth/me", Some(&book.admin)).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let own = app
        .post(
            &format!("/users/{admin_id}/role"),
            Some(&book.admin),
            &json!({"role": "customer"}),
        )
        .await;
    assert_eq!(own.status, StatusCode::CONFLICT, "{}", own.body);
    assert_eq!(own.body["code"], "own_account");
    let unknown = app
        .post(&path, Some(&book.admin), &json!({"role": "root"}))
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.body
    );

    let changed = app
        .post(&path, Some(&book.admin), &json!({"role": "staff"}))
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["role"], "staff");
    // The same role again records nothing.
    let again = app
        .post(&path, Some(&book.admin), &json!({"role": "staff"}))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["version"], changed.body["version"]);
    let events: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "SELECT event_type, metadata FROM events
         WHERE aggregate_type = 'User' AND aggregate_id = $1 AND event_type = 'RoleChanged'",
    )
    .bind(&agent_id)
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].1["user_id"], admin_id.as_str());
    assert_eq!(events[0].1["role"], "admin");

    // The token issued to the agent no longer works; a new sign-in is staff.
    caught_up(&app.db.pool, "users").await;
    eventually("the agent's token to be refused", || async {
        let stale = app.get("/auth/me", Some(&agent)).await;
        (stale.status == StatusCode::UNAUTHORIZED).then_some(())
    })
    .await;
    let login = app
        .post(
            "/auth/login",
            None,
            &json!({"email": "agent@example.com", "password": PASSWORD}),
        )
        .await;
    let token = login.body["access_token"].as_str().unwrap();
    let me = app.get("/auth/me", Some(token)).await;
    assert_eq!(me.body["role"], "staff", "{}", me.body);
}

#[tokio::test]
async fn an_agent_with_customers_and_a_customer_with_an_application_keep_their_roles() {
    let book = Book::open().await;
    let app = &book.app;
    let (_, agent_id) = book.user("agent@example.com", Role::Agent).await;
    let (customer, customer_id) = book.user("c@example.com", Role::Customer).await;
    let assigned = app
        .post(
            &format!("/customers/{customer_id}/assign-agent"),
            Some(&book.staff),
            &json!({"agent_id": agent_id}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.body);
    caught_up(&app.db.pool, "users").await;
    let refused = app
        .post(
            &format!("/users/{agent_id}/role"),
            Some(&book.admin),
            &json!({"role": "staff"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert_eq!(refused.body["code"], "agent_serves_customers");
    assert!(refused.body["detail"]
        .as_str()
        .unwrap()
        .contains("1 customer"));

    book.apply(&customer, None, "500000.00").await;
    caught_up(&app.db.pool, "policies").await;
    let refused = app
        .post(
            &format!("/users/{customer_id}/role"),
            Some(&book.admin),
            &json!({"role": "agent"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert_eq!(refused.body["code"], "customer_holds_policies");
    // Nothing was recorded by either refusal.
    let changes: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'RoleChanged'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(changes, 0);
}
