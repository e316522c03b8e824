//! The `ifinsure` command against a real database.

use std::process::Command;

use crate::common::{TestDb, PASSWORD};

fn ifinsure(db: &TestDb, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_ifinsure"))
        .args(args)
        .env("DATABASE_URL", &db.url)
        // The service's secret: the chain key that seals events derives
        // from it, and commands on this database must use the same one.
        .env("JWT_SECRET", crate::common::JWT_SECRET)
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
    let store = crate::common::store(&db.pool);
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

/// `ifinsure serve` in a scratch directory (no `.env` of the project's)
/// with these variables: its exit code and standard error.
fn serve_with(env: &[(&str, &str)], dir: &std::path::Path) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ifinsure"));
    command
        .arg("serve")
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("JWT_SECRET")
        .env("RUST_BACKTRACE", "1")
        .env("RUST_LOG", "warn");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("running ifinsure");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A setup error: exit code 2 and exactly one line, with no backtrace even
/// under `RUST_BACKTRACE=1`.
#[track_caller]
fn assert_one_line(result: &(Option<i32>, String), says: &[&str]) {
    let (code, stderr) = result;
    assert_eq!(*code, Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].starts_with("ifinsure: "), "{stderr}");
    for words in says {
        assert!(lines[0].contains(words), "{words:?} in {stderr}");
    }
    assert!(
        !stderr.contains("backtrace") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ifinsure-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const DATABASE: &str = "postgres://postgres@127.0.0.1:1/none";

#[tokio::test]
async fn serve_with_its_address_taken_exits_2_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let db = TestDb::new().await;
    let dir = scratch_dir("taken");

    let result = serve_with(
        &[
            ("DATABASE_URL", &db.url),
            ("JWT_SECRET", crate::common::JWT_SECRET),
            ("LISTEN_ADDR", &addr),
            (
                "DOCUMENT_STORE_PATH",
                dir.join("documents").to_str().unwrap(),
            ),
        ],
        &dir,
    );

    assert_one_line(&result, &[&format!("LISTEN_ADDR {addr} is already in use")]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn serve_with_an_unreachable_database_exits_2_saying_which_and_why() {
    let dir = scratch_dir("unreachable");
    let result = serve_with(
        &[
            (
                "DATABASE_URL",
                "postgres://ifinsure:hunter2-secret@127.0.0.1:1/book",
            ),
            ("JWT_SECRET", crate::common::JWT_SECRET),
        ],
        &dir,
    );
    assert_one_line(
        &result,
        &[
            "cannot connect to PostgreSQL at postgres://ifinsure@127.0.0.1:1/book",
            "refused",
            "DATABASE_URL",
        ],
    );
    assert!(!result.1.contains("hunter2"), "the password is not shown");

    let result = serve_with(
        &[
            ("DATABASE_URL", "mysql://root@127.0.0.1/book"),
            ("JWT_SECRET", crate::common::JWT_SECRET),
        ],
        &dir,
    );
    assert_one_line(&result, &["DATABASE_URL is not a PostgreSQL URL"]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn serve_without_a_jwt_secret_or_with_a_short_one_exits_2_before_any_database() {
    let dir = scratch_dir("jwt");
    let missing = serve_with(&[("DATABASE_URL", DATABASE)], &dir);
    assert_one_line(&missing, &["JWT_SECRET is not set", "openssl rand"]);

    // The database named cannot be reached: the secret is refused first.
    let short = serve_with(
        &[("DATABASE_URL", DATABASE), ("JWT_SECRET", "too-short")],
        &dir,
    );
    assert_one_line(&short, &["JWT_SECRET must be at least 32 bytes (it has 9)"]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_bad_setting_in_the_environment_or_in_dotenv_exits_2_naming_it() {
    let dir = scratch_dir("settings");
    let result = serve_with(
        &[
            ("DATABASE_URL", DATABASE),
            ("JWT_SECRET", crate::common::JWT_SECRET),
            ("LISTEN_ADDR", "localhost-8080"),
        ],
        &dir,
    );
    assert_one_line(&result, &["LISTEN_ADDR=\"localhost-8080\" is invalid"]);

    std::fs::write(dir.join(".env"), "PAYMENT_MAX_ATTEMPTS=many\n").unwrap();
    let result = serve_with(
        &[
            ("DATABASE_URL", DATABASE),
            ("JWT_SECRET", crate::common::JWT_SECRET),
        ],
        &dir,
    );
    assert_one_line(&result, &["PAYMENT_MAX_ATTEMPTS=\"many\" is invalid"]);

    std::fs::write(dir.join(".env"), "JWT_SECRET\n").unwrap();
    let result = serve_with(&[("DATABASE_URL", DATABASE)], &dir);
    assert_one_line(&result, &[".env could not be read", "NAME=value"]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_command_that_needs_the_service_database_says_to_set_it() {
    let output = Command::new(env!("CARGO_BIN_EXE_ifinsure"))
        .args(["projections", "status"])
        .current_dir(scratch_dir("needs-database"))
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let result = (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    assert_one_line(&result, &["DATABASE_URL is not set"]);
}

#[test]
fn production_refuses_to_start_with_the_sandbox_as_its_payment_provider() {
    let dir = scratch_dir("production-sandbox");
    let result = serve_with(
        &[
            ("DATABASE_URL", DATABASE),
            ("JWT_SECRET", crate::common::JWT_SECRET),
            ("IFINSURE_ENV", "production"),
            ("DEFAULT_PAYMENT_PROVIDER", "sandbox"),
        ],
        &dir,
    );
    assert_one_line(
        &result,
        &["DEFAULT_PAYMENT_PROVIDER=sandbox with IFINSURE_ENV=production"],
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn production_refuses_to_start_without_its_own_chain_key() {
    let dir = scratch_dir("production-chain-key");
    let result = serve_with(
        &[
            ("DATABASE_URL", DATABASE),
            ("JWT_SECRET", crate::common::JWT_SECRET),
            ("IFINSURE_ENV", "production"),
            (
                "IFINSURE_MASTER_KEY",
                "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
            ),
        ],
        &dir,
    );
    assert_one_line(
        &result,
        &["CHAIN_KEY is required when IFINSURE_ENV=production"],
    );
    let _ = std::fs::remove_dir_all(dir);
}
