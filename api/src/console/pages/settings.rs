//! Settings, for admins: `/settings/general`, `/settings/branding`,
//! `/settings/email` and `/settings/security`, each one form with **Save
//! settings** over `PUT /settings/{section}` (validated there; the
//! refusals shown beside their fields). A saved value is in force at once
//! here and within a second in every other process.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use domain::settings::Section;
use domain::Role;
use serde_json::{json, Map, Value};

use super::{guarded, refusal, shown_again, Page};
use crate::console::client::Call;
use crate::console::context::Console;
use crate::console::errors::Segments;
use crate::console::forms::Form;

/// How a field is typed in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One line of text; blank is none when `optional`.
    Text,
    /// An address.
    Email,
    /// A whole number.
    Number,
    /// Several lines.
    Lines,
}

/// One field of a section's form.
struct Field {
    name: &'static str,
    label: &'static str,
    kind: Kind,
    hint: &'static str,
    optional: bool,
}

const fn field(name: &'static str, label: &'static str, kind: Kind, hint: &'static str) -> Field {
    Field {
        name,
        label,
        kind,
        hint,
        optional: false,
    }
}

const fn optional(
    name: &'static str,
    label: &'static str,
    kind: Kind,
    hint: &'static str,
) -> Field {
    Field {
        name,
        label,
        kind,
        hint,
        optional: true,
    }
}

const GENERAL: &[Field] = &[
    field(
        "company_name",
        "Company name",
        Kind::Text,
        "The insurer's legal name.",
    ),
    field(
        "default_currency",
        "Default currency",
        Kind::Text,
        "An ISO 4217 code, such as KES or USD.",
    ),
    field(
        "business_utc_offset_minutes",
        "Business day offset from UTC (minutes)",
        Kind::Number,
        "East Africa Time is 180. The business date of what happens next follows it.",
    ),
    field(
        "support_email",
        "Support email",
        Kind::Email,
        "Where customers write; on every message and document.",
    ),
    optional(
        "support_phone",
        "Support phone",
        Kind::Text,
        "Where customers call; leave blank for none.",
    ),
];

const BRANDING: &[Field] = &[
    field(
        "brand_name",
        "Brand name",
        Kind::Text,
        "In the console's header, every message and every document.",
    ),
    optional(
        "logo_url",
        "Logo URL",
        Kind::Text,
        "An https:// address of the logo emails show; leave blank for none.",
    ),
    field(
        "primary_colour",
        "Primary colour",
        Kind::Text,
        "As #rrggbb, for example #0b5394.",
    ),
];

const EMAIL: &[Field] = &[
    field(
        "from_name",
        "From name",
        Kind::Text,
        "The sender's name customers see.",
    ),
    field(
        "from_address",
        "From address",
        Kind::Email,
        "The sender's address (verified with your email provider).",
    ),
    optional(
        "reply_to",
        "Reply-to address",
        Kind::Email,
        "Where replies go; leave blank for the sender.",
    ),
    optional(
        "footer",
        "Footer",
        Kind::Lines,
        "A line under every email, such as the company's registration.",
    ),
];

const SECURITY: &[Field] = &[
    field(
        "password_min_length",
        "Minimum password length",
        Kind::Number,
        "12 to 128 characters; applies to new passwords.",
    ),
    field(
        "lockout_threshold",
        "Lockout threshold",
        Kind::Number,
        "Failed sign-ins before an account locks (1 to 100).",
    ),
    field(
        "lockout_minutes",
        "Lockout duration (minutes)",
        Kind::Number,
        "How long a locked account stays locked.",
    ),
    field(
        "session_idle_minutes",
        "Session idle timeout (minutes)",
        Kind::Number,
        "A console session unused this long ends (5 to 10080).",
    ),
    field(
        "access_token_ttl_secs",
        "Access token lifetime (seconds)",
        Kind::Number,
        "For new sign-ins (60 to 86400).",
    ),
];

fn fields(section: Section) -> &'static [Field] {
    match section {
        Section::General => GENERAL,
        Section::Branding => BRANDING,
        Section::Email => EMAIL,
        Section::Security => SECURITY,
    }
}

fn title(section: Section) -> &'static str {
    match section {
        Section::General => "General settings",
        Section::Branding => "Branding",
        Section::Email => "Email settings",
        Section::Security => "Security settings",
    }
}

