//! The test harness: a fresh database per test on `DATABASE_URL`'s server,
//! or on a private temporary cluster when it is not set; and `spawn_app()`,
//! the whole service on a random port against that database.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use ifinsure::app::{self, Parts, Running};
use ifinsure::database::{Options, TemporaryServer};
use ifinsure::settings::Settings;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection, PgPool};

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";
pub const PASSWORD: &str = "kilimanjaro sunrise 42";

static SERVER_URL: OnceLock<String> = OnceLock::new();
static TEMPORARY: Mutex<Option<TemporaryServer>> = Mutex::new(None);
static COUNTER: AtomicUsize = AtomicUsize::new(0);

extern "C" fn stop_temporary_server() {
    if let Ok(mut server) = TEMPORARY.lock() {
        drop(server.take());
    }
}

/// The server's base URL (without a database name).
fn server_url() -> &'static str {
    SERVER_URL.get_or_init(|| {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            return url;
        }
        let server = std::thread::spawn(|| {
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(TemporaryServer::start(Options::from_env()))
                .unwrap_or_else(|e| {
                    panic!("starting a temporary PostgreSQL (or set DATABASE_URL): {e}")
                })
        })
        .join()
        .unwrap();
        let url = server.url().to_string();
        *TEMPORARY.lock().unwrap() = Some(server);
        unsafe {
            libc::atexit(stop_temporary_server);
        }
        url
    })
}

fn url_for(database: &str) -> String {
    let base = server_url();
    let (without_query, query) = base.split_once('?').map_or((base, ""), |(a, b)| (a, b));
    let prefix = without_query
        .rsplit_once('/')
        .map_or(without_query, |(p, _)| p);
    if query.is_empty() {
        format!("{prefix}/{database}")
    } else {
        format!("{prefix}/{database}?{query}")
    }
}

async fn admin_connection() -> PgConnection {
    PgConnection::connect(server_url())
        .await
        .expect("connecting to the test server")
}

/// Drops test databases left by test processes that no longer run.
async fn sweep_stale(conn: &mut PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'ifinsure_test_%'")
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    for name in names {
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut *conn)
                .await;
        }
    }
}

/// A fresh, migrated database, dropped with this value.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("ifinsure_test_{}_{n}", std::process::id());
        let mut admin = admin_connection().await;
        if n == 0 {
            sweep_stale(&mut admin).await;
        }
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("creating a test database");
        let url = url_for(&name);
        let pool = projections::db::connect(&url, 30)
            .await
            .expect("connecting");
        app::prepare(&pool).await.expect("migrating");
        TestDb { name, url, pool }
    }
}

impl TestDb {
    /// Where apps on this database keep claim documents (removed with it).
    pub fn documents_dir(&self) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("ifinsure-test-documents-{}", self.name))
    }

    /// Where the sandbox writes this test's notifications (removed on drop
    /// with the documents).
    pub fn outbox_dir(&self) -> std::path::PathBuf {
        self.documents_dir().join("outbox")
    }

    /// Where apps on this database keep the anchor's copy of checkpoints.
    pub fn anchor_dir(&self) -> std::path::PathBuf {
        self.documents_dir().join("anchors")
    }
}

/// The event store of this database as the test apps open it (sealing
/// with their chain key).
pub fn store(pool: &PgPool) -> projections::EventStore {
    use secrecy::ExposeSecret as _;
    let key = test_settings().chain_key(&SecretString::from(JWT_SECRET));
    projections::EventStore::new(
        pool.clone(),
        projections::event_store::seal::SealKey::new(key.expose_secret().as_bytes()),
    )
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.documents_dir());
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let mut admin = admin_connection().await;
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await;
            });
        })
        .join();
    }
}

