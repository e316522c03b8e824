//! What can be asked of a user account.

use super::errors::UserError;
use super::events::UserEvent;
use crate::contact::{EmailAddress, PhoneNumber};
use crate::ids::UserId;
use crate::role::Role;
use crate::validation::ValidationErrors;

/// The commands of a `User`.
#[derive(Debug, Clone, PartialEq)]
pub enum UserCommand {
    /// Open the account.
    Register(Registration),
    /// Give the user another role (admin only, checked by the API).
    ChangeRole {
        /// The new role.
        role: Role,
        /// Customers this user serves as their agent, counted by the caller:
        /// an agent who still serves customers keeps the role until they
        /// are given to another agent.
        customers_served: u64,
        /// Applications and policies this user holds as a customer, counted
        /// by the caller: a customer who holds any stays a customer (their
        /// records are scoped to the customer role).
        policies_held: u64,
    },
    /// Make an agent responsible for this customer.
    AssignAgent {
        /// The agent.
        agent_id: UserId,
        /// The agent's current role, looked up by the caller.
        agent_role: Role,
    },
    /// Record that a password reset was asked for.
    RequestPasswordReset {
        /// The request (its token is derived from it).
        request_id: uuid::Uuid,
        /// When the token stops working.
        expires_at: chrono::DateTime<chrono::Utc>,
    },
    /// Record that a reset token was used to set the password.
    CompletePasswordReset {
        /// The request.
        request_id: uuid::Uuid,
    },
    /// Choose which notifications to get.
    SetNotificationPreferences(crate::notifications::Preferences),
    /// Stop reminders and marketing on one channel (the unsubscribe link);
    /// transactional and legally required notices still go.
    Unsubscribe(crate::notifications::Channel),
    /// The person changes their name or phone number (`None`: unchanged;
    /// a phone of `Some(None)`: removed).
    UpdateProfile {
        /// The new name.
        full_name: Option<String>,
        /// The new phone number, or none.
        phone_number: Option<Option<PhoneNumber>>,
    },
    /// Record that the person changed their password (the hash itself is
    /// kept outside the event store).
    RecordPasswordChange,
    /// Stop the account from signing in (an admin's decision; the API ends
    /// its sessions).
    Deactivate {
        /// Why, if given.
        reason: Option<String>,
    },
    /// Let a deactivated account sign in again.
    Reactivate,
}

/// A new account's details, parsed but not yet checked against the rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    /// Login address.
    pub email: EmailAddress,
    /// Name.
    pub full_name: String,
    /// Phone, if given.
    pub phone_number: Option<PhoneNumber>,
    /// Role.
    pub role: Role,
}

const MAX_NAME: usize = 200;

/// `full_name` trimmed, if it is 1 to 200 characters.
pub(super) fn checked_name(full_name: &str, errors: &mut ValidationErrors) -> String {
    let full_name = full_name.trim().to_string();
    errors.check(
        !full_name.is_empty() && full_name.chars().count() <= MAX_NAME,
        "full_name",
        format!("must be 1 to {MAX_NAME} characters"),
    );
    full_name
}

impl Registration {
    /// Checks the rules and returns the event to record.
    ///
    /// # Errors
    /// `UserError::Validation` listing every broken rule.
    pub fn validate(self) -> Result<UserEvent, UserError> {
        let mut errors = ValidationErrors::new();
        let full_name = checked_name(&self.full_name, &mut errors);
        errors.into_result().map_err(UserError::Validation)?;
        Ok(UserEvent::UserRegistered {
            email: self.email,
            full_name,
            phone_number: self.phone_number,
            role: self.role,
        })
    }
}
