//! The notification templates (`workers/templates/`, minijinja): for each
//! template a `.txt` whose first line is the email subject and the rest the
//! plain-text body, an optional `.sms` for the templates that also go by
//! SMS, and one `base.html` layout that frames every email with the
//! insurer's branding and an unsubscribe link. They are compiled into the
//! binary and all checked when loaded, so a broken template stops the
//! start, not a send.

use std::sync::Arc;

use domain::notifications::{Channel, Template};
use minijinja::Environment;
use projections::live_settings::LiveSettings;
use serde_json::{json, Value};

pub use domain::branding::Branding;

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Email subject (`None` for SMS).
    pub subject: Option<String>,
    /// The SMS, or the email's plain text.
    pub text: String,
    /// The email's HTML.
    pub html: Option<String>,
}

macro_rules! sources {
    ($($name:literal),* $(,)?) => {
        &[$(
            (concat!($name, ".txt"), include_str!(concat!("../../templates/", $name, ".txt"))),
        )*]
    };
}

const TEXT: &[(&str, &str)] = sources!(
    "welcome",
    "application_submitted",
    "application_approved",
    "application_rejected",
    "policy_activated",
    "policy_expiring",
    "claim_submitted",
    "claim_status_update",
    "claim_approved",
    "claim_paid",
    "invoice_created",
    "invoice_overdue",
    "payment_received",
    "password_reset",
    "policy_cancelled",
    "policy_lapsed",
    "agent_copy",
    "application_submitted.staff",
    "claim_submitted.staff",
);

const SMS: &[(&str, &str)] = &[
    (
        "policy_activated.sms",
        include_str!("../../templates/policy_activated.sms"),
    ),
    (
        "policy_expiring.sms",
        include_str!("../../templates/policy_expiring.sms"),
    ),
    (
        "claim_status_update.sms",
        include_str!("../../templates/claim_status_update.sms"),
    ),
    (
        "claim_paid.sms",
        include_str!("../../templates/claim_paid.sms"),
    ),
    (
        "invoice_overdue.sms",
        include_str!("../../templates/invoice_overdue.sms"),
    ),
    (
        "payment_received.sms",
        include_str!("../../templates/payment_received.sms"),
    ),
    (
        "policy_cancelled.sms",
        include_str!("../../templates/policy_cancelled.sms"),
    ),
    (
        "policy_lapsed.sms",
        include_str!("../../templates/policy_lapsed.sms"),
    ),
];

const BASE: &str = include_str!("../../templates/base.html");

/// Where the templates' branding and email footer come from.
enum Brand {
    /// Given once (tests, tools).
    Fixed(Branding),
    /// The settings in force, read at each message.
    Live(Arc<LiveSettings>),
}

/// The loaded templates.
pub struct Templates {
    env: Environment<'static>,
    brand: Brand,
}

