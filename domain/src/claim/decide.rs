//! How a claim decides: each command becomes events or a refusal.

use super::commands::{ClaimCommand, NewClaim};
use super::duties::{above, ApprovalOutcome, Limits};
use super::errors::ClaimError;
use super::events::{ClaimDetails, ClaimEvent};
use super::{Claim, ClaimStatus};
use crate::ids::{PayoutId, UserId};
use crate::invoice::SettlementStatus;
use crate::money::Money;
use crate::policy::PolicyStatus;
use crate::role::Role;
use crate::validation::ValidationErrors;

type Decision = Result<Vec<ClaimEvent>, ClaimError>;

/// The longest description, note or reason accepted.
const MAX_TEXT: usize = 4000;

use ClaimStatus::{Approved, Closed, Paid, Rejected, Submitted, UnderReview};

impl Claim {
    pub(super) fn decide(&self, command: ClaimCommand) -> Decision {
        match command {
            ClaimCommand::File(new) => self.file(*new),
            ClaimCommand::Amend {
                description,
                claimed_amount,
                amended_by,
            } => self.amend(description, claimed_amount, amended_by),
            ClaimCommand::AttachDocument(document) => {
                self.require(
                    &[Submitted, UnderReview, Approved, Rejected, Paid],
                    "attach a document to",
                )?;
                Ok(vec![ClaimEvent::DocumentAttached(document)])
            }
            ClaimCommand::AddNote(mut note) => {
                self.require(
                    &[Submitted, UnderReview, Approved, Rejected, Paid, Closed],
                    "add a note to",
                )?;
                note.text = text(note.text, "text")?;
                Ok(vec![ClaimEvent::NoteAdded(note)])
            }
            ClaimCommand::Assign {
                assignee,
                assigned_by,
            } => {
                self.require(&[Submitted, UnderReview], "assign")?;
                if self.assignee == Some(assignee) && self.status == UnderReview {
                    return Ok(vec![]);
                }
                Ok(vec![ClaimEvent::ClaimAssigned {
                    assignee,
                    assigned_by,
                }])
            }
            ClaimCommand::SetReserve { amount, limit } => {
                self.require(&[Submitted, UnderReview, Approved], "set a reserve on")?;
                self.check_amount(&amount, "amount", true)?;
                if let Some(limit) = limit.filter(|l| amount.amount() > l.amount()) {
                    return Err(ClaimError::invalid(
                        "amount",
                        format!("may be at most the sum insured, {limit}"),
                    ));
                }
                Ok(vec![ClaimEvent::ReserveSet {
                    amount,
                    previous: self.reserve,
                }])
            }
            ClaimCommand::Approve {
                approved_amount,
                approved_by,
                approver_role,
                authority_limit,
                dual_control_limit,
            } => {
                let limits = Limits {
                    authority: authority_limit,
                    dual_control: dual_control_limit,
                };
                self.approve(approved_amount, approved_by, approver_role, limits)
            }
            ClaimCommand::ConfirmApproval { confirmed_by } => self.confirm_approval(confirmed_by),
            ClaimCommand::ProposePayee {
                contact,
                proposed_by,
                reason,
            } => self.propose_payee(contact, proposed_by, reason),
            ClaimCommand::ConfirmPayee { confirmed_by } => self.confirm_payee(confirmed_by),
            ClaimCommand::Reject { reason } => {
                self.require(&[Submitted, UnderReview], "reject")?;
                Ok(vec![ClaimEvent::ClaimRejected {
                    reason: text(reason, "reason")?,
                }])
            }
            ClaimCommand::RequestPayout {
                payout_id,
                provider,
                claimant_contact,
                requested_contact,
            } => {
                let payee = self.payee_for(claimant_contact, requested_contact);
                payee.and_then(|contact| self.request_payout(payout_id, provider, contact))
            }
            ClaimCommand::RecordPayoutSucceeded {
                payout_id,
                provider_reference,
            } => self.payout_succeeded(payout_id, provider_reference),
            ClaimCommand::RecordPayoutFailed { payout_id, reason } => {
                let payout = self.payout(payout_id)?;
                if payout.status != SettlementStatus::Pending {
                    return Ok(vec![]);
                }
                Ok(vec![ClaimEvent::PayoutFailed {
                    payout_id,
                    reason: reason.chars().take(MAX_TEXT).collect(),
                }])
            }
            ClaimCommand::Close { reason } => {
                self.require(&[Submitted, UnderReview, Approved, Rejected, Paid], "close")?;
                if self
                    .payouts
                    .iter()
                    .any(|p| p.status == SettlementStatus::Pending)
                {
                    return Err(ClaimError::InvalidTransition {
                        action: "close",
                        status: "awaiting a payout",
                    });
                }
                let reason = reason
                    .map(|r| r.trim().to_string())
                    .filter(|r| !r.is_empty());
                Ok(vec![ClaimEvent::ClaimClosed { reason }])
            }
            ClaimCommand::Reopen { reason } => {
                self.require(&[Closed, Rejected, Paid], "reopen")?;
                Ok(vec![ClaimEvent::ClaimReopened {
                    reason: text(reason, "reason")?,
                }])
            }
        }
    }

