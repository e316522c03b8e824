//! Every page for every role: it renders in the console's layout (one
//! `h1`, the role's navigation, Sign out) for the roles it is for, and is
//! refused to the others.

use reqwest::StatusCode;

use super::browser::{between, Browser};
use super::Book;
use crate::common::PASSWORD;

/// The navigation each role gets (CONSOLE.md's table).
const NAV: [(&str, &[&str]); 5] = [
    (
        "customer",
        &[
            "Dashboard",
            "Products",
            "Applications",
            "Policies",
            "Claims",
            "Invoices",
            "Notifications",
            "Profile",
        ],
    ),
    (
        "agent",
        &[
            "Dashboard",
            "Products",
            "Applications",
            "Policies",
            "Claims",
            "Invoices",
            "Customers",
            "Reports",
            "Notifications",
            "Profile",
        ],
    ),
    (
        "staff",
        &[
            "Dashboard",
            "Products",
            "Applications",
            "Policies",
            "Claims",
            "Invoices",
            "Customers",
            "Reports",
            "Notifications",
            "Profile",
        ],
    ),
    (
        "admin",
        &[
            "Dashboard",
            "Products",
            "Applications",
            "Policies",
            "Claims",
            "Invoices",
            "Customers",
            "Reports",
            "Integrations",
            "Settings",
            "Users",
            "Audit",
            "Notifications",
            "Profile",
        ],
    ),
    (
        "auditor",
        &[
            "Dashboard",
            "Products",
            "Applications",
            "Policies",
            "Claims",
            "Invoices",
            "Customers",
            "Reports",
            "Audit",
            "Profile",
        ],
    ),
];

/// The link names of a page's `nav`.
fn nav_links(html: &str) -> Vec<String> {
    let nav = between(html, "<nav class=\"site-nav\"", "</nav>").unwrap_or_default();
    nav.split("<a ")
        .skip(1)
        .filter_map(|a| {
            let text = &a[a.find('>')? + 1..];
            Some(text[..text.find("</a>")?].to_string())
        })
        .collect()
}

