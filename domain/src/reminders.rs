//! When reminders are due. Pure date rules; the aggregates record each
//! reminder as an event so it is issued once and an auditor sees it.
//!
//! - An unpaid invoice is marked overdue the day after its due date (that
//!   event is the first reminder), gets a second reminder a week after the
//!   due date, and a final notice a few days before the grace period ends
//!   and the policy lapses.
//! - A policy in force is reminded 30 and 7 days before its last day of
//!   cover, unless its renewal is already paid.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::dates::{add_days, sub_days};

/// Days after the due date of the second overdue reminder.
pub const SECOND_REMINDER_AFTER_DAYS: u32 = 7;
/// Days before the grace period ends of the final notice.
pub const FINAL_NOTICE_BEFORE_LAPSE_DAYS: u32 = 3;
/// Days before the end of cover that a policy-expiring reminder goes out,
/// earliest first.
pub const EXPIRY_REMINDER_DAYS: [u32; 2] = [30, 7];

/// Which overdue reminder (the overdue notice itself is the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverdueStage {
    /// A week after the due date.
    Second,
    /// The last notice before the grace period ends.
    Final,
}

impl OverdueStage {
    /// Its stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            OverdueStage::Second => "second",
            OverdueStage::Final => "final",
        }
    }
}

fn plus(date: NaiveDate, days: u32) -> NaiveDate {
    add_days(date, days).unwrap_or(date)
}

fn minus(date: NaiveDate, days: u32) -> NaiveDate {
    sub_days(date, days).unwrap_or(date)
}

/// The last day to pay before the grace period after `due` ends.
pub fn pay_by(due: NaiveDate, grace_days: u32) -> NaiveDate {
    plus(due, grace_days)
}

/// Days after the due date of the final notice.
fn final_notice_after(grace_days: u32) -> u32 {
    grace_days
        .saturating_sub(FINAL_NOTICE_BEFORE_LAPSE_DAYS)
        .max(1)
}

/// The day of the final notice for an invoice due on `due`.
pub fn final_notice_on(due: NaiveDate, grace_days: u32) -> NaiveDate {
    plus(due, final_notice_after(grace_days))
}

/// Due dates bounding the overdue invoices that may have a reminder due on
/// a given day (the scheduler's query; the invoice still decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverdueCutoffs {
    /// Due on or before this: the second reminder's day has come.
    pub second: NaiveDate,
    /// Due on or before this: the final notice's day has come.
    pub final_notice: NaiveDate,
    /// Due before this: the grace period is over; no reminder any more.
    pub lapsed: NaiveDate,
}

/// The cutoffs for `today` with `grace_days` of grace.
pub fn overdue_cutoffs(today: NaiveDate, grace_days: u32) -> OverdueCutoffs {
    OverdueCutoffs {
        second: minus(today, SECOND_REMINDER_AFTER_DAYS),
        final_notice: minus(today, final_notice_after(grace_days)),
        lapsed: minus(today, grace_days),
    }
}

/// The latest overdue reminder due on `today` for an invoice due on `due`
/// (only the latest: a scheduler that was down does not send two at once).
pub fn overdue_stage(due: NaiveDate, today: NaiveDate, grace_days: u32) -> Option<OverdueStage> {
    if today >= final_notice_on(due, grace_days) && today <= pay_by(due, grace_days) {
        Some(OverdueStage::Final)
    } else if today >= plus(due, SECOND_REMINDER_AFTER_DAYS) && today < pay_by(due, grace_days) {
        Some(OverdueStage::Second)
    } else {
        None
    }
}

/// The expiry reminder due on `today` for cover ending on `end` (its
/// days-before figure: the nearest of [`EXPIRY_REMINDER_DAYS`] reached).
pub fn expiry_stage(end: NaiveDate, today: NaiveDate) -> Option<u32> {
    if today > end {
        return None;
    }
    let left = (end - today).num_days();
    EXPIRY_REMINDER_DAYS
        .iter()
        .rev()
        .find(|days| left <= i64::from(**days))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn overdue_invoices_get_a_second_reminder_after_a_week_and_a_final_notice_before_lapse() {
        let due = d("2026-01-15");
        assert_eq!(overdue_stage(due, d("2026-01-16"), 30), None);
        assert_eq!(overdue_stage(due, d("2026-01-21"), 30), None);
        assert_eq!(
            overdue_stage(due, d("2026-01-22"), 30),
            Some(OverdueStage::Second)
        );
        assert_eq!(
            overdue_stage(due, d("2026-02-10"), 30),
            Some(OverdueStage::Second)
        );
        assert_eq!(final_notice_on(due, 30), d("2026-02-11"));
        assert_eq!(
            overdue_stage(due, d("2026-02-11"), 30),
            Some(OverdueStage::Final)
        );
        assert_eq!(pay_by(due, 30), d("2026-02-14"));
        assert_eq!(
            overdue_stage(due, d("2026-02-14"), 30),
            Some(OverdueStage::Final)
        );
        assert_eq!(overdue_stage(due, d("2026-02-15"), 30), None);
    }

    #[test]
    fn a_short_grace_period_goes_straight_to_the_final_notice() {
        let due = d("2026-01-15");
        assert_eq!(final_notice_on(due, 5), d("2026-01-17"));
        assert_eq!(
            overdue_stage(due, d("2026-01-17"), 5),
            Some(OverdueStage::Final)
        );
        assert_eq!(overdue_stage(due, d("2026-01-22"), 5), None);
    }

    #[test]
    fn the_schedulers_cutoffs_select_every_invoice_with_a_reminder_due() {
        let today = d("2026-03-01");
        for grace in [5, 30] {
            let cutoffs = overdue_cutoffs(today, grace);
            for back in 0..60 {
                let due = minus(today, back);
                let selected =
                    due >= cutoffs.lapsed && (due <= cutoffs.second || due <= cutoffs.final_notice);
                if overdue_stage(due, today, grace).is_some() {
                    assert!(selected, "due {due}, grace {grace}");
                }
            }
        }
    }

    #[test]
    fn policies_are_reminded_thirty_and_seven_days_before_cover_ends() {
        let end = d("2027-01-31");
        assert_eq!(expiry_stage(end, d("2026-12-31")), None);
        assert_eq!(expiry_stage(end, d("2027-01-01")), Some(30));
        assert_eq!(expiry_stage(end, d("2027-01-23")), Some(30));
        assert_eq!(expiry_stage(end, d("2027-01-24")), Some(7));
        assert_eq!(expiry_stage(end, d("2027-01-31")), Some(7));
        assert_eq!(expiry_stage(end, d("2027-02-01")), None);
    }
}