    pub(super) fn require(
        &self,
        allowed: &[ClaimStatus],
        action: &'static str,
    ) -> Result<(), ClaimError> {
        match self.status {
            ClaimStatus::None => Err(ClaimError::NotFound),
            status if allowed.contains(&status) => Ok(()),
            status => Err(ClaimError::InvalidTransition {
                action,
                status: status.as_str(),
            }),
        }
    }

    pub(super) fn details(&self) -> Result<&ClaimDetails, ClaimError> {
        self.details.as_ref().ok_or(ClaimError::NotFound)
    }

    /// Checks an amount is in the claim's currency and positive (or zero,
    /// when `zero_ok`).
    fn check_amount(&self, amount: &Money, field: &str, zero_ok: bool) -> Result<(), ClaimError> {
        let currency = self.details()?.claimed_amount.currency();
        let positive = !amount.is_negative() && (zero_ok || !amount.amount().is_zero());
        if amount.currency() != currency || !positive {
            return Err(ClaimError::invalid(
                field,
                format!("must be a positive amount in {currency}"),
            ));
        }
        Ok(())
    }

    /// Whether `new` would be accepted as filed: a caller numbers a claim
    /// only then.
    ///
    /// # Errors
    /// What filing it would answer.
    pub fn check_filing(new: &NewClaim) -> Result<(), ClaimError> {
        Claim::default().file(new.clone()).map(|_| ())
    }

    fn file(&self, new: NewClaim) -> Decision {
        if self.details.is_some() {
            return Err(ClaimError::AlreadyFiled);
        }
        let policy = &new.policy;
        let (Some(application), Some(policy_number)) = (&policy.application, &policy.policy_number)
        else {
            return Err(ClaimError::PolicyNotActive);
        };
        // Cover decided by the dates it ran, not today's status: a loss
        // inside a term in force that day is claimable after a (future
        // dated) cancellation or an expiry too, within the reporting days.
        if policy.in_force.is_none() {
            return Err(ClaimError::PolicyNotActive);
        }
        if policy.status != PolicyStatus::Active {
            let Some(ended) = policy.cover_ended_on() else {
                return Err(ClaimError::PolicyNotActive);
            };
            let until = crate::dates::add_days(ended, new.reporting_days).unwrap_or(ended);
            if new.today > until && ended < new.today {
                return Err(ClaimError::ReportedTooLate { ended, until });
            }
        }
        let covered = policy.cover_on(new.incident_date).is_some();
        let mut errors = ValidationErrors::new();
        errors.check(
            new.incident_date <= new.today,
            "incident_date",
            "must not be in the future",
        );
        let currency = application.sum_insured.currency();
        errors.check(
            new.claimed_amount.currency() == currency
                && !new.claimed_amount.is_negative()
                && !new.claimed_amount.amount().is_zero(),
            "claimed_amount",
            format!("must be a positive amount in {currency}"),
        );
        let description = new.description.trim().to_string();
        errors.check(
            !description.is_empty() && description.chars().count() <= MAX_TEXT,
            "description",
            format!("must be 1 to {MAX_TEXT} characters"),
        );
        errors.into_result().map_err(ClaimError::Validation)?;
        if !covered {
            let from = policy
                .terms
                .first()
                .map_or(application.start_date, |t| t.start_date);
            let to = policy
                .current_term()
                .map_or(application.end_date, |t| t.end_date);
            return Err(ClaimError::IncidentOutsideCover { from, to });
        }
        Ok(vec![ClaimEvent::ClaimFiled(ClaimDetails {
            claim_id: new.claim_id,
            claim_number: new.claim_number,
            policy_id: application.policy_id,
            policy_number: policy_number.clone(),
            customer_id: application.customer_id,
            filed_by: new.filed_by,
            incident_date: new.incident_date,
            description,
            claimed_amount: new.claimed_amount,
            filed_on: new.today,
        })])
    }

    fn amend(
        &self,
        description: Option<String>,
        claimed_amount: Option<Money>,
        amended_by: Option<UserId>,
    ) -> Decision {
        self.require(&[Submitted], "amend")?;
        let details = self.details()?;
        if description.is_none() && claimed_amount.is_none() {
            return Err(ClaimError::invalid(
                "body",
                "send description or claimed_amount",
            ));
        }
        let description = match description {
            Some(d) => text(d, "description")?,
            None => details.description.clone(),
        };
        let claimed_amount = claimed_amount.unwrap_or(details.claimed_amount);
        self.check_amount(&claimed_amount, "claimed_amount", false)?;
        if description == details.description && claimed_amount == details.claimed_amount {
            return Ok(vec![]);
        }
        Ok(vec![ClaimEvent::ClaimAmended {
            amended_by,
            description,
            claimed_amount,
        }])
    }

