//! Why a claim command was refused.

use crate::money::Money;
use crate::validation::ValidationErrors;

/// A refused claim command. Compared by value in tests.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClaimError {
    /// No claim under that id.
    #[error("no such claim")]
    NotFound,
    /// A claim exists under that id already.
    #[error("the claim exists already")]
    AlreadyFiled,
    /// The policy is not in force.
    #[error("the policy is not active")]
    PolicyNotActive,
    /// The incident is outside the policy's period of cover.
    #[error("the incident date is outside the period of cover, {from} to {to}")]
    IncidentOutsideCover {
        /// First day of cover.
        from: chrono::NaiveDate,
        /// Last day of cover.
        to: chrono::NaiveDate,
    },
    /// Cover ended longer ago than losses may be reported.
    #[error("cover ended on {ended}; losses during it could be reported until {until}")]
    ReportedTooLate {
        /// The last day of cover.
        ended: chrono::NaiveDate,
        /// The last day to report.
        until: chrono::NaiveDate,
    },
    /// Not allowed in the claim's status.
    #[error("cannot {action} a claim that is {status}")]
    InvalidTransition {
        /// What was attempted.
        action: &'static str,
        /// Its status.
        status: &'static str,
    },
    /// Above what staff may approve.
    #[error("approving more than {0} needs an admin")]
    AuthorityLimit(Money),
    /// More than was claimed.
    #[error("the approved amount may not exceed the claimed amount, {0}")]
    ExceedsClaimed(Money),
    /// No payout or nothing to pay.
    #[error("no such payout: {0}")]
    UnknownPayout(String),
    /// The same person may not do both halves of a check.
    #[error("{0}")]
    SeparationOfDuties(String),
    /// A second person has to confirm first.
    #[error("{0}")]
    AwaitsConfirmation(String),
    /// The input breaks a rule.
    #[error("invalid: {0}")]
    Validation(ValidationErrors),
}

impl ClaimError {
    /// A 422 on one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(ValidationErrors::single(field, message))
    }
}
