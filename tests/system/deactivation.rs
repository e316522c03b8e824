//! Deactivating an account: it cannot sign in, its refresh tokens are
//! revoked and its access tokens stop working at once, it is an event
//! naming the admin, and reactivating lets it sign in again.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{eventually, spawn_app, PASSWORD};

#[tokio::test]
async fn a_deactivated_user_is_signed_out_and_cannot_sign_in_until_reactivated() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let agent = app.user("agent@example.com", domain::Role::Agent).await;
    let login = |email: &'static str| {
        let app = &app;
        async move {
            app.post(
                "/auth/login",
                None,
                &json!({"email": email, "password": PASSWORD}),
            )
            .await
        }
    };
    let session = login("agent@example.com").await;
    assert_eq!(session.status, StatusCode::OK, "{}", session.body);
    let refresh = session.body["refresh_token"].as_str().unwrap().to_string();
    let me = app.get("/auth/me", Some(&agent)).await;
    let id = me.body["id"].as_str().unwrap().to_string();

    // Only admins, and not on themselves.
    let by_agent = app
        .post(&format!("/users/{id}/deactivate"), Some(&agent), &json!({}))
        .await;
    assert_eq!(by_agent.status, StatusCode::FORBIDDEN);
    let admin_id = app.get("/auth/me", Some(&admin)).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let own = app
        .post(
            &format!("/users/{admin_id}/deactivate"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(own.status, StatusCode::CONFLICT, "{}", own.body);

    let done = app
        .post(
            &format!("/users/{id}/deactivate"),
            Some(&admin),
            &json!({"reason": "left the agency"}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["status"], "deactivated");
    // A second click records nothing more.
    let again = app
        .post(&format!("/users/{id}/deactivate"), Some(&admin), &json!({}))
        .await;
    assert_eq!(again.status, StatusCode::OK);

    // Its access tokens stop working within the session check's second.
    eventually("the agent's access token to stop working", || async {
        let me = app.get("/auth/me", Some(&agent)).await;
        (me.status == StatusCode::UNAUTHORIZED).then_some(())
    })
    .await;
    let refreshed = app
        .post("/auth/refresh", None, &json!({"refresh_token": refresh}))
        .await;
    assert_eq!(
        refreshed.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        refreshed.body
    );
    let refused = login("agent@example.com").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body["detail"]
        .as_str()
        .unwrap()
        .contains("deactivated"));
    // The wrong password is told nothing more.
    let wrong = app
        .post(
            "/auth/login",
            None,
            &json!({"email": "agent@example.com", "password": "not the password at all"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    // The audit trail: one event, naming the admin and the reason.
    let events = app
        .get(
            &format!("/audit/events?aggregate_type=User&aggregate_id={id}"),
            Some(&admin),
        )
        .await;
    let deactivations: Vec<_> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "UserDeactivated")
        .collect();
    assert_eq!(deactivations.len(), 1, "{}", events.body);
    assert_eq!(deactivations[0]["metadata"]["user_id"], admin_id);
    assert_eq!(
        deactivations[0]["payload"]["UserDeactivated"]["reason"],
        "left the agency"
    );

    // Reactivated: a new sign-in works; the old sessions stay ended.
    let back = app
        .post(&format!("/users/{id}/reactivate"), Some(&admin), &json!({}))
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert_eq!(back.body["status"], "active");
    let signed_in = login("agent@example.com").await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    let old = app.get("/auth/me", Some(&agent)).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let listed = app.get("/users?role=agent", Some(&admin)).await;
    assert_eq!(listed.body["items"][0]["status"], "active");
}
