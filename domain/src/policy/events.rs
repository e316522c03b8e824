//! What happened to a policy, from application to its end. Event type names
//! and fields never change once stored; a new shape gets a new
//! `event_version` and an upcaster.

use chrono::NaiveDate;
use cqrs_es::DomainEvent;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::ledger::InvoiceOffset;
use crate::ids::{ClaimId, InvoiceId, PaymentId, PolicyId, ProductId, RefundId, UserId};
use crate::money::Money;

/// An application as submitted, with the premium quoted then and kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    /// The policy's id (the application's).
    pub policy_id: PolicyId,
    /// The product applied for.
    pub product_id: ProductId,
    /// Its catalogue code at submission.
    pub product_code: String,
    /// Its name at submission.
    pub product_name: String,
    /// The customer who will hold the policy.
    pub customer_id: UserId,
    /// Who submitted it (the customer, their agent, or staff).
    pub submitted_by: UserId,
    /// The cover asked for.
    pub sum_insured: Money,
    /// The premium for one term, at the rate of submission.
    pub premium: Money,
    /// The product's rate at submission.
    pub rate: Decimal,
    /// The product's minimum premium at submission.
    pub minimum_premium: Money,
    /// The product's sum-insured bounds at submission (for endorsements).
    pub sum_insured_min: Money,
    /// Upper bound.
    pub sum_insured_max: Money,
    /// Length of one term.
    pub term_months: u32,
    /// First day of cover.
    pub start_date: NaiveDate,
    /// Last day of cover of the first term.
    pub end_date: NaiveDate,
    /// What is insured (vehicle, property, persons...), as given.
    pub insured: serde_json::Value,
}

/// One term of cover and the invoice of its premium.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Term {
    /// 1 for the first term, 2 for the first renewal, ...
    pub number: u32,
    /// First day of cover.
    pub start_date: NaiveDate,
    /// Last day of cover.
    pub end_date: NaiveDate,
    /// Cover at the start of the term.
    pub sum_insured: Money,
    /// Premium for the whole term.
    pub premium: Money,
    /// Rate the premium was computed at.
    pub rate: Decimal,
    /// Minimum premium it was computed with.
    pub minimum_premium: Money,
    /// The invoice of the premium.
    pub invoice_id: InvoiceId,
    /// When that invoice is due.
    pub due_date: NaiveDate,
}

/// Part of a refund, paid back through the provider of one payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefundAllocation {
    /// The refund's id (derived, stable across retries).
    pub refund_id: RefundId,
    /// The invoice that payment was made on.
    pub invoice_id: InvoiceId,
    /// The payment refunded.
    pub payment_id: PaymentId,
    /// How much of it.
    pub amount: Money,
}