/// The longest a test waits for the asynchronous side of the system (read
/// models, workers, webhooks): generous, for a loaded machine. A passing
/// test waits only as long as its condition takes.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// Polls `probe` until it yields a value, failing after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, probe: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {PATIENCE:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until subscription `name` has handled (or passed over) every event
/// committed before this call: its checkpoint reaches the stream's head.
pub async fn caught_up(pool: &PgPool, name: &str) {
    let head: Option<(i64, i64)> = sqlx::query_as(
        "SELECT tx_id::text::bigint, global_position FROM events
         ORDER BY tx_id DESC, global_position DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
    .unwrap();
    let Some(head) = head else { return };
    eventually(&format!("{name} to reach {head:?}"), || async {
        let at: Option<(i64, i64)> = sqlx::query_as(
            "SELECT tx_id, global_position FROM subscription_checkpoints WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(pool)
        .await
        .unwrap();
        at.filter(|at| *at >= head)
    })
    .await;
}

/// The business date tests start on (their clock is fixed; tests move it).
pub const TODAY: &str = "2026-11-25";

pub fn test_settings() -> Settings {
    Settings {
        database_url: None,
        // Two apps (and in one test a third, workers-only process) run at
        // once on a server of 100 connections: each keeps well under half
        // (API pool, subscriptions' pool, one lock connection per
        // subscription, two for LISTEN/NOTIFY).
        database_max_connections: 10,
        subscription_pool_size: Some(8),
        listen_addr: "127.0.0.1:0".parse().unwrap(),
        public_base_url: None,
        jwt_secret: Some(SecretString::from(JWT_SECRET)),
        access_token_ttl: Duration::from_secs(900),
        refresh_token_ttl: Duration::from_secs(3600),
        auth_rate_limit_per_minute: 10_000,
        // Generous: the suite runs many apps at once on two cores, and a
        // lagging read model past the timeout answers from the aggregate,
        // which a test's next read of the read model would then miss.
        read_your_writes_timeout: Duration::from_secs(60),
        subscription_batch_size: 500,
        subscription_poll_interval: Duration::from_millis(500),
        idempotency_key_retention: Duration::from_secs(3600),
        clock: std::sync::Arc::new(projections::clock::SettableClock::at(
            TODAY.parse().unwrap(),
        )),
        sandbox_webhook_delay: Some(Duration::from_millis(20)),
        payment_reconcile_after: Duration::from_secs(3600),
        scheduler_interval: Duration::from_secs(3600),
        notification_retry_base: Duration::from_millis(20),
        ..Settings::default()
    }
}

/// The whole service on a random port.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub running: Option<Running>,
    pub db: TestDb,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(test_settings()).await
}

pub async fn spawn_app_with(settings: Settings) -> TestApp {
    let db = TestDb::new().await;
    start_on(db, settings).await
}

pub async fn start_on(db: TestDb, mut settings: Settings) -> TestApp {
    settings.document_store =
        projections::documents::DocumentStoreConfig::Local(db.documents_dir());
    settings.notification_outbox = db.outbox_dir();
    if settings.chain_anchor != ifinsure::settings::ChainAnchor::None {
        settings.chain_anchor = ifinsure::settings::ChainAnchor::Directory(db.anchor_dir());
    }
    let running = app::start(
        &settings,
        db.pool.clone(),
        SecretString::from(JWT_SECRET),
        Parts::ALL,
    )
    .await
    .expect("starting the app");
    let base = format!("http://{}/api/v1", running.addr.unwrap());
    TestApp {
        base,
        client: reqwest::Client::new(),
        running: Some(running),
        db,
    }
}

/// A response's status, headers and JSON body (`Null` if none).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    /// Stops the service and returns its database.
    pub async fn stop(mut self) -> TestDb {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
        self.db
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request failed");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send(Method::POST, path, token, Some(body), &[]).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Method::GET, path, token, None, &[]).await
    }

    /// The running app's event store (sealing with its chain key).
    pub fn store(&self) -> projections::EventStore {
        self.running
            .as_ref()
            .map(|running| running.store.clone())
            .unwrap_or_else(|| store(&self.db.pool))
    }

    /// Creates a user of `role` directly (as the CLI does) and logs in once
    /// the users read model has it.
    pub async fn user(&self, email: &str, role: domain::Role) -> String {
        let store = self.store();
        let account = api::accounts::NewAccount {
            email: email.into(),
            password: PASSWORD.into(),
            full_name: format!("Test {role}"),
            phone_number: Some("+254711000000".into()),
            role,
        };
        api::accounts::open_account(
            &self.db.pool,
            &store,
            account,
            &projections::CommandMetadata::system("test"),
        )
        .await
        .expect("creating a user");
        self.wait_for_login(email).await
    }

    /// Logs in once the users read model has handled every event committed
    /// so far (the condition read-your-writes waits on), so a login is
    /// tried once: a failed one would count towards the account's lockout.
    pub async fn wait_for_login(&self, email: &str) -> String {
        caught_up(&self.db.pool, "users").await;
        let reply = self
            .post(
                "/auth/login",
                None,
                &json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{email} could not log in: {}",
            reply.body
        );
        reply.body["access_token"].as_str().unwrap().to_string()
    }

    pub async fn admin(&self) -> String {
        self.user("admin@example.com", domain::Role::Admin).await
    }
}

pub fn motor_product(code: &str) -> Value {
    json!({
        "code": code,
        "name": "Motor Private Comprehensive",
        "line": "motor",
        "description": "Private cars",
        "currency": "KES",
        "rate": "0.035",
        "minimum_premium": {"amount": "15000.00", "currency": "KES"},
        "sum_insured_min": {"amount": "200000.00", "currency": "KES"},
        "sum_insured_max": {"amount": "20000000.00", "currency": "KES"},
        "term_months": 12
    })
}

/// An API-only process (no projections, no workers) on `pool`, its base URL,
/// and an admin's access token for it.
pub async fn spawn_api_only(pool: PgPool, mut settings: Settings) -> (Running, String, String) {
    // An API-only process in these tests serves no documents; keep its
    // (empty) store out of the working tree.
    settings.document_store = projections::documents::DocumentStoreConfig::Local(
        std::env::temp_dir().join("ifinsure-test-documents-api-only"),
    );
    let running = app::start(
        &settings,
        pool.clone(),
        SecretString::from(JWT_SECRET),
        Parts {
            api: true,
            projections: false,
            workers: false,
        },
    )
    .await
    .expect("starting the API");
    let base = format!("http://{}/api/v1", running.addr.unwrap());
    (running, base, admin_token(&pool).await)
}

/// An admin's access token, signed with the test secret, in a session of
/// its own (an account no read model has yet: its role cannot have
/// changed).
pub async fn admin_token(pool: &PgPool) -> String {
    let admin = uuid::Uuid::now_v7();
    let (_, session) = api::auth::refresh_tokens::issue(pool, admin, Duration::from_secs(3600))
        .await
        .expect("starting a session");
    api::auth::tokens::issue_access_token(
        &SecretString::from(JWT_SECRET),
        admin,
        "admin",
        session,
        Duration::from_secs(60),
    )
    .expect("signing a token")
}

/// Everything logged (debug and up) by this test process from the first
/// call on, to check that no secret is ever written to a log line.
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

struct CapturedWriter(CapturedLogs);

impl std::io::Write for CapturedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 .0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once) a global subscriber capturing every log line.
pub fn captured_logs() -> CapturedLogs {
    static LOGS: std::sync::OnceLock<CapturedLogs> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = CapturedLogs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("debug,hyper=info,hyper_util=info,h2=info,reqwest=info,wiremock=info")
            .with_ansi(false)
            .with_writer(move || CapturedWriter(writer.clone()))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        logs
    })
    .clone()
}
