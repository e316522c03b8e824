//! The periods that drive the policy lifecycle, configured per deployment.

/// Due dates, grace and notice periods, in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Periods {
    /// Days from issue to an invoice's due date.
    pub invoice_due_days: u32,
    /// Days after the first premium's due date before an unpaid policy lapses.
    pub lapse_grace_days: u32,
    /// Days before a term ends that its renewal is offered.
    pub renewal_notice_days: u32,
    /// How many days in the past a new application may start.
    pub max_backdate_days: u32,
    /// Days after cover ended that a loss during it may still be reported.
    pub claim_reporting_days: u32,
}

impl Default for Periods {
    fn default() -> Self {
        Self {
            invoice_due_days: 14,
            lapse_grace_days: 30,
            renewal_notice_days: 30,
            max_backdate_days: 7,
            claim_reporting_days: 90,
        }
    }
}
