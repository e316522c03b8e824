//! **Configure** (`/integrations/configure/{slug}`) and **Edit**
//! (`/integrations/configs/{id}/edit`): one labelled input per field of
//! the provider in the catalogue (secrets as password inputs, never
//! echoed back: on edit a blank secret keeps the stored one), with
//! **Name**, **Environment** (fixed once created), **Primary** and
//! **Priority**.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use domain::integration::catalogue::{self, Provider};
use domain::Role;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::super::{guarded, refusal, shown_again, Page};
use super::category_title;
use crate::console::client::Call;
use crate::console::context::Console;
use crate::console::errors::Segments;
use crate::console::forms::Form;

/// The provider `slug`, when this deployment offers it.
async fn offered(
    console: &Console,
    slug: &str,
) -> Result<&'static Provider, axum::response::Response> {
    let listed = super::offered(console).await?;
    listed
        .iter()
        .any(|p| p["slug"] == slug)
        .then(|| catalogue::provider(slug))
        .flatten()
        .ok_or_else(|| console.error(StatusCode::NOT_FOUND))
}

/// The inputs of `provider`'s fields; on edit (`stored`: the masked
/// credentials) a secret's hint names the one kept when left blank.
fn inputs(provider: &Provider, stored: Option<&Value>) -> Vec<Value> {
    let mut inputs: Vec<Value> = provider
        .fields
        .iter()
        .map(|f| {
            let hint = match (f.secret, stored.map(|s| &s[f.name])) {
                (true, Some(Value::String(masked))) => {
                    format!("Leave blank to keep the stored one ({masked}).")
                }
                (true, _) if f.name == "callback_token" => {
                    "Leave blank to have one made.".to_string()
                }
                _ if f.required => "Required.".to_string(),
                _ => "Optional.".to_string(),
            };
            json!({
                "name": f.name,
                "label": f.label,
                "type": if f.secret { "password" } else { "text" },
                "required": f.required && !(f.secret && stored.is_some()),
                "hint": hint,
            })
        })
        .collect();
    if let Some(own) = own_base_url(provider) {
        inputs.push(json!({
            "name": BASE_URL,
            "label": "API base URL",
            "type": "text",
            "required": false,
            "hint": format!("Leave blank for the provider's own ({own}); only for a proxy or a test double (in production, an allowed host)."),
        }));
    }
    inputs
}

/// The setting that sends a configuration's calls elsewhere than the
/// provider's own address.
const BASE_URL: &str = "base_url";

/// The provider's own address, for providers called over HTTP.
fn own_base_url(provider: &Provider) -> Option<&'static str> {
    provider.sandbox_base_url.or(provider.production_base_url)
}

fn form_page(
    console: &Console,
    provider: &Provider,
    action: String,
    config: Option<&Value>,
    form: Value,
    status: StatusCode,
) -> Page {
    let title = match config {
        Some(c) => format!("Edit {}", c["name"].as_str().unwrap_or_default()),
        None => format!("Configure {}", provider.name),
    };
    Ok(console.render_status(
        status,
        "integrations_configure.html",
        json!({
            "section": "/integrations",
            "title": title,
            "provider": {"slug": provider.slug, "name": provider.name, "category": category_title(provider.category)},
            "action": action,
            "editing": config.is_some(),
            "config": config,
            "inputs": inputs(provider, config.map(|c| &c["credentials"])),
            "environments": [{"value": "sandbox", "label": "Sandbox (the provider's test environment)"},
                             {"value": "production", "label": "Production (real money, real messages)"}],
            "form": form,
        }),
    ))
}

/// `GET /integrations/configure/{slug}`.
pub async fn configure_form(console: Console, Segments(slug): Segments<String>) -> Page {
    console.require(&[Role::Admin])?;
    let provider = offered(&console, &slug).await?;
    let values = json!({"name": provider.name, "environment": "sandbox", "priority": "0"});
    form_page(
        &console,
        provider,
        format!("/integrations/configure/{slug}"),
        None,
        json!({"values": values, "errors": {}}),
        StatusCode::OK,
    )
}

/// A configuration's fields as typed into the form.
struct Typed {
    /// The non-secret fields given.
    settings: Map<String, Value>,
    /// The secrets typed (a blank one is left out).
    credentials: Map<String, Value>,
    priority: u32,
}

/// The provider's fields from the form: non-secret settings, and the
/// secrets typed (a blank one is left out: on edit it keeps the stored
/// one); a priority that is not a number is named here.
fn fields_of(provider: &Provider, form: &Form) -> Result<Typed, BTreeMap<String, String>> {
    let (mut settings, mut credentials) = (Map::new(), Map::new());
    for f in provider.fields {
        let value = form.text(f.name);
        let value = if f.secret {
            value
        } else {
            value.trim().to_string()
        };
        if value.trim().is_empty() {
            continue;
        }
        if f.secret {
            credentials.insert(f.name.to_string(), json!(value));
        } else {
            settings.insert(f.name.to_string(), json!(value));
        }
    }
    if own_base_url(provider).is_some() {
        let url = form.text(BASE_URL).trim().to_string();
        if !url.is_empty() {
            settings.insert(BASE_URL.to_string(), json!(url));
        }
    }
    let priority = form.text("priority");
    let priority = priority.trim();
    let priority = if priority.is_empty() {
        Ok(0)
    } else {
        priority.parse::<u32>()
    };
    match priority {
        Ok(priority) => Ok(Typed {
            settings,
            credentials,
            priority,
        }),
        Err(_) => Err(BTreeMap::from([(
            "priority".to_string(),
            "must be a whole number from 0".to_string(),
        )])),
    }
}

