//! Why a product command was refused.

use crate::validation::ValidationErrors;

/// A refused product command. Compared by value in tests.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProductError {
    /// The product already exists.
    #[error("the product is already defined")]
    AlreadyDefined,
    /// No product with that id.
    #[error("no such product")]
    NotFound,
    /// It is retired; it can't be repriced or retired again.
    #[error("the product is retired")]
    Retired,
    /// The input breaks a rule.
    #[error("invalid product: {0}")]
    Validation(ValidationErrors),
}
