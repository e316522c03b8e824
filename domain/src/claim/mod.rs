//! The `Claim` aggregate: one claim from first notice of loss to payout and
//! close.
//!
//! Statuses: `submitted → under_review → approved → paid → closed`, and
//! `rejected`; a closed, rejected or paid claim can be reopened for review.
//! The rule that a policy's approved claims never exceed its sum insured
//! spans claims, so it is kept by the `Policy` (see
//! `PolicyCommand::ReserveClaimCover`), which serialises approvals.

mod commands;
mod decide;
mod duties;
mod errors;
mod events;
pub mod files;
#[cfg(test)]
mod tests;

pub use commands::{ClaimCommand, NewClaim};
pub use duties::{ApprovalOutcome, Limits};
pub use errors::ClaimError;
pub use events::{ClaimDetails, ClaimEvent, Document, Note};

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use crate::ids::{PayoutId, UserId};
use crate::invoice::SettlementStatus;
use crate::money::Money;

/// Where a claim is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    /// Nothing filed.
    #[default]
    None,
    /// Filed, not yet with a reviewer.
    Submitted,
    /// With a reviewer.
    UnderReview,
    /// Approved; the payout is due.
    Approved,
    /// Declined.
    Rejected,
    /// Everything approved is paid.
    Paid,
    /// Closed.
    Closed,
}

impl ClaimStatus {
    /// The status's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::None => "none",
            ClaimStatus::Submitted => "submitted",
            ClaimStatus::UnderReview => "under_review",
            ClaimStatus::Approved => "approved",
            ClaimStatus::Rejected => "rejected",
            ClaimStatus::Paid => "paid",
            ClaimStatus::Closed => "closed",
        }
    }
}

/// One payout of a claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payout {
    /// Its id.
    pub payout_id: PayoutId,
    /// Amount.
    pub amount: Money,
    /// Provider.
    pub provider: String,
    /// Status.
    pub status: SettlementStatus,
    /// Sent to the provider.
    pub idempotency_key: String,
    /// The provider's reference.
    pub provider_reference: Option<String>,
    /// Why it failed.
    pub failure_reason: Option<String>,
}

/// The claim's state, rebuilt from its events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// As filed (and amended).
    pub details: Option<events::ClaimDetails>,
    /// Status.
    pub status: ClaimStatus,
    /// The reviewer.
    pub assignee: Option<UserId>,
    /// Expected cost.
    pub reserve: Option<Money>,
    /// Total approved.
    pub approved_amount: Option<Money>,
    /// Total paid out.
    pub paid_amount: Option<Money>,
    /// Attached documents.
    pub documents: Vec<events::Document>,
    /// Notes (some internal).
    pub notes: Vec<events::Note>,
    /// Payouts.
    pub payouts: Vec<Payout>,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
    /// Why it was last reopened.
    pub reopen_reason: Option<String>,
    /// Who last amended it.
    #[serde(default)]
    pub last_amended_by: Option<UserId>,
    /// An approval above the dual-control limit waiting for a second person.
    #[serde(default)]
    pub pending_approval: Option<PendingApproval>,
    /// Someone other than the claimant to pay, once confirmed.
    #[serde(default)]
    pub payee: Option<Payee>,
}

/// An approval proposed by one person, for a second to confirm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingApproval {
    /// The total proposed.
    pub approved_amount: Money,
    /// Who proposed it.
    pub proposed_by: UserId,
}

/// A payee other than the claimant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payee {
    /// The phone number or email.
    pub contact: String,
    /// Who proposed it.
    pub proposed_by: UserId,
    /// Why.
    pub reason: String,
    /// Who confirmed it; until then nothing is paid to it.
    pub confirmed_by: Option<UserId>,
}

impl Claim {
    /// How much of its policy's cover the claim holds: its approved total
    /// while open, only what was paid once closed (the rest is released;
    /// a re-approval takes it again).
    pub fn cover_held(&self) -> Option<Money> {
        let currency = self.details.as_ref()?.claimed_amount.currency();
        let zero = Money::zero(currency);
        Some(match self.status {
            ClaimStatus::Closed => self.paid_amount.unwrap_or(zero),
            _ => self.approved_amount.unwrap_or(zero),
        })
    }

