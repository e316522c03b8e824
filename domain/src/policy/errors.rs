//! Why a policy command was refused.

use crate::validation::ValidationErrors;

/// A refused policy command. Compared by value in tests.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    /// No application under that id.
    #[error("no such application or policy")]
    NotFound,
    /// An application exists under that id already.
    #[error("the application exists already")]
    AlreadySubmitted,
    /// The product is retired or unknown.
    #[error("the product is not active")]
    ProductNotActive,
    /// The command is not allowed in the policy's status.
    #[error("cannot {action} a policy that is {status}")]
    InvalidTransition {
        /// What was attempted.
        action: &'static str,
        /// The status it is in.
        status: &'static str,
    },
    /// A time-driven transition asked for before its date.
    #[error("cannot {action} before {date}")]
    TooEarly {
        /// What was attempted.
        action: &'static str,
        /// The first day it is allowed.
        date: chrono::NaiveDate,
    },
    /// A renewal term is already offered.
    #[error("the policy is already renewed for term {0}")]
    AlreadyRenewed(u32),
    /// The invoice is not one of this policy's.
    #[error("invoice {0} does not belong to this policy")]
    UnknownInvoice(String),
    /// Approving that much would take the policy's claims past its sum insured.
    #[error("the approved claims would exceed the sum insured; cover left: {0}")]
    ExceedsSumInsured(crate::money::Money),
    /// No term of the policy covers the incident's date.
    #[error("no term of the policy covers {0}")]
    IncidentOutsideCover(chrono::NaiveDate),
    /// The sum insured asked is below what the term's claims have approved.
    #[error("the sum insured may not go below the {0} approved on this term's claims")]
    BelowApprovedClaims(crate::money::Money),
    /// Another request decided on the claim as it was (version) first.
    #[error("the claim changed while this was being decided (version {0}); try again")]
    ClaimDecidedMeanwhile(u64),
    /// The input breaks a rule.
    #[error("invalid: {0}")]
    Validation(ValidationErrors),
}

impl PolicyError {
    /// A 422 on one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(ValidationErrors::single(field, message))
    }
}
