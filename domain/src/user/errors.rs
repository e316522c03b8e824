//! Why a user command was refused.

use crate::validation::ValidationErrors;

/// A refused user command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UserError {
    /// The account exists already.
    #[error("the user is already registered")]
    AlreadyRegistered,
    /// No such user.
    #[error("no such user")]
    NotFound,
    /// Only customers are assigned agents.
    #[error("only customers can be assigned an agent")]
    NotACustomer,
    /// The assignee is not an agent.
    #[error("the assignee is not an agent")]
    NotAnAgent,
    /// An agent who still serves customers cannot leave the role.
    #[error("the agent still serves {0} customer(s): give them to another agent first")]
    ServesCustomers(u64),
    /// A customer who holds applications or policies cannot leave the role.
    #[error("the customer holds {0} application(s) or policies: a customer with records stays a customer")]
    HoldsPolicies(u64),
    /// The input breaks a rule.
    #[error("invalid user: {0}")]
    Validation(ValidationErrors),
}
