//! Calendar arithmetic for policy terms: inclusive day ranges, term ends,
//! and the share of a range that falls before or after a date.

use chrono::{Datelike, Days, Months, NaiveDate};

/// The last day of a term of `months` starting on `start` (inclusive):
/// the day before its anniversary, so a 12-month term from 2026-01-01 ends
/// on 2026-12-31. When the anniversary does not exist (a term from 31
/// January, or 29 February) the month's last day is the end.
pub fn term_end(start: NaiveDate, months: u32) -> Option<NaiveDate> {
    let anniversary = start.checked_add_months(Months::new(months))?;
    if anniversary.day() == start.day() {
        anniversary.checked_sub_days(Days::new(1))
    } else {
        Some(anniversary)
    }
}

/// Days in `from..=to` (0 when `to` is before `from`).
pub fn days_inclusive(from: NaiveDate, to: NaiveDate) -> i64 {
    ((to - from).num_days() + 1).max(0)
}

/// Days of `from..=to` on or before `date`.
pub fn days_through(from: NaiveDate, to: NaiveDate, date: NaiveDate) -> i64 {
    days_inclusive(from, date.min(to))
}

/// The day after `date`.
pub fn next_day(date: NaiveDate) -> Option<NaiveDate> {
    date.checked_add_days(Days::new(1))
}

/// The day before `date`.
pub fn previous_day(date: NaiveDate) -> Option<NaiveDate> {
    date.checked_sub_days(Days::new(1))
}

/// `date` plus `days`.
pub fn add_days(date: NaiveDate, days: u32) -> Option<NaiveDate> {
    date.checked_add_days(Days::new(u64::from(days)))
}

/// `date` less `days`.
pub fn sub_days(date: NaiveDate, days: u32) -> Option<NaiveDate> {
    date.checked_sub_days(Days::new(u64::from(days)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_twelve_month_term_ends_the_day_before_its_anniversary() {
        assert_eq!(term_end(d("2026-01-01"), 12), Some(d("2026-12-31")));
        assert_eq!(term_end(d("2026-01-31"), 1), Some(d("2026-02-28")));
        assert_eq!(term_end(d("2028-02-29"), 12), Some(d("2029-02-28")));
        assert_eq!(term_end(d("2026-03-15"), 1), Some(d("2026-04-14")));
    }

    #[test]
    fn day_counts_are_inclusive_and_clamped() {
        assert_eq!(days_inclusive(d("2026-01-01"), d("2026-12-31")), 365);
        assert_eq!(days_inclusive(d("2026-01-02"), d("2026-01-01")), 0);
        assert_eq!(
            days_through(d("2026-01-01"), d("2026-12-31"), d("2025-12-01")),
            0
        );
        assert_eq!(
            days_through(d("2026-01-01"), d("2026-12-31"), d("2026-01-01")),
            1
        );
        assert_eq!(
            days_through(d("2026-01-01"), d("2026-12-31"), d("2027-06-01")),
            365
        );
    }
}

/// `date` as people read it in messages and documents: `25 Nov 2026`.
pub fn long_date(date: NaiveDate) -> String {
    date.format("%-d %b %Y").to_string()
}
