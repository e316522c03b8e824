//! What can be asked of an invoice.

use chrono::NaiveDate;

use super::events::InvoiceDetails;
use crate::ids::{PaymentId, RefundId, UserId};
use crate::money::Money;

/// The commands of an `Invoice`.
#[derive(Debug, Clone, PartialEq)]
pub enum InvoiceCommand {
    /// Issue the invoice.
    Create(InvoiceDetails),
    /// Ask a provider for the balance.
    RequestPayment {
        /// The new payment's id.
        payment_id: PaymentId,
        /// The provider.
        provider: String,
        /// Part of the balance (an installment); the whole balance if `None`.
        amount: Option<Money>,
        /// Phone number or email the provider needs.
        payer_contact: Option<String>,
        /// Who asks.
        requested_by: Option<UserId>,
    },
    /// The provider confirmed money received.
    RecordPaymentSucceeded {
        /// The payment.
        payment_id: PaymentId,
        /// What was received.
        amount: Money,
        /// The provider's id of it.
        provider_reference: Option<String>,
    },
    /// The provider reported a failure.
    RecordPaymentFailed {
        /// The payment.
        payment_id: PaymentId,
        /// Why.
        reason: String,
        /// The provider's id of it.
        provider_reference: Option<String>,
    },
    /// The due date has passed.
    MarkOverdue {
        /// The business date.
        today: NaiveDate,
    },
    /// Remind the customer of an overdue invoice, if a reminder is due
    /// today ([`crate::reminders::overdue_stage`]) and not issued yet.
    RemindOverdue {
        /// The business date.
        today: NaiveDate,
        /// Days allowed after the due date before the policy lapses.
        grace_days: u32,
    },
    /// Cancel the invoice (only while nothing is paid).
    Void {
        /// Why.
        reason: String,
    },
    /// The policy's cover ended: whatever is unpaid is no longer owed, with
    /// or without payments on it (what was paid is settled by the policy's
    /// refund). Closing a paid or void invoice changes nothing.
    Close {
        /// Why.
        reason: String,
    },
    /// Pay part of the balance from the customer's credit; what the
    /// balance can't take (paid meanwhile, or closed) is declined, to go
    /// back to the policy's credit.
    ApplyCredit {
        /// Names this application: a redelivery changes nothing.
        key: String,
        /// How much.
        amount: Money,
    },
    /// Bill less: a later endorsement lowered the premium before this
    /// invoice was paid; what a payment meanwhile covered is declined, to
    /// become the policy's credit.
    Reduce {
        /// Names this reduction: a redelivery changes nothing.
        key: String,
        /// How much less.
        amount: Money,
        /// Why.
        reason: String,
    },
    /// Return part of a payment through its provider.
    RequestRefund {
        /// The refund's id.
        refund_id: RefundId,
        /// The payment.
        payment_id: PaymentId,
        /// How much.
        amount: Money,
        /// Why.
        reason: String,
    },
    /// The provider returned the money.
    RecordRefundIssued {
        /// The refund.
        refund_id: RefundId,
        /// The provider's id of it.
        provider_reference: Option<String>,
    },
    /// The provider could not return it.
    RecordRefundFailed {
        /// The refund.
        refund_id: RefundId,
        /// Why.
        reason: String,
    },
}
