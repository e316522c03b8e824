//! What can be asked of a policy. Everything the decision needs from outside
//! (the product, today's date, numbers, configured periods) comes in with
//! the command.

use chrono::NaiveDate;

use crate::ids::{ClaimId, InvoiceId, PaymentId, PolicyId, ProductId, UserId};
use crate::money::Money;
use crate::product::Product;

/// The commands of a `Policy`.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyCommand {
    /// Apply for a product.
    SubmitApplication(NewApplication),
    /// Accept the application and issue the policy.
    ApproveApplication {
        /// The number to issue (`POL-YYYY-NNNNNN`), allocated by the caller.
        policy_number: String,
        /// When the first premium is due.
        due_date: NaiveDate,
        /// Who approves.
        approved_by: Option<UserId>,
    },
    /// Decline the application.
    RejectApplication {
        /// Why (required).
        reason: String,
    },
    /// Record money received on one of the policy's invoices.
    RecordPremiumPayment {
        /// The invoice.
        invoice_id: InvoiceId,
        /// The payment.
        payment_id: PaymentId,
        /// Amount received.
        amount: Money,
        /// The part of it beyond the invoice's balance (credit).
        credit: Option<Money>,
        /// The provider that took it.
        provider: String,
    },
    /// An invoice could not take credit or a reduction the policy decided
    /// (a payment covered it meanwhile, or it closed): that much is the
    /// customer's credit again.
    RestoreCredit {
        /// The invoice.
        invoice_id: InvoiceId,
        /// The application's or reduction's key (a redelivery changes
        /// nothing).
        key: String,
        /// How much.
        amount: Money,
        /// Whether a reduction (rather than credit) was declined.
        from_reduction: bool,
    },
    /// One of the policy's premium invoices is paid in full.
    Activate {
        /// The paid invoice.
        invoice_id: InvoiceId,
        /// The business date it was paid on: an expired policy put back in
        /// force is covered from then, not over the gap.
        today: Option<NaiveDate>,
    },
    /// Change the sum insured from a date.
    Endorse {
        /// The new cover.
        sum_insured: Money,
        /// From this day.
        effective_date: NaiveDate,
        /// Due date of an additional invoice.
        due_date: NaiveDate,
    },
    /// End cover on a date and refund the unearned paid premium.
    Cancel {
        /// Why (required).
        reason: String,
        /// The last day of cover.
        effective_date: NaiveDate,
        /// Who cancels.
        cancelled_by: Option<UserId>,
    },
    /// The first premium is unpaid past its grace period.
    Lapse {
        /// The business date.
        today: NaiveDate,
        /// Days allowed after the due date.
        grace_days: u32,
    },
    /// The term in force has ended.
    Expire {
        /// The business date.
        today: NaiveDate,
    },
    /// Remind the customer that cover ends soon, if a reminder is due today
    /// ([`crate::reminders::expiry_stage`]) and not issued yet.
    RemindExpiry {
        /// The business date.
        today: NaiveDate,
    },
    /// Set the cover one claim holds to `total`, within the cover left: the
    /// policy serialises approvals, so concurrent claims can never together
    /// exceed the sum insured. `claim_version` is the claim's version the
    /// decision was made on: only one request per version is accepted, so
    /// of concurrent approvals of one claim exactly one holds its cover.
    ReserveClaimCover {
        /// The claim.
        claim_id: ClaimId,
        /// Its new total approved amount.
        total: Money,
        /// The claim's version the approval was decided on.
        claim_version: u64,
        /// The incident's date: the claim counts against the term whose
        /// cover includes it (the sum insured is a limit per term).
        incident_date: NaiveDate,
    },
    /// Put back a reservation the claim then refused: the claim holds `to`
    /// again, but only while the reservation is still the one made on
    /// `claim_version` (a later decision is left alone).
    ReleaseClaimCover {
        /// The claim.
        claim_id: ClaimId,
        /// What it holds after.
        to: Money,
        /// The version the reservation being put back was made on.
        claim_version: u64,
    },
    /// Offer the next term at the product's current terms.
    Renew {
        /// The product as it is today.
        product: Product,
        /// When the renewal premium is due.
        due_date: NaiveDate,
    },
}

/// An application as requested, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct NewApplication {
    /// The new policy's id.
    pub policy_id: PolicyId,
    /// The product.
    pub product_id: ProductId,
    /// The product's current state.
    pub product: Product,
    /// The customer who will hold the policy.
    pub customer_id: UserId,
    /// Who submits.
    pub submitted_by: UserId,
    /// The cover asked for.
    pub sum_insured: Money,
    /// First day of cover.
    pub start_date: NaiveDate,
    /// What is insured.
    pub insured: serde_json::Value,
    /// The business date.
    pub today: NaiveDate,
    /// How many days before `today` a start date may be.
    pub max_backdate_days: u32,
}
