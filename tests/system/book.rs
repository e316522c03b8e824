//! A small book of business for lifecycle tests: an app with an admin, a
//! staff member and a motor product, and helpers to apply, approve and pay.

use domain::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::*;

pub fn kes(amount: &str) -> Value {
    json!({"amount": amount, "currency": "KES"})
}

pub use crate::common::eventually;

pub struct Book {
    pub app: TestApp,
    pub admin: String,
    pub staff: String,
    pub product_id: String,
}

impl Book {
    pub async fn open() -> Self {
        Self::open_with(test_settings()).await
    }

    pub async fn open_with(settings: ifinsure::settings::Settings) -> Self {
        let app = spawn_app_with(settings).await;
        let admin = app.admin().await;
        let staff = app.user("staff@example.com", Role::Staff).await;
        let product = app
            .post("/policies/products", Some(&admin), &motor_product("MOTOR"))
            .await;
        assert_eq!(product.status, StatusCode::CREATED, "{}", product.body);
        let product_id = product.body["id"].as_str().unwrap().to_string();
        Self {
            app,
            admin,
            staff,
            product_id,
        }
    }

    /// A user of `role` and their id.
    pub async fn user(&self, email: &str, role: Role) -> (String, String) {
        let token = self.app.user(email, role).await;
        let me = self.app.get("/auth/me", Some(&token)).await;
        (token, me.body["id"].as_str().unwrap().to_string())
    }

    /// Applies for the motor product; `customer_id` when an agent or staff applies.
    pub async fn apply(&self, token: &str, customer_id: Option<&str>, sum: &str) -> Value {
        let mut body = json!({
            "product_id": self.product_id,
            "sum_insured": kes(sum),
            "start_date": TODAY,
            "insured": {"registration": "KDA 123A", "make": "Toyota"},
        });
        if let Some(id) = customer_id {
            body["customer_id"] = json!(id);
        }
        let reply = self
            .app
            .post("/policies/applications", Some(token), &body)
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body
    }

