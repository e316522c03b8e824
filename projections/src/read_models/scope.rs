//! Who may see which rows: staff everything, a customer their own, an agent
//! their assigned customers' (looked up in the users read model at query
//! time, so a reassignment applies at once).

use uuid::Uuid;

/// The records a caller may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Staff, admin, auditor.
    All,
    /// A customer's own.
    Customer(Uuid),
    /// The customers assigned to an agent.
    AgentOf(Uuid),
}

impl Scope {
    /// The customer id to bind for [`scoped`], if any.
    pub fn customer(self) -> Option<Uuid> {
        match self {
            Scope::Customer(id) => Some(id),
            _ => None,
        }
    }

    /// The agent id to bind for [`scoped`], if any.
    pub fn agent(self) -> Option<Uuid> {
        match self {
            Scope::AgentOf(id) => Some(id),
            _ => None,
        }
    }
}

/// The SQL condition limiting a table with a `customer_id` column to a scope,
/// with [`Scope::customer`] bound as parameter `$customer` and
/// [`Scope::agent`] as `$agent`.
pub fn scoped(customer: u8, agent: u8) -> String {
    format!(
        "(${customer}::uuid IS NULL OR customer_id = ${customer})
         AND (${agent}::uuid IS NULL OR customer_id IN (SELECT u.id FROM users u WHERE u.agent_id = ${agent}))"
    )
}
