//! Pages: the console's templates (`api/templates/console/`, minijinja,
//! HTML-escaped, compiled into the binary and all checked at the first
//! render), the filters they read money, dates and statuses with, and the
//! frame every page gets: the brand, the viewer, the role's navigation, the
//! flash message, the CSRF token and the request id.

use std::sync::OnceLock;

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, SET_COOKIE, VARY};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use domain::{Currency, Money, Role};
use minijinja::{Environment, Value as Jinja};
use serde_json::{json, Value};

use super::session::{set_cookie, Viewer, FLASH_COOKIE};
use crate::state::AppState;

/// What pages may load: only this origin; never framed; forms post here.
pub const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/console/", $name)))),*]
    };
}

/// Every template, by name.
const TEMPLATES: &[(&str, &str)] = templates!(
    "layout.html",
    "forms.html",
    "error.html",
    "login.html",
    "register.html",
    "password_reset.html",
    "password_reset_confirm.html",
    "dashboard.html",
    "products.html",
    "product.html",
    "product_new.html",
    "apply.html",
    "applications.html",
    "application.html",
    "policies.html",
    "policy.html",
    "endorse.html",
    "cancel.html",
    "invoices.html",
    "invoice.html",
    "pay.html",
    "payment.html",
    "payment_status.html",
    "claims.html",
    "claim_new.html",
    "claim.html",
    "customers.html",
    "customer.html",
    "statement.html",
    "notifications.html",
    "profile.html",
    "password.html",
    "audit_events.html",
    "audit.html",
    "audit_aggregate.html",
    "audit_correlation.html",
    "audit_verify.html",
    "users.html",
    "user_new.html",
    "user.html",
    "settings.html",
    "integrations.html",
    "integrations_category.html",
    "integrations_configs.html",
    "integrations_provider.html",
    "integrations_configure.html",
    "integrations_config.html",
    "integrations_logs.html",
    "integrations_webhooks.html",
    "integrations_webhook.html",
    "reports.html",
    "report.html",
);

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("console template {name}: {e}"));
        }
        env.add_filter("money", money);
        env.add_filter("date", date);
        env.add_filter("datetime", datetime);
        env.add_filter("words", words);
        env.add_filter("event", event_words);
        env.add_filter("percent", percent);
        env.add_filter("filesize", filesize);
        env.add_filter("json", pretty_json);
        env.add_function("new_key", super::forms::idempotency_key);
        env
    })
}

/// `{amount, currency}` as people read it: `KES 52,500.00`.
fn money(value: Jinja) -> String {
    let part = |name: &str| {
        value
            .get_attr(name)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
    };
    match (part("amount"), part("currency")) {
        (Some(amount), Some(currency)) => grouped(&amount, &currency),
        _ => String::new(),
    }
}

/// A money value of the API (`{amount, currency}`) as people read it.
pub fn money_text(value: &Value) -> String {
    match (value["amount"].as_str(), value["currency"].as_str()) {
        (Some(amount), Some(currency)) => grouped(amount, currency),
        _ => String::new(),
    }
}

fn grouped(amount: &str, currency: &str) -> String {
    Currency::parse(currency)
        .ok()
        .and_then(|c| Money::new(amount.parse().ok()?, c).ok())
        .map_or_else(|| format!("{currency} {amount}"), |m| m.grouped())
}

/// `2026-12-03` (or a timestamp) as `3 Dec 2026`.
fn date(value: Jinja) -> String {
    let text = value.as_str().unwrap_or_default();
    text.get(..10)
        .and_then(|d| d.parse::<chrono::NaiveDate>().ok())
        .map_or_else(|| text.to_string(), domain::dates::long_date)
}

/// An RFC 3339 timestamp as `3 Dec 2026, 14:05 UTC`.
fn datetime(value: Jinja) -> String {
    let text = value.as_str().unwrap_or_default();
    chrono::DateTime::parse_from_rfc3339(text).map_or_else(
        |_| text.to_string(),
        |t| {
            t.with_timezone(&chrono::Utc)
                .format("%-d %b %Y, %H:%M UTC")
                .to_string()
        },
    )
}

/// `under_review` as `Under review`.
fn words(value: Jinja) -> String {
    let text = value.as_str().unwrap_or_default().replace('_', " ");
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().collect::<String>() + chars.as_str()
    })
}

/// A ratio (`"1.4064"`) as a percentage (`140.6%`).
fn percent(value: Jinja) -> String {
    let text = value
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| value.to_string());
    text.parse::<rust_decimal::Decimal>().map_or(text, |ratio| {
        format!(
            "{}%",
            (ratio * rust_decimal::Decimal::ONE_HUNDRED).round_dp(1)
        )
    })
}

/// A size in bytes as people read it: `1.5 MB`, `820 KB`, `12 bytes`.
fn filesize(value: Jinja) -> String {
    let bytes = u64::try_from(value).unwrap_or_default();
    match bytes {
        0..1_000 => format!("{bytes} bytes"),
        1_000..1_000_000 => format!("{} KB", bytes.div_ceil(1_000)),
        _ => format!("{}.{} MB", bytes / 1_000_000, (bytes % 1_000_000) / 100_000),
    }
}

/// A JSON value laid out for reading (escaped like any text).
fn pretty_json(value: Jinja) -> String {
    serde_json::to_value(&value)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_default()
}

