//! One configured provider: commands, events, state and rules.

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use super::catalogue::{self, Category};
use crate::ids::IntegrationId;
use crate::validation::ValidationErrors;

/// Non-secret settings: field name → value.
pub type Settings = std::collections::BTreeMap<String, String>;

/// Which of a provider's environments a configuration talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// The provider's test environment.
    Sandbox,
    /// Real money, real messages.
    Production,
}

/// A configuration as recorded (no secret values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigDetails {
    /// Its id.
    pub config_id: IntegrationId,
    /// The catalogue slug.
    pub provider: String,
    /// The provider's category.
    pub category: String,
    /// A name people recognise.
    pub name: String,
    /// Which environment.
    pub environment: Environment,
    /// Whether it is used.
    pub enabled: bool,
    /// Whether it is the first choice of its category.
    pub is_primary: bool,
    /// Fallback order (lower first).
    pub priority: u32,
    /// Non-secret settings (`base_url`, `shortcode`, ...).
    pub settings: Settings,
    /// The credential fields that are set (names only).
    pub credential_fields: Vec<String>,
}

/// The setting that narrows the currencies a payment configuration takes
/// (`"USD,KES"`: an account that settles only some), within its
/// provider's own list.
pub const CURRENCIES: &str = "currencies";

/// Whether a configuration of `provider` with `settings` takes payments in
/// `currency`: the provider takes it (the catalogue's list, empty for any)
/// and the configuration's `currencies`, when set, names it.
pub fn takes(provider: &str, settings: &Settings, currency: &str) -> bool {
    let by_provider = catalogue::provider(provider)
        .is_some_and(|entry| entry.currencies.is_empty() || entry.currencies.contains(&currency));
    by_provider
        && settings.get(CURRENCIES).is_none_or(|named| {
            named
                .split(',')
                .any(|code| code.trim().eq_ignore_ascii_case(currency))
        })
}

impl ConfigDetails {
    /// Whether this configuration takes payments in `currency`.
    pub fn takes(&self, currency: &str) -> bool {
        takes(&self.provider, &self.settings, currency)
    }
}

/// The problems of `settings.currencies` for `entry`: each code one
/// ifinsure knows and the provider takes.
fn check_currencies(entry: &catalogue::Provider, named: &str, errors: &mut ValidationErrors) {
    let field = format!("settings.{CURRENCIES}");
    if entry.category != Category::Payment {
        errors.add(&field, "only payment configurations take currencies");
        return;
    }
    let codes: Vec<&str> = named.split(',').map(str::trim).collect();
    if codes.iter().any(|code| code.is_empty()) {
        errors.add(
            &field,
            "must list ISO 4217 codes separated by commas, e.g. KES,USD",
        );
        return;
    }
    for code in codes {
        if crate::Currency::parse(code).is_err() {
            errors.add(
                &field,
                format!("{code} is not an ISO 4217 currency ifinsure knows"),
            );
        } else if !entry.currencies.is_empty() && !entry.currencies.contains(&code) {
            errors.add(
                &field,
                format!(
                    "{code} is not a currency {} takes ({})",
                    entry.name,
                    entry.currencies.join(", ")
                ),
            );
        }
    }
}

/// A connection test's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionTest {
    /// Whether the provider accepted the credentials.
    pub ok: bool,
    /// How long it took.
    pub latency_ms: u64,
    /// What it said.
    pub detail: String,
}

/// A configuration as requested.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConfig {
    /// The new configuration's id.
    pub config_id: IntegrationId,
    /// The catalogue slug.
    pub provider: String,
    /// Name.
    pub name: String,
    /// Environment.
    pub environment: Environment,
    /// Enabled.
    pub enabled: bool,
    /// Primary.
    pub is_primary: bool,
    /// Fallback order.
    pub priority: u32,
    /// Non-secret settings.
    pub settings: Settings,
    /// Names of the credentials given.
    pub credential_fields: Vec<String>,
}