/// The section named in the path, or the 404 page.
fn section_of(console: &Console, name: &str) -> Result<Section, axum::response::Response> {
    Section::parse(name).ok_or_else(|| console.error(StatusCode::NOT_FOUND))
}

async fn settings_page(
    console: &Console,
    section: Section,
    form: Option<Value>,
    status: StatusCode,
) -> Page {
    console.require(&[Role::Admin])?;
    let settings = console.read("/settings").await?;
    let current = &settings[section.as_str()];
    let form = form.unwrap_or_else(|| {
        let values: Map<String, Value> = fields(section)
            .iter()
            .map(|f| {
                let value = match &current[f.name] {
                    Value::Null => String::new(),
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                (f.name.to_string(), json!(value))
            })
            .collect();
        json!({"values": values, "errors": {}})
    });
    let saved = settings["saved_sections"]
        .as_array()
        .is_some_and(|s| s.iter().any(|n| n == section.as_str()));
    let tabs: Vec<Value> = Section::ALL
        .iter()
        .map(|s| json!({"path": format!("/settings/{}", s.as_str()), "label": title(*s), "current": *s == section}))
        .collect();
    let inputs: Vec<Value> = fields(section)
        .iter()
        .map(|f| {
            let kind = match f.kind {
                Kind::Text => "text",
                Kind::Email => "email",
                Kind::Number => "number",
                Kind::Lines => "lines",
            };
            json!({"name": f.name, "label": f.label, "kind": kind, "hint": f.hint, "required": !f.optional})
        })
        .collect();
    Ok(console.render_status(
        status,
        "settings.html",
        json!({
            "section": "/settings",
            "title": title(section),
            "name": section.as_str(),
            "tabs": tabs,
            "inputs": inputs,
            "form": form,
            "saved": saved,
            "version": settings["version"],
        }),
    ))
}

/// `GET /settings`: the general section.
pub async fn index(console: Console) -> Page {
    console.require(&[Role::Admin])?;
    Ok(crate::console::context::redirect_with(
        &console.state,
        "/settings/general",
        None,
    ))
}

/// `GET /settings/{section}`.
pub async fn show(console: Console, Segments(name): Segments<String>) -> Page {
    let section = section_of(&console, &name)?;
    settings_page(&console, section, None, StatusCode::OK).await
}

/// The section's body from the form: numbers as numbers, a blank optional
/// field as none; a number that is not one is named without asking the
/// API.
fn body(section: Section, form: &Form) -> Result<Value, BTreeMap<String, String>> {
    let mut body = Map::new();
    let mut errors = BTreeMap::new();
    for f in fields(section) {
        let text = form.text(f.name).trim().to_string();
        let value = match f.kind {
            Kind::Number => match text.parse::<i64>() {
                Ok(number) => json!(number),
                Err(_) => {
                    errors.insert(f.name.to_string(), "must be a whole number".to_string());
                    continue;
                }
            },
            _ if f.optional && text.is_empty() => Value::Null,
            _ => json!(text),
        };
        body.insert(f.name.to_string(), value);
    }
    if errors.is_empty() {
        Ok(Value::Object(body))
    } else {
        Err(errors)
    }
}

/// `POST /settings/{section}`: saves the section.
pub async fn save(console: Console, Segments(name): Segments<String>, form: Form) -> Page {
    guarded(&console, &form)?;
    console.require(&[Role::Admin])?;
    let section = section_of(&console, &name)?;
    let body = match body(section, &form) {
        Ok(body) => body,
        Err(errors) => {
            let shown = crate::console::forms::again(&form, &errors);
            return settings_page(
                &console,
                section,
                Some(shown),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let call = Call::new(
        Method::PUT,
        Some(&console.viewer),
        format!("/settings/{}", section.as_str()),
    )
    .json(&body)
    .from_form(&form);
    let reply = console.send(call).await?;
    if reply.ok() {
        let flash = format!("Settings saved: {}", title(section).to_lowercase());
        return Ok(console.done(&format!("/settings/{}", section.as_str()), &flash));
    }
    let status = shown_again(&console, &reply)?;
    let pairs: Vec<(&str, &str)> = fields(section).iter().map(|f| (f.name, f.name)).collect();
    let shown = refusal(&form, &reply, &pairs);
    settings_page(&console, section, Some(shown), status).await
}
