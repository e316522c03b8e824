//! How a policy decides: each command becomes events or a refusal, without
//! changing state.

use chrono::NaiveDate;
use cqrs_es::Aggregate as _;

use super::commands::{NewApplication, PolicyCommand};
use super::errors::PolicyError;
use super::events::{Application, PolicyEvent, RefundAllocation, Term};
use super::ledger::{positive_part, spread, InvoiceOffset, PremiumLedger};
use super::{Policy, PolicyStatus};
use crate::dates::{add_days, days_inclusive, next_day, term_end};
use crate::ids::{InvoiceId, PaymentId, RefundId, UserId};
use crate::money::Money;
use crate::product::{premium_for, Product, ProductStatus, QuoteError};
use crate::validation::ValidationErrors;

/// The longest reason accepted.
const MAX_REASON: usize = 1000;
/// How far ahead a start date may be.
const MAX_FUTURE_START_DAYS: u32 = 366;
/// The largest `insured` document accepted, in bytes of JSON.
const MAX_INSURED_BYTES: usize = 16 * 1024;

type Decision = Result<Vec<PolicyEvent>, PolicyError>;

impl Policy {
    pub(super) fn decide(&self, command: PolicyCommand) -> Decision {
        match command {
            PolicyCommand::SubmitApplication(new) => self.submit(new),
            PolicyCommand::ApproveApplication {
                policy_number,
                due_date,
                approved_by,
            } => self.approve(policy_number, due_date, approved_by),
            PolicyCommand::RejectApplication { reason } => {
                self.require(&[PolicyStatus::Submitted], "reject")?;
                let reason = required_reason(reason)?;
                Ok(vec![PolicyEvent::ApplicationRejected { reason }])
            }
            PolicyCommand::RecordPremiumPayment {
                invoice_id,
                payment_id,
                amount,
                credit,
                provider,
            } => self.record_payment(invoice_id, payment_id, amount, credit, provider),
            PolicyCommand::Activate { invoice_id, today } => self.activate(invoice_id, today),
            PolicyCommand::RestoreCredit {
                invoice_id,
                key,
                amount,
                from_reduction,
            } => self.restore_credit(invoice_id, key, amount, from_reduction),
            PolicyCommand::Endorse {
                sum_insured,
                effective_date,
                due_date,
            } => self.endorse(sum_insured, effective_date, due_date),
            PolicyCommand::Cancel {
                reason,
                effective_date,
                cancelled_by,
            } => self.cancel(reason, effective_date, cancelled_by),
            PolicyCommand::Lapse { today, grace_days } => self.lapse(today, grace_days),
            PolicyCommand::Expire { today } => self.expire(today),
            PolicyCommand::RemindExpiry { today } => self.remind_expiry(today),
            PolicyCommand::Renew { product, due_date } => self.renew(&product, due_date),
            PolicyCommand::ReserveClaimCover {
                claim_id,
                total,
                claim_version,
                incident_date,
            } => self.reserve_claim_cover(claim_id, total, claim_version, incident_date),
            PolicyCommand::ReleaseClaimCover {
                claim_id,
                to,
                claim_version,
            } => self.release_claim_cover(claim_id, to, claim_version),
        }
    }

    fn require(&self, allowed: &[PolicyStatus], action: &'static str) -> Result<(), PolicyError> {
        match self.status {
            PolicyStatus::None => Err(PolicyError::NotFound),
            status if allowed.contains(&status) => Ok(()),
            status => Err(PolicyError::InvalidTransition {
                action,
                status: status.as_str(),
            }),
        }
    }

