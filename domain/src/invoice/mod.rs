//! The `Invoice` aggregate: an amount billed for a policy, the payments
//! asked of providers and confirmed by them, and refunds of those payments.
//!
//! Statuses: `open → paid | overdue | void` (`overdue → paid | void`).
//! A partial payment keeps it open (or overdue) with a smaller balance; money
//! above the balance is recorded as the customer's credit, never lost. The
//! balance and status are derived from the events alone.

mod commands;
mod decide;
mod errors;
mod events;
#[cfg(test)]
mod tests;

pub use commands::InvoiceCommand;
pub use errors::InvoiceError;
pub use events::{InvoiceDetails, InvoiceEvent, InvoiceKind};

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use crate::ids::{PaymentId, RefundId};
use crate::money::Money;

/// Where an invoice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Not issued.
    #[default]
    None,
    /// Issued, balance due.
    Open,
    /// Nothing left to pay.
    Paid,
    /// Past its due date with a balance.
    Overdue,
    /// Cancelled.
    Void,
}

impl InvoiceStatus {
    /// The status's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::None => "none",
            InvoiceStatus::Open => "open",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Overdue => "overdue",
            InvoiceStatus::Void => "void",
        }
    }
}

/// Where a payment or refund stands with its provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettlementStatus {
    /// Asked, not confirmed.
    Pending,
    /// Confirmed.
    Succeeded,
    /// Refused.
    Failed,
}

impl SettlementStatus {
    /// The status's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            SettlementStatus::Pending => "pending",
            SettlementStatus::Succeeded => "succeeded",
            SettlementStatus::Failed => "failed",
        }
    }
}

/// One payment attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    /// Its id.
    pub payment_id: PaymentId,
    /// Provider.
    pub provider: String,
    /// Amount asked.
    pub requested: Money,
    /// Amount received (zero until it succeeds).
    pub received: Money,
    /// Status.
    pub status: SettlementStatus,
    /// Sent to the provider.
    pub idempotency_key: String,
    /// The provider's id of it.
    pub provider_reference: Option<String>,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// Refunded so far, or asked to be.
    pub refunded: Money,
}

/// One refund of a payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refund {
    /// Its id.
    pub refund_id: RefundId,
    /// The payment.
    pub payment_id: PaymentId,
    /// Amount.
    pub amount: Money,
    /// Status.
    pub status: SettlementStatus,
    /// Provider.
    pub provider: String,
    /// Sent to the provider.
    pub idempotency_key: String,
    /// The provider's id of the refund.
    pub provider_reference: Option<String>,
    /// Why it was made.
    pub reason: String,
    /// Why it failed.
    pub failure_reason: Option<String>,
}

/// The invoice's state, rebuilt from its events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Invoice {
    /// As issued.
    pub details: Option<InvoiceDetails>,
    /// Status.
    pub status: InvoiceStatus,
    /// Applied to the balance.
    pub amount_paid: Option<Money>,
    /// Received above the balance: the customer's credit.
    pub credit: Option<Money>,
    /// Every payment.
    pub payments: Vec<Payment>,
    /// Every refund.
    pub refunds: Vec<Refund>,
    /// Why it was voided.
    pub void_reason: Option<String>,
    /// Billed less after an endorsement lowered the premium.
    #[serde(default)]
    pub reduced: Option<Money>,
    /// Keys of the credit applications and reductions handled.
    #[serde(default)]
    pub adjustment_keys: Vec<String>,
    /// Overdue reminders issued after the overdue notice.
    #[serde(default)]
    pub reminders: Vec<crate::reminders::OverdueStage>,
}

impl Invoice {
    /// Amount still due (zero once paid or void).
    pub fn balance(&self) -> Option<Money> {
        let details = self.details.as_ref()?;
        let paid = self
            .amount_paid
            .unwrap_or(Money::zero(details.amount.currency()));
        if self.status == InvoiceStatus::Void {
            return Some(Money::zero(details.amount.currency()));
        }
        let billed = self.billed()?;
        Some(billed.checked_sub(&paid).unwrap_or(billed))
    }

    /// What it bills: the amount issued less any reduction.
    pub fn billed(&self) -> Option<Money> {
        let amount = self.details.as_ref()?.amount;
        Some(match self.reduced {
            Some(reduced) => amount.checked_sub(&reduced).unwrap_or(amount),
            None => amount,
        })
    }

    /// What payments still awaiting their provider ask, in total.
    pub fn pending(&self) -> Option<Money> {
        let currency = self.details.as_ref()?.amount.currency();
        Some(Money::total(
            currency,
            self.payments
                .iter()
                .filter(|p| p.status == SettlementStatus::Pending)
                .map(|p| p.requested),
        ))
    }

    /// Refunds issued so far.
    pub fn refunded(&self) -> Option<Money> {
        let currency = self.details.as_ref()?.amount.currency();
        Some(Money::total(
            currency,
            self.refunds
                .iter()
                .filter(|r| r.status == SettlementStatus::Succeeded)
                .map(|r| r.amount),
        ))
    }

