//! What the Integrations Center keeps of what happened: the integration
//! log (`/integrations/logs`, filters **Provider** and **Result**, and
//! action and reference) and the webhook deliveries
//! (`/integrations/webhooks`, filters **Provider** and **Verified**; one
//! delivery with its headers and body, secrets redacted).

use axum::extract::RawQuery;
use axum::http::StatusCode;
use domain::integration::catalogue;
use domain::Role;
use serde_json::{json, Value};

use super::super::{filters, listing, Page};
use crate::console::context::Console;
use crate::console::errors::Segments;

fn provider_slugs() -> Vec<&'static str> {
    catalogue::PROVIDERS.iter().map(|p| p.slug).collect()
}

/// The API's query for the log's filters; a **Result** other than
/// `succeeded` or `failed` is no filter.
fn api_query(shown: &Value) -> String {
    let mut api = form_urlencoded::Serializer::new(String::new());
    for (key, value) in shown.as_object().into_iter().flatten() {
        let value = value.as_str().unwrap_or_default();
        let (key, value) = match (key.as_str(), value) {
            ("result", "succeeded" | "failed") => ("result", value),
            ("result", _) => continue,
            (key, value) => (key, value),
        };
        api.append_pair(key, value);
    }
    api.finish()
}

/// `GET /integrations/logs`: **Result** is `succeeded` (answered without
/// an error status) or `failed` (refused or unanswered).
pub async fn logs(console: Console, RawQuery(query): RawQuery) -> Page {
    console.require(&[Role::Admin])?;
    let (_, shown) = filters(
        query.as_deref(),
        &["provider", "result", "action", "reference_id", "config_id"],
    );
    let api = api_query(&shown);
    let body = console.read(&format!("/integrations/logs?{api}")).await?;
    Ok(console.render(
        "integrations_logs.html",
        json!({
            "section": "/integrations",
            "list": listing(&body, &shown),
            "providers": provider_slugs(),
            "results": ["succeeded", "failed"],
        }),
    ))
}

/// `GET /integrations/webhooks`.
pub async fn webhooks(console: Console, RawQuery(query): RawQuery) -> Page {
    console.require(&[Role::Admin])?;
    let (api, shown) = filters(query.as_deref(), &["provider", "verified"]);
    let body = console
        .read(&format!("/integrations/webhooks?{api}"))
        .await?;
    Ok(console.render(
        "integrations_webhooks.html",
        json!({
            "section": "/integrations",
            "list": listing(&body, &shown),
            "providers": provider_slugs(),
            "verified": ["true", "false"],
        }),
    ))
}

/// `GET /integrations/webhooks/{id}`.
pub async fn webhook(console: Console, Segments(id): Segments<String>) -> Page {
    console.require(&[Role::Admin])?;
    if id.parse::<i64>().is_err() {
        return Err(console.error(StatusCode::NOT_FOUND));
    }
    let delivery = console
        .read(&format!("/integrations/webhooks/{id}"))
        .await?;
    let pretty = |value: &Value| match value {
        Value::String(text) => text.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    };
    Ok(console.render(
        "integrations_webhook.html",
        json!({
            "section": "/integrations",
            "delivery": delivery,
            "headers": pretty(&delivery["headers"]),
            "body": pretty(&delivery["body"]),
        }),
    ))
}