    pub async fn approve(&self, id: &str) -> Value {
        let reply = self
            .app
            .post(
                &format!("/policies/applications/{id}/approve"),
                Some(&self.staff),
                &json!({}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body
    }

    pub async fn pay(&self, token: &str, invoice_id: &str) -> Value {
        let reply = self
            .pay_with(token, invoice_id, &json!({"provider": "sandbox"}))
            .await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
        reply.body
    }

    /// `POST /billing/invoices/{invoice_id}/pay` with `body`, as `token`.
    pub async fn pay_with(&self, token: &str, invoice_id: &str, body: &Value) -> Reply {
        self.app
            .post(
                &format!("/billing/invoices/{invoice_id}/pay"),
                Some(token),
                body,
            )
            .await
    }

    /// `POST /policies/policies/{id}/cancel`, as `token`.
    pub async fn cancel(&self, token: &str, id: &str, reason: &str, effective_date: &str) -> Reply {
        self.app
            .post(
                &format!("/policies/policies/{id}/cancel"),
                Some(token),
                &json!({"reason": reason, "effective_date": effective_date}),
            )
            .await
    }

    /// The payment `id` as `token` sees it.
    pub async fn payment(&self, token: &str, id: &str) -> Value {
        self.app
            .get(&format!("/billing/payments/{id}"), Some(token))
            .await
            .body
    }

    /// An admin's connection test of configuration `id`.
    pub async fn test_connection(&self, id: &str) -> Reply {
        self.app
            .post(
                &format!("/integrations/configs/{id}/test"),
                Some(&self.admin),
                &json!({}),
            )
            .await
    }

    /// An admin's re-drive of dead letter `id`.
    pub async fn retry_dead_letter(&self, id: &str) -> Reply {
        self.app
            .post(
                &format!("/admin/dead-letters/{id}/retry"),
                Some(&self.admin),
                &json!({}),
            )
            .await
    }

    pub async fn invoice(&self, token: &str, id: &str) -> Value {
        self.app
            .get(&format!("/billing/invoices/{id}"), Some(token))
            .await
            .body
    }

    pub async fn policy(&self, token: &str, id: &str) -> Value {
        self.app
            .get(&format!("/policies/policies/{id}"), Some(token))
            .await
            .body
    }

    /// Waits until policy `id` has `status`.
    pub async fn policy_becomes(&self, token: &str, id: &str, status: &str) -> Value {
        eventually(&format!("policy {id} to be {status}"), || async {
            let policy = self.policy(token, id).await;
            (policy["status"] == status).then_some(policy)
        })
        .await
    }

    /// Waits until invoice `id` has `status`.
    pub async fn invoice_becomes(&self, token: &str, id: &str, status: &str) -> Value {
        eventually(&format!("invoice {id} to be {status}"), || async {
            let invoice = self.invoice(token, id).await;
            (invoice["status"] == status).then_some(invoice)
        })
        .await
    }

    /// Applies, approves and pays: an active policy of `sum`.
    pub async fn active_policy(&self, token: &str, sum: &str) -> (String, String) {
        let application = self.apply(token, None, sum).await;
        let id = application["id"].as_str().unwrap().to_string();
        let approved = self.approve(&id).await;
        let invoice_id = approved["invoice_id"].as_str().unwrap().to_string();
        self.pay(token, &invoice_id).await;
        self.policy_becomes(token, &id, "active").await;
        (id, invoice_id)
    }

    /// Applies and approves: the application's id and its invoice's.
    pub async fn approved_policy(&self, token: &str, sum: &str) -> (String, String) {
        let application = self.apply(token, None, sum).await;
        let id = application["id"].as_str().unwrap().to_string();
        let invoice_id = self.approve(&id).await["invoice_id"]
            .as_str()
            .unwrap()
            .to_string();
        (id, invoice_id)
    }

    /// Creates an integration configuration as the admin; its id.
    pub async fn configure(&self, body: &Value) -> String {
        let created = self
            .app
            .post("/integrations/configs", Some(&self.admin), body)
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        created.body["id"].as_str().unwrap().to_string()
    }

    /// The provider's reference of the charge for `invoice_id`, once the
    /// payment worker has submitted it.
    pub async fn submitted_charge(&self, invoice_id: &str) -> String {
        let reference = eventually("the charge to be submitted", || async {
            let reference: Option<String> = sqlx::query_scalar(
                "SELECT provider_reference FROM payment_jobs
                 WHERE aggregate_id = $1::uuid AND kind = 'charge' AND status = 'submitted'",
            )
            .bind(invoice_id)
            .fetch_optional(&self.app.db.pool)
            .await
            .unwrap()
            .flatten();
            reference.map(|r| json!(r))
        })
        .await;
        reference.as_str().unwrap().to_string()
    }

    /// `POST /claims` as `token`: a claim on `policy_id` for `amount` (KES)
    /// of an incident on `incident`.
    pub async fn file_claim(
        &self,
        token: &str,
        policy_id: &str,
        incident: &str,
        amount: &str,
        description: &str,
    ) -> Reply {
        self.app
            .post(
                "/claims",
                Some(token),
                &json!({"policy_id": policy_id, "incident_date": incident,
                    "description": description, "claimed_amount": kes(amount)}),
            )
            .await
    }

    /// `POST /claims/{id}/approve` as staff, for `amount` (KES).
    pub async fn approve_claim(&self, id: &str, amount: &str) -> Reply {
        self.app
            .post(
                &format!("/claims/{id}/approve"),
                Some(&self.staff),
                &json!({"approved_amount": kes(amount)}),
            )
            .await
    }

    /// `POST /claims/{id}/confirm` of `subject` (`approval`, `payee`) as
    /// the staff member (the admin proposes in these tests).
    pub async fn confirm(&self, id: &str, subject: &str) -> Reply {
        self.app
            .post(
                &format!("/claims/{id}/confirm"),
                Some(&self.staff),
                &json!({"subject": subject}),
            )
            .await
    }

    /// The workers' context of the running app.
    pub fn workers(&self) -> &workers::WorkerContext {
        self.app
            .running
            .as_ref()
            .and_then(|r| r.workers.as_ref())
            .expect("workers run in the test app")
    }
}

/// Registers customers `name{from}@domain` .. `name{from + count - 1}@domain`
/// straight through the event store, 8 at a time (within a test pool).
pub async fn register_crowd(
    store: &projections::EventStore,
    name: &str,
    domain_name: &str,
    from: usize,
    count: usize,
) {
    use domain::user::{Registration, User, UserCommand};
    let meta = projections::CommandMetadata::system("crowd");
    for chunk in (from..from + count).collect::<Vec<_>>().chunks(8) {
        let commands = chunk.iter().map(|i| {
            let registration = Registration {
                email: domain::EmailAddress::parse(&format!("{name}{i}@{domain_name}")).unwrap(),
                full_name: format!("Crowd Member {i}"),
                phone_number: None,
                role: Role::Customer,
            };
            let id = uuid::Uuid::now_v7().to_string();
            let meta = meta.clone();
            async move {
                store
                    .execute::<User>(&id, UserCommand::Register(registration), None, &meta)
                    .await
                    .unwrap();
            }
        });
        futures::future::join_all(commands).await;
    }
}
