//! The `Policy` aggregate: one policy's whole life, from application to its
//! end. Its id is the application's id.
//!
//! Statuses: `submitted → approved (pending payment) → active → expired |
//! cancelled | lapsed`, and `rejected`. Money rules (pro-rata endorsements
//! and refunds) live in [`ledger`]; decisions in `decide`.

mod commands;
#[cfg(test)]
mod cover_properties;
mod decide;
mod errors;
mod events;
pub mod ledger;
#[cfg(test)]
mod money_properties;
mod quotes;
#[cfg(test)]
mod tests;

pub use commands::{NewApplication, PolicyCommand};
pub use errors::PolicyError;
pub use events::{Application, PolicyEvent, RefundAllocation, Term};
pub use ledger::InvoiceOffset;
pub use quotes::CancellationQuote;

use chrono::NaiveDate;
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use crate::ids::InvoiceId;
use crate::money::Money;
use ledger::{Charge, PremiumLedger, RecordedPayment};

/// Where a policy is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PolicyStatus {
    /// Nothing submitted under this id.
    #[default]
    None,
    /// Applied for, awaiting a decision.
    Submitted,
    /// Approved and numbered; the premium is awaited (pending payment).
    Approved,
    /// In force.
    Active,
    /// Declined.
    Rejected,
    /// Cancelled; cover ends (or ended) on the cancellation's date.
    Cancelled,
    /// The first premium was never paid.
    Lapsed,
    /// The last term ended without a paid renewal.
    Expired,
}

impl PolicyStatus {
    /// The status's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyStatus::None => "none",
            PolicyStatus::Submitted => "submitted",
            PolicyStatus::Approved => "approved",
            PolicyStatus::Active => "active",
            PolicyStatus::Rejected => "rejected",
            PolicyStatus::Cancelled => "cancelled",
            PolicyStatus::Lapsed => "lapsed",
            PolicyStatus::Expired => "expired",
        }
    }
}

/// How a policy was cancelled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cancellation {
    /// Why.
    pub reason: String,
    /// Last day of cover.
    pub effective_date: NaiveDate,
    /// Refunded.
    pub refund: Money,
}

/// The policy's state, rebuilt from its events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// The application, once submitted.
    pub application: Option<Application>,
    /// Status.
    pub status: PolicyStatus,
    /// Issued on approval.
    pub policy_number: Option<String>,
    /// Every term, the first from approval, then renewals.
    pub terms: Vec<Term>,
    /// The term in force (or last in force), once activated.
    pub in_force: Option<u32>,
    /// Whether the renewal term after the one in force is paid.
    pub renewal_paid: bool,
    /// Current cover.
    pub sum_insured: Option<Money>,
    /// Current full-term premium.
    pub annual_premium: Option<Money>,
    /// Charges and payments.
    pub ledger: Option<PremiumLedger>,
    /// The policy's invoices and the term each is for.
    pub invoices: Vec<(InvoiceId, u32)>,
    /// Endorsements made.
    pub endorsements: u32,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
    /// How it was cancelled.
    pub cancellation: Option<Cancellation>,
    /// When it lapsed.
    pub lapsed_on: Option<NaiveDate>,
    /// Total approved per claim.
    #[serde(default)]
    pub claims_approved: Vec<(crate::ids::ClaimId, Money)>,
    /// The claim version each claim's reservation was decided on.
    #[serde(default)]
    pub claim_versions: Vec<(crate::ids::ClaimId, u64)>,
    /// The term each claim counts against (its incident's).
    #[serde(default)]
    pub claim_terms: Vec<(crate::ids::ClaimId, u32)>,
    /// Terms put back in force after they had lapsed unpaid, and from when.
    #[serde(default)]
    pub reinstated: Vec<(u32, NaiveDate)>,
    /// Expiry reminders issued: (term number, days before its end).
    #[serde(default)]
    pub expiry_reminders: Vec<(u32, u32)>,
}

