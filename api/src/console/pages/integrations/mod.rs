//! The Integrations Center, for admins: the categories with how many
//! configurations each has enabled and their health (`/integrations`),
//! a category's providers and configurations (`/integrations/{category}`),
//! a provider from the catalogue (`/integrations/providers/{slug}`),
//! **Configure** and **Edit** ([`forms`]), one configuration with its
//! masked credentials, webhook URL, **Test connection**, **Enable** /
//! **Disable** and its recent calls (`/integrations/configs/{id}`), and the
//! integration log and webhook deliveries ([`records`]).

pub mod forms;
pub mod records;

use axum::http::StatusCode;
use domain::integration::catalogue::{self, Category};
use domain::Role;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{guarded, shown_again, Page};
use crate::console::client::Call;
use crate::console::context::Console;
use crate::console::errors::Segments;
use crate::console::forms::Form;

/// What the console calls a category, and its path segment.
pub fn category_title(category: Category) -> &'static str {
    match category {
        Category::Payment => "Payment Providers",
        Category::Sms => "SMS Gateways",
        Category::Email => "Email Services",
        Category::Storage => "File Storage",
    }
}

fn category_named(slug: &str) -> Option<Category> {
    Category::ALL.into_iter().find(|c| c.as_str() == slug)
}

/// The providers of the catalogue this deployment offers, as the API lists
/// them.
async fn offered(console: &Console) -> Result<Vec<Value>, axum::response::Response> {
    let body = console.read("/integrations/providers").await?;
    Ok(body["items"].as_array().cloned().unwrap_or_default())
}

/// Every configuration, as the API shows them (credentials masked).
async fn configurations(console: &Console) -> Result<Vec<Value>, axum::response::Response> {
    let body = console.read("/integrations/configs?limit=200").await?;
    Ok(body["items"].as_array().cloned().unwrap_or_default())
}

/// `GET /integrations`.
pub async fn index(console: Console) -> Page {
    console.require(&[Role::Admin])?;
    let configs = configurations(&console).await?;
    let (_, health) = crate::health::integration_health(&console.state)
        .await
        .map_err(|e| console.fail(&e))?;
    let categories: Vec<Value> = Category::ALL
        .into_iter()
        .map(|category| {
            let mine: Vec<&Value> = configs
                .iter()
                .filter(|c| c["category"] == category.as_str())
                .collect();
            let enabled = mine.iter().filter(|c| c["enabled"] == true).count();
            let open = health
                .iter()
                .filter(|h| h["category"] == category.as_str() && h["enabled"] == true)
                .filter(|h| h["circuit"] == "open")
                .count();
            let failed_tests = mine
                .iter()
                .filter(|c| c["enabled"] == true && c["last_test"]["ok"] == false)
                .count();
            json!({
                "slug": category.as_str(),
                "title": category_title(category),
                "configured": mine.len(),
                "enabled": enabled,
                "open_circuits": open,
                "failed_tests": failed_tests,
            })
        })
        .collect();
    Ok(console.render(
        "integrations.html",
        json!({"section": "/integrations", "categories": categories, "health": health}),
    ))
}

/// `GET /integrations/{category}`.
pub async fn category(console: Console, Segments(slug): Segments<String>) -> Page {
    console.require(&[Role::Admin])?;
    let category = category_named(&slug).ok_or_else(|| console.error(StatusCode::NOT_FOUND))?;
    let providers: Vec<Value> = offered(&console)
        .await?
        .into_iter()
        .filter(|p| p["category"] == category.as_str())
        .collect();
    let configs: Vec<Value> = configurations(&console)
        .await?
        .into_iter()
        .filter(|c| c["category"] == category.as_str())
        .collect();
    Ok(console.render(
        "integrations_category.html",
        json!({
            "section": "/integrations",
            "title": category_title(category),
            "providers": providers,
            "configs": configs,
        }),
    ))
}

