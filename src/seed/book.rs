//! The demo's book of business, made through the HTTP API itself (the real
//! command path: process managers, the sandbox's signed webhooks, the
//! scheduler) while the business clock replays the last thirteen months:
//! policies in every status, and paid, partly paid, overdue and refunded
//! invoices.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use chrono::{Days, NaiveDate};
use projections::clock::{Clock, SettableClock};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use workers::WorkerContext;

use super::DEMO_PASSWORD;

/// The customers of the book: (email, name, phone, assigned to the demo agent).
/// The longest the seeding waits for the asynchronous side (read models,
/// the sandbox's webhooks): generous, for a loaded machine.
const PATIENCE: Duration = Duration::from_secs(120);

const CUSTOMERS: &[(&str, &str, &str, bool)] = &[
    ("kamau@example.com", "Kamau Njoroge", "+254722100200", true),
    ("aisha@example.com", "Aisha Mohamed", "+254733300400", true),
    ("otieno@example.com", "Otieno Ouma", "+254711500600", false),
    (
        "mwajuma@example.com",
        "Mwajuma Hassan",
        "+255754700800",
        false,
    ),
    ("nakato@example.com", "Nakato Sarah", "+256772900100", false),
];

struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("calling {path}"))?;
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    /// POSTs and expects success, returning the body.
    async fn command(&self, path: &str, token: &str, body: Value) -> anyhow::Result<Value> {
        let (status, reply) = self
            .call(Method::POST, path, Some(token), Some(body))
            .await?;
        if !status.is_success() {
            bail!("POST {path}: {status} {reply}");
        }
        Ok(reply)
    }

    async fn get(&self, path: &str, token: &str) -> anyhow::Result<Value> {
        Ok(self.call(Method::GET, path, Some(token), None).await?.1)
    }

    /// Logs in once the user is readable (logins are rate-limited, so it
    /// waits on the users read model rather than retrying).
    async fn login(&self, pool: &PgPool, email: &str) -> anyhow::Result<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let known: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)")
                    .bind(email)
                    .fetch_one(pool)
                    .await?;
            if known {
                break;
            }
            if Instant::now() >= deadline {
                bail!("{email} did not reach the users read model within {PATIENCE:?}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let body = json!({"email": email, "password": DEMO_PASSWORD});
        let (status, reply) = self
            .call(Method::POST, "/auth/login", None, Some(body))
            .await?;
        if status != StatusCode::OK {
            bail!("{email} could not log in: {status} {reply}");
        }
        Ok(reply["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// Waits until `path` shows `field` = `value` (payments settle by webhook).
    async fn until(
        &self,
        path: &str,
        token: &str,
        field: &str,
        value: &str,
    ) -> anyhow::Result<Value> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let body = self.get(path, token).await?;
            if body[field] == value {
                return Ok(body);
            }
            if Instant::now() >= deadline {
                bail!("{path} did not have {field} = {value} within {PATIENCE:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn money(amount: &str, currency: &str) -> Value {
    json!({"amount": amount, "currency": currency})
}

struct Book<'a> {
    api: Api,
    clock: &'a SettableClock,
    today: NaiveDate,
    staff: String,
    agent: String,
    products: Value,
}

impl Book<'_> {
    fn days_ago(&self, days: u64) -> NaiveDate {
        self.today
            .checked_sub_days(Days::new(days))
            .unwrap_or(self.today)
    }

    fn product(&self, code: &str) -> String {
        self.products["items"]
            .as_array()
            .and_then(|items| items.iter().find(|p| p["code"] == code))
            .and_then(|p| p["id"].as_str())
            .unwrap_or_default()
            .to_string()
    }

    /// `token` applies for `customer_id` (if an agent) on the clock's date.
    async fn apply(
        &self,
        token: &str,
        customer_id: Option<&str>,
        code: &str,
        sum: Value,
        insured: Value,
    ) -> anyhow::Result<String> {
        let mut body = json!({
            "product_id": self.product(code),
            "sum_insured": sum,
            "start_date": self.clock.today(),
            "insured": insured,
        });
        if let Some(id) = customer_id {
            body["customer_id"] = json!(id);
        }
        let reply = self
            .api
            .command("/policies/applications", token, body)
            .await?;
        Ok(reply["id"].as_str().unwrap_or_default().to_string())
    }

    async fn approve(&self, token: &str, id: &str) -> anyhow::Result<String> {
        let reply = self
            .api
            .command(
                &format!("/policies/applications/{id}/approve"),
                token,
                json!({}),
            )
            .await?;
        Ok(reply["invoice_id"].as_str().unwrap_or_default().to_string())
    }

    async fn pay(
        &self,
        token: &str,
        invoice_id: &str,
        amount: Option<Value>,
    ) -> anyhow::Result<()> {
        let mut body = json!({"provider": "sandbox", "phone_number": "0712345678"});
        if let Some(amount) = amount {
            body["amount"] = amount;
        }
        let reply = self
            .api
            .command(&format!("/billing/invoices/{invoice_id}/pay"), token, body)
            .await?;
        let payment = reply["payment_id"].as_str().unwrap_or_default().to_string();
        self.api
            .until(
                &format!("/billing/payments/{payment}"),
                token,
                "status",
                "succeeded",
            )
            .await?;
        Ok(())
    }

    /// Applies, approves and pays in full: an active policy.
    async fn active(
        &self,
        customer: &str,
        code: &str,
        sum: Value,
        insured: Value,
    ) -> anyhow::Result<String> {
        let id = self.apply(customer, None, code, sum, insured).await?;
        let invoice = self.approve(&self.staff, &id).await?;
        self.pay(customer, &invoice, None).await?;
        self.api
            .until(
                &format!("/policies/policies/{id}"),
                customer,
                "status",
                "active",
            )
            .await?;
        Ok(id)
    }
}

/// A tiny JPEG (the demo's "photo of the damage").
const PHOTO: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9,
];

impl Book<'_> {
    /// Claims on Wanjiru's car: one paid out through the sandbox (with a
    /// photo and an internal note), one awaiting review, one rejected.
    async fn claims(&self, wanjiru: &str, policy_id: &str) -> anyhow::Result<()> {
        let staff_id = self.api.get("/auth/me", &self.staff).await?["id"].clone();
        let file = |description: &str, amount: &str| {
            json!({"policy_id": policy_id, "incident_date": self.today, "description": description,
                   "claimed_amount": money(amount, "KES")})
        };
        let paid = self
            .api
            .command(
                "/claims",
                wanjiru,
                file(
                    "Rear-ended at the Haile Selassie roundabout; bumper and boot lid damaged",
                    "92000.00",
                ),
            )
            .await?;
        let paid_id = paid["id"].as_str().unwrap_or_default().to_string();
        self.upload_photo(wanjiru, &paid_id).await?;
        let claim = |action: &str| format!("/claims/{paid_id}/{action}");
        self.api
            .command(
                &claim("assign"),
                &self.staff,
                json!({"assignee_id": staff_id}),
            )
            .await?;
        self.api.command(&claim("notes"), &self.staff, json!({"text": "Assessor confirms the damage; labour quote 10% above our panel rate."})).await?;
        self.api
            .command(
                &claim("notes"),
                &self.staff,
                json!({"text": "Approved at the assessed amount.", "internal": false}),
            )
            .await?;
        self.api
            .command(
                &claim("approve"),
                &self.staff,
                json!({"approved_amount": money("85000.00", "KES")}),
            )
            .await?;
        self.api
            .command(&claim("pay"), &self.staff, json!({}))
            .await?;
        self.api
            .until(&format!("/claims/{paid_id}"), wanjiru, "status", "paid")
            .await?;

        self.api
            .command(
                "/claims",
                wanjiru,
                file("Windscreen cracked by a stone on Thika Road", "18000.00"),
            )
            .await?;
        let worn = self
            .api
            .command(
                "/claims",
                wanjiru,
                file("Clutch plate worn out", "35000.00"),
            )
            .await?;
        let worn_id = worn["id"].as_str().unwrap_or_default();
        self.api
            .command(
                &format!("/claims/{worn_id}/reject"),
                &self.staff,
                json!({"reason": "Wear and tear is excluded from the cover."}),
            )
            .await?;
        Ok(())
    }

    async fn upload_photo(&self, token: &str, claim_id: &str) -> anyhow::Result<()> {
        let boundary = "ifinsure-demo-boundary";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"rear bumper.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(PHOTO);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let response = self
            .api
            .client
            .post(format!("{}/claims/{claim_id}/documents", self.api.base))
            .bearer_auth(token)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("uploading the demo photo: {}", response.status());
        }
        Ok(())
    }
}