    fn submit(&self, new: NewApplication) -> Decision {
        if self.application.is_some() {
            return Err(PolicyError::AlreadySubmitted);
        }
        let terms = new
            .product
            .terms
            .as_ref()
            .filter(|_| new.product.status == ProductStatus::Active)
            .ok_or(PolicyError::ProductNotActive)?;
        let premium = terms
            .quote(new.sum_insured)
            .map_err(|e| PolicyError::invalid("sum_insured", e.to_string()))?;
        let mut errors = ValidationErrors::new();
        let earliest = new
            .today
            .checked_sub_days(chrono::Days::new(u64::from(new.max_backdate_days)))
            .unwrap_or(new.today);
        let latest = add_days(new.today, MAX_FUTURE_START_DAYS).unwrap_or(new.today);
        errors.check(
            new.start_date >= earliest,
            "start_date",
            format!("may be at most {} days in the past", new.max_backdate_days),
        );
        errors.check(
            new.start_date <= latest,
            "start_date",
            format!("may be at most {MAX_FUTURE_START_DAYS} days ahead"),
        );
        errors.check(
            new.insured.is_object() && new.insured.to_string().len() <= MAX_INSURED_BYTES,
            "insured",
            format!("must be a JSON object of at most {MAX_INSURED_BYTES} bytes"),
        );
        let end_date = term_end(new.start_date, terms.term_months);
        errors.check(end_date.is_some(), "start_date", "is out of range");
        errors.into_result().map_err(PolicyError::Validation)?;
        Ok(vec![PolicyEvent::ApplicationSubmitted(Application {
            policy_id: new.policy_id,
            product_id: new.product_id,
            product_code: terms.code.clone(),
            product_name: terms.name.clone(),
            customer_id: new.customer_id,
            submitted_by: new.submitted_by,
            sum_insured: new.sum_insured,
            premium,
            rate: terms.rate,
            minimum_premium: terms.minimum_premium,
            sum_insured_min: terms.sum_insured_min,
            sum_insured_max: terms.sum_insured_max,
            term_months: terms.term_months,
            start_date: new.start_date,
            end_date: end_date.unwrap_or(new.start_date),
            insured: new.insured,
        })])
    }

    fn approve(
        &self,
        policy_number: String,
        due_date: NaiveDate,
        approved_by: Option<UserId>,
    ) -> Decision {
        self.require(&[PolicyStatus::Submitted], "approve")?;
        let application = self.application.as_ref().ok_or(PolicyError::NotFound)?;
        if policy_number.trim().is_empty() {
            return Err(PolicyError::invalid("policy_number", "must not be empty"));
        }
        let term = Term {
            number: 1,
            start_date: application.start_date,
            end_date: application.end_date,
            sum_insured: application.sum_insured,
            premium: application.premium,
            rate: application.rate,
            minimum_premium: application.minimum_premium,
            invoice_id: InvoiceId::derived(application.policy_id, "term:1"),
            due_date,
        };
        Ok(vec![PolicyEvent::ApplicationApproved {
            policy_number,
            term,
            approved_by,
        }])
    }

    fn record_payment(
        &self,
        invoice_id: InvoiceId,
        payment_id: PaymentId,
        amount: Money,
        credit: Option<Money>,
        provider: String,
    ) -> Decision {
        if matches!(
            self.status,
            PolicyStatus::None | PolicyStatus::Submitted | PolicyStatus::Rejected
        ) {
            self.require(&[], "record a payment on")?;
        }
        if !self.invoices.iter().any(|(id, _)| *id == invoice_id) {
            return Err(PolicyError::UnknownInvoice(invoice_id.to_string()));
        }
        let (application, ledger) = match (&self.application, &self.ledger) {
            (Some(a), Some(l)) => (a, l),
            _ => return Err(PolicyError::NotFound),
        };
        if ledger.payments.iter().any(|p| p.payment_id == payment_id) {
            return Ok(vec![]);
        }
        let credit = credit.filter(|c| !c.amount().is_zero());
        let credit_fits = credit.is_none_or(|c| {
            c.currency() == amount.currency() && !c.is_negative() && c.amount() <= amount.amount()
        });
        if amount.currency() != ledger.currency || amount.is_negative() || !credit_fits {
            return Err(PolicyError::invalid(
                "amount",
                format!(
                    "must be a positive amount in {}, of which the credit is a part",
                    ledger.currency
                ),
            ));
        }
        let recorded = PolicyEvent::PremiumPaymentRecorded {
            invoice_id,
            payment_id,
            amount,
            provider,
            credit,
        };
        if matches!(self.status, PolicyStatus::Cancelled | PolicyStatus::Lapsed) {
            // Cover has ended: nothing is owed any more, so all of it goes
            // back, through its own provider.
            let refunds = vec![RefundAllocation {
                refund_id: RefundId::derived(
                    application.policy_id,
                    &format!("returned:{payment_id}"),
                ),
                invoice_id,
                payment_id,
                amount,
            }];
            let applied = match credit {
                Some(credit) => amount.checked_sub(&credit).unwrap_or(amount),
                None => amount,
            };
            return Ok(vec![
                recorded,
                PolicyEvent::PaymentReturned {
                    invoice_id,
                    payment_id,
                    refunds,
                    credit_note: Some(applied),
                },
            ]);
        }
        Ok(self.then_apply_credit(vec![recorded]))
    }

