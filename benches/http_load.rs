//! HTTP load benchmark of the command and query paths (run with
//! `cargo bench --bench http_load`; release build).
//!
//! Against the PostgreSQL of `DATABASE_URL` (default: the local server), in
//! a fresh database, it measures in one run:
//!
//! 1. the floor: `pgbench` inserting single event-shaped rows, 32 clients;
//! 2. `POST /policies/products` on new aggregates, 64 clients;
//! 3. `GET /policies/products/{id}`, 64 clients;
//! 4. `POST .../reprice` on one hot aggregate, 16 clients (client-visible
//!    conflicts counted);
//! 5. projection lag at half the load of (2): how long each command waited
//!    from its events' commit until the read model had them, as reported in
//!    its `Server-Timing: projection;dur=` header.
//!
//! `BENCH_SECONDS` sets each phase's length (default 10).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ifinsure::app::{self, Parts};
use ifinsure::settings::Settings;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};

const SECRET: &str = "bench-secret-bench-secret-bench-secret-42";
const PASSWORD: &str = "kilimanjaro sunrise 42";

#[derive(Default)]
struct Tally {
    ok: u64,
    conflicts: u64,
    errors: u64,
    latencies: Vec<Duration>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        self.conflicts += other.conflicts;
        self.errors += other.errors;
        self.latencies.extend(other.latencies);
    }

    fn percentile(&mut self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        self.latencies.sort();
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index].as_secs_f64() * 1000.0
    }

    fn report(&mut self, name: &str, elapsed: Duration) -> f64 {
        let rate = self.ok as f64 / elapsed.as_secs_f64();
        println!(
            "{name:<44} {rate:>9.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ok {:>7}  conflicts {:>4}  errors {:>4}",
            self.percentile(0.50),
            self.percentile(0.99),
            self.ok,
            self.conflicts,
            self.errors
        );
        rate
    }
}

fn settings(listen: &str) -> Settings {
    Settings {
        database_url: None,
        database_max_connections: 40,
        listen_addr: listen.parse().unwrap(),
        jwt_secret: Some(SecretString::from(SECRET)),
        access_token_ttl: Duration::from_secs(3600),
        refresh_token_ttl: Duration::from_secs(3600),
        auth_rate_limit_per_minute: 100_000,
        read_your_writes_timeout: Duration::from_secs(5),
        subscription_batch_size: 500,
        subscription_poll_interval: Duration::from_millis(500),
        idempotency_key_retention: Duration::from_secs(3600),
        ..Settings::default()
    }
}

fn product(code: &str) -> Value {
    json!({
        "code": code, "name": "Bench Motor", "line": "motor", "description": "load test",
        "currency": "KES", "rate": "0.035",
        "minimum_premium": {"amount": "15000.00", "currency": "KES"},
        "sum_insured_min": {"amount": "200000.00", "currency": "KES"},
        "sum_insured_max": {"amount": "20000000.00", "currency": "KES"},
        "term_months": 12
    })
}

/// Runs `clients` loops of `request` for `duration`, each client starting a
/// request at most every `pace` (if given); tallies statuses and latencies.
async fn load<F, Fut>(
    clients: usize,
    duration: Duration,
    pace: Option<Duration>,
    request: F,
) -> (Tally, Duration)
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = StatusCode> + Send,
{
    let request = Arc::new(request);
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for client in 0..clients {
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut n = 0u64;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                let status = request(client, n).await;
                n += 1;
                match status {
                    s if s.is_success() => {
                        tally.ok += 1;
                        tally.latencies.push(t0.elapsed());
                    }
                    StatusCode::CONFLICT => tally.conflicts += 1,
                    _ => tally.errors += 1,
                }
                if let Some(rest) = pace.and_then(|p| p.checked_sub(t0.elapsed())) {
                    tokio::time::sleep(rest).await;
                }
            }
            tally
        }));
    }
    let mut total = Tally::default();
    for task in tasks {
        total.merge(task.await.unwrap());
    }
    (total, started.elapsed())
}

/// The read-model wait a command response reports in `Server-Timing`.
fn projection_wait(reply: &reqwest::Response) -> Option<Duration> {
    let header = reply.headers().get("server-timing")?.to_str().ok()?;
    let ms: f64 = header.strip_prefix("projection;dur=")?.parse().ok()?;
    Some(Duration::from_secs_f64(ms / 1000.0))
}

