//! Why an invoice command was refused.

use crate::validation::ValidationErrors;

/// A refused invoice command. Compared by value in tests.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvoiceError {
    /// No invoice under that id.
    #[error("no such invoice")]
    NotFound,
    /// It exists already.
    #[error("the invoice exists already")]
    AlreadyCreated,
    /// Not allowed in the invoice's status.
    #[error("cannot {action} an invoice that is {status}")]
    InvalidTransition {
        /// What was attempted.
        action: &'static str,
        /// Its status.
        status: &'static str,
    },
    /// The due date has not passed.
    #[error("the invoice is not due until {0}")]
    NotDue(chrono::NaiveDate),
    /// Money was received; it can't be voided.
    #[error("the invoice has payments; refund them instead of voiding")]
    HasPayments,
    /// The balance is already covered by payments awaiting their
    /// provider's confirmation.
    #[error("a payment of {amount} ({payment_id}) is awaiting the provider's confirmation; it covers the balance")]
    PaymentPending {
        /// The pending payment.
        payment_id: crate::ids::PaymentId,
        /// What it asked.
        amount: String,
    },
    /// No payment or refund under that id.
    #[error("no such payment or refund: {0}")]
    UnknownPayment(String),
    /// The refund is more than what is left of the payment.
    #[error("the refund exceeds what is left of the payment ({0})")]
    RefundTooLarge(String),
    /// The input breaks a rule.
    #[error("invalid: {0}")]
    Validation(ValidationErrors),
}

impl InvoiceError {
    /// A 422 on one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(ValidationErrors::single(field, message))
    }
}
