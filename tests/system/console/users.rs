//! Users in the console: an admin opens an account with a role, and
//! deactivates it: its browser session ends at once and it cannot sign in
//! until reactivated.

use reqwest::StatusCode;

use super::browser::Browser;
use super::Book;
use crate::common::PASSWORD;

#[tokio::test]
async fn an_admin_creates_a_user_deactivates_and_reactivates_them() {
    let book = Book::open().await;
    let admin = Browser::new(&book.app);
    admin.sign_in("admin@example.com", PASSWORD).await;

    let form = admin.get("/users/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    // A bad address is said beside its field, what was typed kept.
    let refused = admin
        .submit(
            &form,
            "/users/new",
            &[
                ("full_name", "Otieno Ouma"),
                ("email", "not an address"),
                ("role", "agent"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.html
    );
    assert!(refused.shows("value=\"Otieno Ouma\""), "{}", refused.html);
    let form = admin.get("/users/new").await;
    let created = admin
        .submit(
            &form,
            "/users/new",
            &[
                ("full_name", "Otieno Ouma"),
                ("email", "otieno@example.com"),
                ("phone_number", "0722000111"),
                ("role", "agent"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.html);
    let list = admin.follow(&created).await;
    assert!(
        list.shows("User created: Otieno Ouma can sign in as otieno@example.com"),
        "{}",
        list.html
    );

    // They sign in; the admin deactivates them from the list.
    let agent = Browser::new(&book.app);
    agent.sign_in("otieno@example.com", PASSWORD).await;
    assert_eq!(agent.get("/dashboard").await.status, StatusCode::OK);
    let list = admin.get("/users?role=agent").await;
    let row = list
        .html
        .split("<tr>")
        .find(|r| r.contains("otieno@example.com"))
        .unwrap()
        .to_string();
    let action = row
        .split("action=\"")
        .nth(1)
        .and_then(|a| a.split('"').next())
        .unwrap()
        .to_string();
    assert!(action.ends_with("/deactivate"), "{action}");
    let done = admin.submit(&list, &action, &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    let list = admin.follow(&done).await;
    assert!(list.shows("User deactivated"), "{}", list.html);
    assert!(list.shows("Deactivated"), "{}", list.html);

    // Their session has ended, and signing in says why.
    crate::common::eventually("the agent's session to end", || async {
        let page = agent.get("/dashboard").await;
        (page.status != StatusCode::OK).then_some(())
    })
    .await;
    let again = Browser::new(&book.app);
    let page = again.get("/login").await;
    let refused = again
        .submit(
            &page,
            "/login",
            &[("email", "otieno@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert!(
        refused.shows("this account is deactivated"),
        "{}",
        refused.html
    );

    // Reactivated, they sign in again.
    let list = admin.get("/users?role=agent").await;
    let action = action.replace("/deactivate", "/reactivate");
    let done = admin.submit(&list, &action, &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    let back = Browser::new(&book.app);
    back.sign_in("otieno@example.com", PASSWORD).await;
    assert_eq!(back.get("/dashboard").await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_admin_changes_a_role_on_the_users_page_and_a_refusal_says_why() {
    let book = Book::open().await;
    let admin = Browser::new(&book.app);
    admin.sign_in("admin@example.com", PASSWORD).await;
    book.app
        .user("otieno@example.com", domain::Role::Agent)
        .await;
    let id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'otieno@example.com'")
            .fetch_one(&book.app.db.pool)
            .await
            .unwrap();

    // The list links to the user's page, which offers the role change.
    let list = admin.get("/users?role=agent").await;
    assert!(
        list.shows(&format!("href=\"/users/{id}\"")),
        "{}",
        list.html
    );
    let page = admin.get(&format!("/users/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.shows("Change role"), "{}", page.html);
    let changed = admin
        .submit(&page, &format!("/users/{id}/role"), &[("role", "staff")])
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.html);
    assert_eq!(changed.location(), Some(format!("/users/{id}").as_str()));
    let page = admin.follow(&changed).await;
    assert!(
        page.shows("Role changed: Test agent is now staff"),
        "{}",
        page.html
    );

    // Back to agent, given a customer: now the change is refused, in words,
    // on the same page.
    let page = admin.get(&format!("/users/{id}")).await;
    let back = admin
        .submit(&page, &format!("/users/{id}/role"), &[("role", "agent")])
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.html);
    let customer: uuid::Uuid = sqlx::query_scalar(&format!(
        "SELECT id FROM users WHERE email = '{}'",
        super::CUSTOMER
    ))
    .fetch_one(&book.app.db.pool)
    .await
    .unwrap();
    let assigned = book
        .app
        .post(
            &format!("/customers/{customer}/assign-agent"),
            Some(&book.admin),
            &serde_json::json!({"agent_id": id}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.body);
    crate::common::caught_up(&book.app.db.pool, "users").await;
    let page = admin.get(&format!("/users/{id}")).await;
    let refused = admin
        .submit(&page, &format!("/users/{id}/role"), &[("role", "staff")])
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.html);
    assert!(
        refused.shows("the agent still serves 1 customer(s)"),
        "{}",
        refused.html
    );

    // Their own page offers no role change to the admin.
    let me: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'admin@example.com'")
            .fetch_one(&book.app.db.pool)
            .await
            .unwrap();
    let own = admin.get(&format!("/users/{me}")).await;
    assert!(!own.shows("Change role</button>"), "{}", own.html);
}
