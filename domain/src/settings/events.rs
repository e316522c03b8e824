//! What happened to the settings.

use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::sections::{
    BrandingSettings, EmailSettings, GeneralSettings, Section, SecuritySettings,
};
use crate::validation::ValidationErrors;

/// One section's values, named by its section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionValues {
    /// The general section.
    General(GeneralSettings),
    /// The branding section.
    Branding(BrandingSettings),
    /// The email section.
    Email(EmailSettings),
    /// The security section.
    Security(SecuritySettings),
}

impl SectionValues {
    /// Which section these are.
    pub fn section(&self) -> Section {
        match self {
            SectionValues::General(_) => Section::General,
            SectionValues::Branding(_) => Section::Branding,
            SectionValues::Email(_) => Section::Email,
            SectionValues::Security(_) => Section::Security,
        }
    }

    /// Trimmed and normalised, or every rule broken.
    ///
    /// # Errors
    /// A field error for each rule broken.
    pub fn validated(self) -> Result<Self, ValidationErrors> {
        Ok(match self {
            SectionValues::General(v) => SectionValues::General(v.validated()?),
            SectionValues::Branding(v) => SectionValues::Branding(v.validated()?),
            SectionValues::Email(v) => SectionValues::Email(v.validated()?),
            SectionValues::Security(v) => SectionValues::Security(v.validated()?),
        })
    }

    /// The values as a JSON object of fields.
    fn fields(&self) -> serde_json::Map<String, serde_json::Value> {
        let value = match self {
            SectionValues::General(v) => serde_json::to_value(v),
            SectionValues::Branding(v) => serde_json::to_value(v),
            SectionValues::Email(v) => serde_json::to_value(v),
            SectionValues::Security(v) => serde_json::to_value(v),
        };
        match value {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        }
    }

    /// The names of the fields whose values differ from `other`'s, in
    /// alphabetical order.
    pub fn changed_fields(&self, other: &SectionValues) -> Vec<String> {
        let (before, after) = (self.fields(), other.fields());
        after
            .iter()
            .filter(|(field, value)| before.get(*field) != Some(value))
            .map(|(field, _)| field.clone())
            .collect()
    }
}

/// An event of the settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SettingsEvent {
    /// An admin saved a section: the fields that changed, and the section
    /// as it now stands.
    SettingsChanged {
        /// The fields whose values changed (empty when a section saved the
        /// first time kept the environment's values).
        fields: Vec<String>,
        /// The section's values now.
        values: SectionValues,
    },
}

impl DomainEvent for SettingsEvent {
    fn event_type(&self) -> String {
        match self {
            SettingsEvent::SettingsChanged { .. } => "SettingsChanged".into(),
        }
    }

    fn event_version(&self) -> String {
        "1.0".into()
    }
}
