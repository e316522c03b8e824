//! The `Settings` aggregate: the deployment's general, branding, email and
//! security settings as admins saved them. One aggregate
//! ([`SETTINGS_ID`]); every save is a `SettingsChanged` event naming the
//! section and the fields that changed (the metadata names who).
//!
//! Until a section is saved, the environment's values are in force: the
//! state holds only what was saved, and [`Settings::effective`] lays it
//! over the defaults it is given.

mod commands;
mod errors;
mod events;
mod sections;
#[cfg(test)]
mod tests;

pub use commands::SettingsCommand;
pub use errors::SettingsError;
pub use events::{SectionValues, SettingsEvent};
pub use sections::{
    BrandingSettings, EmailSettings, GeneralSettings, Section, SecuritySettings,
    PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH_FLOOR,
};

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use crate::branding::Branding;

/// The id of the one settings aggregate.
pub const SETTINGS_ID: &str = "settings";

/// Every section's values: what is in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsValues {
    /// The company, its currency, time zone and contacts.
    pub general: GeneralSettings,
    /// The brand.
    pub branding: BrandingSettings,
    /// The sender and footer of emails.
    pub email: EmailSettings,
    /// Passwords, lockout, sessions and tokens.
    pub security: SecuritySettings,
}

impl SettingsValues {
    /// The section `section` as a whole.
    pub fn section(&self, section: Section) -> SectionValues {
        match section {
            Section::General => SectionValues::General(self.general.clone()),
            Section::Branding => SectionValues::Branding(self.branding.clone()),
            Section::Email => SectionValues::Email(self.email.clone()),
            Section::Security => SectionValues::Security(self.security),
        }
    }

    /// These values with `values` in place of their section.
    pub fn with(mut self, values: SectionValues) -> Self {
        match values {
            SectionValues::General(v) => self.general = v,
            SectionValues::Branding(v) => self.branding = v,
            SectionValues::Email(v) => self.email = v,
            SectionValues::Security(v) => self.security = v,
        }
        self
    }

    /// The brand as messages and documents carry it.
    pub fn brand(&self) -> Branding {
        Branding {
            name: self.branding.brand_name.clone(),
            logo_url: self.branding.logo_url.clone(),
            primary_colour: self.branding.primary_colour.clone(),
            support_email: self.general.support_email.clone(),
            support_phone: self.general.support_phone.clone(),
        }
    }
}

/// What admins saved, by section (`None`: never saved, the environment's
/// value is in force).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The general section as saved.
    pub general: Option<GeneralSettings>,
    /// The branding section as saved.
    pub branding: Option<BrandingSettings>,
    /// The email section as saved.
    pub email: Option<EmailSettings>,
    /// The security section as saved.
    pub security: Option<SecuritySettings>,
}

impl Settings {
    /// Whether `section` was saved (else the environment's values are in
    /// force).
    pub fn is_saved(&self, section: Section) -> bool {
        match section {
            Section::General => self.general.is_some(),
            Section::Branding => self.branding.is_some(),
            Section::Email => self.email.is_some(),
            Section::Security => self.security.is_some(),
        }
    }

    /// What is in force: each saved section, else its default.
    pub fn effective(&self, defaults: &SettingsValues) -> SettingsValues {
        SettingsValues {
            general: self
                .general
                .clone()
                .unwrap_or_else(|| defaults.general.clone()),
            branding: self
                .branding
                .clone()
                .unwrap_or_else(|| defaults.branding.clone()),
            email: self.email.clone().unwrap_or_else(|| defaults.email.clone()),
            security: self.security.unwrap_or(defaults.security),
        }
    }
}

impl Aggregate for Settings {
    const TYPE: &'static str = "Settings";
    type Command = SettingsCommand;
    type Event = SettingsEvent;
    type Error = SettingsError;
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
            SettingsEvent::SettingsChanged { values, .. } => match values {
                SectionValues::General(v) => self.general = Some(v),
                SectionValues::Branding(v) => self.branding = Some(v),
                SectionValues::Email(v) => self.email = Some(v),
                SectionValues::Security(v) => self.security = Some(v),
            },
        }
    }
}

impl Settings {
    fn decide(&self, command: SettingsCommand) -> Result<Vec<SettingsEvent>, SettingsError> {
        match command {
            SettingsCommand::Change { values, defaults } => {
                let values = values.validated().map_err(SettingsError::Validation)?;
                let current = self.effective(&defaults).section(values.section());
                let fields = current.changed_fields(&values);
                // A section saved for the first time is recorded even when
                // it equals the environment's values: from then on it no
                // longer follows them.
                if fields.is_empty() && self.is_saved(values.section()) {
                    return Ok(vec![]);
                }
                Ok(vec![SettingsEvent::SettingsChanged { fields, values }])
            }
        }
    }
}
