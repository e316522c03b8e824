//! An access token works only while its session does: signing out, a
//! password reset or a change of role stops it within a second, not at its
//! expiry. In production no secret is derived from `JWT_SECRET`.

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::common::*;

async fn login(app: &TestApp, email: &str) -> (String, String) {
    caught_up(&app.db.pool, "users").await;
    let reply = app
        .post(
            "/auth/login",
            None,
            &json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    (
        reply.body["access_token"].as_str().unwrap().to_string(),
        reply.body["refresh_token"].as_str().unwrap().to_string(),
    )
}

async fn refused_soon(app: &TestApp, token: &str) {
    eventually("the access token to stop working", || async {
        let status = app.get("/auth/me", Some(token)).await.status;
        (status == StatusCode::UNAUTHORIZED).then_some(())
    })
    .await;
}

#[tokio::test]
async fn signing_out_ends_that_session_and_no_other() {
    let app = spawn_app().await;
    app.user("c@example.com", domain::Role::Customer).await;
    let (phone, phone_refresh) = login(&app, "c@example.com").await;
    let (laptop, _) = login(&app, "c@example.com").await;
    assert_eq!(
        app.get("/auth/me", Some(&phone)).await.status,
        StatusCode::OK
    );

    let out = app
        .post(
            "/auth/logout",
            Some(&phone),
            &json!({"refresh_token": phone_refresh}),
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);

    refused_soon(&app, &phone).await;
    assert_eq!(
        app.get("/auth/me", Some(&laptop)).await.status,
        StatusCode::OK,
        "the other session goes on"
    );
}

#[tokio::test]
async fn revoked_sessions_and_a_new_role_stop_the_access_tokens() {
    let app = spawn_app().await;
    app.user("c@example.com", domain::Role::Customer).await;
    let (before_reset, _) = login(&app, "c@example.com").await;
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now()
         WHERE user_id = (SELECT id FROM users WHERE email = 'c@example.com')",
    )
    .execute(&app.db.pool)
    .await
    .unwrap();
    refused_soon(&app, &before_reset).await;

    let (staff_token, _) = {
        app.user("s@example.com", domain::Role::Staff).await;
        login(&app, "s@example.com").await
    };
    let staff_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 's@example.com'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    let store = app.store();
    store
        .execute::<domain::user::User>(
            &staff_id.to_string(),
            domain::user::UserCommand::ChangeRole {
                role: domain::Role::Customer,
                customers_served: 0,
                policies_held: 0,
            },
            None,
            &projections::CommandMetadata::system("test"),
        )
        .await
        .unwrap();
    caught_up(&app.db.pool, "users").await;
    let refused = app.get("/auth/me", Some(&staff_token)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    assert!(refused.body.to_string().contains("role has changed"));
}

#[tokio::test]
async fn a_token_without_a_session_is_refused() {
    let app = spawn_app().await;
    let forged = api::auth::tokens::issue_access_token(
        &SecretString::from(JWT_SECRET),
        uuid::Uuid::now_v7(),
        "admin",
        uuid::Uuid::now_v7(),
        std::time::Duration::from_secs(60),
    )
    .unwrap();
    let reply = app.get("/users", Some(&forged)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
}

fn production() -> ifinsure::settings::Settings {
    use base64::Engine;
    ifinsure::settings::Settings {
        production: true,
        master_key: Some(SecretString::from(
            base64::engine::general_purpose::STANDARD.encode([5u8; 32]),
        )),
        chain_key: Some(SecretString::from("chain-key-for-session-tests-0123456789")),
        default_payment_provider: None,
        ..test_settings()
    }
}

#[tokio::test]
async fn in_production_reset_tokens_are_signed_with_a_stored_secret_not_one_derived_from_jwt_secret(
) {
    let app = spawn_app_with(production()).await;
    app.user("c@example.com", domain::Role::Customer).await;
    let (before, _) = login(&app, "c@example.com").await;
    let asked = app
        .post(
            "/auth/password-reset",
            None,
            &json!({"email": "c@example.com"}),
        )
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED);
    let request_id: uuid::Uuid = eventually("the reset request", || async {
        sqlx::query_scalar("SELECT request_id FROM password_resets LIMIT 1")
            .fetch_optional(&app.db.pool)
            .await
            .unwrap()
    })
    .await;

    let derived = api::auth::password_reset::secret(&SecretString::from(JWT_SECRET));
    let forged = domain::password_reset::token(derived.expose_secret().as_bytes(), request_id);
    let new_password = "a brand new passphrase 77";
    let refused = app
        .post(
            "/auth/password-reset/confirm",
            None,
            &json!({"token": forged, "new_password": new_password}),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );

    let vault = production().vault(&SecretString::from(JWT_SECRET)).unwrap();
    let stored = projections::service_secrets::load_or_create(
        &app.db.pool,
        &vault,
        projections::service_secrets::ServiceSecret::PasswordReset,
    )
    .await
    .unwrap();
    assert_ne!(stored.expose_secret(), derived.expose_secret());
    let genuine = domain::password_reset::token(stored.expose_secret().as_bytes(), request_id);
    let reset = app
        .post(
            "/auth/password-reset/confirm",
            None,
            &json!({"token": genuine, "new_password": new_password}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT, "{}", reset.body);
    refused_soon(&app, &before).await;
}
