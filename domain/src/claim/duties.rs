//! Separation of duties on a claim, so that no one person can file, approve
//! and pay a claim to themselves: whoever filed or last amended a claim
//! cannot approve it; an approval above the dual-control limit is only a
//! proposal until a second, different person confirms it; and a payout
//! goes to the claimant's own contact unless a payee proposed by one person
//! was confirmed by another.

use super::decide::text;
use super::errors::ClaimError;
use super::events::ClaimEvent;
use super::{Claim, ClaimStatus};
use crate::ids::UserId;
use crate::money::Money;

use ClaimStatus::{Approved, Submitted, UnderReview};

type Decision = Result<Vec<ClaimEvent>, ClaimError>;

/// The limits an approval is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most staff may approve (admins above it).
    pub authority: Money,
    /// Above this, an approval needs a second person.
    pub dual_control: Money,
}

/// What an approval command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalOutcome {
    /// The claim is approved.
    Approved,
    /// The approval waits for a second person's confirmation.
    Proposed,
}

/// `amount` is above `limit` (limits in another currency do not apply).
pub(super) fn above(amount: &Money, limit: &Money) -> bool {
    amount.currency() == limit.currency() && amount.amount() > limit.amount()
}

impl Claim {
    /// Refuses `who` if they filed or last amended the claim.
    pub(super) fn check_not_a_party(&self, who: UserId) -> Result<(), ClaimError> {
        let filed_by = self.details()?.filed_by;
        if who == filed_by || Some(who) == self.last_amended_by {
            return Err(ClaimError::SeparationOfDuties(
                "whoever filed or last amended a claim cannot approve it or confirm its payment"
                    .into(),
            ));
        }
        Ok(())
    }

    pub(super) fn propose_approval(
        &self,
        approved_amount: Money,
        proposed_by: UserId,
    ) -> Vec<ClaimEvent> {
        let same = self
            .pending_approval
            .as_ref()
            .is_some_and(|p| p.approved_amount == approved_amount && p.proposed_by == proposed_by);
        if same {
            return vec![];
        }
        vec![ClaimEvent::ApprovalProposed {
            approved_amount,
            proposed_by,
        }]
    }

    /// Whether `confirmed_by` may confirm the proposed approval (callers
    /// check before reserving cover on the policy).
    ///
    /// # Errors
    /// The refusal the confirmation would give.
    pub fn check_confirmation(&self, confirmed_by: UserId) -> Result<(), ClaimError> {
        self.confirm_approval(confirmed_by).map(drop)
    }

    pub(super) fn confirm_approval(&self, confirmed_by: UserId) -> Decision {
        self.require(&[Submitted, UnderReview], "confirm the approval of")?;
        let Some(pending) = &self.pending_approval else {
            return Err(ClaimError::InvalidTransition {
                action: "confirm the approval of",
                status: "without a proposed approval",
            });
        };
        if confirmed_by == pending.proposed_by {
            return Err(ClaimError::SeparationOfDuties(
                "an approval is confirmed by someone other than whoever proposed it".into(),
            ));
        }
        self.check_not_a_party(confirmed_by)?;
        let previous = self
            .approved_amount
            .unwrap_or(Money::zero(pending.approved_amount.currency()));
        Ok(self.approved_events(
            vec![ClaimEvent::ApprovalConfirmed { confirmed_by }],
            pending.approved_amount,
            previous,
            Some(pending.proposed_by),
        ))
    }

    pub(super) fn propose_payee(
        &self,
        contact: String,
        proposed_by: UserId,
        reason: String,
    ) -> Decision {
        self.require(&[Submitted, UnderReview, Approved], "propose a payee for")?;
        let contact = contact.trim().to_string();
        if contact.is_empty() {
            return Err(ClaimError::invalid("contact", "must not be empty"));
        }
        let reason = text(reason, "reason")?;
        let unchanged = self
            .payee
            .as_ref()
            .is_some_and(|p| p.contact == contact && p.proposed_by == proposed_by);
        if unchanged {
            return Ok(vec![]);
        }
        Ok(vec![ClaimEvent::PayeeProposed {
            contact,
            proposed_by,
            reason,
        }])
    }

    pub(super) fn confirm_payee(&self, confirmed_by: UserId) -> Decision {
        self.require(&[Submitted, UnderReview, Approved], "confirm the payee of")?;
        let Some(payee) = &self.payee else {
            return Err(ClaimError::InvalidTransition {
                action: "confirm the payee of",
                status: "without a proposed payee",
            });
        };
        if payee.confirmed_by.is_some() {
            return Ok(vec![]);
        }
        if confirmed_by == payee.proposed_by {
            return Err(ClaimError::SeparationOfDuties(
                "a payee is confirmed by someone other than whoever proposed it".into(),
            ));
        }
        self.check_not_a_party(confirmed_by)?;
        Ok(vec![ClaimEvent::PayeeConfirmed { confirmed_by }])
    }

    /// Who a payout goes to: the confirmed payee if there is one, else the
    /// claimant's own contact. A request naming anyone else is refused.
    pub(super) fn payee_for(
        &self,
        claimant: Option<String>,
        requested: Option<String>,
    ) -> Result<Option<String>, ClaimError> {
        match (&self.payee, requested) {
            (Some(payee), _) if payee.confirmed_by.is_none() => {
                Err(ClaimError::AwaitsConfirmation(format!(
                    "the proposed payee {} waits for a second person's confirmation",
                    payee.contact
                )))
            }
            (Some(payee), Some(requested)) if requested != payee.contact => {
                Err(ClaimError::AwaitsConfirmation(format!(
                    "this claim pays its confirmed payee {}; another needs proposing and \
                     confirming by a second person",
                    payee.contact
                )))
            }
            (Some(payee), _) => Ok(Some(payee.contact.clone())),
            (None, Some(requested)) if Some(&requested) != claimant.as_ref() => {
                Err(ClaimError::AwaitsConfirmation(
                    "paying anyone but the claimant needs the payee proposed and confirmed by \
                     a second person"
                        .into(),
                ))
            }
            (None, _) => Ok(claimant),
        }
    }
}