/// The commands of an `IntegrationConfig`.
#[derive(Debug, Clone, PartialEq)]
pub enum IntegrationCommand {
    /// Configure a provider.
    Create(NewConfig),
    /// Change some of it; `credential_fields` when credentials were replaced.
    Update {
        /// New name.
        name: Option<String>,
        /// New enabled.
        enabled: Option<bool>,
        /// New primary flag.
        is_primary: Option<bool>,
        /// New priority.
        priority: Option<u32>,
        /// New settings (replacing the old).
        settings: Option<Settings>,
        /// The credential fields now set, when credentials changed.
        credential_fields: Option<Vec<String>>,
    },
    /// Switch it on or off.
    Toggle,
    /// Record a connection test.
    RecordTest(ConnectionTest),
}

/// The events of an `IntegrationConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum IntegrationEvent {
    /// A provider was configured.
    IntegrationConfigured(ConfigDetails),
    /// Some of it changed: which fields, and the result (still no secrets).
    IntegrationUpdated {
        /// The names of the fields changed (`credentials.secret_key`, ...).
        changed: Vec<String>,
        /// The configuration after the change.
        details: ConfigDetails,
    },
    /// It was switched on or off.
    IntegrationToggled {
        /// Now enabled?
        enabled: bool,
    },
    /// A connection test ran.
    ConnectionTested(ConnectionTest),
}

impl DomainEvent for IntegrationEvent {
    fn event_type(&self) -> String {
        match self {
            IntegrationEvent::IntegrationConfigured(_) => "IntegrationConfigured",
            IntegrationEvent::IntegrationUpdated { .. } => "IntegrationUpdated",
            IntegrationEvent::IntegrationToggled { .. } => "IntegrationToggled",
            IntegrationEvent::ConnectionTested(_) => "ConnectionTested",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}

/// Why an integration command was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IntegrationError {
    /// No configuration under that id.
    #[error("no such integration configuration")]
    NotFound,
    /// It exists already.
    #[error("the configuration exists already")]
    AlreadyConfigured,
    /// The input breaks a rule.
    #[error("invalid: {0}")]
    Validation(ValidationErrors),
}

/// The configuration's state, rebuilt from its events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IntegrationConfig {
    /// As configured.
    pub details: Option<ConfigDetails>,
    /// The last connection test.
    pub last_test: Option<ConnectionTest>,
}

/// Checks fields against the provider's schema, listing every problem.
fn check_fields(
    provider: &str,
    name: &str,
    settings: &Settings,
    credential_fields: &[String],
) -> Result<Category, IntegrationError> {
    let mut errors = ValidationErrors::new();
    let Some(entry) = catalogue::provider(provider) else {
        errors.add(
            "provider",
            "is not in the catalogue (GET /integrations/providers)",
        );
        return Err(IntegrationError::Validation(errors));
    };
    errors.check(
        !name.trim().is_empty() && name.chars().count() <= 100,
        "name",
        "must be 1 to 100 characters",
    );
    for field in entry.fields {
        // A provider's identifiers (a shortcode, an account SID, a sender)
        // are not secret, but admins often send them with the credentials,
        // as the provider's dashboard lists them together: both places do.
        let in_credentials = credential_fields.iter().any(|f| f == field.name);
        let (given, place) = if field.secret {
            (in_credentials, "credentials")
        } else {
            (
                in_credentials || settings.contains_key(field.name),
                "settings",
            )
        };
        errors.check(
            !field.required || given,
            &format!("{place}.{}", field.name),
            "is required",
        );
    }
    for key in settings.keys() {
        let known = key == "base_url"
            || key == CURRENCIES
            || entry.fields.iter().any(|f| f.name == key && !f.secret);
        let secret = entry.fields.iter().any(|f| f.name == key && f.secret);
        if secret {
            errors.add(
                &format!("settings.{key}"),
                "is a secret: send it in credentials",
            );
        } else {
            errors.check(
                known,
                &format!("settings.{key}"),
                format!("is not a setting of {provider}"),
            );
        }
    }
    if let Some(named) = settings.get(CURRENCIES) {
        check_currencies(entry, named, &mut errors);
    }
    if let Some(key) = settings.get("webhook_verification_key") {
        errors.check(
            crate::signatures::is_p256_public_key(key),
            "settings.webhook_verification_key",
            "must be the Event Webhook's verification key as SendGrid's Mail Settings shows it \
             (base64 of a P-256 public key)",
        );
    }
    if let Some(url) = settings.get("base_url") {
        errors.check(
            url.starts_with("https://") || url.starts_with("http://"),
            "settings.base_url",
            "must start with https:// or http://",
        );
    }
    for key in credential_fields {
        let known = entry.fields.iter().any(|f| f.name == key);
        errors.check(
            known,
            &format!("credentials.{key}"),
            format!("is not a credential of {provider}"),
        );
    }
    errors.into_result().map_err(IntegrationError::Validation)?;
    Ok(entry.category)
}

