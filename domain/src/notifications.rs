//! What ifinsure tells people: the notification templates of the product
//! plan, the channels they go out on, and which of them also go out by SMS.
//! Pure: the workers decide recipients and send.

use serde::{Deserialize, Serialize};

/// A notification template (the product plan's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Template {
    /// A new account.
    Welcome,
    /// An application was received.
    ApplicationSubmitted,
    /// An application was approved: the policy number and the invoice.
    ApplicationApproved,
    /// An application was rejected, with the reason.
    ApplicationRejected,
    /// The premium is paid: cover is on.
    PolicyActivated,
    /// The policy ends soon.
    PolicyExpiring,
    /// A claim was received.
    ClaimSubmitted,
    /// A claim moved (under review, rejected, closed, reopened).
    ClaimStatusUpdate,
    /// A claim was approved for an amount.
    ClaimApproved,
    /// A claim was paid out.
    ClaimPaid,
    /// An invoice was issued.
    InvoiceCreated,
    /// An invoice is past due.
    InvoiceOverdue,
    /// A payment arrived.
    PaymentReceived,
    /// A password reset was asked for.
    PasswordReset,
    /// The policy was cancelled (a legally required notice).
    PolicyCancelled,
    /// The policy lapsed for an unpaid premium (a legally required notice).
    PolicyLapsed,
}

impl Template {
    /// Every template.
    pub const ALL: [Template; 16] = [
        Template::Welcome,
        Template::ApplicationSubmitted,
        Template::ApplicationApproved,
        Template::ApplicationRejected,
        Template::PolicyActivated,
        Template::PolicyExpiring,
        Template::ClaimSubmitted,
        Template::ClaimStatusUpdate,
        Template::ClaimApproved,
        Template::ClaimPaid,
        Template::InvoiceCreated,
        Template::InvoiceOverdue,
        Template::PaymentReceived,
        Template::PasswordReset,
        Template::PolicyCancelled,
        Template::PolicyLapsed,
    ];

    /// Its stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Template::Welcome => "welcome",
            Template::ApplicationSubmitted => "application_submitted",
            Template::ApplicationApproved => "application_approved",
            Template::ApplicationRejected => "application_rejected",
            Template::PolicyActivated => "policy_activated",
            Template::PolicyExpiring => "policy_expiring",
            Template::ClaimSubmitted => "claim_submitted",
            Template::ClaimStatusUpdate => "claim_status_update",
            Template::ClaimApproved => "claim_approved",
            Template::ClaimPaid => "claim_paid",
            Template::InvoiceCreated => "invoice_created",
            Template::InvoiceOverdue => "invoice_overdue",
            Template::PaymentReceived => "payment_received",
            Template::PasswordReset => "password_reset",
            Template::PolicyCancelled => "policy_cancelled",
            Template::PolicyLapsed => "policy_lapsed",
        }
    }

    /// The template called `name`.
    pub fn parse(name: &str) -> Option<Template> {
        Template::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Whether customers with a phone number also get it by SMS (API.md).
    pub fn also_by_sms(self) -> bool {
        matches!(
            self,
            Template::PaymentReceived
                | Template::PolicyActivated
                | Template::PolicyExpiring
                | Template::InvoiceOverdue
                | Template::ClaimStatusUpdate
                | Template::ClaimPaid
                | Template::PolicyCancelled
                | Template::PolicyLapsed
        )
    }

    /// Whether the customer's agent, if they have one, gets a copy by email
    /// (what an agent needs to follow their book).
    pub fn copied_to_agent(self) -> bool {
        matches!(
            self,
            Template::ApplicationApproved
                | Template::ApplicationRejected
                | Template::PolicyActivated
                | Template::PolicyExpiring
                | Template::InvoiceOverdue
                | Template::PolicyCancelled
                | Template::PolicyLapsed
                | Template::ClaimSubmitted
                | Template::ClaimApproved
                | Template::ClaimPaid
        )
    }

    /// Whether the staff queue hears of it (new work for staff to pick up).
    pub fn for_staff_queue(self) -> bool {
        matches!(
            self,
            Template::ApplicationSubmitted | Template::ClaimSubmitted
        )
    }

    /// The channels it goes out on to someone with (or without) a phone.
    pub fn channels(self, has_phone: bool) -> Vec<Channel> {
        let mut channels = vec![Channel::Email];
        if has_phone && self.also_by_sms() {
            channels.push(Channel::Sms);
        }
        channels
    }
}

/// Why a notification is sent, which decides whether a person may turn it
/// off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// About something the person did or that happened to their policy,
    /// claim or money: always sent.
    Transactional,
    /// A reminder (a policy ending, an invoice overdue): may be turned off
    /// per channel.
    Reminder,
    /// A notice the law requires (cancellation, lapse): always sent, on
    /// every channel the person has.
    Required,
}

