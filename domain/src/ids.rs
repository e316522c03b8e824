//! Typed ids: a `ProductId` can never be passed where a `UserId` is meant.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered (v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// The id of a `Product` aggregate.
    ProductId
);
id_type!(
    /// The id of a `User` aggregate (staff, agents, customers, ...).
    UserId
);
id_type!(
    /// The id of a `Policy` aggregate: the application's id, kept for the
    /// policy's whole life.
    PolicyId
);
id_type!(
    /// The id of an `Invoice` aggregate.
    InvoiceId
);
id_type!(
    /// The id of one payment attempt on an invoice.
    PaymentId
);
id_type!(
    /// The id of one refund of a payment.
    RefundId
);

/// A fixed namespace for ids derived from other ids (UUID v5), so that a
/// process manager handling an event twice derives the same follow-up id.
const DERIVED: Uuid = Uuid::from_u128(0x6966_696e_7375_7265_8000_0000_0000_0001);

fn derived(owner: Uuid, purpose: &str) -> Uuid {
    let mut name = owner.as_bytes().to_vec();
    name.extend_from_slice(purpose.as_bytes());
    Uuid::new_v5(&DERIVED, &name)
}

impl InvoiceId {
    /// The invoice a policy's event calls for (`term:1`, `endorsement:2`):
    /// the same inputs always give the same id.
    pub fn derived(policy: PolicyId, purpose: &str) -> Self {
        Self(derived(policy.0, purpose))
    }
}

impl RefundId {
    /// The refund a policy's event calls for: stable across retries.
    pub fn derived(policy: PolicyId, purpose: &str) -> Self {
        Self(derived(policy.0, purpose))
    }
}
id_type!(
    /// The id of a `Claim` aggregate.
    ClaimId
);
id_type!(
    /// The id of a document attached to a claim.
    DocumentId
);
id_type!(
    /// The id of a note on a claim.
    NoteId
);
id_type!(
    /// The id of one payout of a claim.
    PayoutId
);
id_type!(
    /// The id of an `IntegrationConfig` aggregate.
    IntegrationId
);