    fn restore_credit(
        &self,
        invoice_id: InvoiceId,
        key: String,
        amount: Money,
        from_reduction: bool,
    ) -> Decision {
        let ledger = self.ledger.as_ref().ok_or(PolicyError::NotFound)?;
        if ledger.restored.contains(&key) {
            return Ok(vec![]);
        }
        if amount.currency() != ledger.currency || amount.is_negative() {
            return Err(PolicyError::invalid(
                "amount",
                format!("must be a positive amount in {}", ledger.currency),
            ));
        }
        let after_end = matches!(self.status, PolicyStatus::Cancelled | PolicyStatus::Lapsed);
        let restored = PolicyEvent::CreditRestored {
            invoice_id,
            key,
            amount,
            from_reduction,
            after_end,
        };
        if after_end {
            return Ok(vec![restored]);
        }
        Ok(self.then_apply_credit(vec![restored]))
    }

    /// `events`, followed by the credit they leave applied to the policy's
    /// unpaid invoices, oldest first.
    fn then_apply_credit(&self, mut events: Vec<PolicyEvent>) -> Vec<PolicyEvent> {
        let mut after = self.clone();
        for event in &events {
            after.apply(event.clone());
        }
        let Some(ledger) = after.ledger.clone() else {
            return events;
        };
        let mut credit = ledger.credit();
        for (invoice_id, amount) in spread(credit, ledger.unpaid_invoices(|_| true)) {
            credit = credit.checked_sub(&amount).unwrap_or(credit);
            events.push(PolicyEvent::PolicyCreditApplied {
                invoice_id,
                amount,
                credit_left: credit,
            });
        }
        events
    }

    fn activate(&self, invoice_id: InvoiceId, today: Option<NaiveDate>) -> Decision {
        let Some(term) = self.terms.iter().find(|t| t.invoice_id == invoice_id) else {
            if self.invoices.iter().any(|(id, _)| *id == invoice_id) {
                // An endorsement's invoice: paying it changes no status.
                return Ok(vec![]);
            }
            return Err(PolicyError::UnknownInvoice(invoice_id.to_string()));
        };
        let in_force = self.in_force.unwrap_or(0);
        match self.status {
            PolicyStatus::Approved if term.number == 1 => Ok(vec![PolicyEvent::PolicyActivated {
                term_number: 1,
                reinstated_on: None,
            }]),
            PolicyStatus::Active if term.number > in_force && !self.renewal_paid => {
                Ok(vec![PolicyEvent::RenewalPaid {
                    term_number: term.number,
                }])
            }
            PolicyStatus::Active => Ok(vec![]),
            PolicyStatus::Expired if term.number > in_force => {
                Ok(vec![PolicyEvent::PolicyActivated {
                    term_number: term.number,
                    reinstated_on: today.filter(|d| *d > term.start_date),
                }])
            }
            // Paid after cover ended: the payment is returned, nothing
            // comes back into force.
            PolicyStatus::Cancelled | PolicyStatus::Lapsed => Ok(vec![]),
            _ => self.require(&[], "activate").map(|()| vec![]),
        }
    }

