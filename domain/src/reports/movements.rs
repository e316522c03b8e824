//! Money movements as the reporting projection records them, totalled by
//! day: the input of the claims and collections reports.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::GroupBy;
use crate::currency::Currency;

/// What moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MovementKind {
    /// An invoice was issued (amount due).
    InvoiceIssued,
    /// An invoice was voided: its unpaid balance is no longer owed
    /// (negative).
    InvoiceVoided,
    /// A customer was asked to pay (amount asked).
    PaymentRequested,
    /// A payment was received (amount received).
    PaymentSucceeded,
    /// A payment failed (amount asked).
    PaymentFailed,
    /// A refund was sent to a provider.
    RefundRequested,
    /// A refund reached the customer.
    RefundIssued,
    /// Premium given back on the customer's account when cover ended or an
    /// endorsement lowered it (positive); negative for premium earned and
    /// not paid, kept from what the customer had paid.
    CreditNote,
    /// The customer's credit paid an invoice (amount applied; the money was
    /// received before, so it moves no balance).
    CreditApplied,
    /// A claim was filed (amount claimed).
    ClaimFiled,
    /// A claim's approved total rose (or fell, when re-approved lower):
    /// the change in what is owed on it.
    ClaimApproved,
    /// A claim closed with part of its approved amount unpaid: what is no
    /// longer owed (negative).
    ClaimReleased,
    /// A payout was sent to a provider.
    PayoutRequested,
    /// A payout reached the claimant.
    ClaimPaid,
    /// A claim's case reserve changed (the change): what the adjuster's
    /// reserve exceeds the claim's approved total while the claim is open;
    /// none once it is paid, rejected or closed.
    CaseReserve,
}

impl MovementKind {
    /// Every kind, in order.
    pub const ALL: [MovementKind; 15] = [
        MovementKind::InvoiceIssued,
        MovementKind::InvoiceVoided,
        MovementKind::PaymentRequested,
        MovementKind::PaymentSucceeded,
        MovementKind::PaymentFailed,
        MovementKind::RefundRequested,
        MovementKind::RefundIssued,
        MovementKind::CreditNote,
        MovementKind::CreditApplied,
        MovementKind::ClaimFiled,
        MovementKind::ClaimApproved,
        MovementKind::ClaimReleased,
        MovementKind::PayoutRequested,
        MovementKind::ClaimPaid,
        MovementKind::CaseReserve,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::InvoiceIssued => "invoice_issued",
            MovementKind::InvoiceVoided => "invoice_voided",
            MovementKind::PaymentRequested => "payment_requested",
            MovementKind::PaymentSucceeded => "payment_succeeded",
            MovementKind::PaymentFailed => "payment_failed",
            MovementKind::RefundRequested => "refund_requested",
            MovementKind::RefundIssued => "refund_issued",
            MovementKind::CreditNote => "credit_note",
            MovementKind::CreditApplied => "credit_applied",
            MovementKind::ClaimFiled => "claim_filed",
            MovementKind::ClaimApproved => "claim_approved",
            MovementKind::ClaimReleased => "claim_released",
            MovementKind::PayoutRequested => "payout_requested",
            MovementKind::ClaimPaid => "claim_paid",
            MovementKind::CaseReserve => "case_reserve",
        }
    }

    /// The kind stored as `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether it changes what is owed on claims (incurred losses).
    pub fn is_incurred(self) -> bool {
        matches!(
            self,
            MovementKind::ClaimApproved | MovementKind::ClaimReleased
        )
    }
}

/// The movements of one kind on one day, product, provider and currency.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyTotal {
    /// The business date.
    pub date: NaiveDate,
    /// The product's code.
    pub product: String,
    /// The provider, for payments, refunds and payouts.
    pub provider: Option<String>,
    /// The currency.
    pub currency: Currency,
    /// What moved.
    pub kind: MovementKind,
    /// How many movements.
    pub count: u32,
    /// How many of those requests still await their outcome.
    pub open: u32,
    /// Their total.
    pub amount: Decimal,
}

/// The group a movement on `date` of `product` falls in.
pub fn group_of(group_by: GroupBy, date: NaiveDate, product: &str) -> String {
    match group_by {
        GroupBy::Month => date.format("%Y-%m").to_string(),
        GroupBy::Product => product.to_string(),
    }
}

/// `numerator ÷ denominator` to four places (half-up), none when the
/// denominator is zero.
pub fn ratio(numerator: Decimal, denominator: Decimal) -> Option<Decimal> {
    if denominator.is_zero() {
        return None;
    }
    Some(
        (numerator / denominator)
            .round_dp_with_strategy(4, rust_decimal::RoundingStrategy::MidpointAwayFromZero),
    )
}