    /// What `approve` would do with these inputs — approve, or propose for
    /// a second person's confirmation (callers reserve cover on the policy
    /// only for an approval).
    ///
    /// # Errors
    /// The refusal `approve` would give.
    pub fn check_approval(
        &self,
        approved_amount: Money,
        approved_by: UserId,
        approver_role: Role,
        limits: Limits,
    ) -> Result<ApprovalOutcome, ClaimError> {
        let events = self.approve(approved_amount, Some(approved_by), approver_role, limits)?;
        Ok(
            if events
                .iter()
                .any(|e| matches!(e, ClaimEvent::ApprovalProposed { .. }))
            {
                ApprovalOutcome::Proposed
            } else {
                ApprovalOutcome::Approved
            },
        )
    }

    fn approve(
        &self,
        approved_amount: Money,
        approved_by: Option<UserId>,
        approver_role: Role,
        limits: Limits,
    ) -> Decision {
        let authority_limit = limits.authority;
        self.require(&[Submitted, UnderReview], "approve")?;
        let details = self.details()?;
        self.check_amount(&approved_amount, "approved_amount", false)?;
        let previous = self
            .approved_amount
            .unwrap_or(Money::zero(approved_amount.currency()));
        if approved_amount.amount() > details.claimed_amount.amount() {
            return Err(ClaimError::ExceedsClaimed(details.claimed_amount));
        }
        if approved_amount.amount() < previous.amount() {
            return Err(ClaimError::invalid(
                "approved_amount",
                format!("may not be less than the {previous} approved before"),
            ));
        }
        let over_limit = approved_amount.currency() == authority_limit.currency()
            && approved_amount.amount() > authority_limit.amount();
        if approver_role != Role::Admin && over_limit {
            return Err(ClaimError::AuthorityLimit(authority_limit));
        }
        if let Some(approver) = approved_by {
            self.check_not_a_party(approver)?;
            if above(&approved_amount, &limits.dual_control) {
                return Ok(self.propose_approval(approved_amount, approver));
            }
        }
        Ok(self.approved_events(vec![], approved_amount, previous, approved_by))
    }

    /// `before`, then the approval of `approved_amount` — and, when that
    /// much is already paid (a reopened paid claim approved again for the
    /// same total), `ClaimPaid`: nothing is left to pay, so the claim does
    /// not wait in the queue for a payout that can't be made.
    pub(super) fn approved_events(
        &self,
        mut before: Vec<ClaimEvent>,
        approved_amount: Money,
        previous: Money,
        approved_by: Option<UserId>,
    ) -> Vec<ClaimEvent> {
        before.push(ClaimEvent::ClaimApproved {
            approved_amount,
            previous_amount: previous,
            approved_by,
        });
        if self.paid_amount == Some(approved_amount) {
            before.push(ClaimEvent::ClaimPaid {
                amount_paid: approved_amount,
            });
        }
        before
    }

    fn request_payout(
        &self,
        payout_id: PayoutId,
        provider: String,
        payee_contact: Option<String>,
    ) -> Decision {
        if self.payouts.iter().any(|p| p.payout_id == payout_id) {
            return Ok(vec![]);
        }
        self.require(&[Approved], "pay")?;
        let amount = self
            .unpaid()
            .filter(|m| m.amount() > rust_decimal::Decimal::ZERO);
        let Some(amount) = amount else {
            return Err(ClaimError::InvalidTransition {
                action: "pay",
                status: "already being paid out",
            });
        };
        Ok(vec![ClaimEvent::PayoutRequested {
            payout_id,
            amount,
            provider,
            idempotency_key: format!("payout-{payout_id}"),
            payee_contact,
        }])
    }

    fn payout(&self, id: PayoutId) -> Result<&super::Payout, ClaimError> {
        self.payouts
            .iter()
            .find(|p| p.payout_id == id)
            .ok_or_else(|| ClaimError::UnknownPayout(id.to_string()))
    }

    fn payout_succeeded(
        &self,
        payout_id: PayoutId,
        provider_reference: Option<String>,
    ) -> Decision {
        let payout = self.payout(payout_id)?;
        if payout.status == SettlementStatus::Succeeded {
            return Ok(vec![]);
        }
        let mut events = vec![ClaimEvent::PayoutSucceeded {
            payout_id,
            provider_reference,
        }];
        let paid = self
            .paid_amount
            .unwrap_or(Money::zero(payout.amount.currency()))
            .checked_add(&payout.amount)
            .unwrap_or(payout.amount);
        if Some(paid) == self.approved_amount && self.status == Approved {
            events.push(ClaimEvent::ClaimPaid { amount_paid: paid });
        }
        Ok(events)
    }
}

pub(super) fn text(raw: String, field: &str) -> Result<String, ClaimError> {
    let trimmed = raw.trim().to_string();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_TEXT {
        return Err(ClaimError::invalid(
            field,
            format!("must be 1 to {MAX_TEXT} characters"),
        ));
    }
    Ok(trimmed)
}