    fn endorse(
        &self,
        sum_insured: Money,
        effective_date: NaiveDate,
        due_date: NaiveDate,
    ) -> Decision {
        self.require(&[PolicyStatus::Active], "endorse")?;
        let (application, term) = match (&self.application, self.current_term()) {
            (Some(a), Some(t)) => (a, t),
            _ => return Err(PolicyError::NotFound),
        };
        let current = self.sum_insured.unwrap_or(term.sum_insured);
        let mut errors = ValidationErrors::new();
        errors.check(
            effective_date >= term.start_date && effective_date <= term.end_date,
            "effective_date",
            format!(
                "must be within the term in force, {} to {}",
                term.start_date, term.end_date
            ),
        );
        let in_bounds = sum_insured.currency() == current.currency()
            && sum_insured.amount() >= application.sum_insured_min.amount()
            && sum_insured.amount() <= application.sum_insured_max.amount();
        errors.check(
            in_bounds,
            "sum_insured",
            format!(
                "must be between {} and {}",
                application.sum_insured_min, application.sum_insured_max
            ),
        );
        errors.check(
            sum_insured != current,
            "sum_insured",
            "is the current sum insured",
        );
        if let Some(left) = self.cover_left_in(term.number, None) {
            let approved = current.checked_sub(&left).unwrap_or(current);
            if sum_insured.currency() == approved.currency()
                && sum_insured.amount() < approved.amount()
            {
                return Err(PolicyError::BelowApprovedClaims(approved));
            }
        }
        // Changes take effect in order: one dated before the last would be
        // priced against a premium that did not yet apply.
        if let Some(last) = self.last_endorsed(term.number) {
            errors.check(
                effective_date >= last,
                "effective_date",
                format!("must be on or after the last endorsement's, {last}"),
            );
        }
        errors.into_result().map_err(PolicyError::Validation)?;
        let annual_premium = premium_for(sum_insured, term.rate, term.minimum_premium)
            .map_err(|e| PolicyError::invalid("sum_insured", e.to_string()))?;
        let previous = self.annual_premium.unwrap_or(term.premium);
        let difference = annual_premium
            .checked_sub(&previous)
            .map_err(|e| PolicyError::invalid("sum_insured", e.to_string()))?;
        let remaining = days_inclusive(effective_date, term.end_date);
        let total = days_inclusive(term.start_date, term.end_date).max(1);
        let share = rust_decimal::Decimal::from(remaining) / rust_decimal::Decimal::from(total);
        let adjustment = difference
            .checked_mul_rounded(share)
            .map_err(|e| PolicyError::invalid("sum_insured", e.to_string()))?;
        let number = self.endorsements + 1;
        let raises = adjustment.amount().is_sign_positive() && !adjustment.amount().is_zero();
        let (invoice_id, due, refunds, offsets) = if raises {
            let id = InvoiceId::derived(application.policy_id, &format!("endorsement:{number}"));
            (Some(id), Some(due_date), Vec::new(), Vec::new())
        } else {
            let ledger = self.ledger.as_ref().ok_or(PolicyError::NotFound)?;
            let in_force = term.number;
            let offsets = offsets_for(ledger, in_force, adjustment.negated());
            let due_after = ledger
                .charged(|n| n <= in_force)
                .checked_add(&adjustment)
                .unwrap_or(adjustment);
            let excess = positive_part(ledger.paid_net(|n| n <= in_force), due_after);
            let refunds = ledger.allocate_refund(
                excess,
                |n| n <= in_force,
                application.policy_id,
                &format!("endorsement:{number}"),
            );
            (None, None, refunds, offsets)
        };
        let endorsed = PolicyEvent::PolicyEndorsed {
            endorsement_number: number,
            term_number: term.number,
            effective_date,
            sum_insured_before: current,
            sum_insured,
            annual_premium,
            adjustment,
            invoice_id,
            due_date: due,
            refunds,
            offsets,
        };
        Ok(self.then_apply_credit(vec![endorsed]))
    }

    /// The effective date of the latest endorsement of term `term`.
    fn last_endorsed(&self, term: u32) -> Option<NaiveDate> {
        let start = self.term(term)?.start_date;
        let ledger = self.ledger.as_ref()?;
        ledger
            .charges
            .iter()
            .filter(|c| c.term_number == term)
            .skip(1)
            .map(|c| c.from)
            .max()
            .or(Some(start))
    }

    fn cancel(
        &self,
        reason: String,
        effective_date: NaiveDate,
        cancelled_by: Option<UserId>,
    ) -> Decision {
        self.require(&[PolicyStatus::Approved, PolicyStatus::Active], "cancel")?;
        let reason = required_reason(reason)?;
        let (application, ledger, last) = match (&self.application, &self.ledger, self.terms.last())
        {
            (Some(a), Some(l), Some(t)) => (a, l, t),
            _ => return Err(PolicyError::NotFound),
        };
        if effective_date > last.end_date {
            return Err(PolicyError::invalid(
                "effective_date",
                format!("must be on or before the end of cover, {}", last.end_date),
            ));
        }
        let zero = Money::zero(ledger.currency);
        // Never in force (its premium not paid in full): nothing was earned,
        // so everything paid goes back.
        let (refund, earned_unpaid) = if self.in_force.is_none() {
            (ledger.paid_net(|_| true), zero)
        } else {
            (
                ledger.refund_if_cancelled(effective_date),
                ledger.earned_unpaid(effective_date),
            )
        };
        let refunds =
            ledger.allocate_refund(refund, |_| true, application.policy_id, "cancellation");
        let credit_note = refund
            .checked_sub(&ledger.credit())
            .and_then(|m| m.checked_add(&earned_unpaid))
            .unwrap_or(refund);
        Ok(vec![PolicyEvent::PolicyCancelled {
            reason,
            effective_date,
            refund,
            refunds,
            cancelled_by,
            credit_note: Some(credit_note),
            earned_unpaid: Some(earned_unpaid),
        }])
    }