    fn payment_mut(&mut self, id: PaymentId) -> Option<&mut Payment> {
        self.payments.iter_mut().find(|p| p.payment_id == id)
    }

    fn refund_mut(&mut self, id: RefundId) -> Option<&mut Refund> {
        self.refunds.iter_mut().find(|r| r.refund_id == id)
    }
}

fn add(a: Option<Money>, b: Money) -> Option<Money> {
    Some(match a {
        Some(a) => a.checked_add(&b).unwrap_or(a),
        None => b,
    })
}

impl Aggregate for Invoice {
    const TYPE: &'static str = "Invoice";
    type Command = InvoiceCommand;
    type Event = InvoiceEvent;
    type Error = InvoiceError;
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
            InvoiceEvent::InvoiceCreated(details) => {
                let zero = Money::zero(details.amount.currency());
                self.amount_paid = Some(zero);
                self.credit = Some(zero);
                self.details = Some(details);
                self.status = InvoiceStatus::Open;
            }
            InvoiceEvent::PaymentRequested {
                payment_id,
                provider,
                amount,
                idempotency_key,
                ..
            } => self.payments.push(Payment {
                payment_id,
                provider,
                requested: amount,
                received: Money::zero(amount.currency()),
                status: SettlementStatus::Pending,
                idempotency_key,
                provider_reference: None,
                failure_reason: None,
                refunded: Money::zero(amount.currency()),
            }),
            InvoiceEvent::PaymentSucceeded {
                payment_id,
                amount,
                applied,
                overpayment,
                provider_reference,
            } => {
                self.amount_paid = add(self.amount_paid, applied);
                self.credit = add(self.credit, overpayment);
                if let Some(payment) = self.payment_mut(payment_id) {
                    payment.status = SettlementStatus::Succeeded;
                    payment.received = amount;
                    payment.failure_reason = None;
                    if provider_reference.is_some() {
                        payment.provider_reference = provider_reference;
                    }
                }
            }
            InvoiceEvent::PaymentFailed {
                payment_id,
                reason,
                provider_reference,
            } => {
                if let Some(payment) = self.payment_mut(payment_id) {
                    payment.status = SettlementStatus::Failed;
                    payment.failure_reason = Some(reason);
                    if provider_reference.is_some() {
                        payment.provider_reference = provider_reference;
                    }
                }
            }
            InvoiceEvent::InvoicePaid { .. } => self.status = InvoiceStatus::Paid,
            InvoiceEvent::InvoiceOverdue { .. } => self.status = InvoiceStatus::Overdue,
            InvoiceEvent::OverdueReminderIssued { stage, .. } => self.reminders.push(stage),
            InvoiceEvent::CreditApplied { key, amount } => {
                self.amount_paid = add(self.amount_paid, amount);
                self.adjustment_keys.push(key);
            }
            InvoiceEvent::InvoiceReduced { key, amount, .. } => {
                self.reduced = add(self.reduced, amount);
                self.adjustment_keys.push(key);
            }
            InvoiceEvent::CreditDeclined { key, .. }
            | InvoiceEvent::ReductionDeclined { key, .. } => {
                self.adjustment_keys.push(key);
            }
            InvoiceEvent::InvoiceVoided { reason } => {
                self.status = InvoiceStatus::Void;
                self.void_reason = Some(reason);
            }
            InvoiceEvent::RefundRequested {
                refund_id,
                payment_id,
                amount,
                provider,
                idempotency_key,
                reason,
                ..
            } => {
                if let Some(payment) = self.payment_mut(payment_id) {
                    payment.refunded = payment.refunded.checked_add(&amount).unwrap_or(amount);
                }
                self.refunds.push(Refund {
                    refund_id,
                    payment_id,
                    amount,
                    status: SettlementStatus::Pending,
                    provider,
                    idempotency_key,
                    provider_reference: None,
                    reason,
                    failure_reason: None,
                });
            }
            InvoiceEvent::RefundIssued {
                refund_id,
                provider_reference,
            } => {
                if let Some(refund) = self.refund_mut(refund_id) {
                    refund.status = SettlementStatus::Succeeded;
                    refund.provider_reference = provider_reference;
                }
            }
            InvoiceEvent::RefundFailed { refund_id, reason } => {
                let mut failed = None;
                if let Some(refund) = self.refund_mut(refund_id) {
                    refund.status = SettlementStatus::Failed;
                    refund.failure_reason = Some(reason);
                    failed = Some((refund.payment_id, refund.amount));
                }
                if let Some((payment_id, amount)) = failed {
                    if let Some(payment) = self.payment_mut(payment_id) {
                        payment.refunded = payment
                            .refunded
                            .checked_sub(&amount)
                            .unwrap_or(payment.refunded);
                    }
                }
            }
        }
    }
}