fn server_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn database_url(base: &str, name: &str) -> String {
    let prefix = base.rsplit_once('/').map_or(base, |(p, _)| p);
    format!("{prefix}/{name}")
}

/// pgbench: single event-shaped rows, 32 clients. Returns transactions/s.
fn pgbench(url: &str, seconds: u64) -> Option<f64> {
    let script = std::env::temp_dir().join("ifinsure-bench-insert.sql");
    std::fs::write(
        &script,
        "INSERT INTO bench_events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('Product', gen_random_uuid()::text, 1, 'ProductDefined', '1.0', \
         '{\"ProductDefined\": {\"code\": \"BENCH\", \"name\": \"Bench Motor\", \"rate\": \"0.035\"}}', \
         '{\"role\": \"admin\", \"request_id\": \"r\", \"correlation_id\": \"c\", \"causation_id\": \"c\"}');\n",
    )
    .ok()?;
    let output = std::process::Command::new("pgbench")
        .args([
            "-n",
            "-c",
            "32",
            "-j",
            "2",
            "-T",
            &seconds.to_string(),
            "-f",
        ])
        .arg(&script)
        .arg(url)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find(|l| l.starts_with("tps ="))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|n| n.parse().ok())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let phase = Duration::from_secs(seconds);
    let base = server_url();
    let name = format!("ifinsure_bench_{}", std::process::id());
    let mut admin = PgConnection::connect(&base).await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await?;
    let url = database_url(&base, &name);
    let result = run(&url, phase).await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    result
}