/// `GET /integrations/providers/{slug}`.
pub async fn provider(console: Console, Segments(slug): Segments<String>) -> Page {
    console.require(&[Role::Admin])?;
    let provider = offered(&console)
        .await?
        .into_iter()
        .find(|p| p["slug"] == slug.as_str())
        .ok_or_else(|| console.error(StatusCode::NOT_FOUND))?;
    let category = catalogue::provider(&slug)
        .map(|p| category_title(p.category))
        .unwrap_or_default();
    let configs: Vec<Value> = configurations(&console)
        .await?
        .into_iter()
        .filter(|c| c["provider"] == slug.as_str())
        .collect();
    Ok(console.render(
        "integrations_provider.html",
        json!({
            "section": "/integrations",
            "provider": provider,
            "category": category,
            "configs": configs,
        }),
    ))
}

async fn config_page(
    console: &Console,
    id: Uuid,
    problem: Option<Value>,
    status: StatusCode,
) -> Page {
    console.require(&[Role::Admin])?;
    let config = console.read(&format!("/integrations/configs/{id}")).await?;
    let slug = config["provider"].as_str().unwrap_or_default();
    let provider = catalogue::provider(slug);
    let fields: Vec<Value> = provider
        .map(|p| p.fields)
        .unwrap_or_default()
        .iter()
        .map(|f| {
            let shown = if f.secret {
                config["credentials"][f.name].clone()
            } else {
                config["settings"][f.name].clone()
            };
            json!({"label": f.label, "secret": f.secret, "value": shown})
        })
        .chain(
            config["settings"]["base_url"]
                .as_str()
                .map(|url| json!({"label": "API base URL", "secret": false, "value": url})),
        )
        .collect();
    let log = console
        .read(&format!("/integrations/logs?config_id={id}&limit=10"))
        .await?;
    Ok(console.render_status(
        status,
        "integrations_config.html",
        json!({
            "section": "/integrations",
            "config": config,
            "provider_name": provider.map_or(slug, |p| p.name),
            "category": provider.map(|p| category_title(p.category)),
            "category_slug": provider.map(|p| p.category.as_str()),
            "fields": fields,
            "log": log["items"],
            "form": problem,
        }),
    ))
}

/// `GET /integrations/configs/{id}`.
pub async fn config(console: Console, Segments(id): Segments<Uuid>) -> Page {
    config_page(&console, id, None, StatusCode::OK).await
}

/// `POST /integrations/configs/{id}/test` (**Test connection**) and
/// `/toggle` (**Enable** / **Disable**).
pub async fn act(
    console: Console,
    Segments((id, action)): Segments<(Uuid, String)>,
    form: Form,
) -> Page {
    guarded(&console, &form)?;
    console.require(&[Role::Admin])?;
    if action != "test" && action != "toggle" {
        return Err(console.error(StatusCode::NOT_FOUND));
    }
    let mut call = Call::post(
        Some(&console.viewer),
        format!("/integrations/configs/{id}/{action}"),
        &json!({}),
    );
    // A test changes nothing the admin saw: no version to hold it to.
    if action == "toggle" {
        call = call.from_form(&form);
    }
    let reply = console.send(call).await?;
    if reply.ok() {
        let flash = if action == "toggle" {
            if reply.body["enabled"] == true {
                "Enabled: new work goes to this configuration".to_string()
            } else {
                "Disabled: no new work goes to this configuration".to_string()
            }
        } else {
            let test = &reply.body["last_test"];
            let latency = test["latency_ms"].as_u64().unwrap_or(0);
            if test["ok"] == true {
                format!("Connection successful ({latency} ms)")
            } else {
                format!(
                    "Connection failed: {} ({latency} ms)",
                    test["detail"]
                        .as_str()
                        .unwrap_or("the provider did not answer")
                )
            }
        };
        return Ok(console.done(&format!("/integrations/configs/{id}"), &flash));
    }
    let status = shown_again(&console, &reply)?;
    let problem = super::refusal(&form, &reply, &[]);
    config_page(&console, id, Some(problem), status).await
}
