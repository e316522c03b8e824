//! The `User` aggregate: a person's account, role and agent assignment.
//!
//! Passwords are not here: their hashes live in the credentials table, so
//! the immutable event store never holds a secret. What is here is the audit
//! trail of who got which role when, and which agent serves which customer.

mod commands;
mod errors;
mod events;
#[cfg(test)]
mod tests;

pub use commands::{Registration, UserCommand};
pub use errors::UserError;
pub use events::UserEvent;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use crate::contact::{EmailAddress, PhoneNumber};
use crate::ids::UserId;
use crate::role::Role;

/// A registered user's profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Login and contact address.
    pub email: EmailAddress,
    /// Name as the person gave it.
    pub full_name: String,
    /// For SMS notices and M-Pesa.
    pub phone_number: Option<PhoneNumber>,
    /// Current role.
    pub role: Role,
    /// The agent serving this customer, if any.
    pub agent_id: Option<UserId>,
}

/// The user's state, rebuilt from its events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Set once registered.
    pub profile: Option<Profile>,
    /// What notifications the person wants.
    #[serde(default)]
    pub preferences: crate::notifications::Preferences,
    /// Deactivated by an admin: may not sign in.
    #[serde(default)]
    pub deactivated: bool,
}

impl Aggregate for User {
    const TYPE: &'static str = "User";
    type Command = UserCommand;
    type Event = UserEvent;
    type Error = UserError;
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
            UserEvent::UserRegistered {
                email,
                full_name,
                phone_number,
                role,
            } => {
                self.profile = Some(Profile {
                    email,
                    full_name,
                    phone_number,
                    role,
                    agent_id: None,
                });
            }
            UserEvent::RoleChanged { to, .. } => {
                if let Some(profile) = self.profile.as_mut() {
                    profile.role = to;
                }
            }
            UserEvent::AgentAssigned { agent_id, .. } => {
                if let Some(profile) = self.profile.as_mut() {
                    profile.agent_id = Some(agent_id);
                }
            }
            // Credentials live outside the event store; these are the audit
            // trail of a reset, not state the aggregate decides on.
            UserEvent::PasswordResetRequested { .. }
            | UserEvent::PasswordResetCompleted { .. }
            | UserEvent::PasswordChanged => {}
            UserEvent::ProfileUpdated {
                full_name,
                phone_number,
            } => {
                if let Some(profile) = self.profile.as_mut() {
                    profile.full_name = full_name;
                    profile.phone_number = phone_number;
                }
            }
            UserEvent::NotificationPreferencesSet { preferences } => {
                self.preferences = preferences;
            }
            UserEvent::UserDeactivated { .. } => self.deactivated = true,
            UserEvent::UserReactivated => self.deactivated = false,
        }
    }
}

impl User {
    fn decide(&self, command: UserCommand) -> Result<Vec<UserEvent>, UserError> {
        match command {
            UserCommand::Register(registration) => {
                if self.profile.is_some() {
                    return Err(UserError::AlreadyRegistered);
                }
                Ok(vec![registration.validate()?])
            }
            UserCommand::ChangeRole {
                role,
                customers_served,
                policies_held,
            } => {
                let profile = self.profile.as_ref().ok_or(UserError::NotFound)?;
                if profile.role == role {
                    return Ok(vec![]);
                }
                if profile.role == Role::Agent && customers_served > 0 {
                    return Err(UserError::ServesCustomers(customers_served));
                }
                if profile.role == Role::Customer && policies_held > 0 {
                    return Err(UserError::HoldsPolicies(policies_held));
                }
                Ok(vec![UserEvent::RoleChanged {
                    from: profile.role,
                    to: role,
                }])
            }
            UserCommand::AssignAgent {
                agent_id,
                agent_role,
            } => {
                let profile = self.profile.as_ref().ok_or(UserError::NotFound)?;
                if profile.role != Role::Customer {
                    return Err(UserError::NotACustomer);
                }
                if agent_role != Role::Agent {
                    return Err(UserError::NotAnAgent);
                }
                if profile.agent_id == Some(agent_id) {
                    return Ok(vec![]);
                }
                Ok(vec![UserEvent::AgentAssigned {
                    agent_id,
                    previous_agent_id: profile.agent_id,
                }])
            }
            UserCommand::RequestPasswordReset {
                request_id,
                expires_at,
            } => {
                self.profile.as_ref().ok_or(UserError::NotFound)?;
                Ok(vec![UserEvent::PasswordResetRequested {
                    request_id,
                    expires_at,
                }])
            }
            UserCommand::CompletePasswordReset { request_id } => {
                self.profile.as_ref().ok_or(UserError::NotFound)?;
                Ok(vec![UserEvent::PasswordResetCompleted { request_id }])
            }
            UserCommand::SetNotificationPreferences(preferences) => {
                self.profile.as_ref().ok_or(UserError::NotFound)?;
                if self.preferences == preferences {
                    return Ok(vec![]);
                }
                Ok(vec![UserEvent::NotificationPreferencesSet { preferences }])
            }
            UserCommand::Unsubscribe(channel) => {
                self.profile.as_ref().ok_or(UserError::NotFound)?;
                let preferences = self.preferences.without_optional(channel);
                if self.preferences == preferences {
                    return Ok(vec![]);
                }
                Ok(vec![UserEvent::NotificationPreferencesSet { preferences }])
            }
            UserCommand::UpdateProfile {
                full_name,
                phone_number,
            } => {
                let profile = self.profile.as_ref().ok_or(UserError::NotFound)?;
                let mut errors = crate::validation::ValidationErrors::new();
                let full_name = full_name.map_or_else(
                    || profile.full_name.clone(),
                    |name| commands::checked_name(&name, &mut errors),
                );
                errors.into_result().map_err(UserError::Validation)?;
                let phone_number = phone_number.unwrap_or_else(|| profile.phone_number.clone());
                if full_name == profile.full_name && phone_number == profile.phone_number {
                    return Ok(vec![]);
                }
                Ok(vec![UserEvent::ProfileUpdated {
                    full_name,
                    phone_number,
                }])
            }
            UserCommand::RecordPasswordChange => {
                self.profile.as_ref().ok_or(UserError::NotFound)?;
                Ok(vec![UserEvent::PasswordChanged])
            }
            // Deactivating a deactivated account, or reactivating an active
            // one, records nothing: a second click changes nothing.
            UserCommand::Deactivate { reason } => {
                self.profile.as_ref().ok_or(UserError::NotFound)?;
                if self.deactivated {
                    return Ok(vec![]);
                }
                let reason = reason
                    .map(|r| r.trim().to_string())
                    .filter(|r| !r.is_empty());
                let mut errors = crate::validation::ValidationErrors::new();
                errors.check(
                    reason.as_ref().is_none_or(|r| r.chars().count() <= 500),
                    "reason",
                    "must be at most 500 characters",
                );
                errors.into_result().map_err(UserError::Validation)?;
                Ok(vec![UserEvent::UserDeactivated { reason }])
            }
            UserCommand::Reactivate => {
                self.profile.as_ref().ok_or(UserError::NotFound)?;
                if !self.deactivated {
                    return Ok(vec![]);
                }
                Ok(vec![UserEvent::UserReactivated])
            }
        }
    }
}
