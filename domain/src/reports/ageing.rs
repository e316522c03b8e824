//! Overdue ageing: invoices past their due date and unpaid, by how long
//! they have been overdue (1–30, 31–60, 61–90, over 90 days), as of a date.
//!
//! Also the claims queue: open claims by status and by days since filing.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::currency::Currency;
use crate::money::Money;

/// An unpaid invoice.
#[derive(Debug, Clone, PartialEq)]
pub struct Unpaid {
    /// Its group (product code, or empty for all).
    pub group: String,
    /// When it was due.
    pub due_date: NaiveDate,
    /// What is left to pay.
    pub balance: Money,
}

/// Amounts and counts per ageing bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgeingRow {
    /// Product code, or `all`.
    pub group: String,
    /// Overdue invoices.
    pub invoices: u32,
    /// Overdue 1 to 30 days.
    pub days_0_30: Money,
    /// 31 to 60 days.
    pub days_31_60: Money,
    /// 61 to 90 days.
    pub days_61_90: Money,
    /// Over 90 days.
    pub days_over_90: Money,
    /// Everything overdue.
    pub total: Money,
}

/// Which bucket `days` overdue falls in (0 to 3).
pub fn bucket(days: i64) -> usize {
    match days {
        ..=30 => 0,
        31..=60 => 1,
        61..=90 => 2,
        _ => 3,
    }
}

/// The ageing of `invoices` as of `as_of`: only those due before it with a
/// balance left; rows by group, then currency.
pub fn ageing(invoices: &[Unpaid], as_of: NaiveDate) -> Vec<AgeingRow> {
    let mut rows: BTreeMap<(String, &'static str), (Currency, u32, [Decimal; 4])> = BTreeMap::new();
    for invoice in invoices {
        let days = (as_of - invoice.due_date).num_days();
        if days < 1
            || !invoice.balance.amount().is_sign_positive()
            || invoice.balance.amount().is_zero()
        {
            continue;
        }
        let currency = invoice.balance.currency();
        let entry = rows
            .entry((invoice.group.clone(), currency.code()))
            .or_insert((currency, 0, [Decimal::ZERO; 4]));
        entry.1 += 1;
        entry.2[bucket(days)] += invoice.balance.amount();
    }
    rows.into_iter()
        .map(|((group, _), (currency, invoices, buckets))| {
            let money = |amount: Decimal| Money::rounded(amount, currency);
            AgeingRow {
                group,
                invoices,
                days_0_30: money(buckets[0]),
                days_31_60: money(buckets[1]),
                days_61_90: money(buckets[2]),
                days_over_90: money(buckets[3]),
                total: money(buckets.iter().sum()),
            }
        })
        .collect()
}

/// An open claim.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenClaim {
    /// Its status name.
    pub status: String,
    /// When it was filed.
    pub filed_on: NaiveDate,
}

/// Open claims of one status by age.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueRow {
    /// The status.
    pub status: String,
    /// How many.
    pub claims: u32,
    /// Filed 0 to 7 days ago.
    pub days_0_7: u32,
    /// 8 to 30 days ago.
    pub days_8_30: u32,
    /// 31 to 90 days ago.
    pub days_31_90: u32,
    /// Over 90 days ago.
    pub days_over_90: u32,
    /// Days since the oldest was filed.
    pub oldest_days: i64,
}

/// The claims queue as of `today`: rows by status name.
pub fn claim_queue(claims: &[OpenClaim], today: NaiveDate) -> Vec<QueueRow> {
    let mut rows: BTreeMap<&str, QueueRow> = BTreeMap::new();
    for claim in claims {
        let days = (today - claim.filed_on).num_days().max(0);
        let row = rows.entry(&claim.status).or_insert_with(|| QueueRow {
            status: claim.status.clone(),
            claims: 0,
            days_0_7: 0,
            days_8_30: 0,
            days_31_90: 0,
            days_over_90: 0,
            oldest_days: 0,
        });
        row.claims += 1;
        match days {
            ..=7 => row.days_0_7 += 1,
            8..=30 => row.days_8_30 += 1,
            31..=90 => row.days_31_90 += 1,
            _ => row.days_over_90 += 1,
        }
        row.oldest_days = row.oldest_days.max(days);
    }
    rows.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::kes;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn unpaid(group: &str, due: &str, balance: &str) -> Unpaid {
        Unpaid {
            group: group.into(),
            due_date: day(due),
            balance: kes(balance),
        }
    }

    #[test]
    fn overdue_balances_fall_in_buckets_by_days_past_due() {
        let as_of = day("2026-11-25");
        let invoices = [
            unpaid("", "2026-11-25", "999"),    // due today: not overdue
            unpaid("", "2026-11-24", "100"),    // 1 day
            unpaid("", "2026-10-26", "200"),    // 30 days
            unpaid("", "2026-10-25", "300"),    // 31 days
            unpaid("", "2026-09-26", "400"),    // 60 days
            unpaid("", "2026-09-25", "500.50"), // 61 days
            unpaid("", "2026-08-27", "600"),    // 90 days
            unpaid("", "2026-08-26", "700"),    // 91 days
            unpaid("", "2026-01-01", "0"),      // paid off
        ];
        let rows = ageing(&invoices, as_of);
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.invoices, 7);
        assert_eq!(row.days_0_30, kes("300"));
        assert_eq!(row.days_31_60, kes("700"));
        assert_eq!(row.days_61_90, kes("1100.50"));
        assert_eq!(row.days_over_90, kes("700"));
        assert_eq!(row.total, kes("2800.50"));
    }

    #[test]
    fn the_claims_queue_counts_each_status_by_age() {
        let claim = |status: &str, filed: &str| OpenClaim {
            status: status.into(),
            filed_on: day(filed),
        };
        let rows = claim_queue(
            &[
                claim("submitted", "2026-11-25"),
                claim("submitted", "2026-11-10"),
                claim("under_review", "2026-08-01"),
                claim("submitted", "2026-11-18"),
            ],
            day("2026-11-25"),
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].status, "submitted");
        assert_eq!(
            (rows[0].claims, rows[0].days_0_7, rows[0].days_8_30),
            (3, 2, 1)
        );
        assert_eq!(rows[0].oldest_days, 15);
        assert_eq!((rows[1].days_over_90, rows[1].oldest_days), (1, 116));
    }
}