impl Template {
    /// Why it is sent.
    pub fn purpose(self) -> Purpose {
        match self {
            Template::PolicyExpiring | Template::InvoiceOverdue => Purpose::Reminder,
            Template::PolicyCancelled | Template::PolicyLapsed => Purpose::Required,
            _ => Purpose::Transactional,
        }
    }
}

/// What a person wants on one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelPreferences {
    /// Reminders (policy ending, invoice overdue).
    pub reminders: bool,
    /// Offers and news (never on unless asked for).
    pub marketing: bool,
}

/// A person's notification preferences (API.md's shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// Email.
    pub email: ChannelPreferences,
    /// SMS.
    pub sms: ChannelPreferences,
}

impl Default for Preferences {
    fn default() -> Self {
        let default = ChannelPreferences {
            reminders: true,
            marketing: false,
        };
        Self {
            email: default,
            sms: default,
        }
    }
}

impl Preferences {
    /// These preferences with reminders and marketing off on `channel`.
    pub fn without_optional(self, channel: Channel) -> Preferences {
        let off = ChannelPreferences {
            reminders: false,
            marketing: false,
        };
        match channel {
            Channel::Email => Preferences { email: off, ..self },
            Channel::Sms => Preferences { sms: off, ..self },
        }
    }

    /// Whether `template` may go out on `channel`: transactional notices
    /// always, reminders as the person chose.
    pub fn allows(&self, template: Template, channel: Channel) -> bool {
        let chosen = match channel {
            Channel::Email => self.email,
            Channel::Sms => self.sms,
        };
        match template.purpose() {
            Purpose::Transactional | Purpose::Required => true,
            Purpose::Reminder => chosen.reminders,
        }
    }
}

/// How a notification travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Email.
    Email,
    /// Text message.
    Sms,
}

impl Channel {
    /// Its stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

/// What unsubscribe links are signed for.
const UNSUBSCRIBE: &str = "unsubscribe";

/// The token of `user_id`'s unsubscribe link (works without a login, never
/// expires, only changes that person's email preferences).
pub fn unsubscribe_token(secret: &[u8], user_id: uuid::Uuid) -> String {
    crate::signed_id::sign(secret, UNSUBSCRIBE, user_id)
}

/// The person an unsubscribe token was made for.
pub fn unsubscriber(secret: &[u8], token: &str) -> Option<uuid::Uuid> {
    crate::signed_id::verify(secret, UNSUBSCRIBE, token)
}

/// The longest SMS ifinsure sends as one message (GSM-7).
pub const SMS_LIMIT: usize = 160;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_sms_templates_are_the_contracts() {
        for template in Template::ALL {
            assert_eq!(Template::parse(template.as_str()), Some(template));
        }
        let by_sms: Vec<&str> = Template::ALL
            .into_iter()
            .filter(|t| t.also_by_sms())
            .map(Template::as_str)
            .collect();
        assert_eq!(
            by_sms,
            [
                "policy_activated",
                "policy_expiring",
                "claim_status_update",
                "claim_paid",
                "invoice_overdue",
                "payment_received",
                "policy_cancelled",
                "policy_lapsed"
            ]
        );
        assert_eq!(
            Template::PaymentReceived.channels(true),
            [Channel::Email, Channel::Sms]
        );
        assert_eq!(Template::PaymentReceived.channels(false), [Channel::Email]);
        assert_eq!(Template::Welcome.channels(true), [Channel::Email]);
    }

    #[test]
    fn reminders_follow_preferences_and_transactional_notices_always_go() {
        let defaults = Preferences::default();
        assert!(!defaults.email.marketing && !defaults.sms.marketing);
        assert!(defaults.allows(Template::InvoiceOverdue, Channel::Sms));
        let mut quiet = defaults;
        quiet.sms.reminders = false;
        assert!(!quiet.allows(Template::InvoiceOverdue, Channel::Sms));
        assert!(quiet.allows(Template::InvoiceOverdue, Channel::Email));
        assert!(quiet.allows(Template::PaymentReceived, Channel::Sms));
        assert!(quiet.allows(Template::PasswordReset, Channel::Email));
        let silent = Preferences {
            email: ChannelPreferences {
                reminders: false,
                marketing: false,
            },
            sms: ChannelPreferences {
                reminders: false,
                marketing: false,
            },
        };
        for required in [Template::PolicyCancelled, Template::PolicyLapsed] {
            assert_eq!(required.purpose(), Purpose::Required);
            assert!(silent.allows(required, Channel::Email));
            assert!(silent.allows(required, Channel::Sms));
        }
    }
}
