//! How an invoice decides: each command becomes events or a refusal.
//! Provider confirmations are idempotent: a duplicate changes nothing.

use super::commands::InvoiceCommand;
use super::errors::InvoiceError;
use super::events::{InvoiceDetails, InvoiceEvent};
use super::{Invoice, InvoiceStatus, SettlementStatus};
use crate::ids::{PaymentId, RefundId};
use crate::money::Money;
use crate::reminders::{self, OverdueStage};

type Decision = Result<Vec<InvoiceEvent>, InvoiceError>;

/// The longest reason accepted.
const MAX_REASON: usize = 1000;

impl Invoice {
    /// The overdue reminder due today, unless it (or a later one) was issued.
    fn remind_overdue(&self, today: chrono::NaiveDate, grace_days: u32) -> Decision {
        self.require(&[InvoiceStatus::Overdue], "remind of")?;
        let details = self.details.as_ref().ok_or(InvoiceError::NotFound)?;
        let Some(stage) = reminders::overdue_stage(details.due_date, today, grace_days) else {
            return Ok(vec![]);
        };
        let issued = self
            .reminders
            .iter()
            .any(|r| *r == stage || *r == OverdueStage::Final);
        if issued {
            return Ok(vec![]);
        }
        Ok(vec![InvoiceEvent::OverdueReminderIssued {
            stage,
            balance: self.balance().ok_or(InvoiceError::NotFound)?,
            pay_by: reminders::pay_by(details.due_date, grace_days),
        }])
    }