/// The API's field names, mapped to the form's inputs (`credentials.x` and
/// `settings.x` to `x`).
fn input_names(provider: &Provider) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = ["name", "environment", "is_primary", "priority"]
        .iter()
        .map(|n| ((*n).to_string(), (*n).to_string()))
        .collect();
    for f in provider.fields {
        let kind = if f.secret { "credentials" } else { "settings" };
        pairs.push((format!("{kind}.{}", f.name), f.name.to_string()));
    }
    pairs.push((format!("settings.{BASE_URL}"), BASE_URL.to_string()));
    pairs.push(("provider".into(), "name".into()));
    pairs
}

/// The form shown again without what was typed into its secrets.
fn shown_without_secrets(provider: &Provider, mut shown: Value) -> Value {
    for f in provider.fields.iter().filter(|f| f.secret) {
        if let Some(values) = shown["values"].as_object_mut() {
            values.remove(f.name);
        }
    }
    shown
}

/// Why a configuration's form is shown again.
enum Refused<'a> {
    /// The console's own field errors (a priority that is not a number).
    Typed(BTreeMap<String, String>),
    /// The API's refusal.
    Api(&'a crate::console::client::Reply),
}

/// The form shown again after `refused`, with what was typed except its
/// secrets.
fn again(
    console: &Console,
    provider: &Provider,
    action: String,
    config: Option<&Value>,
    form: &Form,
    refused: Refused<'_>,
) -> Page {
    let (shown, status) = match refused {
        Refused::Typed(errors) => (
            crate::console::forms::again(form, &errors),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Refused::Api(reply) => {
            let status = shown_again(console, reply)?;
            let names = input_names(provider);
            let pairs: Vec<(&str, &str)> = names
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            (refusal(form, reply, &pairs), status)
        }
    };
    let shown = shown_without_secrets(provider, shown);
    form_page(console, provider, action, config, shown, status)
}

/// `POST /integrations/configure/{slug}`: creates the configuration.
pub async fn configure(console: Console, Segments(slug): Segments<String>, form: Form) -> Page {
    guarded(&console, &form)?;
    console.require(&[Role::Admin])?;
    let provider = offered(&console, &slug).await?;
    let action = format!("/integrations/configure/{slug}");
    let Typed {
        settings,
        credentials,
        priority,
    } = match fields_of(provider, &form) {
        Ok(fields) => fields,
        Err(errors) => {
            return again(
                &console,
                provider,
                action,
                None,
                &form,
                Refused::Typed(errors),
            )
        }
    };
    let body = json!({
        "provider": slug,
        "name": form.text("name").trim(),
        "environment": form.text("environment"),
        "is_primary": form.ticked("is_primary"),
        "priority": priority,
        "settings": settings,
        "credentials": credentials,
    });
    let reply = console
        .send(Call::post(Some(&console.viewer), "/integrations/configs", &body).from_form(&form))
        .await?;
    if reply.ok() {
        let id = reply.body["id"].as_str().unwrap_or_default();
        return Ok(console.done(
            &format!("/integrations/configs/{id}"),
            "Configuration saved: test its connection",
        ));
    }
    again(
        &console,
        provider,
        action,
        None,
        &form,
        Refused::Api(&reply),
    )
}

/// The configuration `id` and its provider.
async fn stored(
    console: &Console,
    id: Uuid,
) -> Result<(Value, &'static Provider), axum::response::Response> {
    console.require(&[Role::Admin])?;
    let config = console.read(&format!("/integrations/configs/{id}")).await?;
    let provider = catalogue::provider(config["provider"].as_str().unwrap_or_default())
        .ok_or_else(|| console.error(StatusCode::NOT_FOUND))?;
    Ok((config, provider))
}

/// `GET /integrations/configs/{id}/edit`.
pub async fn edit_form(console: Console, Segments(id): Segments<Uuid>) -> Page {
    let (config, provider) = stored(&console, id).await?;
    let mut values = Map::new();
    for key in ["name", "environment"] {
        values.insert(key.into(), config[key].clone());
    }
    values.insert("priority".into(), json!(config["priority"].to_string()));
    values.insert("is_primary".into(), config["is_primary"].clone());
    if let Some(settings) = config["settings"].as_object() {
        values.extend(settings.clone());
    }
    form_page(
        &console,
        provider,
        format!("/integrations/configs/{id}/edit"),
        Some(&config),
        json!({"values": values, "errors": {}}),
        StatusCode::OK,
    )
}

/// `POST /integrations/configs/{id}/edit`: a blank secret keeps the stored
/// one; a setting left blank is removed.
pub async fn edit(console: Console, Segments(id): Segments<Uuid>, form: Form) -> Page {
    guarded(&console, &form)?;
    let (config, provider) = stored(&console, id).await?;
    let action = format!("/integrations/configs/{id}/edit");
    let Typed {
        settings,
        credentials,
        priority,
    } = match fields_of(provider, &form) {
        Ok(fields) => fields,
        Err(errors) => {
            let refused = Refused::Typed(errors);
            return again(&console, provider, action, Some(&config), &form, refused);
        }
    };
    let mut body = json!({
        "name": form.text("name").trim(),
        "is_primary": form.ticked("is_primary"),
        "priority": priority,
        "settings": settings,
    });
    if !credentials.is_empty() {
        body["credentials"] = Value::Object(credentials);
    }
    let call = Call::new(
        Method::PATCH,
        Some(&console.viewer),
        format!("/integrations/configs/{id}"),
    )
    .json(&body)
    .from_form(&form);
    let reply = console.send(call).await?;
    if reply.ok() {
        return Ok(console.done(
            &format!("/integrations/configs/{id}"),
            "Configuration saved",
        ));
    }
    again(
        &console,
        provider,
        action,
        Some(&config),
        &form,
        Refused::Api(&reply),
    )
}
