//! What can be asked of a claim. Outside facts (the policy, today, the
//! approver's authority) come in with the command.

use chrono::NaiveDate;

use super::events::{Document, Note};
use crate::ids::{ClaimId, PayoutId, UserId};
use crate::money::Money;
use crate::policy::Policy;
use crate::role::Role;

/// The commands of a `Claim`.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimCommand {
    /// First notice of loss.
    File(Box<NewClaim>),
    /// Change the description or amount while submitted.
    Amend {
        /// New description, if changed.
        description: Option<String>,
        /// New amount, if changed.
        claimed_amount: Option<Money>,
        /// Who amends.
        amended_by: Option<UserId>,
    },
    /// Attach a stored document.
    AttachDocument(Document),
    /// Add a note.
    AddNote(Note),
    /// Give it to a reviewer.
    Assign {
        /// The reviewer.
        assignee: UserId,
        /// Who assigns.
        assigned_by: Option<UserId>,
    },
    /// Estimate the expected cost.
    SetReserve {
        /// The reserve.
        amount: Money,
        /// The most the claim could cost: the sum insured of its term.
        limit: Option<Money>,
    },
    /// Approve a total amount.
    Approve {
        /// The total to approve on this claim.
        approved_amount: Money,
        /// Who approves.
        approved_by: Option<UserId>,
        /// Their role.
        approver_role: Role,
        /// The most staff may approve.
        authority_limit: Money,
        /// Above this, the approval is a proposal until a second person
        /// confirms it.
        dual_control_limit: Money,
    },
    /// A second person confirms a proposed approval.
    ConfirmApproval {
        /// Who confirms.
        confirmed_by: UserId,
    },
    /// Pay someone other than the claimant: a proposal until a second
    /// person confirms it.
    ProposePayee {
        /// The phone number or email to pay.
        contact: String,
        /// Who proposes.
        proposed_by: UserId,
        /// Why (required).
        reason: String,
    },
    /// A second person confirms the proposed payee.
    ConfirmPayee {
        /// Who confirms.
        confirmed_by: UserId,
    },
    /// Decline.
    Reject {
        /// Why (required).
        reason: String,
    },
    /// Pay the approved amount not yet paid.
    RequestPayout {
        /// The payout's id.
        payout_id: PayoutId,
        /// The provider.
        provider: String,
        /// The claimant's own phone number or email, if known.
        claimant_contact: Option<String>,
        /// Another contact the request names, if any: refused unless it is
        /// the claimant's own or the confirmed payee.
        requested_contact: Option<String>,
    },
    /// The provider confirmed a payout.
    RecordPayoutSucceeded {
        /// The payout.
        payout_id: PayoutId,
        /// The provider's reference.
        provider_reference: Option<String>,
    },
    /// The provider could not pay out.
    RecordPayoutFailed {
        /// The payout.
        payout_id: PayoutId,
        /// Why.
        reason: String,
    },
    /// Close.
    Close {
        /// Why, if given.
        reason: Option<String>,
    },
    /// Reopen for review.
    Reopen {
        /// Why (required).
        reason: String,
    },
}

/// A claim as filed, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct NewClaim {
    /// The new claim's id.
    pub claim_id: ClaimId,
    /// Its number, allocated by the caller.
    pub claim_number: String,
    /// The policy as it is now.
    pub policy: Policy,
    /// Who files.
    pub filed_by: UserId,
    /// When the loss happened.
    pub incident_date: NaiveDate,
    /// What happened.
    pub description: String,
    /// How much is claimed.
    pub claimed_amount: Money,
    /// The business date.
    pub today: NaiveDate,
    /// Days after cover ended that a loss during it may still be reported.
    pub reporting_days: u32,
}
