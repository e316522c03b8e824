//! The console's pages on a large book (run with `cargo bench --bench
//! console_pages`; release build).
//!
//! In a fresh database on `DATABASE_URL`'s server (default: the local one)
//! it builds a book through the API as the business would: `BENCH_POLICIES`
//! policies (default 50,000) for 1,000 customers, a tenth of them with one
//! agent, every one approved, one in `BENCH_PAID_EVERY` (default 10) paid
//! through the sandbox, and a claim on every hundredth; waits until every
//! subscription has caught up; then signs in to the console as each role
//! and requests the dashboard, the policy list and a policy's page
//! `BENCH_REQUESTS` times each (default 200, one at a time, after 20 to warm
//! up), printing p50, p95 and the worst. The target: p95 under 100 ms.
//! With `BENCH_DATABASE=<name>` the database is kept: the book is built on
//! the first run and timed as it is on the next ones.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ifinsure::app::{self, Parts};
use ifinsure::settings::Settings;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection, PgPool};

const SECRET: &str = "bench-secret-bench-secret-bench-secret-42";
const PASSWORD: &str = "kilimanjaro sunrise 42";
/// The target for each page's p95, in milliseconds.
const TARGET_P95_MS: f64 = 100.0;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn settings() -> Settings {
    Settings {
        database_url: None,
        database_max_connections: 40,
        listen_addr: "127.0.0.1:0".parse().unwrap(),
        jwt_secret: Some(SecretString::from(SECRET)),
        access_token_ttl: Duration::from_secs(4 * 3600),
        refresh_token_ttl: Duration::from_secs(4 * 3600),
        auth_rate_limit_per_minute: 1_000_000,
        read_your_writes_timeout: Duration::from_secs(30),
        subscription_batch_size: 500,
        subscription_poll_interval: Duration::from_millis(200),
        sandbox_webhook_delay: Some(Duration::from_millis(10)),
        ..Settings::default()
    }
}

fn server_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn database_url(base: &str, name: &str) -> String {
    let prefix = base.rsplit_once('/').map_or(base, |(p, _)| p);
    format!("{prefix}/{name}")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let base = server_url();
    // BENCH_DATABASE names a database to keep (created when missing, its
    // book built once and timed again on later runs).
    let kept = std::env::var("BENCH_DATABASE")
        .ok()
        .filter(|n| !n.is_empty());
    let name = kept
        .clone()
        .unwrap_or_else(|| format!("ifinsure_bench_console_{}", std::process::id()));
    anyhow::ensure!(
        name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "BENCH_DATABASE: letters, digits and _ only"
    );
    let mut admin = PgConnection::connect(&base).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
    }
    let result = run(&database_url(&base, &name)).await;
    if kept.is_none() {
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await?;
    }
    result
}

/// The API as one user.
#[derive(Clone)]
struct Api {
    base: String,
    client: reqwest::Client,
    token: Arc<String>,
}

impl Api {
    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        for attempt in 0..5 {
            let reply = self
                .client
                .post(format!("{}{path}", self.base))
                .bearer_auth(self.token.as_str())
                .json(body)
                .send()
                .await?;
            let status = reply.status();
            let body_text = reply.text().await?;
            if status.is_success() {
                return Ok(serde_json::from_str(&body_text).unwrap_or(Value::Null));
            }
            // A concurrent command on the same record: try again.
            if status == StatusCode::CONFLICT && attempt < 4 && body_text.contains("concurrency") {
                continue;
            }
            anyhow::bail!("POST {path}: {status} {body_text}");
        }
        unreachable!()
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let reply = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(self.token.as_str())
            .send()
            .await?;
        anyhow::ensure!(
            reply.status().is_success(),
            "GET {path}: {}",
            reply.status()
        );
        Ok(reply.json().await?)
    }
}