/// The events of a `Policy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PolicyEvent {
    /// A customer applied.
    ApplicationSubmitted(Application),
    /// The application was accepted: the policy number is issued and the
    /// first term's premium is invoiced.
    ApplicationApproved {
        /// `POL-YYYY-NNNNNN`.
        policy_number: String,
        /// The first term.
        term: Term,
        /// Who approved.
        approved_by: Option<UserId>,
    },
    /// The application was declined.
    ApplicationRejected {
        /// Why.
        reason: String,
    },
    /// A payment on one of the policy's invoices was received.
    PremiumPaymentRecorded {
        /// The invoice.
        invoice_id: InvoiceId,
        /// The payment.
        payment_id: PaymentId,
        /// Amount received.
        amount: Money,
        /// Provider that took it (refunds go back through it).
        provider: String,
        /// The part beyond the invoice's balance: the customer's credit.
        #[serde(default)]
        credit: Option<Money>,
    },
    /// Part of the customer's credit paid an invoice of the policy.
    PolicyCreditApplied {
        /// The invoice.
        invoice_id: InvoiceId,
        /// How much.
        amount: Money,
        /// Credit left after it.
        credit_left: Money,
    },
    /// An invoice declined credit or a reduction the policy had decided:
    /// that much is the customer's credit again (or, once cover ended, was
    /// settled by the refund already).
    CreditRestored {
        /// The invoice.
        invoice_id: InvoiceId,
        /// The application's or reduction's key.
        key: String,
        /// How much.
        amount: Money,
        /// Whether a reduction (rather than credit) was declined.
        from_reduction: bool,
        /// Whether cover had ended (nothing more is held).
        after_end: bool,
    },
    /// A payment settled after cover had ended (cancelled or lapsed): all of
    /// it goes back through its own provider.
    PaymentReturned {
        /// The invoice it was made on.
        invoice_id: InvoiceId,
        /// The payment.
        payment_id: PaymentId,
        /// How it is paid back.
        refunds: Vec<RefundAllocation>,
        /// The part its invoice had applied as premium (it settled before
        /// the invoice closed), given back on the customer's account; the
        /// rest was credit.
        #[serde(default)]
        credit_note: Option<Money>,
    },
    /// The first term's premium is paid: cover is in force.
    PolicyActivated {
        /// The term now in force.
        term_number: u32,
        /// When an expired policy was put back in force: its cover runs
        /// from this day, not over the unpaid gap.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reinstated_on: Option<NaiveDate>,
    },
    /// The sum insured changed from a date; the premium difference for the
    /// rest of the term is invoiced (`invoice_id`) or refunded (`refunds`).
    PolicyEndorsed {
        /// 1, 2, ... per policy.
        endorsement_number: u32,
        /// The term it applies to.
        term_number: u32,
        /// From this day.
        effective_date: NaiveDate,
        /// Cover before.
        sum_insured_before: Money,
        /// Cover after.
        sum_insured: Money,
        /// The full-term premium at the new cover.
        annual_premium: Money,
        /// Pro-rata difference for the remaining days (negative: a credit).
        adjustment: Money,
        /// The additional invoice, when `adjustment` is positive.
        invoice_id: Option<InvoiceId>,
        /// When that invoice is due.
        due_date: Option<NaiveDate>,
        /// What is paid back, when paid premium now exceeds the premium due.
        refunds: Vec<RefundAllocation>,
        /// For a lower premium: what unpaid invoices of the term no longer
        /// bill (before anything is refunded).
        #[serde(default)]
        offsets: Vec<InvoiceOffset>,
    },
    /// Cover ends on `effective_date`; the unearned paid premium is refunded.
    PolicyCancelled {
        /// Why.
        reason: String,
        /// The last day of cover.
        effective_date: NaiveDate,
        /// Total refunded.
        refund: Money,
        /// How the refund is paid back.
        refunds: Vec<RefundAllocation>,
        /// Who cancelled.
        cancelled_by: Option<UserId>,
        /// The premium given back on the customer's account: the refund
        /// less the credit it returns, plus `earned_unpaid`.
        #[serde(default)]
        credit_note: Option<Money>,
        /// Premium earned by the cancellation on invoices not paid for it,
        /// kept from what the customer paid (a charge on their account).
        #[serde(default)]
        earned_unpaid: Option<Money>,
    },
    /// The first premium was not paid within the grace period. The policy
    /// was never in force: whatever was paid towards it is refunded.
    PolicyLapsed {
        /// The premium's due date.
        due_date: NaiveDate,
        /// The business date it lapsed on.
        lapsed_on: NaiveDate,
        /// How what was paid is paid back.
        #[serde(default)]
        refunds: Vec<RefundAllocation>,
        /// The premium given back on the customer's account (the refund
        /// less the credit it returns).
        #[serde(default)]
        credit_note: Option<Money>,
    },
    /// The term ended without a paid renewal.
    PolicyExpired {
        /// The term that ended.
        term_number: u32,
        /// Its last day.
        end_date: NaiveDate,
    },
    /// The customer was reminded that the term in force ends soon.
    ExpiryReminderIssued {
        /// The term.
        term_number: u32,
        /// Its last day.
        end_date: NaiveDate,
        /// Which reminder: days before the end (30 or 7).
        days_before: u32,
    },
    /// A new term was offered, at the product's rate of today.
    PolicyRenewed {
        /// The new term.
        term: Term,
    },
    /// The renewal term's premium is paid.
    RenewalPaid {
        /// The term.
        term_number: u32,
    },
    /// The total approved on one claim changed; the cover left is what the
    /// sum insured still allows across all the policy's claims.
    ClaimCoverReserved {
        /// The claim.
        claim_id: ClaimId,
        /// Its total approved now.
        total: Money,
        /// Its total before.
        previous: Money,
        /// Cover left across all claims.
        cover_left: Money,
        /// The claim's version it was decided on.
        #[serde(default)]
        claim_version: Option<u64>,
        /// The term the claim counts against (its incident's); `cover_left`
        /// is that term's.
        #[serde(default)]
        term_number: Option<u32>,
    },
    /// A paid renewal term came into force.
    RenewalTermStarted {
        /// The term now in force.
        term_number: u32,
    },
}

impl DomainEvent for PolicyEvent {
    fn event_type(&self) -> String {
        match self {
            PolicyEvent::ApplicationSubmitted(_) => "ApplicationSubmitted",
            PolicyEvent::ApplicationApproved { .. } => "ApplicationApproved",
            PolicyEvent::ApplicationRejected { .. } => "ApplicationRejected",
            PolicyEvent::PremiumPaymentRecorded { .. } => "PremiumPaymentRecorded",
            PolicyEvent::PolicyCreditApplied { .. } => "PolicyCreditApplied",
            PolicyEvent::PaymentReturned { .. } => "PaymentReturned",
            PolicyEvent::CreditRestored { .. } => "CreditRestored",
            PolicyEvent::PolicyActivated { .. } => "PolicyActivated",
            PolicyEvent::PolicyEndorsed { .. } => "PolicyEndorsed",
            PolicyEvent::PolicyCancelled { .. } => "PolicyCancelled",
            PolicyEvent::PolicyLapsed { .. } => "PolicyLapsed",
            PolicyEvent::PolicyExpired { .. } => "PolicyExpired",
            PolicyEvent::ExpiryReminderIssued { .. } => "ExpiryReminderIssued",
            PolicyEvent::PolicyRenewed { .. } => "PolicyRenewed",
            PolicyEvent::RenewalPaid { .. } => "RenewalPaid",
            PolicyEvent::RenewalTermStarted { .. } => "RenewalTermStarted",
            PolicyEvent::ClaimCoverReserved { .. } => "ClaimCoverReserved",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}