impl IntegrationConfig {
    fn decide(
        &self,
        command: IntegrationCommand,
    ) -> Result<Vec<IntegrationEvent>, IntegrationError> {
        match command {
            IntegrationCommand::Create(new) => {
                if self.details.is_some() {
                    return Err(IntegrationError::AlreadyConfigured);
                }
                let category = check_fields(
                    &new.provider,
                    &new.name,
                    &new.settings,
                    &new.credential_fields,
                )?;
                let mut credential_fields = new.credential_fields;
                credential_fields.sort();
                Ok(vec![IntegrationEvent::IntegrationConfigured(
                    ConfigDetails {
                        config_id: new.config_id,
                        provider: new.provider,
                        category: category.as_str().to_string(),
                        name: new.name.trim().to_string(),
                        environment: new.environment,
                        enabled: new.enabled,
                        is_primary: new.is_primary,
                        priority: new.priority,
                        settings: new.settings,
                        credential_fields,
                    },
                )])
            }
            IntegrationCommand::Update {
                name,
                enabled,
                is_primary,
                priority,
                settings,
                credential_fields,
            } => {
                let before = self.details.as_ref().ok_or(IntegrationError::NotFound)?;
                let mut after = before.clone();
                let mut changed = Vec::new();
                if let Some(name) = name
                    .map(|n| n.trim().to_string())
                    .filter(|n| *n != before.name)
                {
                    after.name = name;
                    changed.push("name".to_string());
                }
                if let Some(value) = enabled.filter(|v| *v != before.enabled) {
                    after.enabled = value;
                    changed.push("enabled".into());
                }
                if let Some(value) = is_primary.filter(|v| *v != before.is_primary) {
                    after.is_primary = value;
                    changed.push("is_primary".into());
                }
                if let Some(value) = priority.filter(|v| *v != before.priority) {
                    after.priority = value;
                    changed.push("priority".into());
                }
                if let Some(settings) = settings {
                    for key in settings.keys().chain(before.settings.keys()) {
                        if settings.get(key) != before.settings.get(key)
                            && !changed.contains(&format!("settings.{key}"))
                        {
                            changed.push(format!("settings.{key}"));
                        }
                    }
                    after.settings = settings;
                }
                if let Some(mut fields) = credential_fields {
                    fields.sort();
                    changed.extend(fields.iter().map(|f| format!("credentials.{f}")));
                    after.credential_fields = fields;
                }
                check_fields(
                    &after.provider,
                    &after.name,
                    &after.settings,
                    &after.credential_fields,
                )?;
                if changed.is_empty() {
                    return Ok(vec![]);
                }
                Ok(vec![IntegrationEvent::IntegrationUpdated {
                    changed,
                    details: after,
                }])
            }
            IntegrationCommand::Toggle => {
                let details = self.details.as_ref().ok_or(IntegrationError::NotFound)?;
                Ok(vec![IntegrationEvent::IntegrationToggled {
                    enabled: !details.enabled,
                }])
            }
            IntegrationCommand::RecordTest(test) => {
                self.details.as_ref().ok_or(IntegrationError::NotFound)?;
                Ok(vec![IntegrationEvent::ConnectionTested(test)])
            }
        }
    }
}

impl Aggregate for IntegrationConfig {
    const TYPE: &'static str = "IntegrationConfig";
    type Command = IntegrationCommand;
    type Event = IntegrationEvent;
    type Error = IntegrationError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            IntegrationEvent::IntegrationConfigured(details) => self.details = Some(details),
            IntegrationEvent::IntegrationUpdated { details, .. } => self.details = Some(details),
            IntegrationEvent::IntegrationToggled { enabled } => {
                if let Some(details) = self.details.as_mut() {
                    details.enabled = enabled;
                }
            }
            IntegrationEvent::ConnectionTested(test) => self.last_test = Some(test),
        }
    }
}
