//! The `ifinsure` command against a real database.

use std::process::Command;

use crate::common::{TestDb, PASSWORD};

fn ifinsure(db: &TestDb, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_ifinsure"))
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "warn")
        .output()
        .expect("running ifinsure");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn users_create_bootstraps_an_admin_who_can_log_in() {
    let db = TestDb::new().await;
    let (ok, out) = ifinsure(&db, &["migrate"]);
    assert!(ok, "{out}");
    let (ok, out) = ifinsure(
        &db,
        &[
            "users",
            "create",
            "--email",
            "ops@insurer.co.ke",
            "--password",
            PASSWORD,
            "--full-name",
            "Ops Admin",
            "--role",
            "admin",
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("created ops@insurer.co.ke (admin)"), "{out}");

    let (ok, out) = ifinsure(
        &db,
        &[
            "users",
            "create",
            "--email",
            "ops@insurer.co.ke",
            "--password",
            PASSWORD,
            "--full-name",
            "Again",
            "--role",
            "admin",
        ],
    );
    assert!(!ok, "a second account with the same email is refused");
    assert!(out.contains("already exists"), "{out}");

    let (ok, out) = ifinsure(
        &db,
        &[
            "users",
            "create",
            "--email",
            "weak@insurer.co.ke",
            "--password",
            "short",
            "--full-name",
            "W",
            "--role",
            "staff",
        ],
    );
    assert!(!ok);
    assert!(
        out.contains("password: must be at least 12 characters"),
        "{out}"
    );

    let (ok, out) = ifinsure(
        &db,
        &[
            "users",
            "create",
            "--email",
            "x@y.co",
            "--password",
            PASSWORD,
            "--full-name",
            "X",
            "--role",
            "king",
        ],
    );
    assert!(!ok, "{out}");

    let app = crate::common::start_on(db, crate::common::test_settings()).await;
    let token = app.wait_for_login("ops@insurer.co.ke").await;
    let me = app.get("/auth/me", Some(&token)).await;
    assert_eq!(me.body["role"], "admin");
}

#[tokio::test]
async fn projections_status_and_rebuild_work_from_the_command_line() {
    let db = TestDb::new().await;
    let store = projections::EventStore::new(db.pool.clone());
    ifinsure::seed::seed(&db.pool, &store).await.unwrap();

    let (ok, out) = ifinsure(&db, &["projections", "status"]);
    assert!(ok, "{out}");
    assert!(out.contains("products") && out.contains("users"), "{out}");

    let (ok, out) = ifinsure(&db, &["projections", "rebuild", "products"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("rebuilt products: 12 events replayed"),
        "{out}"
    );
    let products: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(products, 7);

    let (ok, out) = ifinsure(&db, &["projections", "rebuild", "--all"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("rebuilt users") && out.contains("rebuilt products"),
        "{out}"
    );

    let (ok, out) = ifinsure(&db, &["projections", "rebuild", "nonsense"]);
    assert!(!ok);
    assert!(out.contains("known: products, users"), "{out}");
}

#[test]
fn serve_refuses_to_start_without_a_jwt_secret() {
    let output = Command::new(env!("CARGO_BIN_EXE_ifinsure"))
        .arg("serve")
        .env_remove("JWT_SECRET")
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("JWT_SECRET is not set"));
}

#[test]
fn serve_refuses_a_short_jwt_secret() {
    let output = Command::new(env!("CARGO_BIN_EXE_ifinsure"))
        .arg("serve")
        .env("JWT_SECRET", "too-short")
        .env(
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        )
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("at least 32 bytes"));
}