async fn run(url: &str, phase: Duration) -> anyhow::Result<()> {
    let pool = projections::db::connect(url, 40).await?;
    let full = app::start(
        &settings("127.0.0.1:0"),
        pool.clone(),
        SecretString::from(SECRET),
        Parts::ALL,
    )
    .await?;
    let api = format!("http://{}/api/v1", full.addr.unwrap());

    let store = full.store.clone();
    let account = api::accounts::NewAccount {
        email: "bench@example.com".into(),
        password: PASSWORD.into(),
        full_name: "Bench Admin".into(),
        phone_number: None,
        role: domain::Role::Admin,
    };
    api::accounts::open_account(
        &pool,
        &store,
        account,
        &projections::CommandMetadata::system("bench"),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()?;
    let mut token = String::new();
    for _ in 0..100 {
        let reply = client
            .post(format!("{api}/auth/login"))
            .json(&json!({"email": "bench@example.com", "password": PASSWORD}))
            .send()
            .await?;
        if reply.status() == StatusCode::OK {
            token = reply.json::<Value>().await?["access_token"]
                .as_str()
                .unwrap()
                .to_string();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let token = Arc::new(token);

    println!(
        "ifinsure HTTP benchmark: {} cores, {}s per phase, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        phase.as_secs(),
        chrono::Utc::now().format("%Y-%m-%d")
    );

    // 1. The floor.
    sqlx::query("CREATE TABLE bench_events (LIKE events INCLUDING DEFAULTS INCLUDING INDEXES INCLUDING IDENTITY)").execute(&pool).await?;
    let floor = pgbench(url, phase.as_secs());
    match floor {
        Some(tps) => println!(
            "{:<44} {tps:>9.0}/s",
            "pgbench: insert event-shaped row, 32 clients"
        ),
        None => println!("pgbench: not available; ratio not computed"),
    }

    // 2. New aggregates.
    let counter = Arc::new(AtomicU64::new(0));
    let (c, t, a) = (client.clone(), token.clone(), api.clone());
    let ids = Arc::new(std::sync::Mutex::new(Vec::new()));
    let ids_w = ids.clone();
    let (mut created, elapsed) = load(64, phase, None, move |_, _| {
        let (c, t, a, counter, ids) = (
            c.clone(),
            t.clone(),
            a.clone(),
            counter.clone(),
            ids_w.clone(),
        );
        async move {
            let code = format!("B{}", counter.fetch_add(1, Ordering::Relaxed));
            match c
                .post(format!("{a}/policies/products"))
                .bearer_auth(t.as_str())
                .json(&product(&code))
                .send()
                .await
            {
                Ok(r) => {
                    let status = r.status();
                    if let Ok(body) = r.json::<Value>().await {
                        if let Some(id) = body["id"].as_str() {
                            ids.lock().unwrap().push(id.to_string());
                        }
                    }
                    status
                }
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
            }
        }
    })
    .await;
    let create_rate = created.report("POST /policies/products, new aggregates, 64", elapsed);
    if let Some(tps) = floor {
        println!(
            "{:<44} {:>9.1}%  (target >= 22%)",
            "  ratio to pgbench",
            create_rate / tps * 100.0
        );
    }

    // 3. Reads.
    let ids: Arc<Vec<String>> = Arc::new(ids.lock().unwrap().clone());
    let (c, t, a, i) = (client.clone(), token.clone(), api.clone(), ids.clone());
    let (mut reads, elapsed) = load(64, phase, None, move |client, n| {
        let (c, t, a) = (c.clone(), t.clone(), a.clone());
        let id = i[(client * 7919 + n as usize) % i.len()].clone();
        async move {
            c.get(format!("{a}/policies/products/{id}"))
                .bearer_auth(t.as_str())
                .send()
                .await
                .map_or(StatusCode::INTERNAL_SERVER_ERROR, |r| r.status())
        }
    })
    .await;
    reads.report("GET /policies/products/{id}, 64", elapsed);

    // 4. One hot aggregate.
    let hot = ids[0].clone();
    let hot_waits = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (c, t, a, waits) = (
        client.clone(),
        token.clone(),
        api.clone(),
        hot_waits.clone(),
    );
    let (mut hot_tally, elapsed) = load(16, phase, None, move |client, n| {
        let (c, t, a, hot, waits) = (c.clone(), t.clone(), a.clone(), hot.clone(), waits.clone());
        async move {
            let rate = format!("0.{:04}", 100 + (client as u64 * 1000 + n) % 9000);
            let reply = c
                .post(format!("{a}/policies/products/{hot}/reprice"))
                .bearer_auth(t.as_str())
                .json(&json!({"rate": rate, "minimum_premium": {"amount": "15000", "currency": "KES"}}))
                .send()
                .await;
            match reply {
                Ok(reply) => {
                    if let Some(wait) = projection_wait(&reply) {
                        waits.lock().unwrap().push(wait);
                    }
                    reply.status()
                }
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
            }
        }
    })
    .await;
    hot_tally.report("POST reprice, one hot aggregate, 16", elapsed);
    let mut waits = Tally {
        latencies: hot_waits.lock().unwrap().clone(),
        ..Tally::default()
    };
    println!(
        "{:<44} p50 {:>7.2} ms  p99 {:>7.2} ms",
        "  of which waiting for the read model",
        waits.percentile(0.5),
        waits.percentile(0.99)
    );

    // 5. Projection lag at half the load of (2), as each command saw it
    //    (`Server-Timing: projection;dur=`: from its events' commit until the
    //    read model had them).
    let interval = Duration::from_secs_f64(64.0 / (create_rate / 2.0).max(1.0));
    let counter = Arc::new(AtomicU64::new(0));
    let lags = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (c, t, a, lags_w) = (client.clone(), token.clone(), api.clone(), lags.clone());
    let (mut paced, elapsed) = load(64, phase, Some(interval), move |_, _| {
        let (c, t, a, counter, lags) = (
            c.clone(),
            t.clone(),
            a.clone(),
            counter.clone(),
            lags_w.clone(),
        );
        async move {
            let code = format!("L{}", counter.fetch_add(1, Ordering::Relaxed));
            let Ok(reply) = c
                .post(format!("{a}/policies/products"))
                .bearer_auth(t.as_str())
                .json(&product(&code))
                .send()
                .await
            else {
                return StatusCode::INTERNAL_SERVER_ERROR;
            };
            let lag = reply
                .headers()
                .get("server-timing")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("projection;dur="))
                .and_then(|ms| ms.parse::<f64>().ok());
            if let Some(ms) = lag {
                lags.lock()
                    .unwrap()
                    .push(Duration::from_secs_f64(ms / 1000.0));
            }
            reply.status()
        }
    })
    .await;
    paced.report("POST new aggregates at half the load of (2)", elapsed);
    let mut lag = Tally {
        latencies: lags.lock().unwrap().clone(),
        ..Tally::default()
    };
    println!(
        "{:<44} p50 {:>7.2} ms  p99 {:>7.2} ms  samples {}  (target p99 < 50 ms)",
        "  projection lag (commit -> in read model)",
        lag.percentile(0.5),
        lag.percentile(0.99),
        lag.latencies.len()
    );

    full.stop().await;
    pool.close().await;
    Ok(())
}