/// An event's type as a sentence: `PolicyCancelled` as `Policy cancelled`.
fn event_words(value: Jinja) -> String {
    let text = value.as_str().unwrap_or_default();
    let mut out = String::with_capacity(text.len() + 4);
    for (i, c) in text.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A link of the navigation.
fn nav(role: Role) -> Vec<Value> {
    use Role::{Admin, Agent, Auditor, Customer, Staff};
    const EVERYONE: &[Role] = &[Customer, Agent, Staff, Admin, Auditor];
    let links: &[(&str, &str, &[Role])] = &[
        ("Dashboard", "/dashboard", EVERYONE),
        ("Products", "/products", EVERYONE),
        ("Applications", "/applications", EVERYONE),
        ("Policies", "/policies", EVERYONE),
        ("Claims", "/claims", EVERYONE),
        ("Invoices", "/invoices", EVERYONE),
        ("Customers", "/customers", &[Agent, Staff, Admin, Auditor]),
        ("Reports", "/reports", &[Agent, Staff, Admin, Auditor]),
        ("Integrations", "/integrations", &[Admin]),
        ("Settings", "/settings", &[Admin]),
        ("Users", "/users", &[Admin]),
        ("Audit", "/audit", &[Admin, Auditor]),
        (
            "Notifications",
            "/notifications",
            &[Customer, Agent, Staff, Admin],
        ),
        ("Profile", "/profile", EVERYONE),
    ];
    links
        .iter()
        .filter(|(_, _, roles)| roles.contains(&role))
        .map(|(name, path, _)| json!({"name": name, "path": path}))
        .collect()
}

/// The frame of one page: who looks, what to tell them, under which id.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// The signed-in viewer, if any.
    pub viewer: Option<Viewer>,
    /// The flash message (read from its cookie, cleared with this page).
    pub flash: Option<String>,
    /// The request id (shown on the 500 page).
    pub request_id: String,
    /// The CSRF token of an anonymous form, set as a cookie with the page.
    pub anonymous_csrf: Option<String>,
}

/// Renders `template` with `data` in the frame `chrome`, as `status`.
pub fn page(
    state: &AppState,
    chrome: &Chrome,
    status: StatusCode,
    template: &str,
    data: Value,
) -> Response {
    let viewer = chrome.viewer.as_ref().map(|v| {
        json!({
            "id": v.user_id,
            "name": v.full_name,
            "email": v.email,
            "role": v.role.as_str(),
            "nav": nav(v.role),
        })
    });
    let csrf = chrome
        .viewer
        .as_ref()
        .map(|v| v.csrf.clone())
        .or_else(|| chrome.anonymous_csrf.clone());
    // The problems and notices of the page's forms, shown at its top.
    let forms = data["form"].as_object().into_iter().chain(
        data["forms"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values().filter_map(Value::as_object)),
    );
    let (mut problems, mut notices) = (Vec::new(), Vec::new());
    for form in forms {
        problems.extend(form.get("problem").and_then(Value::as_str));
        notices.extend(form.get("notice").and_then(Value::as_str));
    }
    let context = json!({
        "problems": problems,
        "notices": notices,
        "brand": state.settings.current().branding.brand_name,
        "brand_version": state.settings.version(),
        "viewer": viewer,
        "flash": chrome.flash,
        "csrf": csrf,
        "request_id": chrome.request_id,
        "page": data,
    });
    let rendered = environment()
        .get_template(template)
        .and_then(|t| t.render(&context));
    let mut response = match rendered {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(template, error = %error, "console template failed");
            let text = format!(
                "Something went wrong on our side. Quote request {} to support.",
                chrome.request_id
            );
            (StatusCode::INTERNAL_SERVER_ERROR, text).into_response()
        }
    };
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(VARY, HeaderValue::from_static("HX-Request, Cookie"));
    if chrome.flash.is_some() {
        headers.append(SET_COOKIE, set_cookie(state, FLASH_COOKIE, "", 0));
    }
    if let Some(token) = &chrome.anonymous_csrf {
        headers.append(
            SET_COOKIE,
            set_cookie(state, super::session::CSRF_COOKIE, token, 3600),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_dates_and_statuses_read_as_people_read_them() {
        let amount = Jinja::from_serialize(json!({"amount": "52500.00", "currency": "KES"}));
        assert_eq!(money(amount), "KES 52,500.00");
        assert_eq!(date(Jinja::from("2026-12-03")), "3 Dec 2026");
        assert_eq!(date(Jinja::from("2026-12-03T10:00:00Z")), "3 Dec 2026");
        assert_eq!(
            datetime(Jinja::from("2026-12-03T10:05:00Z")),
            "3 Dec 2026, 10:05 UTC"
        );
        assert_eq!(words(Jinja::from("under_review")), "Under review");
        assert_eq!(percent(Jinja::from("1.4064")), "140.6%");
        assert_eq!(filesize(Jinja::from(22)), "22 bytes");
        assert_eq!(filesize(Jinja::from(1_534_000)), "1.5 MB");
        assert_eq!(
            event_words(Jinja::from("PolicyCancelled")),
            "Policy cancelled"
        );
    }

    #[test]
    fn every_template_compiles() {
        for (name, _) in TEMPLATES {
            environment().get_template(name).unwrap();
        }
    }

    #[test]
    fn each_role_sees_the_links_the_contract_gives_it() {
        let names = |role| -> Vec<String> {
            nav(role)
                .iter()
                .map(|l| l["name"].as_str().unwrap().to_string())
                .collect()
        };
        assert!(!names(Role::Customer).contains(&"Customers".to_string()));
        assert!(names(Role::Agent).contains(&"Reports".to_string()));
        assert!(!names(Role::Auditor).contains(&"Notifications".to_string()));
        assert_eq!(names(Role::Admin).len(), 14);
    }
}
