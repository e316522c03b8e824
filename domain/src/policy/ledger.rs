//! A policy's premium ledger: what is charged for which days, what was
//! paid through which provider, and the pro-rata arithmetic on them.
//!
//! Each charge covers an inclusive range of days (a term's premium; an
//! endorsement's difference for the rest of the term). The premium *earned*
//! by a date is each charge's share of days up to that date, rounded half-up
//! to the minor unit once per charge. A refund is the paid premium not yet
//! earned, never less than zero: what was not paid is not refunded.
//!
//! Money received beyond an invoice's balance (a double payment, a payment
//! that settled after its invoice was closed) is the customer's *credit*:
//! applied to the policy's next invoice, or refunded when cover ends.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::events::RefundAllocation;
use crate::currency::Currency;
use crate::dates::{days_inclusive, days_through};
use crate::ids::{InvoiceId, PaymentId, PolicyId, RefundId};
use crate::money::Money;

/// Premium charged for a range of days (negative for a credit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    /// The term it belongs to.
    pub term_number: u32,
    /// Amount for the whole range.
    pub amount: Money,
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// The invoice billing it (none for a credit).
    #[serde(default)]
    pub invoice_id: Option<InvoiceId>,
}

impl Charge {
    /// The part of the charge earned by the end of `date`.
    pub fn earned_through(&self, date: NaiveDate) -> Money {
        let total = days_inclusive(self.from, self.to);
        if total == 0 {
            return Money::zero(self.amount.currency());
        }
        let elapsed = days_through(self.from, self.to, date);
        let share = Decimal::from(elapsed) / Decimal::from(total);
        self.amount
            .checked_mul_rounded(share)
            .unwrap_or(self.amount)
    }
}

/// A payment received on one of the policy's invoices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedPayment {
    /// The invoice.
    pub invoice_id: InvoiceId,
    /// The term that invoice is for.
    pub term_number: u32,
    /// The payment.
    pub payment_id: PaymentId,
    /// Amount received.
    pub amount: Money,
    /// Provider that took it.
    pub provider: String,
    /// How much of it was refunded.
    pub refunded: Money,
    /// The part received beyond the invoice's balance (the customer's
    /// credit).
    #[serde(default)]
    pub credit: Option<Money>,
}

impl RecordedPayment {
    /// The part of it applied to its invoice.
    pub fn applied(&self) -> Money {
        match self.credit {
            Some(credit) => self.amount.checked_sub(&credit).unwrap_or(self.amount),
            None => self.amount,
        }
    }
}

/// Part of an unpaid invoice no longer owed, because a later endorsement
/// lowered the premium it billed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceOffset {
    /// The invoice.
    pub invoice_id: InvoiceId,
    /// How much less it bills.
    pub amount: Money,
}

/// Charges and payments of one policy, in its currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PremiumLedger {
    /// The currency.
    pub currency: Currency,
    /// Every charge, in order.
    pub charges: Vec<Charge>,
    /// Every payment, in order.
    pub payments: Vec<RecordedPayment>,
    /// Credit applied to invoices: (invoice, amount).
    #[serde(default)]
    pub credit_applied: Vec<(InvoiceId, Money)>,
    /// Unpaid invoice amounts offset by lower endorsements.
    #[serde(default)]
    pub offsets: Vec<InvoiceOffset>,
    /// The customer's credit held (received beyond what was billed, not yet
    /// applied or refunded).
    #[serde(default)]
    pub credit: Option<Money>,
    /// Keys of the declined applications and reductions restored.
    #[serde(default)]
    pub restored: Vec<String>,
}

impl PremiumLedger {
    /// An empty ledger in `currency`.
    pub fn new(currency: Currency) -> Self {
        Self {
            currency,
            charges: Vec::new(),
            payments: Vec::new(),
            credit_applied: Vec::new(),
            offsets: Vec::new(),
            credit: None,
            restored: Vec::new(),
        }
    }

    /// The customer's credit held.
    pub fn credit(&self) -> Money {
        self.credit.unwrap_or(Money::zero(self.currency))
    }

    /// Adds `amount` (negative: takes it) to the credit held. It may dip
    /// below zero for a moment: a refund can return money an invoice has
    /// yet to decline (`CreditRestored` follows).
    pub fn change_credit(&mut self, amount: Money) {
        self.credit = Some(self.credit().checked_add(&amount).unwrap_or(self.credit()));
    }

    /// What `invoice_id` billed, if it is one of this ledger's charges.
    pub fn billed(&self, invoice_id: InvoiceId) -> Option<Money> {
        self.charges
            .iter()
            .find(|c| c.invoice_id == Some(invoice_id))
            .map(|c| c.amount)
    }

    /// What was settled on `invoice_id`: payments applied, credit applied
    /// and amounts offset.
    pub fn settled(&self, invoice_id: InvoiceId) -> Money {
        let payments = self
            .payments
            .iter()
            .filter(|p| p.invoice_id == invoice_id)
            .map(RecordedPayment::applied);
        let credit = self
            .credit_applied
            .iter()
            .filter(|(id, _)| *id == invoice_id)
            .map(|(_, m)| *m);
        let offsets = self
            .offsets
            .iter()
            .filter(|o| o.invoice_id == invoice_id)
            .map(|o| o.amount);
        Money::total(self.currency, payments.chain(credit).chain(offsets))
    }