impl Templates {
    /// Compiles every template.
    ///
    /// # Errors
    /// The first template that does not compile, or a template of the plan
    /// (or an SMS template) that is missing.
    pub fn load(branding: Branding) -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, source) in TEXT.iter().chain(SMS) {
            env.add_template(name, source)?;
        }
        env.add_template("base.html", BASE)?;
        for template in Template::ALL {
            env.get_template(&format!("{}.txt", template.as_str()))?;
            if template.also_by_sms() {
                env.get_template(&format!("{}.sms", template.as_str()))?;
            }
            if template.for_staff_queue() {
                env.get_template(&format!("{}.staff.txt", template.as_str()))?;
            }
        }
        Ok(Self {
            env,
            brand: Brand::Fixed(branding),
        })
    }

    /// These templates, branded by the settings in force at each message
    /// (the brand, the support contacts and the email footer an admin
    /// saved).
    pub fn following(mut self, settings: Arc<LiveSettings>) -> Self {
        self.brand = Brand::Live(settings);
        self
    }

    /// The branding and the email footer (blank: none) now.
    fn branding(&self) -> (Branding, String) {
        match &self.brand {
            Brand::Fixed(branding) => (branding.clone(), String::new()),
            Brand::Live(settings) => {
                let values = settings.current();
                (values.brand(), values.email.footer.clone())
            }
        }
    }

    /// Renders `template` for `channel` with `data` (the event's facts and
    /// `recipient`), plus the branding and `unsubscribe_url`.
    ///
    /// # Errors
    /// When the data lacks a field the template uses.
    pub fn render(
        &self,
        template: Template,
        channel: Channel,
        data: &Value,
        unsubscribe_url: Option<&str>,
    ) -> Result<Rendered, minijinja::Error> {
        let context = self.context(data, unsubscribe_url);
        if channel == Channel::Sms {
            let sms = self
                .env
                .get_template(&format!("{}.sms", template.as_str()))?
                .render(&context)?;
            return Ok(Rendered {
                subject: None,
                text: sms.trim().to_string(),
                html: None,
            });
        }
        let (subject, body) = self.email_parts(&format!("{}.txt", template.as_str()), &context)?;
        self.frame(&subject, &body, context)
    }

    /// Renders the staff queue's email about `template` (`<name>.staff.txt`);
    /// `data` has the facts and the `customer` (name, email).
    ///
    /// # Errors
    /// When the data lacks a field the template uses.
    pub fn render_for_staff(
        &self,
        template: Template,
        data: &Value,
    ) -> Result<Rendered, minijinja::Error> {
        let context = self.context(data, None);
        let name = format!("{}.staff.txt", template.as_str());
        let (subject, body) = self.email_parts(&name, &context)?;
        self.frame(&subject, &body, context)
    }

    /// Renders an agent's copy of the customer's email about `template`:
    /// `data` has the facts, `recipient` (the agent) and `customer` (name,
    /// email); the customer's message follows a line saying whose it is.
    /// The link is the agent's own.
    ///
    /// # Errors
    /// When the data lacks a field the template uses.
    pub fn render_agent_copy(
        &self,
        template: Template,
        data: &Value,
        unsubscribe_url: Option<&str>,
    ) -> Result<Rendered, minijinja::Error> {
        let mut customer = data.clone();
        customer["recipient"] = json!({"name": data["customer"]["name"]});
        let customer = self.context(&customer, None);
        let (subject, body) = self.email_parts(&format!("{}.txt", template.as_str()), &customer)?;
        let mut context = self.context(data, unsubscribe_url);
        context["subject"] = json!(subject);
        let (subject, intro) = self.email_parts("agent_copy.txt", &context)?;
        self.frame(&subject, &format!("{intro}\n\n{body}"), context)
    }

    /// `data` with the branding, the link and the locale.
    fn context(&self, data: &Value, unsubscribe_url: Option<&str>) -> Value {
        let mut context = data.clone();
        let (branding, footer) = self.branding();
        context["brand"] = json!(branding);
        context["footer"] = json!(footer);
        context["unsubscribe_url"] = json!(unsubscribe_url);
        context["locale"] = json!(data.get("locale").and_then(Value::as_str).unwrap_or("en"));
        context
    }

    /// An email template's subject (its first line) and body.
    fn email_parts(
        &self,
        name: &str,
        context: &Value,
    ) -> Result<(String, String), minijinja::Error> {
        let full = self.env.get_template(name)?.render(context)?;
        let (subject, body) = full.split_once('\n').unwrap_or((&full, ""));
        Ok((subject.trim().to_string(), body.trim().to_string()))
    }

    /// The email: the plain text with its footer, and the branded HTML.
    fn frame(
        &self,
        subject: &str,
        body: &str,
        mut context: Value,
    ) -> Result<Rendered, minijinja::Error> {
        let paragraphs: Vec<&str> = body
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        context["subject"] = json!(subject);
        context["paragraphs"] = json!(paragraphs);
        let html = self.env.get_template("base.html")?.render(&context)?;
        let mut text = format!(
            "{}\n\n--\n{}",
            paragraphs.join("\n\n"),
            context["brand"]["name"].as_str().unwrap_or_default()
        );
        if let Some(footer) = context["footer"].as_str().filter(|f| !f.is_empty()) {
            text.push_str(&format!("\n{footer}"));
        }
        if let Some(url) = context["unsubscribe_url"].as_str() {
            text.push_str(&format!("\nManage or stop these messages: {url}"));
        }
        Ok(Rendered {
            subject: Some(subject.to_string()),
            text,
            html: Some(html),
        })
    }
}

#[cfg(test)]
mod tests;
