//! What happened to a claim, from first notice of loss to its close. Event
//! type names and fields never change once stored.

use chrono::NaiveDate;
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{ClaimId, DocumentId, NoteId, PayoutId, PolicyId, UserId};
use crate::money::Money;

/// A claim as filed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimDetails {
    /// Its id.
    pub claim_id: ClaimId,
    /// `CLM-YYYY-NNNNNN`.
    pub claim_number: String,
    /// The policy claimed on.
    pub policy_id: PolicyId,
    /// Its number.
    pub policy_number: String,
    /// The policyholder.
    pub customer_id: UserId,
    /// Who filed it (the customer, their agent, or staff).
    pub filed_by: UserId,
    /// When the loss happened.
    pub incident_date: NaiveDate,
    /// What happened.
    pub description: String,
    /// How much is claimed.
    pub claimed_amount: Money,
    /// Business date of filing.
    pub filed_on: NaiveDate,
}

/// A document attached to a claim; the file itself is in object storage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Its id.
    pub document_id: DocumentId,
    /// The sanitised file name.
    pub filename: String,
    /// Decided from the content: `application/pdf`, `image/jpeg`, `image/png`.
    pub content_type: String,
    /// Bytes.
    pub size: u64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// Where the file is stored.
    pub storage_key: String,
    /// The storage configuration (Integrations Center) holding it; `None`
    /// for the deployment's default store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<Uuid>,
    /// Who uploaded it.
    pub uploaded_by: UserId,
}

/// A note on a claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    /// Its id.
    pub note_id: NoteId,
    /// The text.
    pub text: String,
    /// Who wrote it.
    pub author: UserId,
    /// Staff-only: never shown to customers or agents.
    pub internal: bool,
}

/// The events of a `Claim`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClaimEvent {
    /// First notice of loss.
    ClaimFiled(ClaimDetails),
    /// The claimant changed the description or amount while it was submitted.
    ClaimAmended {
        /// Who amended it (absent in events recorded before it was kept).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amended_by: Option<UserId>,
        /// New description.
        description: String,
        /// New amount.
        claimed_amount: Money,
    },
    /// A document was attached.
    DocumentAttached(Document),
    /// A note was added.
    NoteAdded(Note),
    /// A reviewer took it on.
    ClaimAssigned {
        /// The reviewer.
        assignee: UserId,
        /// Who assigned.
        assigned_by: Option<UserId>,
    },
    /// The expected cost was estimated.
    ReserveSet {
        /// The reserve.
        amount: Money,
        /// The reserve before, if any.
        previous: Option<Money>,
    },
    /// Approved for a total amount (partial approval allowed).
    ClaimApproved {
        /// The total approved on this claim.
        approved_amount: Money,
        /// The total approved before (a reopened claim approved again).
        previous_amount: Money,
        /// Who approved.
        approved_by: Option<UserId>,
    },
    /// An approval above the dual-control limit, waiting for a second
    /// person.
    ApprovalProposed {
        /// The total proposed.
        approved_amount: Money,
        /// Who proposed it.
        proposed_by: UserId,
    },
    /// A second person confirmed the proposed approval (followed by
    /// `ClaimApproved`).
    ApprovalConfirmed {
        /// Who confirmed.
        confirmed_by: UserId,
    },
    /// Someone other than the claimant proposed as payee.
    PayeeProposed {
        /// The phone number or email.
        contact: String,
        /// Who proposed it.
        proposed_by: UserId,
        /// Why.
        reason: String,
    },
    /// A second person confirmed the proposed payee.
    PayeeConfirmed {
        /// Who confirmed.
        confirmed_by: UserId,
    },
    /// Declined.
    ClaimRejected {
        /// Why.
        reason: String,
    },
    /// The approved amount not yet paid was sent to the claimant.
    PayoutRequested {
        /// The payout.
        payout_id: PayoutId,
        /// Amount.
        amount: Money,
        /// Provider.
        provider: String,
        /// Sent to the provider.
        idempotency_key: String,
        /// Phone number or email of the claimant.
        payee_contact: Option<String>,
    },
    /// The provider confirmed the payout.
    PayoutSucceeded {
        /// The payout.
        payout_id: PayoutId,
        /// The provider's reference.
        provider_reference: Option<String>,
    },
    /// The provider could not pay out.
    PayoutFailed {
        /// The payout.
        payout_id: PayoutId,
        /// Why.
        reason: String,
    },
    /// Everything approved is paid.
    ClaimPaid {
        /// Total paid.
        amount_paid: Money,
    },
    /// Closed.
    ClaimClosed {
        /// Why, if given.
        reason: Option<String>,
    },
    /// Reopened for review.
    ClaimReopened {
        /// Why.
        reason: String,
    },
}

impl DomainEvent for ClaimEvent {
    fn event_type(&self) -> String {
        match self {
            ClaimEvent::ClaimFiled(_) => "ClaimFiled",
            ClaimEvent::ClaimAmended { .. } => "ClaimAmended",
            ClaimEvent::DocumentAttached(_) => "DocumentAttached",
            ClaimEvent::NoteAdded(_) => "NoteAdded",
            ClaimEvent::ClaimAssigned { .. } => "ClaimAssigned",
            ClaimEvent::ReserveSet { .. } => "ReserveSet",
            ClaimEvent::ApprovalProposed { .. } => "ApprovalProposed",
            ClaimEvent::ApprovalConfirmed { .. } => "ApprovalConfirmed",
            ClaimEvent::PayeeProposed { .. } => "PayeeProposed",
            ClaimEvent::PayeeConfirmed { .. } => "PayeeConfirmed",
            ClaimEvent::ClaimApproved { .. } => "ClaimApproved",
            ClaimEvent::ClaimRejected { .. } => "ClaimRejected",
            ClaimEvent::PayoutRequested { .. } => "PayoutRequested",
            ClaimEvent::PayoutSucceeded { .. } => "PayoutSucceeded",
            ClaimEvent::PayoutFailed { .. } => "PayoutFailed",
            ClaimEvent::ClaimPaid { .. } => "ClaimPaid",
            ClaimEvent::ClaimClosed { .. } => "ClaimClosed",
            ClaimEvent::ClaimReopened { .. } => "ClaimReopened",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}