    pub(super) fn decide(&self, command: InvoiceCommand) -> Decision {
        match command {
            InvoiceCommand::Create(details) => self.create(details),
            InvoiceCommand::RequestPayment {
                payment_id,
                provider,
                amount,
                payer_contact,
                requested_by,
            } => {
                self.require(&[InvoiceStatus::Open, InvoiceStatus::Overdue], "pay")?;
                if self.payments.iter().any(|p| p.payment_id == payment_id) {
                    return Ok(vec![]);
                }
                let balance = self.balance().ok_or(InvoiceError::NotFound)?;
                let pending = self.pending().ok_or(InvoiceError::NotFound)?;
                // A second charge while the first is unconfirmed would take
                // the money twice (a double click): only what the pending
                // payments leave may be asked.
                let open = balance.checked_sub(&pending).unwrap_or(balance);
                if open.amount() <= rust_decimal::Decimal::ZERO {
                    if let Some(waiting) = self
                        .payments
                        .iter()
                        .find(|p| p.status == SettlementStatus::Pending)
                    {
                        return Err(InvoiceError::PaymentPending {
                            payment_id: waiting.payment_id,
                            amount: waiting.requested.to_string(),
                        });
                    }
                }
                let amount = amount.unwrap_or(open);
                let fits = amount.currency() == balance.currency()
                    && amount.amount() > rust_decimal::Decimal::ZERO
                    && amount.amount() <= open.amount();
                if !fits {
                    let limit = if pending.amount().is_zero() {
                        format!("at most the balance, {balance}")
                    } else {
                        format!("at most {open}: the balance {balance} less {pending} awaiting confirmation")
                    };
                    return Err(InvoiceError::invalid(
                        "amount",
                        format!("must be more than zero and {limit}"),
                    ));
                }
                Ok(vec![InvoiceEvent::PaymentRequested {
                    payment_id,
                    provider,
                    amount,
                    idempotency_key: format!("pay-{payment_id}"),
                    payer_contact,
                    requested_by,
                }])
            }
            InvoiceCommand::RecordPaymentSucceeded {
                payment_id,
                amount,
                provider_reference,
            } => self.payment_succeeded(payment_id, amount, provider_reference),
            InvoiceCommand::RecordPaymentFailed {
                payment_id,
                reason,
                provider_reference,
            } => {
                let payment = self.payment(payment_id)?;
                if payment.status != SettlementStatus::Pending {
                    return Ok(vec![]);
                }
                Ok(vec![InvoiceEvent::PaymentFailed {
                    payment_id,
                    reason: clip(reason),
                    provider_reference,
                }])
            }
            InvoiceCommand::MarkOverdue { today } => {
                if self.status == InvoiceStatus::Overdue {
                    return Ok(vec![]);
                }
                self.require(&[InvoiceStatus::Open], "mark overdue")?;
                let details = self.details.as_ref().ok_or(InvoiceError::NotFound)?;
                if today <= details.due_date {
                    return Err(InvoiceError::NotDue(details.due_date));
                }
                Ok(vec![InvoiceEvent::InvoiceOverdue {
                    due_date: details.due_date,
                }])
            }
            InvoiceCommand::RemindOverdue { today, grace_days } => {
                self.remind_overdue(today, grace_days)
            }
            InvoiceCommand::Void { reason } => {
                self.require(&[InvoiceStatus::Open, InvoiceStatus::Overdue], "void")?;
                if self
                    .payments
                    .iter()
                    .any(|p| p.status == SettlementStatus::Succeeded)
                {
                    return Err(InvoiceError::HasPayments);
                }
                let reason = reason.trim().to_string();
                if reason.is_empty() {
                    return Err(InvoiceError::invalid("reason", "must not be empty"));
                }
                Ok(vec![InvoiceEvent::InvoiceVoided {
                    reason: clip(reason),
                }])
            }
            InvoiceCommand::Close { reason } => {
                if matches!(self.status, InvoiceStatus::Paid | InvoiceStatus::Void) {
                    return Ok(vec![]);
                }
                self.require(&[InvoiceStatus::Open, InvoiceStatus::Overdue], "close")?;
                Ok(vec![InvoiceEvent::InvoiceVoided {
                    reason: clip(reason),
                }])
            }
            InvoiceCommand::ApplyCredit { key, amount } => {
                if self.adjustment_keys.contains(&key) {
                    return Ok(vec![]);
                }
                let part = self.part_of_balance(amount)?;
                let mut events = Vec::new();
                if let Some(part) = part {
                    events.push(InvoiceEvent::CreditApplied {
                        key: key.clone(),
                        amount: part,
                    });
                }
                if let Some(declined) = declined(amount, part) {
                    events.push(InvoiceEvent::CreditDeclined {
                        key,
                        amount: declined,
                    });
                }
                if let Some(part) = part {
                    events.extend(self.settled_by(part, part));
                }
                Ok(events)
            }
            InvoiceCommand::Reduce {
                key,
                amount,
                reason,
            } => {
                if self.adjustment_keys.contains(&key) {
                    return Ok(vec![]);
                }
                let part = self.part_of_balance(amount)?;
                let reason = clip(reason);
                let mut events = Vec::new();
                if let Some(part) = part {
                    events.push(InvoiceEvent::InvoiceReduced {
                        key: key.clone(),
                        amount: part,
                        reason: reason.clone(),
                    });
                }
                if let Some(declined) = declined(amount, part) {
                    events.push(InvoiceEvent::ReductionDeclined {
                        key,
                        amount: declined,
                    });
                }
                if let Some(part) = part {
                    let nothing_paid = self.amount_paid.is_none_or(|p| p.amount().is_zero());
                    let balance = self.balance().ok_or(InvoiceError::NotFound)?;
                    if part == balance && nothing_paid {
                        events.push(InvoiceEvent::InvoiceVoided { reason });
                    } else {
                        let zero = Money::zero(part.currency());
                        events.extend(self.settled_by(part, zero));
                    }
                }
                Ok(events)
            }
            InvoiceCommand::RequestRefund {
                refund_id,
                payment_id,
                amount,
                reason,
            } => self.request_refund(refund_id, payment_id, amount, reason),
            InvoiceCommand::RecordRefundIssued {
                refund_id,
                provider_reference,
            } => {
                let refund = self.refund(refund_id)?;
                if refund.status == SettlementStatus::Succeeded {
                    return Ok(vec![]);
                }
                Ok(vec![InvoiceEvent::RefundIssued {
                    refund_id,
                    provider_reference,
                }])
            }
            InvoiceCommand::RecordRefundFailed { refund_id, reason } => {
                if self.refund(refund_id)?.status != SettlementStatus::Pending {
                    return Ok(vec![]);
                }
                Ok(vec![InvoiceEvent::RefundFailed {
                    refund_id,
                    reason: clip(reason),
                }])
            }
        }
    }

    fn require(&self, allowed: &[InvoiceStatus], action: &'static str) -> Result<(), InvoiceError> {
        match self.status {
            InvoiceStatus::None => Err(InvoiceError::NotFound),
            status if allowed.contains(&status) => Ok(()),
            status => Err(InvoiceError::InvalidTransition {
                action,
                status: status.as_str(),
            }),
        }
    }

    fn payment(&self, id: PaymentId) -> Result<&super::Payment, InvoiceError> {
        self.payments
            .iter()
            .find(|p| p.payment_id == id)
            .ok_or_else(|| InvoiceError::UnknownPayment(id.to_string()))
    }

    fn refund(&self, id: RefundId) -> Result<&super::Refund, InvoiceError> {
        self.refunds
            .iter()
            .find(|r| r.refund_id == id)
            .ok_or_else(|| InvoiceError::UnknownPayment(id.to_string()))
    }

