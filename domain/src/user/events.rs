//! What happened to a user account. Names and fields never change once stored.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::contact::{EmailAddress, PhoneNumber};
use crate::ids::UserId;
use crate::role::Role;

/// The events of a `User`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum UserEvent {
    /// The account was opened.
    UserRegistered {
        /// Login address.
        email: EmailAddress,
        /// Name.
        full_name: String,
        /// Phone.
        phone_number: Option<PhoneNumber>,
        /// Role at registration.
        role: Role,
    },
    /// The role changed.
    RoleChanged {
        /// Before.
        from: Role,
        /// After.
        to: Role,
    },
    /// An agent now serves this customer.
    AgentAssigned {
        /// The agent.
        agent_id: UserId,
        /// The agent before, if any.
        previous_agent_id: Option<UserId>,
    },
    /// A password reset was asked for. The token is derived from the
    /// request id with a server secret and never stored.
    PasswordResetRequested {
        /// The request.
        request_id: Uuid,
        /// When its token stops working.
        expires_at: DateTime<Utc>,
    },
    /// The password was set through a reset (all sessions ended).
    PasswordResetCompleted {
        /// The request whose token was used.
        request_id: Uuid,
    },
    /// The person chose which notifications to get.
    NotificationPreferencesSet {
        /// The choice.
        preferences: crate::notifications::Preferences,
    },
    /// The person changed their name or phone number (both as they are now).
    ProfileUpdated {
        /// Name.
        full_name: String,
        /// Phone, if any.
        phone_number: Option<PhoneNumber>,
    },
    /// The person changed their password (every other session ended).
    PasswordChanged,
    /// The account may no longer sign in (its sessions were ended).
    UserDeactivated {
        /// Why, if given.
        reason: Option<String>,
    },
    /// The account may sign in again.
    UserReactivated,
}

impl DomainEvent for UserEvent {
    fn event_type(&self) -> String {
        match self {
            UserEvent::UserRegistered { .. } => "UserRegistered",
            UserEvent::RoleChanged { .. } => "RoleChanged",
            UserEvent::AgentAssigned { .. } => "AgentAssigned",
            UserEvent::PasswordResetRequested { .. } => "PasswordResetRequested",
            UserEvent::PasswordResetCompleted { .. } => "PasswordResetCompleted",
            UserEvent::NotificationPreferencesSet { .. } => "NotificationPreferencesSet",
            UserEvent::ProfileUpdated { .. } => "ProfileUpdated",
            UserEvent::PasswordChanged => "PasswordChanged",
            UserEvent::UserDeactivated { .. } => "UserDeactivated",
            UserEvent::UserReactivated => "UserReactivated",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}