    fn lapse(&self, today: NaiveDate, grace_days: u32) -> Decision {
        self.require(&[PolicyStatus::Approved], "lapse")?;
        let term = self.terms.first().ok_or(PolicyError::NotFound)?;
        let grace_ends = add_days(term.due_date, grace_days).unwrap_or(term.due_date);
        if today <= grace_ends {
            return Err(PolicyError::TooEarly {
                action: "lapse",
                date: next_day(grace_ends).unwrap_or(grace_ends),
            });
        }
        let (application, ledger) = match (&self.application, &self.ledger) {
            (Some(a), Some(l)) => (a, l),
            _ => return Err(PolicyError::NotFound),
        };
        let refund = ledger.paid_net(|_| true);
        let refunds = ledger.allocate_refund(refund, |_| true, application.policy_id, "lapse");
        let credit_note = refund.checked_sub(&ledger.credit()).unwrap_or(refund);
        Ok(vec![PolicyEvent::PolicyLapsed {
            due_date: term.due_date,
            lapsed_on: today,
            refunds,
            credit_note: Some(credit_note),
        }])
    }

    fn expire(&self, today: NaiveDate) -> Decision {
        self.require(&[PolicyStatus::Active], "expire")?;
        let term = self.current_term().ok_or(PolicyError::NotFound)?;
        if today <= term.end_date {
            return Err(PolicyError::TooEarly {
                action: "expire",
                date: next_day(term.end_date).unwrap_or(term.end_date),
            });
        }
        match self.pending_renewal() {
            Some(renewal) if self.renewal_paid => Ok(vec![PolicyEvent::RenewalTermStarted {
                term_number: renewal.number,
            }]),
            _ => Ok(vec![PolicyEvent::PolicyExpired {
                term_number: term.number,
                end_date: term.end_date,
            }]),
        }
    }

    /// The expiry reminder due today for the term in force, unless it (or
    /// a nearer one) was issued or the renewal is already paid.
    fn remind_expiry(&self, today: NaiveDate) -> Decision {
        self.require(&[PolicyStatus::Active], "remind of the end of")?;
        let term = self.current_term().ok_or(PolicyError::NotFound)?;
        let Some(days_before) = crate::reminders::expiry_stage(term.end_date, today) else {
            return Ok(vec![]);
        };
        let issued = self
            .expiry_reminders
            .iter()
            .any(|(number, days)| *number == term.number && *days <= days_before);
        if issued || self.renewal_paid {
            return Ok(vec![]);
        }
        Ok(vec![PolicyEvent::ExpiryReminderIssued {
            term_number: term.number,
            end_date: term.end_date,
            days_before,
        }])
    }

    fn renew(&self, product: &Product, due_date: NaiveDate) -> Decision {
        self.require(&[PolicyStatus::Active, PolicyStatus::Expired], "renew")?;
        if let Some(renewal) = self.pending_renewal() {
            return Err(PolicyError::AlreadyRenewed(renewal.number));
        }
        let (application, last) = match (&self.application, self.terms.last()) {
            (Some(a), Some(t)) => (a, t),
            _ => return Err(PolicyError::NotFound),
        };
        let sum_insured = self.sum_insured.unwrap_or(last.sum_insured);
        let terms = product
            .terms
            .as_ref()
            .ok_or(PolicyError::ProductNotActive)?;
        let premium = product.quote(sum_insured).map_err(|e| match e {
            QuoteError::ProductNotActive => PolicyError::ProductNotActive,
            other => PolicyError::invalid("sum_insured", other.to_string()),
        })?;
        let start_date = next_day(last.end_date).ok_or(PolicyError::NotFound)?;
        let end_date = term_end(start_date, terms.term_months).ok_or(PolicyError::NotFound)?;
        let number = last.number + 1;
        let renewed = PolicyEvent::PolicyRenewed {
            term: Term {
                number,
                start_date,
                end_date,
                sum_insured,
                premium,
                rate: terms.rate,
                minimum_premium: terms.minimum_premium,
                invoice_id: InvoiceId::derived(application.policy_id, &format!("term:{number}")),
                due_date,
            },
        };
        Ok(self.then_apply_credit(vec![renewed]))
    }
}

