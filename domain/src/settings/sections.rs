//! The four sections of the settings, each validated as a whole: what an
//! admin may save, and the rules a saved value must keep.

use serde::{Deserialize, Serialize};

use crate::contact::{EmailAddress, PhoneNumber};
use crate::currency::Currency;
use crate::validation::ValidationErrors;

/// Which section of the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// The company, its currency, time zone and contacts.
    General,
    /// The brand in the console, messages and documents.
    Branding,
    /// The sender and footer of emails.
    Email,
    /// Passwords, lockout, sessions and tokens.
    Security,
}

impl Section {
    /// Every section, in the order they are shown.
    pub const ALL: [Section; 4] = [
        Section::General,
        Section::Branding,
        Section::Email,
        Section::Security,
    ];

    /// Its name in a path (`branding`).
    pub fn as_str(self) -> &'static str {
        match self {
            Section::General => "general",
            Section::Branding => "branding",
            Section::Email => "email",
            Section::Security => "security",
        }
    }

    /// The section named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// The company, its currency, time zone and contacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneralSettings {
    /// The insurer's legal name.
    pub company_name: String,
    /// The currency new products are offered in by default (ISO 4217).
    pub default_currency: String,
    /// The business day's offset from UTC, in minutes (EAT: 180).
    pub business_utc_offset_minutes: i32,
    /// Where customers write.
    pub support_email: String,
    /// Where customers call.
    pub support_phone: Option<String>,
}

/// The brand in the console, messages and documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrandingSettings {
    /// The name in the console's header, messages and documents.
    pub brand_name: String,
    /// The logo, served over https.
    pub logo_url: Option<String>,
    /// The brand colour, `#rrggbb`.
    pub primary_colour: String,
}

/// The sender and footer of emails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSettings {
    /// The sender's name.
    pub from_name: String,
    /// The sender's address.
    pub from_address: String,
    /// Where replies go, when not to the sender.
    pub reply_to: Option<String>,
    /// A line under every email (the company's registration, say).
    pub footer: String,
}

/// Passwords, lockout, sessions and tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecuritySettings {
    /// The shortest password accepted (12 at least).
    pub password_min_length: u32,
    /// Failed sign-ins before an account locks.
    pub lockout_threshold: u32,
    /// How long a locked account stays locked.
    pub lockout_minutes: u32,
    /// A console session unused this long ends.
    pub session_idle_minutes: u32,
    /// An access token's lifetime.
    pub access_token_ttl_secs: u32,
}

/// The least a password may be: what the API promises everywhere.
pub const PASSWORD_MIN_LENGTH_FLOOR: u32 = 12;

/// The longest password accepted at all.
pub const PASSWORD_MAX_LENGTH: u32 = 256;

/// Longest free-text value (names).
const NAME_MAX: usize = 120;

/// Longest footer.
const FOOTER_MAX: usize = 1_000;

/// Longest logo URL.
const URL_MAX: usize = 500;

fn name(value: &str, field: &str, errors: &mut ValidationErrors) -> String {
    let value = value.trim();
    if value.is_empty() {
        errors.add(field, "must not be empty");
    } else if value.chars().count() > NAME_MAX {
        errors.add(field, format!("must be at most {NAME_MAX} characters"));
    } else if value.chars().any(char::is_control) {
        errors.add(field, "must be one line of text");
    }
    value.to_string()
}

fn email(value: &str, field: &str, errors: &mut ValidationErrors) -> String {
    match EmailAddress::parse(value) {
        Ok(address) => address.as_str().to_string(),
        Err(message) => {
            errors.add(field, message);
            value.to_string()
        }
    }
}