impl Policy {
    /// The term in force, else (before activation) the first term.
    pub fn current_term(&self) -> Option<&Term> {
        match self.in_force {
            Some(n) => self.terms.iter().find(|t| t.number == n),
            None => self.terms.first(),
        }
    }

    /// A renewal term offered after the one in force, if any.
    pub fn pending_renewal(&self) -> Option<&Term> {
        let in_force = self.in_force?;
        self.terms.last().filter(|t| t.number > in_force)
    }

    /// The term in force on `date`, if cover ran that day: a term that
    /// came into force (or is paid to), from its start — or from the day an
    /// expired policy was put back in force — to its end or the
    /// cancellation's last day of cover. A policy never in force covered
    /// nothing.
    pub fn cover_on(&self, date: NaiveDate) -> Option<&Term> {
        let in_force = self.in_force?;
        let last = match self.pending_renewal() {
            Some(renewal) if self.renewal_paid => renewal.number,
            _ => in_force,
        };
        let term = self
            .terms
            .iter()
            .find(|t| t.number <= last && t.start_date <= date && date <= t.end_date)?;
        let cancelled_before = self
            .cancellation
            .as_ref()
            .is_some_and(|c| date > c.effective_date);
        let in_gap = self
            .reinstated
            .iter()
            .any(|(number, on)| *number == term.number && date < *on);
        (!cancelled_before && !in_gap).then_some(term)
    }

    /// The last day of cover once it has ended (cancelled or expired).
    pub fn cover_ended_on(&self) -> Option<NaiveDate> {
        match self.status {
            PolicyStatus::Cancelled => self.cancellation.as_ref().map(|c| c.effective_date),
            PolicyStatus::Expired => self.current_term().map(|t| t.end_date),
            _ => None,
        }
    }

    /// The sum insured that limits claims of term `number`: the policy's
    /// current sum insured for the latest term in force (endorsements
    /// change it), for an earlier term what it was when that term ended
    /// (the next term's starting cover).
    pub fn limit_of_term(&self, number: u32) -> Option<Money> {
        let latest = self.in_force.unwrap_or(1).max(number);
        if number >= latest {
            return self.sum_insured;
        }
        self.term(number + 1)
            .map(|t| t.sum_insured)
            .or(self.sum_insured)
    }

    /// The cover left for claims in term `number`: its limit less the
    /// approved totals of its claims, except `except`'s. (A claim reserved
    /// before terms were recorded counts against every term.)
    pub fn cover_left_in(&self, number: u32, except: Option<crate::ids::ClaimId>) -> Option<Money> {
        let limit = self.limit_of_term(number)?;
        let used = Money::total(
            limit.currency(),
            self.claims_approved
                .iter()
                .filter(|(id, _)| Some(*id) != except)
                .filter(|(id, _)| self.claim_term(*id).is_none_or(|t| t == number))
                .map(|(_, m)| *m),
        );
        limit.checked_sub(&used).ok()
    }

    /// The cover left for claims in the term in force (or, before
    /// activation, the first).
    pub fn cover_left(&self, except: Option<crate::ids::ClaimId>) -> Option<Money> {
        let number = self.current_term().map_or(1, |t| t.number);
        self.cover_left_in(number, except)
    }

    /// The term claim `claim_id` counts against, once reserved.
    pub fn claim_term(&self, claim_id: crate::ids::ClaimId) -> Option<u32> {
        self.claim_terms
            .iter()
            .find(|(id, _)| *id == claim_id)
            .map(|(_, t)| *t)
    }

    /// When a renewal's premium falls due: the day its term starts, or
    /// `due_days` from `today` when that day has passed.
    pub fn renewal_due_date(&self, today: NaiveDate, due_days: u32) -> NaiveDate {
        let starts = self
            .terms
            .last()
            .and_then(|t| crate::dates::next_day(t.end_date));
        match starts {
            Some(date) if date > today => date,
            _ => crate::dates::add_days(today, due_days).unwrap_or(today),
        }
    }

