//! What happened to an invoice and its payments and refunds. Event type
//! names and fields never change once stored.

use chrono::NaiveDate;
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use crate::ids::{InvoiceId, PaymentId, PolicyId, RefundId, UserId};
use crate::money::Money;

/// What an invoice is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKind {
    /// A policy's first premium.
    Premium,
    /// The pro-rata difference of an endorsement.
    Endorsement,
    /// A renewal term's premium.
    Renewal,
}

impl InvoiceKind {
    /// The kind's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceKind::Premium => "premium",
            InvoiceKind::Endorsement => "endorsement",
            InvoiceKind::Renewal => "renewal",
        }
    }
}

/// An invoice as issued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceDetails {
    /// Its id.
    pub invoice_id: InvoiceId,
    /// `INV-YYYY-NNNNNN`.
    pub invoice_number: String,
    /// The policy billed.
    pub policy_id: PolicyId,
    /// The policy's number.
    pub policy_number: String,
    /// Who pays.
    pub customer_id: UserId,
    /// What for.
    pub kind: InvoiceKind,
    /// The policy term it is for.
    pub term_number: u32,
    /// Amount due.
    pub amount: Money,
    /// Business date of issue.
    pub issued_on: NaiveDate,
    /// Due date.
    pub due_date: NaiveDate,
}

/// The events of an `Invoice`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum InvoiceEvent {
    /// The invoice was issued, open.
    InvoiceCreated(InvoiceDetails),
    /// A payment of the balance was asked of a provider.
    PaymentRequested {
        /// The payment.
        payment_id: PaymentId,
        /// The provider (`sandbox`, `mpesa`, `stripe`, ...).
        provider: String,
        /// The amount asked.
        amount: Money,
        /// Sent to the provider so a retried request never charges twice.
        idempotency_key: String,
        /// Phone number or email the provider needs, if any.
        payer_contact: Option<String>,
        /// Who asked.
        requested_by: Option<UserId>,
    },
    /// The provider confirmed money received.
    PaymentSucceeded {
        /// The payment.
        payment_id: PaymentId,
        /// What was received.
        amount: Money,
        /// The part applied to the balance.
        applied: Money,
        /// The part above the balance, kept as the customer's credit.
        overpayment: Money,
        /// The provider's id of the transaction.
        provider_reference: Option<String>,
    },
    /// The provider reported the payment failed.
    PaymentFailed {
        /// The payment.
        payment_id: PaymentId,
        /// Why, as the provider said.
        reason: String,
        /// The provider's id of the attempt.
        provider_reference: Option<String>,
    },
    /// Nothing is left to pay.
    InvoicePaid {
        /// Total applied.
        amount_paid: Money,
    },
    /// The due date passed with a balance left.
    InvoiceOverdue {
        /// The due date.
        due_date: NaiveDate,
    },
    /// A further reminder of an overdue invoice was issued.
    OverdueReminderIssued {
        /// Which one.
        stage: crate::reminders::OverdueStage,
        /// The balance then.
        balance: Money,
        /// The last day to pay before the grace period ends.
        pay_by: NaiveDate,
    },
    /// Nothing more is owed on it: voided by staff while nothing was paid,
    /// or closed for its unpaid part when the policy's cover ended.
    InvoiceVoided {
        /// Why.
        reason: String,
    },
    /// The customer's credit (money received beyond another invoice of the
    /// policy) paid part of the balance.
    CreditApplied {
        /// The application's key.
        #[serde(default)]
        key: String,
        /// How much.
        amount: Money,
    },
    /// Credit the balance could not take (it was paid meanwhile, or the
    /// invoice closed): it stays the customer's.
    CreditDeclined {
        /// The application's key.
        key: String,
        /// How much.
        amount: Money,
    },
    /// A later endorsement lowered the premium this invoice billed, before
    /// it was paid: that much is no longer owed.
    InvoiceReduced {
        /// The reduction's key.
        #[serde(default)]
        key: String,
        /// How much less is owed.
        amount: Money,
        /// Why.
        reason: String,
    },
    /// Part of a reduction the balance could not take: a payment covered
    /// it meanwhile, so that much paid is now the customer's credit.
    ReductionDeclined {
        /// The reduction's key.
        key: String,
        /// How much.
        amount: Money,
    },
    /// Money of a payment is to be returned through its provider.
    RefundRequested {
        /// The refund.
        refund_id: RefundId,
        /// The payment refunded.
        payment_id: PaymentId,
        /// How much.
        amount: Money,
        /// Its provider.
        provider: String,
        /// The payment's provider reference.
        provider_reference: Option<String>,
        /// Sent to the provider.
        idempotency_key: String,
        /// Why.
        reason: String,
    },
    /// The provider returned the money.
    RefundIssued {
        /// The refund.
        refund_id: RefundId,
        /// The provider's id of the refund.
        provider_reference: Option<String>,
    },
    /// The provider could not return the money.
    RefundFailed {
        /// The refund.
        refund_id: RefundId,
        /// Why.
        reason: String,
    },
}

impl DomainEvent for InvoiceEvent {
    fn event_type(&self) -> String {
        match self {
            InvoiceEvent::InvoiceCreated(_) => "InvoiceCreated",
            InvoiceEvent::PaymentRequested { .. } => "PaymentRequested",
            InvoiceEvent::PaymentSucceeded { .. } => "PaymentSucceeded",
            InvoiceEvent::PaymentFailed { .. } => "PaymentFailed",
            InvoiceEvent::InvoicePaid { .. } => "InvoicePaid",
            InvoiceEvent::InvoiceOverdue { .. } => "InvoiceOverdue",
            InvoiceEvent::OverdueReminderIssued { .. } => "OverdueReminderIssued",
            InvoiceEvent::InvoiceVoided { .. } => "InvoiceVoided",
            InvoiceEvent::CreditApplied { .. } => "CreditApplied",
            InvoiceEvent::CreditDeclined { .. } => "CreditDeclined",
            InvoiceEvent::InvoiceReduced { .. } => "InvoiceReduced",
            InvoiceEvent::ReductionDeclined { .. } => "ReductionDeclined",
            InvoiceEvent::RefundRequested { .. } => "RefundRequested",
            InvoiceEvent::RefundIssued { .. } => "RefundIssued",
            InvoiceEvent::RefundFailed { .. } => "RefundFailed",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}