    /// `amount`, capped at the balance, when the invoice is open and it is
    /// more than zero; `None` when there is nothing to take it from.
    fn part_of_balance(&self, amount: Money) -> Result<Option<Money>, InvoiceError> {
        if !matches!(self.status, InvoiceStatus::Open | InvoiceStatus::Overdue) {
            return Ok(None);
        }
        let balance = self.balance().ok_or(InvoiceError::NotFound)?;
        if amount.currency() != balance.currency() || amount.is_negative() {
            return Err(InvoiceError::invalid(
                "amount",
                format!("must be a positive amount in {}", balance.currency()),
            ));
        }
        let part = amount.min(balance);
        Ok((!part.amount().is_zero()).then_some(part))
    }

    /// `InvoicePaid` when `part` settles the balance, `paid` of it paid.
    fn settled_by(&self, part: Money, paid: Money) -> Option<InvoiceEvent> {
        let balance = self.balance()?;
        if part != balance {
            return None;
        }
        let paid = self
            .amount_paid
            .and_then(|p| p.checked_add(&paid).ok())
            .unwrap_or(paid);
        Some(InvoiceEvent::InvoicePaid { amount_paid: paid })
    }

    fn create(&self, details: InvoiceDetails) -> Decision {
        if self.details.is_some() {
            return Err(InvoiceError::AlreadyCreated);
        }
        if details.amount.is_negative() || details.amount.amount().is_zero() {
            return Err(InvoiceError::invalid("amount", "must be more than zero"));
        }
        if details.due_date < details.issued_on {
            return Err(InvoiceError::invalid(
                "due_date",
                "must not be before the issue date",
            ));
        }
        Ok(vec![InvoiceEvent::InvoiceCreated(details)])
    }

    fn payment_succeeded(
        &self,
        payment_id: PaymentId,
        amount: Money,
        provider_reference: Option<String>,
    ) -> Decision {
        let payment = self.payment(payment_id)?;
        if payment.status == SettlementStatus::Succeeded {
            return Ok(vec![]);
        }
        if amount.currency() != payment.requested.currency() || amount.is_negative() {
            return Err(InvoiceError::invalid(
                "amount",
                format!(
                    "must be a positive amount in {}",
                    payment.requested.currency()
                ),
            ));
        }
        let balance = self.balance().ok_or(InvoiceError::NotFound)?;
        let applied = amount.min(balance);
        let overpayment = amount
            .checked_sub(&applied)
            .unwrap_or(Money::zero(amount.currency()));
        let mut events = vec![InvoiceEvent::PaymentSucceeded {
            payment_id,
            amount,
            applied,
            overpayment,
            provider_reference,
        }];
        let settles = applied == balance && !applied.amount().is_zero();
        if settles && matches!(self.status, InvoiceStatus::Open | InvoiceStatus::Overdue) {
            let paid = self
                .amount_paid
                .and_then(|p| p.checked_add(&applied).ok())
                .unwrap_or(applied);
            events.push(InvoiceEvent::InvoicePaid { amount_paid: paid });
        }
        Ok(events)
    }

    fn request_refund(
        &self,
        refund_id: RefundId,
        payment_id: PaymentId,
        amount: Money,
        reason: String,
    ) -> Decision {
        if self.refunds.iter().any(|r| r.refund_id == refund_id) {
            return Ok(vec![]);
        }
        let payment = self.payment(payment_id)?;
        if payment.status != SettlementStatus::Succeeded {
            return Err(InvoiceError::InvalidTransition {
                action: "refund a payment that is",
                status: payment.status.as_str(),
            });
        }
        let left = payment
            .received
            .checked_sub(&payment.refunded)
            .unwrap_or(payment.received);
        if amount.is_negative() || amount.amount().is_zero() {
            return Err(InvoiceError::invalid("amount", "must be more than zero"));
        }
        if amount.currency() != left.currency() || amount.amount() > left.amount() {
            return Err(InvoiceError::RefundTooLarge(left.to_string()));
        }
        Ok(vec![InvoiceEvent::RefundRequested {
            refund_id,
            payment_id,
            amount,
            provider: payment.provider.clone(),
            provider_reference: payment.provider_reference.clone(),
            idempotency_key: format!("refund-{refund_id}"),
            reason: clip(reason),
        }])
    }
}

/// What of `amount` was not taken, when `part` of it was.
fn declined(amount: Money, part: Option<Money>) -> Option<Money> {
    let taken = part.unwrap_or(Money::zero(amount.currency()));
    amount
        .checked_sub(&taken)
        .ok()
        .filter(|d| d.amount() > rust_decimal::Decimal::ZERO)
}

fn clip(reason: String) -> String {
    reason.chars().take(MAX_REASON).collect()
}