    fn term(&self, number: u32) -> Option<&Term> {
        self.terms.iter().find(|t| t.number == number)
    }

    fn add_charge(&mut self, charge: Charge) {
        if let Some(ledger) = self.ledger.as_mut() {
            ledger.charges.push(charge);
        }
    }

    fn add_term(&mut self, term: Term) {
        self.add_charge(Charge {
            term_number: term.number,
            amount: term.premium,
            from: term.start_date,
            to: term.end_date,
            invoice_id: Some(term.invoice_id),
        });
        self.invoices.push((term.invoice_id, term.number));
        self.terms.push(term);
    }

    /// Cover ended: the refunds go out and no credit is held any more (it
    /// was refunded, or kept for premium earned and not paid).
    fn end_cover(&mut self, refunds: &[RefundAllocation]) {
        if let Some(ledger) = self.ledger.as_mut() {
            ledger.apply_refunds(refunds);
            ledger.credit = Some(Money::zero(ledger.currency));
        }
    }

    fn put_in_force(&mut self, number: u32) {
        self.in_force = Some(number);
        self.renewal_paid = false;
        if let Some(term) = self.term(number).cloned() {
            if number > 1 {
                self.sum_insured = Some(term.sum_insured);
                self.annual_premium = Some(term.premium);
            }
        }
    }
}