impl Policy {
    /// The claim version `claim_id`'s reservation was decided on.
    fn claim_version(&self, claim_id: crate::ids::ClaimId) -> u64 {
        self.claim_versions
            .iter()
            .find(|(id, _)| *id == claim_id)
            .map_or(0, |(_, v)| *v)
    }

    /// What `claim_id` holds of the cover.
    fn claim_held(&self, claim_id: crate::ids::ClaimId, currency: crate::Currency) -> Money {
        self.claims_approved
            .iter()
            .find(|(id, _)| *id == claim_id)
            .map_or(Money::zero(currency), |(_, m)| *m)
    }

    fn reserve_claim_cover(
        &self,
        claim_id: crate::ids::ClaimId,
        total: Money,
        claim_version: u64,
        incident_date: NaiveDate,
    ) -> Decision {
        if matches!(
            self.status,
            PolicyStatus::None | PolicyStatus::Submitted | PolicyStatus::Rejected
        ) {
            self.require(&[], "approve a claim on")?;
        }
        // Judged on cover as it stands now: a cancellation dated back
        // before the incident leaves it uncovered.
        let term = self
            .cover_on(incident_date)
            .map(|t| t.number)
            .ok_or(PolicyError::IncidentOutsideCover(incident_date))?;
        let available = self
            .cover_left_in(term, Some(claim_id))
            .ok_or(PolicyError::NotFound)?;
        if total.currency() != available.currency() || total.is_negative() {
            return Err(PolicyError::invalid(
                "approved_amount",
                format!("must be an amount in {}", available.currency()),
            ));
        }
        // One decision per version of the claim: a request that read the
        // claim as another, earlier accepted request did is too late.
        if claim_version <= self.claim_version(claim_id) {
            return Err(PolicyError::ClaimDecidedMeanwhile(claim_version));
        }
        if total.amount() > available.amount() {
            return Err(PolicyError::ExceedsSumInsured(available));
        }
        Ok(vec![PolicyEvent::ClaimCoverReserved {
            claim_id,
            total,
            previous: self.claim_held(claim_id, total.currency()),
            cover_left: available.checked_sub(&total).unwrap_or(available),
            claim_version: Some(claim_version),
            term_number: Some(term),
        }])
    }

    fn release_claim_cover(
        &self,
        claim_id: crate::ids::ClaimId,
        to: Money,
        claim_version: u64,
    ) -> Decision {
        let term = self.claim_term(claim_id);
        let available = match term {
            Some(term) => self.cover_left_in(term, Some(claim_id)),
            None => self.cover_left(Some(claim_id)),
        }
        .ok_or(PolicyError::NotFound)?;
        let held = self.claim_held(claim_id, available.currency());
        let later = self.claim_version(claim_id) != claim_version;
        if later || to == held {
            return Ok(vec![]);
        }
        if to.currency() != held.currency() || to.is_negative() || to.amount() > held.amount() {
            return Err(PolicyError::invalid(
                "approved_amount",
                format!("must be at most the {held} held"),
            ));
        }
        Ok(vec![PolicyEvent::ClaimCoverReserved {
            claim_id,
            total: to,
            previous: held,
            cover_left: available.checked_sub(&to).unwrap_or(available),
            claim_version: Some(claim_version),
            term_number: term,
        }])
    }
}

/// What a premium lowered by `reduction` takes off the unpaid invoices of
/// term `term`, newest first: premium not yet paid is not billed, rather
/// than billed and refunded.
fn offsets_for(ledger: &PremiumLedger, term: u32, reduction: Money) -> Vec<InvoiceOffset> {
    let unpaid = ledger.unpaid_invoices(|n| n == term).into_iter().rev();
    spread(reduction, unpaid)
        .into_iter()
        .map(|(invoice_id, amount)| InvoiceOffset { invoice_id, amount })
        .collect()
}

fn required_reason(reason: String) -> Result<String, PolicyError> {
    let reason = reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(PolicyError::invalid(
            "reason",
            format!("must be 1 to {MAX_REASON} characters"),
        ));
    }
    Ok(reason)
}