async fn login(client: &reqwest::Client, base: &str, email: &str) -> anyhow::Result<String> {
    for _ in 0..200 {
        let reply = client
            .post(format!("{base}/auth/login"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await?;
        if reply.status() == StatusCode::OK {
            let body: Value = reply.json().await?;
            return Ok(body["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_string());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("{email} could not sign in")
}

async fn open_account(
    pool: &PgPool,
    store: &projections::EventStore,
    email: &str,
    role: domain::Role,
) -> anyhow::Result<()> {
    let account = api::accounts::NewAccount {
        email: email.into(),
        password: PASSWORD.into(),
        full_name: format!("Bench {role} {email}"),
        phone_number: Some("+254712345678".into()),
        role,
    };
    api::accounts::open_account(
        pool,
        store,
        account,
        &projections::CommandMetadata::system("bench"),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// Runs `work(i)` for every `i` below `count` on `clients` tasks; how long
/// it took.
async fn each<F, Fut>(what: &str, count: usize, clients: usize, work: F) -> anyhow::Result<()>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let work = Arc::new(work);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (next, work) = (next.clone(), work.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<(), anyhow::Error>(());
                }
                work(i).await?;
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "  {what:<40} {count:>7} in {secs:>6.0} s ({:.0}/s)",
        count as f64 / secs
    );
    Ok(())
}

/// Waits until every subscription has handled every event.
async fn caught_up(pool: &PgPool) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let behind: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM subscription_checkpoints c
             WHERE (c.tx_id, c.global_position) < (SELECT tx_id::text::bigint, global_position FROM events
                                                   ORDER BY tx_id DESC, global_position DESC LIMIT 1)",
        )
        .fetch_one(pool)
        .await?;
        let queued: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM payment_jobs WHERE status IN ('queued', 'submitted')",
        )
        .fetch_one(pool)
        .await
        .unwrap_or(0);
        if behind == 0 && queued == 0 {
            println!(
                "  every subscription caught up after {:.0} s",
                started.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A browser's session in the console: its cookie.
struct Console {
    origin: String,
    client: reqwest::Client,
    cookies: String,
}

impl Console {
    async fn sign_in(origin: &str, email: &str) -> anyhow::Result<Console> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let page = client.get(format!("{origin}/login")).send().await?;
        let csrf_cookie = page
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("ifinsure_csrf="))
            .and_then(|c| c.split(';').next())
            .unwrap_or_default()
            .to_string();
        let token = csrf_cookie.trim_start_matches("ifinsure_csrf=").to_string();
        let done = client
            .post(format!("{origin}/login"))
            .header("cookie", &csrf_cookie)
            .form(&[
                ("csrf", token.as_str()),
                ("email", email),
                ("password", PASSWORD),
            ])
            .send()
            .await?;
        let session = done
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("ifinsure_session="))
            .and_then(|c| c.split(';').next())
            .ok_or_else(|| anyhow::anyhow!("{email} got no session: {}", done.status()))?
            .to_string();
        Ok(Console {
            origin: origin.to_string(),
            client,
            cookies: session,
        })
    }

    /// The latency of `GET path`, checked to be a page.
    async fn time(&self, path: &str) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let reply = self
            .client
            .get(format!("{}{path}", self.origin))
            .header("cookie", &self.cookies)
            .send()
            .await?;
        let status = reply.status();
        let body = reply.text().await?;
        let elapsed = started.elapsed();
        anyhow::ensure!(
            status == StatusCode::OK && body.contains("<h1>"),
            "GET {path}: {status}"
        );
        Ok(elapsed)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// What building a book needs.
struct Book {
    pool: PgPool,
    store: projections::EventStore,
    base: String,
    client: reqwest::Client,
    policies: usize,
    paid_every: usize,
    customers: usize,
}

/// Builds the book through the API, as the business would, and waits until
/// every subscription has caught up with it.
async fn build_book(book: Book) -> anyhow::Result<()> {
    let Book {
        pool,
        store,
        base,
        client,
        policies,
        paid_every,
        customers,
    } = book;
    // The people.
    for (email, role) in [
        ("admin@bench.example", domain::Role::Admin),
        ("staff@bench.example", domain::Role::Staff),
        ("agent@bench.example", domain::Role::Agent),
    ] {
        open_account(&pool, &store, email, role).await?;
    }
    let admin = Api {
        base: base.clone(),
        client: client.clone(),
        token: Arc::new(login(&client, &base, "admin@bench.example").await?),
    };
    let (pool_c, store_c) = (pool.clone(), store.clone());
    each("customers opened", customers, 4, move |i| {
        let (pool, store) = (pool_c.clone(), store_c.clone());
        async move {
            open_account(
                &pool,
                &store,
                &format!("customer{i}@bench.example"),
                domain::Role::Customer,
            )
            .await
        }
    })
    .await?;
    let product = admin
        .post(
            "/policies/products",
            &json!({"code": "BENCH-MOTOR", "name": "Bench Motor", "line": "motor", "description": "bench",
                    "currency": "KES", "rate": "0.035",
                    "minimum_premium": {"amount": "15000.00", "currency": "KES"},
                    "sum_insured_min": {"amount": "200000.00", "currency": "KES"},
                    "sum_insured_max": {"amount": "20000000.00", "currency": "KES"}, "term_months": 12}),
        )
        .await?;
    let product_id = product["id"].as_str().unwrap_or_default().to_string();
    // Wait for the users read model, then find the customers' ids.
    caught_up(&pool).await?;
    let ids: Vec<(String, String)> =
        sqlx::query_as("SELECT id::text, email FROM users WHERE role = 'customer' ORDER BY email")
            .fetch_all(&pool)
            .await?;
    let agent_id: String = sqlx::query_scalar("SELECT id::text FROM users WHERE role = 'agent'")
        .fetch_one(&pool)
        .await?;
    let customer_ids: Arc<Vec<String>> = Arc::new(ids.iter().map(|(id, _)| id.clone()).collect());
    let (a, c_ids, agent) = (admin.clone(), customer_ids.clone(), agent_id.clone());
    each(
        "customers given to the agent",
        customers / 10,
        8,
        move |i| {
            let (a, c_ids, agent) = (a.clone(), c_ids.clone(), agent.clone());
            async move {
                a.post(
                    &format!("/customers/{}/assign-agent", c_ids[i * 10]),
                    &json!({"agent_id": agent}),
                )
                .await
                .map(|_| ())
            }
        },
    )
    .await?;

    // The book.
    let today = chrono::Utc::now().date_naive();
    let applications = Arc::new(Mutex::new(vec![String::new(); policies]));
    let (a, c_ids, p, apps) = (
        admin.clone(),
        customer_ids.clone(),
        product_id.clone(),
        applications.clone(),
    );
    each("applications", policies, 32, move |i| {
        let (a, c_ids, p, apps) = (a.clone(), c_ids.clone(), p.clone(), apps.clone());
        async move {
            let sum = 300_000 + (i % 50) * 20_000;
            let body = json!({"product_id": p, "customer_id": c_ids[i % c_ids.len()],
                "sum_insured": {"amount": format!("{sum}.00"), "currency": "KES"},
                "start_date": today, "insured": {"registration": format!("KB{:05}", i)}});
            let reply = a.post("/policies/applications", &body).await?;
            apps.lock().unwrap()[i] = reply["id"].as_str().unwrap_or_default().to_string();
            Ok(())
        }
    })
    .await?;
    let applications: Arc<Vec<String>> = Arc::new(applications.lock().unwrap().clone());
    let (a, apps) = (admin.clone(), applications.clone());
    each("approvals", policies, 32, move |i| {
        let (a, apps) = (a.clone(), apps.clone());
        async move {
            a.post(
                &format!("/policies/applications/{}/approve", apps[i]),
                &json!({}),
            )
            .await
            .map(|_| ())
        }
    })
    .await?;
    let paying = policies.div_ceil(paid_every);
    let (a, apps) = (admin.clone(), applications.clone());
    each("premiums paid through the sandbox", paying, 16, move |i| {
        let (a, apps) = (a.clone(), apps.clone());
        async move {
            let policy = a
                .get(&format!("/policies/policies/{}", apps[i * paid_every]))
                .await?;
            let invoice = policy["invoice_id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            a.post(
                &format!("/billing/invoices/{invoice}/pay"),
                &json!({"provider": "sandbox"}),
            )
            .await
            .map(|_| ())
        }
    })
    .await?;
    caught_up(&pool).await?;
    let claims = paying.div_ceil(10);
    let (a, apps) = (admin.clone(), applications.clone());
    each("claims filed", claims, 16, move |i| {
        let (a, apps) = (a.clone(), apps.clone());
        async move {
            a.post(
                "/claims",
                &json!({"policy_id": apps[i * 10 * paid_every], "incident_date": today,
                        "description": "Rear bumper", "claimed_amount": {"amount": "25000.00", "currency": "KES"}}),
            )
            .await
            .map(|_| ())
        }
    })
    .await?;
    caught_up(&pool).await?;

    Ok(())
}

async fn run(url: &str) -> anyhow::Result<()> {
    let policies = env_number("BENCH_POLICIES", 50_000);
    let paid_every = env_number("BENCH_PAID_EVERY", 10).max(1);
    let requests = env_number("BENCH_REQUESTS", 200);
    let customers = 1_000.min(policies.max(1));
    let pool = projections::db::connect(url, 40).await?;
    let running = app::start(
        &settings(),
        pool.clone(),
        SecretString::from(SECRET),
        Parts::ALL,
    )
    .await?;
    let origin = format!("http://{}", running.addr.unwrap());
    let base = format!("{origin}/api/v1");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    println!(
        "ifinsure console benchmark: {} cores, a book of {policies} policies, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        chrono::Utc::now().format("%Y-%m-%d")
    );
    // A kept database (BENCH_DATABASE) that holds a book already is timed
    // as it is.
    let booked: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'ApplicationApproved'")
            .fetch_one(&pool)
            .await?;
    if booked == 0 {
        let book = Book {
            pool: pool.clone(),
            store: running.store.clone(),
            base,
            client,
            policies,
            paid_every,
            customers,
        };
        build_book(book).await?;
    } else {
        println!("  a book of {booked} policies is there already: timing it");
    }
    // A customer's active policy.
    let (paid_policy, customer_email): (String, String) = sqlx::query_as(
        "SELECT p.id::text, u.email FROM policies p JOIN users u ON u.id = p.customer_id
         WHERE p.status = 'active' ORDER BY p.id LIMIT 1",
    )
    .fetch_one(&pool)
    .await?;

    // The pages.
    println!(
        "\n{:<46} {:>9} {:>9} {:>9}",
        "page (role)", "p50 ms", "p95 ms", "max ms"
    );
    let mut worst: f64 = 0.0;
    for (role, email) in [
        ("customer", customer_email.as_str()),
        ("agent", "agent@bench.example"),
        ("staff", "staff@bench.example"),
        ("admin", "admin@bench.example"),
    ] {
        let console = Console::sign_in(&origin, email).await?;
        let mut pages = vec![
            ("/dashboard".to_string(), "dashboard"),
            ("/policies".to_string(), "policy list"),
        ];
        if role != "agent" {
            pages.push((format!("/policies/{paid_policy}"), "a policy's page"));
        }
        for (path, label) in pages {
            for _ in 0..20 {
                console.time(&path).await?;
            }
            let mut latencies = Vec::with_capacity(requests);
            for _ in 0..requests {
                latencies.push(console.time(&path).await?);
            }
            latencies.sort();
            let p95 = percentile(&latencies, 0.95);
            worst = worst.max(p95);
            println!(
                "{:<46} {:>9.1} {:>9.1} {:>9.1}",
                format!("{label} ({role})"),
                percentile(&latencies, 0.50),
                p95,
                percentile(&latencies, 1.0)
            );
        }
    }
    println!(
        "\nworst p95 {worst:.1} ms: {} (target under {TARGET_P95_MS} ms)",
        if worst < TARGET_P95_MS {
            "met"
        } else {
            "NOT met"
        }
    );
    running.stop().await;
    Ok(())
}