#[tokio::test]
async fn every_page_renders_for_the_roles_it_is_for_and_is_refused_to_the_others() {
    let book = Book::open().await;
    let policy = book.active_policy().await;
    let invoice = book.invoice_of(&policy).await;
    let customer_id = book
        .app
        .get(&format!("/policies/policies/{policy}"), Some(&book.admin))
        .await
        .body["customer_id"]
        .as_str()
        .unwrap()
        .to_string();
    let agent_token = book
        .app
        .user("agent@example.com", domain::Role::Agent)
        .await;
    let agent_id = book.app.get("/auth/me", Some(&agent_token)).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let assigned = book
        .app
        .post(
            &format!("/customers/{customer_id}/assign-agent"),
            Some(&book.admin),
            &serde_json::json!({"agent_id": agent_id}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.body);
    book.app
        .user("auditor@example.com", domain::Role::Auditor)
        .await;
    let claim = book
        .app
        .post(
            "/claims",
            Some(&book.admin),
            &serde_json::json!({"policy_id": policy, "incident_date": crate::common::TODAY, "description": "Stolen side mirror",
                                "claimed_amount": {"amount": "12000.00", "currency": "KES"}}),
        )
        .await;
    let claim = claim.body["id"].as_str().unwrap().to_string();
    let payment = book
        .app
        .get(&format!("/billing/invoices/{invoice}"), Some(&book.admin))
        .await
        .body["payments"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let agent = Browser::new(&book.app);
    agent.sign_in("agent@example.com", PASSWORD).await;
    let admin = Browser::new(&book.app);
    admin.sign_in("admin@example.com", PASSWORD).await;
    let auditor = Browser::new(&book.app);
    auditor.sign_in("auditor@example.com", PASSWORD).await;
    let browsers = [
        ("customer", &book.customer),
        ("agent", &agent),
        ("staff", &book.staff),
        ("admin", &admin),
        ("auditor", &auditor),
    ];

    let product = &book.product_id;
    // (page, the roles it is for)
    let all: &[&str] = &["customer", "agent", "staff", "admin", "auditor"];
    let pages: Vec<(String, &[&str])> = vec![
        ("/dashboard".into(), all),
        ("/products".into(), all),
        (format!("/products/{product}"), all),
        (
            format!("/products/{product}/apply"),
            &["customer", "agent", "staff", "admin"],
        ),
        ("/products/new".into(), &["admin"]),
        ("/applications".into(), all),
        (format!("/applications/{policy}"), all),
        ("/policies".into(), all),
        (format!("/policies/{policy}"), all),
        (format!("/policies/{policy}/endorse"), &["staff", "admin"]),
        (
            format!("/policies/{policy}/cancel"),
            &["customer", "staff", "admin"],
        ),
        ("/invoices".into(), all),
        (format!("/invoices/{invoice}"), all),
        (
            format!("/invoices/{invoice}/pay"),
            &["customer", "agent", "staff", "admin"],
        ),
        (format!("/payments/{payment}"), all),
        ("/claims".into(), all),
        (
            "/claims/new".into(),
            &["customer", "agent", "staff", "admin"],
        ),
        (format!("/claims/{claim}"), all),
        ("/customers".into(), &["agent", "staff", "admin", "auditor"]),
        (
            format!("/customers/{customer_id}"),
            &["agent", "staff", "admin", "auditor"],
        ),
        (
            format!("/customers/{customer_id}/statement"),
            &["agent", "staff", "admin", "auditor"],
        ),
        (
            "/notifications".into(),
            &["customer", "agent", "staff", "admin"],
        ),
        ("/profile".into(), all),
        ("/profile/password".into(), all),
        ("/users".into(), &["admin"]),
        ("/users/new".into(), &["admin"]),
        (format!("/users/{customer_id}"), &["admin"]),
        ("/reports".into(), &["agent", "staff", "admin", "auditor"]),
        ("/reports/policies".into(), &["staff", "admin", "auditor"]),
        (
            "/reports/commissions".into(),
            &["agent", "staff", "admin", "auditor"],
        ),
        ("/reports/ageing".into(), &["staff", "admin", "auditor"]),
        ("/integrations".into(), &["admin"]),
        ("/integrations/payment".into(), &["admin"]),
        ("/integrations/providers/stripe".into(), &["admin"]),
        ("/integrations/configure/stripe".into(), &["admin"]),
        ("/integrations/logs".into(), &["admin"]),
        ("/integrations/webhooks".into(), &["admin"]),
        ("/settings/general".into(), &["admin"]),
        ("/settings/branding".into(), &["admin"]),
        ("/settings/email".into(), &["admin"]),
        ("/settings/security".into(), &["admin"]),
        ("/audit".into(), &["admin", "auditor"]),
        (format!("/audit/Policy/{policy}"), &["admin", "auditor"]),
        ("/audit/verify?run=1".into(), &["admin", "auditor"]),
    ];
    let statement = book
        .staff
        .get(&format!(
            "/customers/{customer_id}/statement.pdf?from=2026-01-01&to=2026-12-31"
        ))
        .await;
    assert_eq!(
        statement.header("content-type"),
        Some("application/pdf"),
        "{}",
        statement.html
    );
    for (role, browser) in browsers {
        let expected_nav = NAV.iter().find(|(r, _)| *r == role).unwrap().1;
        for (path, roles) in &pages {
            let page = browser.get(path).await;
            if roles.contains(&role) {
                assert_eq!(page.status, StatusCode::OK, "{role} {path}: {}", page.html);
                assert_eq!(page.html.matches("<h1").count(), 1, "{role} {path}: one h1");
                assert!(page.shows("<main id=\"main\">"));
                assert!(page.shows(">Sign out</button>"), "{role} {path}");
                assert_eq!(nav_links(&page.html), expected_nav, "{role} {path}");
                assert!(!page.shows("Something went wrong"), "{role} {path}");
            } else {
                assert!(
                    matches!(page.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
                    "{role} {path} should be refused, got {}",
                    page.status
                );
            }
        }
    }
}

#[tokio::test]
async fn an_agent_applies_for_a_customer_they_choose() {
    let book = Book::open().await;
    let agent = Browser::new(&book.app);
    book.app
        .user("agent@example.com", domain::Role::Agent)
        .await;
    agent.sign_in("agent@example.com", PASSWORD).await;
    let customer = book
        .app
        .get("/users?role=customer", Some(&book.admin))
        .await
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/products/{}/apply", book.product_id);
    let form = agent.get(&path).await;
    assert!(form.shows("<label for=\"f-customer_id\">Customer</label>"));
    let no_customer = agent
        .submit(
            &form,
            &path,
            &[
                ("sum_insured", "800000"),
                ("start_date", crate::common::TODAY),
                ("insured_registration", "KCX 100A"),
            ],
        )
        .await;
    assert_eq!(no_customer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_customer.shows("Choose the customer the cover is for"));
    // Not their customer yet: the API refuses, and the page says why.
    let for_customer = [
        ("customer_id", customer.as_str()),
        ("sum_insured", "800000"),
        ("start_date", crate::common::TODAY),
        ("insured_registration", "KCX 100A"),
    ];
    let refused = agent.submit(&form, &path, &for_customer).await;
    assert_ne!(refused.status, StatusCode::SEE_OTHER, "{}", refused.html);
    let agent_id = book
        .app
        .get("/users?role=agent", Some(&book.admin))
        .await
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    book.app
        .post(
            &format!("/customers/{customer}/assign-agent"),
            Some(&book.admin),
            &serde_json::json!({"agent_id": agent_id}),
        )
        .await;
    let form = agent.get(&path).await;
    assert!(
        form.shows(&format!("value=\"{customer}\"")),
        "their customer is a choice"
    );
    let applied = agent.submit(&form, &path, &for_customer).await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER, "{}", applied.html);
}