    /// What is still owed on `invoice_id`, as far as the policy knows
    /// (payments awaiting confirmation are not counted).
    pub fn outstanding(&self, invoice_id: InvoiceId) -> Money {
        let billed = self
            .billed(invoice_id)
            .unwrap_or(Money::zero(self.currency));
        positive_part(billed, self.settled(invoice_id))
    }

    /// The invoices of the terms `include` selects with something owed,
    /// oldest first.
    pub fn unpaid_invoices(&self, include: impl Fn(u32) -> bool) -> Vec<(InvoiceId, Money)> {
        self.charges
            .iter()
            .filter(|c| include(c.term_number))
            .filter_map(|c| c.invoice_id)
            .map(|id| (id, self.outstanding(id)))
            .filter(|(_, owed)| owed.amount() > Decimal::ZERO)
            .collect()
    }

    /// Premium earned by the end of `date` on invoices beyond what was
    /// settled on them: cover given and not paid for.
    pub fn earned_unpaid(&self, date: NaiveDate) -> Money {
        Money::total(
            self.currency,
            self.charges.iter().filter_map(|c| {
                let id = c.invoice_id?;
                Some(positive_part(c.earned_through(date), self.settled(id)))
            }),
        )
    }

    /// Paid minus refunded, over the terms `include` selects.
    pub fn paid_net(&self, include: impl Fn(u32) -> bool) -> Money {
        let paid = Money::total(
            self.currency,
            self.payments
                .iter()
                .filter(|p| include(p.term_number))
                .map(|p| p.amount),
        );
        let refunded = Money::total(
            self.currency,
            self.payments
                .iter()
                .filter(|p| include(p.term_number))
                .map(|p| p.refunded),
        );
        paid.checked_sub(&refunded).unwrap_or(paid)
    }

    /// Everything charged over the terms `include` selects.
    pub fn charged(&self, include: impl Fn(u32) -> bool) -> Money {
        Money::total(
            self.currency,
            self.charges
                .iter()
                .filter(|c| include(c.term_number))
                .map(|c| c.amount),
        )
    }

    /// Premium earned by the end of `date`, over every term.
    pub fn earned_through(&self, date: NaiveDate) -> Money {
        Money::total(
            self.currency,
            self.charges.iter().map(|c| c.earned_through(date)),
        )
    }

    /// What a cancellation with cover ending on `date` refunds: the paid
    /// premium not earned by then, or nothing.
    pub fn refund_if_cancelled(&self, date: NaiveDate) -> Money {
        let zero = Money::zero(self.currency);
        let earned = positive_part(self.earned_through(date), zero);
        positive_part(self.paid_net(|_| true), earned)
    }

    /// Splits `amount` over the payments still holding money on the terms
    /// `include` selects, newest first, each refunded through its own
    /// provider; ids are derived from `policy` and `purpose` so a retry
    /// derives the same refunds.
    pub fn allocate_refund(
        &self,
        amount: Money,
        include: impl Fn(u32) -> bool,
        policy: PolicyId,
        purpose: &str,
    ) -> Vec<RefundAllocation> {
        let mut left = amount;
        let mut allocations = Vec::new();
        for payment in self
            .payments
            .iter()
            .rev()
            .filter(|p| include(p.term_number))
        {
            if left.amount() <= Decimal::ZERO {
                break;
            }
            let available = payment
                .amount
                .checked_sub(&payment.refunded)
                .unwrap_or(payment.amount);
            if available.amount() <= Decimal::ZERO {
                continue;
            }
            let part = available.min(left);
            left = left.checked_sub(&part).unwrap_or(left);
            allocations.push(RefundAllocation {
                refund_id: RefundId::derived(policy, &format!("{purpose}:{}", payment.payment_id)),
                invoice_id: payment.invoice_id,
                payment_id: payment.payment_id,
                amount: part,
            });
        }
        allocations
    }

    /// Marks refunded the amounts of `allocations`.
    pub fn apply_refunds(&mut self, allocations: &[RefundAllocation]) {
        for allocation in allocations {
            if let Some(payment) = self
                .payments
                .iter_mut()
                .find(|p| p.payment_id == allocation.payment_id)
            {
                payment.refunded = payment
                    .refunded
                    .checked_add(&allocation.amount)
                    .unwrap_or(payment.refunded);
            }
        }
    }
}

/// Spreads `total` over `places` in their order, each taking at most its
/// cap, until nothing is left: what each takes.
pub fn spread<T>(total: Money, places: impl IntoIterator<Item = (T, Money)>) -> Vec<(T, Money)> {
    let mut left = total;
    let mut taken = Vec::new();
    for (place, cap) in places {
        if left.amount() <= Decimal::ZERO {
            break;
        }
        let part = cap.min(left);
        left = left.checked_sub(&part).unwrap_or(left);
        taken.push((place, part));
    }
    taken
}

/// `a - b` when positive, else zero.
pub fn positive_part(a: Money, b: Money) -> Money {
    match a.checked_sub(&b) {
        Ok(d) if !d.is_negative() => d,
        _ => Money::zero(a.currency()),
    }
}