impl Aggregate for Policy {
    const TYPE: &'static str = "Policy";
    type Command = PolicyCommand;
    type Event = PolicyEvent;
    type Error = PolicyError;
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
            PolicyEvent::ApplicationSubmitted(application) => {
                self.status = PolicyStatus::Submitted;
                self.sum_insured = Some(application.sum_insured);
                self.annual_premium = Some(application.premium);
                self.ledger = Some(PremiumLedger::new(application.premium.currency()));
                self.application = Some(application);
            }
            PolicyEvent::ApplicationApproved {
                policy_number,
                term,
                ..
            } => {
                self.status = PolicyStatus::Approved;
                self.policy_number = Some(policy_number);
                self.add_term(term);
            }
            PolicyEvent::ApplicationRejected { reason } => {
                self.status = PolicyStatus::Rejected;
                self.rejection_reason = Some(reason);
            }
            PolicyEvent::PremiumPaymentRecorded {
                invoice_id,
                payment_id,
                amount,
                provider,
                credit,
            } => {
                let term_number = self
                    .invoices
                    .iter()
                    .find(|(id, _)| *id == invoice_id)
                    .map_or(1, |(_, n)| *n);
                if let Some(ledger) = self.ledger.as_mut() {
                    ledger.payments.push(RecordedPayment {
                        invoice_id,
                        term_number,
                        payment_id,
                        refunded: Money::zero(amount.currency()),
                        amount,
                        provider,
                        credit,
                    });
                    if let Some(credit) = credit {
                        ledger.change_credit(credit);
                    }
                }
            }
            PolicyEvent::PolicyCreditApplied {
                invoice_id, amount, ..
            } => {
                if let Some(ledger) = self.ledger.as_mut() {
                    ledger.credit_applied.push((invoice_id, amount));
                    ledger.change_credit(amount.negated());
                }
            }
            PolicyEvent::CreditRestored {
                invoice_id,
                key,
                amount,
                from_reduction,
                after_end,
            } => {
                if let Some(ledger) = self.ledger.as_mut() {
                    // What the invoice did not take is not settled on it.
                    if from_reduction {
                        ledger.offsets.push(InvoiceOffset {
                            invoice_id,
                            amount: amount.negated(),
                        });
                    } else {
                        ledger.credit_applied.push((invoice_id, amount.negated()));
                    }
                    if !after_end {
                        ledger.change_credit(amount);
                    }
                    ledger.restored.push(key);
                }
            }
            PolicyEvent::PaymentReturned {
                payment_id,
                refunds,
                ..
            } => {
                if let Some(ledger) = self.ledger.as_mut() {
                    let credit = ledger
                        .payments
                        .iter()
                        .find(|p| p.payment_id == payment_id)
                        .and_then(|p| p.credit);
                    if let Some(credit) = credit {
                        ledger.change_credit(credit.negated());
                    }
                    ledger.apply_refunds(&refunds);
                }
            }
            PolicyEvent::PolicyActivated {
                term_number,
                reinstated_on,
            } => {
                if let Some(on) = reinstated_on {
                    self.reinstated.push((term_number, on));
                }
                self.status = PolicyStatus::Active;
                self.put_in_force(term_number);
            }
            PolicyEvent::PolicyEndorsed {
                endorsement_number,
                term_number,
                effective_date,
                sum_insured,
                annual_premium,
                adjustment,
                invoice_id,
                refunds,
                offsets,
                ..
            } => {
                self.endorsements = endorsement_number;
                self.sum_insured = Some(sum_insured);
                self.annual_premium = Some(annual_premium);
                if let Some(end) = self.term(term_number).map(|t| t.end_date) {
                    self.add_charge(Charge {
                        term_number,
                        amount: adjustment,
                        from: effective_date,
                        to: end,
                        invoice_id,
                    });
                }
                if let Some(id) = invoice_id {
                    self.invoices.push((id, term_number));
                }
                if let Some(ledger) = self.ledger.as_mut() {
                    if adjustment.is_negative() {
                        // What the lower premium does not take off unpaid
                        // invoices is owed back to the customer; what is
                        // refunded of it is no longer held.
                        let offset =
                            Money::total(ledger.currency, offsets.iter().map(|o| o.amount));
                        let freed = adjustment.negated().checked_sub(&offset).unwrap_or(offset);
                        ledger.change_credit(freed);
                        let refunded =
                            Money::total(ledger.currency, refunds.iter().map(|r| r.amount));
                        ledger.change_credit(refunded.negated());
                    }
                    ledger.offsets.extend(offsets);
                    ledger.apply_refunds(&refunds);
                }
            }
            PolicyEvent::PolicyCancelled {
                reason,
                effective_date,
                refund,
                refunds,
                ..
            } => {
                self.status = PolicyStatus::Cancelled;
                self.cancellation = Some(Cancellation {
                    reason,
                    effective_date,
                    refund,
                });
                self.end_cover(&refunds);
            }
            PolicyEvent::PolicyLapsed {
                lapsed_on, refunds, ..
            } => {
                self.status = PolicyStatus::Lapsed;
                self.lapsed_on = Some(lapsed_on);
                self.end_cover(&refunds);
            }
            PolicyEvent::PolicyExpired { .. } => self.status = PolicyStatus::Expired,
            PolicyEvent::PolicyRenewed { term } => {
                self.renewal_paid = false;
                self.add_term(term);
            }
            PolicyEvent::RenewalPaid { .. } => self.renewal_paid = true,
            PolicyEvent::RenewalTermStarted { term_number } => self.put_in_force(term_number),
            PolicyEvent::ExpiryReminderIssued {
                term_number,
                days_before,
                ..
            } => self.expiry_reminders.push((term_number, days_before)),
            PolicyEvent::ClaimCoverReserved {
                claim_id,
                total,
                claim_version,
                term_number,
                ..
            } => {
                if let Some(term) = term_number {
                    self.claim_terms.retain(|(id, _)| *id != claim_id);
                    self.claim_terms.push((claim_id, term));
                }
                self.claims_approved.retain(|(id, _)| *id != claim_id);
                self.claims_approved.push((claim_id, total));
                if let Some(version) = claim_version {
                    self.claim_versions.retain(|(id, _)| *id != claim_id);
                    self.claim_versions.push((claim_id, version));
                }
            }
        }
    }
}
