//! Accounts and sessions over HTTP.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{spawn_app, spawn_app_with, test_settings, PASSWORD};

fn registration(email: &str) -> serde_json::Value {
    json!({"email": email, "password": PASSWORD, "full_name": "Amina Njeri", "phone_number": "0712345678"})
}

#[tokio::test]
async fn register_then_login_then_me() {
    let app = spawn_app().await;
    let created = app
        .post("/auth/register", None, &registration("Amina@Example.com"))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["role"], "customer");
    assert_eq!(created.body["email"], "amina@example.com");
    assert_eq!(created.body["phone_number"], "+254712345678");
    assert_eq!(created.header("etag"), Some("\"1\""));

    let login = app
        .post(
            "/auth/login",
            None,
            &json!({"email": "amina@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(login.body["token_type"], "Bearer");
    assert_eq!(login.body["expires_in"], 900);
    let token = login.body["access_token"].as_str().unwrap();

    let me = app.get("/auth/me", Some(token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["id"], created.body["id"]);
    assert_eq!(me.body["full_name"], "Amina Njeri");
    assert!(me.body.get("password_hash").is_none());
}

#[tokio::test]
async fn registering_an_email_twice_is_a_conflict() {
    let app = spawn_app().await;
    assert_eq!(
        app.post("/auth/register", None, &registration("a@example.com"))
            .await
            .status,
        StatusCode::CREATED
    );
    let again = app
        .post("/auth/register", None, &registration("A@example.com"))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["code"], "email_taken");
}

#[tokio::test]
async fn weak_passwords_and_bad_fields_are_listed_together() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/auth/register",
            None,
            &json!({"email": "not-an-email", "password": "password1234", "full_name": " ", "phone_number": "call me"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body["code"], "validation_failed");
    let fields: Vec<&str> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "phone_number", "password", "full_name"]);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_look_the_same() {
    let app = spawn_app().await;
    app.post("/auth/register", None, &registration("b@example.com"))
        .await;
    let wrong = app
        .post(
            "/auth/login",
            None,
            &json!({"email": "b@example.com", "password": "nope nope nope"}),
        )
        .await;
    let unknown = app
        .post(
            "/auth/login",
            None,
            &json!({"email": "nobody@example.com", "password": "nope nope nope"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body["detail"], unknown.body["detail"]);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = spawn_app().await;
    app.post("/auth/register", None, &registration("c@example.com"))
        .await;
    let login = app
        .post(
            "/auth/login",
            None,
            &json!({"email": "c@example.com", "password": PASSWORD}),
        )
        .await;
    let first = login.body["refresh_token"].as_str().unwrap().to_string();

    let rotated = app
        .post("/auth/refresh", None, &json!({"refresh_token": first}))
        .await;
    assert_eq!(rotated.status, StatusCode::OK);
    let second = rotated.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    let token = rotated.body["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/auth/me", Some(token)).await.status,
        StatusCode::OK
    );

    // The spent token presented again: refused, and the whole family revoked.
    let reused = app
        .post("/auth/refresh", None, &json!({"refresh_token": first}))
        .await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED);
    let after = app
        .post("/auth/refresh", None, &json!({"refresh_token": second}))
        .await;
    assert_eq!(
        after.status,
        StatusCode::UNAUTHORIZED,
        "the newer token died with its family"
    );

    // Another login is another family, unaffected.
    let fresh = app
        .post(
            "/auth/login",
            None,
            &json!({"email": "c@example.com", "password": PASSWORD}),
        )
        .await;
    let third = fresh.body["refresh_token"].as_str().unwrap();
    assert_eq!(
        app.post("/auth/refresh", None, &json!({"refresh_token": third}))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = spawn_app().await;
    app.post("/auth/register", None, &registration("d@example.com"))
        .await;
    let login = app
        .post(
            "/auth/login",
            None,
            &json!({"email": "d@example.com", "password": PASSWORD}),
        )
        .await;
    let access = login.body["access_token"].as_str().unwrap();
    let refresh = login.body["refresh_token"].as_str().unwrap();
    let out = app
        .post(
            "/auth/logout",
            Some(access),
            &json!({"refresh_token": refresh}),
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.post("/auth/refresh", None, &json!({"refresh_token": refresh}))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn parallel_attempt_reservations_never_pass_the_threshold() {
    let app = spawn_app().await;
    app.post("/auth/register", None, &registration("race@example.com"))
        .await;
    let user_id: uuid::Uuid =
        sqlx::query_scalar("SELECT user_id FROM credentials WHERE email = 'race@example.com'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    let lock_for = std::time::Duration::from_secs(900);
    for round in 0..10 {
        let attempts: Vec<_> = (0..30)
            .map(|_| {
                let pool = app.db.pool.clone();
                tokio::spawn(async move {
                    api::auth::credentials::reserve_attempt(&pool, user_id, 5, lock_for)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut reserved = Vec::new();
        for attempt in attempts {
            if let Some(n) = attempt.await.unwrap() {
                reserved.push(n);
            }
        }
        reserved.sort_unstable();
        assert_eq!(reserved, [1, 2, 3, 4, 5], "round {round}");
        // The lock runs out: the count starts again.
        sqlx::query("UPDATE credentials SET locked_until = now() - interval '1 second'")
            .execute(&app.db.pool)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_parallel_guesses_cannot_outrun_the_lockout() {
    let app = std::sync::Arc::new(spawn_app().await);
    app.post("/auth/register", None, &registration("burst@example.com"))
        .await;
    for round in 0..3 {
        // Twenty connections open, then every guess leaves at once.
        let warm: Vec<_> = (0..20)
            .map(|_| {
                let app = app.clone();
                tokio::spawn(async move { app.get("/health", None).await.status })
            })
            .collect();
        for connection in warm {
            assert_eq!(connection.await.unwrap(), StatusCode::OK);
        }
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(20));
        let guesses: Vec<_> = (0..20)
            .map(|_| {
                let (app, start) = (app.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    app.post(
                        "/auth/login",
                        None,
                        &json!({"email": "burst@example.com", "password": "wrong password!"}),
                    )
                    .await
                    .status
                })
            })
            .collect();
        let mut checked = 0;
        for guess in guesses {
            let status = guess.await.unwrap();
            assert!(
                status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS,
                "{status}"
            );
            // Only the attempts before the lock are checked; 401 = checked
            // and wrong, and the one that locks answers 429 itself.
            if status == StatusCode::UNAUTHORIZED {
                checked += 1;
            }
        }
        assert!(checked <= 4, "round {round}: {checked} guesses checked");
        let right = app
            .post(
                "/auth/login",
                None,
                &json!({"email": "burst@example.com", "password": PASSWORD}),
            )
            .await;
        assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS, "round {round}");
        assert_eq!(right.body["code"], "account_locked");
        let failed: i32 = sqlx::query_scalar(
            "SELECT failed_logins FROM credentials WHERE email = 'burst@example.com'",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        assert_eq!(
            failed, 5,
            "round {round}: counted up to the threshold, not past it"
        );
        sqlx::query("UPDATE credentials SET locked_until = now() - interval '1 second'")
            .execute(&app.db.pool)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn five_failed_logins_lock_the_account_even_for_the_right_password() {
    let app = spawn_app().await;
    app.post("/auth/register", None, &registration("e@example.com"))
        .await;
    for attempt in 1..=4 {
        let r = app
            .post(
                "/auth/login",
                None,
                &json!({"email": "e@example.com", "password": "wrong password!"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let fifth = app
        .post(
            "/auth/login",
            None,
            &json!({"email": "e@example.com", "password": "wrong password!"}),
        )
        .await;
    assert_eq!(fifth.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(fifth.body["code"], "account_locked");
    let right = app
        .post(
            "/auth/login",
            None,
            &json!({"email": "e@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(right.body["code"], "account_locked");
    let retry: u64 = right.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (800..=900).contains(&retry),
        "locked for about 15 minutes, got {retry}s"
    );

    sqlx::query("UPDATE credentials SET locked_until = now() - interval '1 second'")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let unlocked = app
        .post(
            "/auth/login",
            None,
            &json!({"email": "e@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(unlocked.status, StatusCode::OK, "the lock expires");
}

#[tokio::test]
async fn auth_requests_are_rate_limited_per_client_address() {
    let mut settings = test_settings();
    settings.auth_rate_limit_per_minute = 3;
    let app = spawn_app_with(settings).await;
    for _ in 0..3 {
        let r = app
            .post(
                "/auth/login",
                None,
                &json!({"email": "x@example.com", "password": "whatever whatever"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let limited = app
        .post(
            "/auth/login",
            None,
            &json!({"email": "y@example.com", "password": "whatever whatever"}),
        )
        .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.body["code"], "rate_limited");
    assert!(limited.header("retry-after").is_some());
}

#[tokio::test]
async fn a_missing_or_forged_token_is_401() {
    let app = spawn_app().await;
    let none = app.get("/auth/me", None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        none.header("content-type"),
        Some("application/problem+json")
    );
    let forged = app
        .get("/auth/me", Some("eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"))
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn admins_create_users_and_staff_assign_agents() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let staff = app.user("staff@example.com", domain::Role::Staff).await;
    let agent = app
        .post("/users", Some(&admin), &json!({"email": "agent@example.com", "password": PASSWORD, "full_name": "Chebet", "role": "agent"}))
        .await;
    assert_eq!(agent.status, StatusCode::CREATED, "{}", agent.body);
    assert_eq!(agent.body["role"], "agent");
    let agent_path = format!("/users/{}", agent.body["id"].as_str().unwrap());
    assert_eq!(
        app.get(&agent_path, Some(&admin)).await.body,
        agent.body,
        "read-your-writes"
    );
    let customer = app
        .post("/auth/register", None, &registration("f@example.com"))
        .await;
    let customer_id = customer.body["id"].as_str().unwrap();

    let by_staff = app
        .post("/users", Some(&staff), &json!({"email": "g@example.com", "password": PASSWORD, "full_name": "G", "role": "admin"}))
        .await;
    assert_eq!(
        by_staff.status,
        StatusCode::FORBIDDEN,
        "only admins create users"
    );

    let assigned = app
        .post(
            &format!("/customers/{customer_id}/assign-agent"),
            Some(&staff),
            &json!({"agent_id": agent.body["id"]}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.body);
    assert_eq!(assigned.body["agent_id"], agent.body["id"]);
    assert_eq!(assigned.header("etag"), Some("\"2\""));

    let not_an_agent = app
        .post(
            &format!("/customers/{customer_id}/assign-agent"),
            Some(&staff),
            &json!({"agent_id": customer_id}),
        )
        .await;
    assert_eq!(not_an_agent.status, StatusCode::UNPROCESSABLE_ENTITY);

    let agents = app.get("/users?role=agent", Some(&admin)).await;
    assert_eq!(agents.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_customer_learns_nothing_about_other_accounts_from_a_claim_assignment() {
    let app = spawn_app().await;
    let customer = app.user("c@example.com", domain::Role::Customer).await;
    let staff = app.user("s@example.com", domain::Role::Staff).await;
    let staff_id = app.get("/auth/me", Some(&staff)).await.body["id"].clone();
    let claim = uuid::Uuid::new_v4();
    let mut answers = Vec::new();
    for assignee in [staff_id, json!(uuid::Uuid::new_v4())] {
        let reply = app
            .post(
                &format!("/claims/{claim}/assign"),
                Some(&customer),
                &json!({"assignee_id": assignee}),
            )
            .await;
        answers.push((reply.status, reply.body["code"].clone()));
    }
    assert_eq!(answers[0], answers[1], "staff or not, the same answer");
    assert_eq!(answers[0].0, StatusCode::FORBIDDEN);
}

async fn login_from(app: &crate::common::TestApp, forwarded_for: &str) -> StatusCode {
    app.send(
        reqwest::Method::POST,
        "/auth/login",
        None,
        Some(&json!({"email": "x@example.com", "password": "whatever whatever"})),
        &[("x-forwarded-for", forwarded_for)],
    )
    .await
    .status
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_rate_limit() {
    let settings = ifinsure::settings::Settings {
        auth_rate_limit_per_minute: 3,
        trusted_proxies: api::client_address::parse_trusted("127.0.0.1/32").unwrap(),
        ..test_settings()
    };
    let app = spawn_app_with(settings).await;
    for _ in 0..3 {
        assert_eq!(
            login_from(&app, "198.51.100.1").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login_from(&app, "198.51.100.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login_from(&app, "198.51.100.2").await,
        StatusCode::UNAUTHORIZED,
        "another client behind the same proxy is not limited"
    );
    assert_eq!(
        login_from(&app, "6.6.6.6, 198.51.100.1").await,
        StatusCode::TOO_MANY_REQUESTS,
        "what a client prepends is not believed"
    );
}

#[tokio::test]
async fn a_forwarding_header_from_an_untrusted_peer_changes_nothing() {
    let settings = ifinsure::settings::Settings {
        auth_rate_limit_per_minute: 3,
        ..test_settings()
    };
    let app = spawn_app_with(settings).await;
    for n in 0..3 {
        assert_eq!(
            login_from(&app, &format!("198.51.100.{n}")).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login_from(&app, "198.51.100.99").await,
        StatusCode::TOO_MANY_REQUESTS,
        "a spoofed address is not a new bucket"
    );
}
