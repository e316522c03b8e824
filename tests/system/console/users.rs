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
