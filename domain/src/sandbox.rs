//! The built-in sandbox payment provider's wire format, shared by the
//! provider (in `workers`) and the webhook ingress (in `api`): its webhook
//! event, signed with Stripe's scheme ([`crate::stripe_signature`]) in the
//! `Sandbox-Signature` header.

use serde::{Deserialize, Serialize};

pub use crate::stripe_signature::{sign, verify, SignatureError};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "sandbox-signature";

/// A sandbox webhook delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxEvent {
    /// Unique per delivery of one outcome (`evt_...`).
    pub id: String,
    /// `charge.succeeded`, `charge.failed`, `refund.succeeded`, `refund.failed`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Unix seconds.
    pub created: i64,
    /// The transaction.
    pub data: SandboxTransaction,
}

/// A sandbox charge or refund.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxTransaction {
    /// The sandbox's id of it (`sbx_...`).
    pub reference: String,
    /// The key it was requested with.
    pub idempotency_key: String,
    /// `charge` or `refund`.
    pub kind: String,
    /// `succeeded` or `failed`.
    pub outcome: String,
    /// Decimal string in major units.
    pub amount: String,
    /// ISO 4217.
    pub currency: String,
    /// Why it failed.
    pub failure_reason: Option<String>,
}
