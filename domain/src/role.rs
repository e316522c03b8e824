//! The roles a user can hold, and what each may do in general.

use serde::{Deserialize, Serialize};

/// A user's role. Stored in events by its `snake_case` name, which never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Buys and holds policies; sees only their own records.
    Customer,
    /// Sells for the insurer; sees the customers assigned to them.
    Agent,
    /// Runs operations; sees everything.
    Staff,
    /// Configures the system; sees and may do everything.
    Admin,
    /// Reads everything, writes nothing.
    Auditor,
}

impl Role {
    /// Every role, in order of increasing reach.
    pub const ALL: [Role; 5] = [
        Role::Customer,
        Role::Agent,
        Role::Staff,
        Role::Admin,
        Role::Auditor,
    ];

    /// The role's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Agent => "agent",
            Role::Staff => "staff",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }

    /// Whether the role sees every record (staff, admin, auditor).
    pub fn sees_everything(self) -> bool {
        matches!(self, Role::Staff | Role::Admin | Role::Auditor)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown role `{s}`: expected one of customer, agent, staff, admin, auditor"
                )
            })
    }
}