    /// Approved but not yet paid nor being paid.
    pub fn unpaid(&self) -> Option<Money> {
        let approved = self.approved_amount?;
        let committed = Money::total(
            approved.currency(),
            self.payouts
                .iter()
                .filter(|p| p.status != SettlementStatus::Failed)
                .map(|p| p.amount),
        );
        approved.checked_sub(&committed).ok()
    }

    fn payout_mut(&mut self, id: PayoutId) -> Option<&mut Payout> {
        self.payouts.iter_mut().find(|p| p.payout_id == id)
    }
}

impl Aggregate for Claim {
    const TYPE: &'static str = "Claim";
    type Command = ClaimCommand;
    type Event = ClaimEvent;
    type Error = ClaimError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ClaimEvent::ClaimFiled(details) => {
                self.status = ClaimStatus::Submitted;
                self.details = Some(details);
            }
            ClaimEvent::ClaimAmended {
                amended_by,
                description,
                claimed_amount,
            } => {
                if let Some(details) = self.details.as_mut() {
                    details.description = description;
                    details.claimed_amount = claimed_amount;
                }
                self.last_amended_by = amended_by;
                self.pending_approval = None;
            }
            ClaimEvent::ApprovalProposed {
                approved_amount,
                proposed_by,
            } => {
                self.pending_approval = Some(PendingApproval {
                    approved_amount,
                    proposed_by,
                });
            }
            ClaimEvent::ApprovalConfirmed { .. } => self.pending_approval = None,
            ClaimEvent::PayeeProposed {
                contact,
                proposed_by,
                reason,
            } => {
                self.payee = Some(Payee {
                    contact,
                    proposed_by,
                    reason,
                    confirmed_by: None,
                });
            }
            ClaimEvent::PayeeConfirmed { confirmed_by } => {
                if let Some(payee) = self.payee.as_mut() {
                    payee.confirmed_by = Some(confirmed_by);
                }
            }
            ClaimEvent::DocumentAttached(document) => self.documents.push(document),
            ClaimEvent::NoteAdded(note) => self.notes.push(note),
            ClaimEvent::ClaimAssigned { assignee, .. } => {
                self.assignee = Some(assignee);
                self.status = ClaimStatus::UnderReview;
            }
            ClaimEvent::ReserveSet { amount, .. } => self.reserve = Some(amount),
            ClaimEvent::ClaimApproved {
                approved_amount, ..
            } => {
                self.approved_amount = Some(approved_amount);
                self.status = ClaimStatus::Approved;
            }
            ClaimEvent::ClaimRejected { reason } => {
                self.pending_approval = None;
                self.status = ClaimStatus::Rejected;
                self.rejection_reason = Some(reason);
            }
            ClaimEvent::PayoutRequested {
                payout_id,
                amount,
                provider,
                idempotency_key,
                ..
            } => self.payouts.push(Payout {
                payout_id,
                amount,
                provider,
                status: SettlementStatus::Pending,
                idempotency_key,
                provider_reference: None,
                failure_reason: None,
            }),
            ClaimEvent::PayoutSucceeded {
                payout_id,
                provider_reference,
            } => {
                let mut paid = None;
                if let Some(payout) = self.payout_mut(payout_id) {
                    payout.status = SettlementStatus::Succeeded;
                    payout.provider_reference = provider_reference;
                    paid = Some(payout.amount);
                }
                if let Some(amount) = paid {
                    self.paid_amount = Some(match self.paid_amount {
                        Some(total) => total.checked_add(&amount).unwrap_or(total),
                        None => amount,
                    });
                }
            }
            ClaimEvent::PayoutFailed { payout_id, reason } => {
                if let Some(payout) = self.payout_mut(payout_id) {
                    payout.status = SettlementStatus::Failed;
                    payout.failure_reason = Some(reason);
                }
            }
            ClaimEvent::ClaimPaid { .. } => self.status = ClaimStatus::Paid,
            ClaimEvent::ClaimClosed { .. } => {
                self.pending_approval = None;
                self.status = ClaimStatus::Closed;
            }
            ClaimEvent::ClaimReopened { reason } => {
                self.status = ClaimStatus::UnderReview;
                self.reopen_reason = Some(reason);
            }
        }
    }
}
