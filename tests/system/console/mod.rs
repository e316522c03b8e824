//! The web console, driven as a browser without JavaScript drives it:
//! every page and form through HTTP, post/redirect/get, cookies.

mod audit;
mod browser;
mod integrations;
mod journeys;
mod pages;
mod reports;
mod security;
mod settings;
mod users;

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{motor_product, spawn_app, TestApp, PASSWORD, TODAY};
use browser::Browser;

/// A small book to click through: a product, staff, an agent, and a
/// customer who registered in the console.
pub struct Book {
    pub app: TestApp,
    pub admin: String,
    pub product_id: String,
    pub customer: Browser,
    pub staff: Browser,
}

/// The customer's sign-in.
pub const CUSTOMER: &str = "wanjiru@example.com";

impl Book {
    pub async fn open() -> Book {
        let app = spawn_app().await;
        let admin = app.admin().await;
        let product = app
            .post(
                "/policies/products",
                Some(&admin),
                &motor_product("MOTOR-CONSOLE"),
            )
            .await;
        assert_eq!(product.status, StatusCode::CREATED, "{}", product.body);
        app.user("staff@example.com", domain::Role::Staff).await;
        let staff = Browser::new(&app);
        staff.sign_in("staff@example.com", PASSWORD).await;
        let customer = Browser::new(&app);
        let form = customer.get("/register").await;
        let registered = customer
            .submit(
                &form,
                "/register",
                &[
                    ("full_name", "Wanjiru Kamau"),
                    ("email", CUSTOMER),
                    ("phone_number", "0712345678"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(
            registered.status,
            StatusCode::SEE_OTHER,
            "{}",
            registered.html
        );
        assert_eq!(registered.location(), Some("/dashboard"));
        Book {
            product_id: product.body["id"].as_str().unwrap().to_string(),
            app,
            admin,
            customer,
            staff,
        }
    }

    /// The customer applies for 1,000,000 of motor cover from today; the
    /// application's id.
    pub async fn apply(&self) -> String {
        let path = format!("/products/{}/apply", self.product_id);
        let form = self.customer.get(&path).await;
        let submitted = self
            .customer
            .submit(
                &form,
                &path,
                &[
                    ("sum_insured", "1000000"),
                    ("start_date", TODAY),
                    ("insured_registration", "KDA 123A"),
                ],
            )
            .await;
        assert_eq!(
            submitted.status,
            StatusCode::SEE_OTHER,
            "{}",
            submitted.html
        );
        id_after(&submitted, "/applications/")
    }

    /// Staff approve application `id`.
    pub async fn approve(&self, id: &str) {
        let page = self.staff.get(&format!("/applications/{id}")).await;
        let approved = self
            .staff
            .submit(&page, &format!("/applications/{id}/approve"), &[])
            .await;
        assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.html);
    }

    /// The premium invoice of policy `id`, as the API has it.
    pub async fn invoice_of(&self, id: &str) -> String {
        let policy = self
            .app
            .get(&format!("/policies/policies/{id}"), Some(&self.admin))
            .await;
        policy.body["invoice_id"].as_str().unwrap().to_string()
    }

    /// The customer pays invoice `invoice` through the sandbox and waits
    /// for "Payment received".
    pub async fn pay(&self, invoice: &str) -> browser::Page {
        let form = self.customer.get(&format!("/invoices/{invoice}/pay")).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.html);
        let paid = self
            .customer
            .submit(
                &form,
                &format!("/invoices/{invoice}/pay"),
                &[("provider", "sandbox")],
            )
            .await;
        assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.html);
        let payment = paid.location().unwrap().to_string();
        assert!(payment.starts_with("/payments/"), "{payment}");
        // With htmx, the page polls its status alone.
        let fragment = self
            .customer
            .get_with(&payment, &[("hx-request", "true")])
            .await;
        assert!(
            fragment.html.contains("id=\"payment-status\""),
            "{}",
            fragment.html
        );
        assert!(!fragment.html.contains("<html"), "a fragment, not the page");
        crate::common::eventually("the payment page to say it was received", || async {
            let page = self.customer.get(&payment).await;
            page.shows("Payment received").then_some(page)
        })
        .await
    }

    /// An active policy of the customer's: applied, approved, paid.
    pub async fn active_policy(&self) -> String {
        let id = self.apply().await;
        self.approve(&id).await;
        let invoice = self.invoice_of(&id).await;
        self.pay(&invoice).await;
        crate::common::eventually("the policy to be active", || async {
            let page = self.customer.get(&format!("/policies/{id}")).await;
            page.shows("Active").then_some(())
        })
        .await;
        id
    }

    /// A second customer, through the API.
    pub async fn other_customer(&self) -> String {
        let token = self
            .app
            .user("other@example.com", domain::Role::Customer)
            .await;
        let applied = self
            .app
            .post(
                "/policies/applications",
                Some(&token),
                &json!({"product_id": self.product_id, "sum_insured": {"amount": "500000.00", "currency": "KES"},
                        "start_date": TODAY, "insured": {"registration": "KBZ 999Z"}}),
            )
            .await;
        assert_eq!(applied.status, StatusCode::CREATED, "{}", applied.body);
        applied.body["id"].as_str().unwrap().to_string()
    }
}

/// The id in a redirect to `prefix{id}`.
pub fn id_after(page: &browser::Page, prefix: &str) -> String {
    let location = page.location().unwrap_or_default();
    location
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("expected a redirect to {prefix}…, got {location:?}"))
        .to_string()
}