/// Seeds the book unless policies exist already. `clock` is the app's
/// business clock; it is left on the real date.
///
/// # Errors
/// When a command fails.
pub async fn seed_book(
    pool: &PgPool,
    base: &str,
    clock: &SettableClock,
    workers: &WorkerContext,
) -> anyhow::Result<()> {
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM policies")
        .fetch_one(pool)
        .await?;
    if existing > 0 {
        clock.follow_system();
        return Ok(());
    }
    let today = projections::clock::SystemClock::default().today();
    let api = Api {
        client: reqwest::Client::new(),
        base: base.to_string(),
    };
    let staff = api.login(pool, "staff@example.com").await?;
    let agent = api.login(pool, "agent@example.com").await?;
    let agent_id = api.get("/auth/me", &agent).await?["id"].clone();
    let mut customers = Vec::new();
    for (email, name, phone, assigned) in CUSTOMERS {
        let body = json!({"email": email, "password": DEMO_PASSWORD, "full_name": name, "phone_number": phone});
        let (status, reply) = api
            .call(Method::POST, "/auth/register", None, Some(body))
            .await?;
        if !status.is_success() {
            bail!("registering {email}: {status} {reply}");
        }
        let token = api.login(pool, email).await?;
        let id = reply["id"].as_str().unwrap_or_default().to_string();
        if *assigned {
            api.command(
                &format!("/customers/{id}/assign-agent"),
                &staff,
                json!({"agent_id": agent_id}),
            )
            .await?;
        }
        customers.push((token, id));
    }
    let products = api.get("/policies/products?limit=200", &staff).await?;
    let book = Book {
        api,
        clock,
        today,
        staff,
        agent,
        products,
    };
    let [kamau, aisha, otieno, mwajuma, nakato] = customers.as_slice() else {
        bail!("the demo customers are missing");
    };

    // Thirteen months ago: Otieno's car, paid; its term has since ended.
    clock.set(book.days_ago(400));
    book.active(
        &otieno.0,
        "MOTOR-PVT-COMP",
        money("1800000.00", "KES"),
        json!({"registration": "KCB 412X", "make": "Mazda Demio"}),
    )
    .await?;

    // Two months ago: Mwajuma's home, approved and never paid: it lapses.
    clock.set(book.days_ago(60));
    let home = book
        .apply(
            &mwajuma.0,
            None,
            "HOME-BUILDINGS",
            money("6000000.00", "KES"),
            json!({"address": "Plot 14, Nyali, Mombasa"}),
        )
        .await?;
    book.approve(&book.staff, &home).await?;

    // Six weeks ago: Aisha's family cover, through her agent, paid.
    clock.set(book.days_ago(45));
    let health = book
        .apply(
            &book.agent,
            Some(&aisha.1),
            "HEALTH-FAMILY",
            money("1200000.00", "KES"),
            json!({"members": 4}),
        )
        .await?;
    let health_invoice = book.approve(&book.agent, &health).await?;
    book.pay(&aisha.0, &health_invoice, None).await?;

    // Three weeks ago: Kamau's third-party cover; he paid an installment.
    clock.set(book.days_ago(20));
    let tpo = book
        .apply(
            &book.agent,
            Some(&kamau.1),
            "MOTOR-TPO",
            money("3000000.00", "KES"),
            json!({"registration": "KDE 901M", "make": "Toyota Probox"}),
        )
        .await?;
    let tpo_invoice = book.approve(&book.agent, &tpo).await?;
    book.pay(&kamau.0, &tpo_invoice, Some(money("7500.00", "KES")))
        .await?;

    // Today.
    clock.set(today);
    let wanjiru = book.api.login(pool, "customer@example.com").await?;
    let car = book
        .active(
            &wanjiru,
            "MOTOR-PVT-COMP",
            money("2500000.00", "KES"),
            json!({"registration": "KDA 123A", "make": "Toyota Axio"}),
        )
        .await?;
    let from = today.checked_add_days(Days::new(30)).unwrap_or(today);
    book.api
        .command(
            &format!("/policies/policies/{car}/endorse"),
            &book.staff,
            json!({"sum_insured": money("3000000.00", "KES"), "effective_date": from}),
        )
        .await?;
    book.apply(
        &wanjiru,
        None,
        "HEALTH-FAMILY",
        money("1000000.00", "KES"),
        json!({"members": 2}),
    )
    .await?;
    let boda = book
        .apply(
            &nakato.0,
            None,
            "BODA-TPO-UG",
            money("5000000", "UGX"),
            json!({"registration": "UEX 123B"}),
        )
        .await?;
    book.api
        .command(
            &format!("/policies/applications/{boda}/reject"),
            &book.staff,
            json!({"reason": "the motorcycle failed its roadworthiness inspection"}),
        )
        .await?;
    book.api
        .command(
            &format!("/policies/policies/{health}/cancel"),
            &aisha.0,
            json!({"reason": "moved to an employer scheme", "effective_date": today}),
        )
        .await?;

    book.claims(&wanjiru, &car).await?;

    // The scheduler's pass for today: overdue invoices, a lapse, a renewal offered and an expiry.
    workers::scheduler::run_once(workers, today).await?;
    clock.follow_system();
    Ok(())
}