/// A blank optional value is no value.
fn optional(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn within(
    value: u32,
    range: std::ops::RangeInclusive<u32>,
    field: &str,
    unit: &str,
    errors: &mut ValidationErrors,
) {
    if !range.contains(&value) {
        errors.add(
            field,
            format!("must be from {} to {} {unit}", range.start(), range.end()),
        );
    }
}

impl GeneralSettings {
    /// The section as saved: trimmed and normalised, or every rule it breaks.
    ///
    /// # Errors
    /// A field error for each rule broken.
    pub fn validated(self) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let company_name = name(&self.company_name, "company_name", &mut errors);
        let default_currency =
            match Currency::parse(&self.default_currency.trim().to_ascii_uppercase()) {
                Ok(currency) => currency.code().to_string(),
                Err(message) => {
                    errors.add("default_currency", message);
                    self.default_currency
                }
            };
        // As BUSINESS_UTC_OFFSET_MINUTES: up to 14 hours either way.
        if !(-840..=840).contains(&self.business_utc_offset_minutes) {
            errors.add(
                "business_utc_offset_minutes",
                "must be from -840 to 840 minutes",
            );
        }
        let support_email = email(&self.support_email, "support_email", &mut errors);
        // Kept as written (it is printed for people to read: "+254 20 555
        // 0100"), once it reads as a phone number.
        let support_phone = optional(self.support_phone);
        if let Some(Err(message)) = support_phone.as_deref().map(PhoneNumber::parse) {
            errors.add("support_phone", message);
        }
        errors.into_result()?;
        Ok(Self {
            company_name,
            default_currency,
            business_utc_offset_minutes: self.business_utc_offset_minutes,
            support_email,
            support_phone,
        })
    }
}

impl BrandingSettings {
    /// The section as saved: trimmed, or every rule it breaks.
    ///
    /// # Errors
    /// A field error for each rule broken: an empty name, a logo that is
    /// not an https URL, a colour that is not `#rrggbb`.
    pub fn validated(self) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let brand_name = name(&self.brand_name, "brand_name", &mut errors);
        let logo_url = optional(self.logo_url);
        if let Some(url) = &logo_url {
            let host = url.strip_prefix("https://").unwrap_or_default();
            if host.is_empty() || host.starts_with('/') {
                errors.add("logo_url", "must be an https:// address");
            } else if url.len() > URL_MAX || url.chars().any(|c| c.is_whitespace() || c == '"') {
                errors.add(
                    "logo_url",
                    format!("must be one address of at most {URL_MAX} characters"),
                );
            }
        }
        let primary_colour = self.primary_colour.trim().to_ascii_lowercase();
        if crate::branding::hex_rgb(&primary_colour).is_none() {
            errors.add(
                "primary_colour",
                "must be a colour as #rrggbb (for example #0b5394)",
            );
        }
        errors.into_result()?;
        Ok(Self {
            brand_name,
            logo_url,
            primary_colour,
        })
    }
}

impl EmailSettings {
    /// The section as saved: trimmed and normalised, or every rule it breaks.
    ///
    /// # Errors
    /// A field error for each rule broken.
    pub fn validated(self) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let from_name = name(&self.from_name, "from_name", &mut errors);
        let from_address = email(&self.from_address, "from_address", &mut errors);
        let reply_to = optional(self.reply_to).map(|raw| email(&raw, "reply_to", &mut errors));
        let footer = self.footer.trim().to_string();
        if footer.chars().count() > FOOTER_MAX {
            errors.add("footer", format!("must be at most {FOOTER_MAX} characters"));
        }
        errors.into_result()?;
        Ok(Self {
            from_name,
            from_address,
            reply_to,
            footer,
        })
    }
}

impl SecuritySettings {
    /// The section, or every rule it breaks.
    ///
    /// # Errors
    /// A field error for each value out of its range (a lockout threshold
    /// of 0 would lock nobody out; a password shorter than 12 is weaker
    /// than the API promises).
    pub fn validated(self) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        within(
            self.password_min_length,
            PASSWORD_MIN_LENGTH_FLOOR..=128,
            "password_min_length",
            "characters",
            &mut errors,
        );
        within(
            self.lockout_threshold,
            1..=100,
            "lockout_threshold",
            "failed sign-ins",
            &mut errors,
        );
        within(
            self.lockout_minutes,
            1..=1_440,
            "lockout_minutes",
            "minutes",
            &mut errors,
        );
        within(
            self.session_idle_minutes,
            5..=10_080,
            "session_idle_minutes",
            "minutes",
            &mut errors,
        );
        within(
            self.access_token_ttl_secs,
            60..=86_400,
            "access_token_ttl_secs",
            "seconds",
            &mut errors,
        );
        errors.into_result()?;
        Ok(self)
    }
}
