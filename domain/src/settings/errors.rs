//! Why a settings command was refused.

use crate::validation::ValidationErrors;

/// A refused settings command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettingsError {
    /// A value breaks a rule.
    #[error("invalid settings: {0:?}")]
    Validation(ValidationErrors),
}
