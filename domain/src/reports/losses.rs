//! The claims report: claims reported, incurred losses, claims paid and
//! outstanding, and the loss ratio, by month or product.
//!
//! - **Incurred** in a period: the change in what is owed on claims —
//!   approvals (and re-approvals) less approved amounts released when a
//!   claim closed unpaid. Paid plus the change in outstanding.
//! - **Outstanding** at a group's last day: approved, not yet paid, over
//!   every movement up to that day (so it includes claims approved before
//!   the report's range).
//! - **Case reserves** at a group's last day: on every claim still open,
//!   what the adjuster's reserve (their estimate of the claim's cost)
//!   exceeds its approved total; estimates, so not part of incurred.
//! - **Loss ratio**: incurred ÷ earned premium of the same group and
//!   currency (none when nothing was earned).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use super::movements::{group_of, ratio, DailyTotal, MovementKind};
use super::{months, GroupBy, PremiumRow};
use crate::currency::Currency;
use crate::money::Money;

/// One row of the claims report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LossRow {
    /// The month (`2026-11`) or product code.
    pub group: String,
    /// Claims filed in it.
    pub reported: u32,
    /// Incurred losses.
    pub incurred: Money,
    /// Claims paid.
    pub paid: Money,
    /// Approved, not yet paid, at the group's last day.
    pub outstanding: Money,
    /// Reserved beyond what is approved on open claims, at the group's
    /// last day.
    pub case_reserves: Money,
    /// Premium earned (as the premium report shows it).
    pub earned: Money,
    /// Incurred ÷ earned, to four places.
    pub loss_ratio: Option<Decimal>,
}

#[derive(Default)]
struct Sums {
    reported: u32,
    incurred: Decimal,
    paid: Decimal,
    outstanding: Decimal,
    case_reserves: Decimal,
    earned: Decimal,
}

type Rows = BTreeMap<(String, &'static str), (Currency, Sums)>;

fn row(rows: &mut Rows, group: String, currency: Currency) -> &mut Sums {
    &mut rows
        .entry((group, currency.code()))
        .or_insert_with(|| (currency, Sums::default()))
        .1
}

/// The claims report over `[from, to]` from the claim movements up to
/// `to` and the premium report of the same range and grouping.
pub fn losses(
    totals: &[DailyTotal],
    premiums: &[PremiumRow],
    from: NaiveDate,
    to: NaiveDate,
    group_by: GroupBy,
) -> Vec<LossRow> {
    let mut rows: Rows = BTreeMap::new();
    for premium in premiums {
        row(&mut rows, premium.group.clone(), premium.earned.currency()).earned +=
            premium.earned.amount();
    }
    // Outstanding at each group's last day: per product, per month end.
    let ends: Vec<(String, NaiveDate)> = match group_by {
        GroupBy::Month => months(from, to)
            .into_iter()
            .map(|(label, _, end)| (label, end))
            .collect(),
        GroupBy::Product => Vec::new(),
    };
    for total in totals.iter().filter(|t| t.date <= to) {
        let owed = match total.kind {
            kind if kind.is_incurred() => total.amount,
            MovementKind::ClaimPaid => -total.amount,
            _ => Decimal::ZERO,
        };
        let reserved = match total.kind {
            MovementKind::CaseReserve => total.amount,
            _ => Decimal::ZERO,
        };
        if !(owed.is_zero() && reserved.is_zero()) {
            let mut add = |group: String| {
                let sums = row(&mut rows, group, total.currency);
                sums.outstanding += owed;
                sums.case_reserves += reserved;
            };
            match group_by {
                GroupBy::Product => add(total.product.clone()),
                GroupBy::Month => {
                    for (label, _) in ends.iter().filter(|(_, end)| total.date <= *end) {
                        add(label.clone());
                    }
                }
            }
        }
        if total.date < from {
            continue;
        }
        let sums = row(
            &mut rows,
            group_of(group_by, total.date, &total.product),
            total.currency,
        );
        match total.kind {
            MovementKind::ClaimFiled => sums.reported += total.count,
            kind if kind.is_incurred() => sums.incurred += total.amount,
            MovementKind::ClaimPaid => sums.paid += total.amount,
            _ => {}
        }
    }
    rows.into_iter()
        .filter(|(_, (_, s))| {
            s.reported > 0
                || !(s.incurred.is_zero()
                    && s.paid.is_zero()
                    && s.outstanding.is_zero()
                    && s.case_reserves.is_zero()
                    && s.earned.is_zero())
        })
        .map(|((group, _), (currency, s))| {
            let money = |amount: Decimal| Money::rounded(amount, currency);
            LossRow {
                group,
                reported: s.reported,
                incurred: money(s.incurred),
                paid: money(s.paid),
                outstanding: money(s.outstanding),
                case_reserves: money(s.case_reserves),
                earned: money(s.earned),
                loss_ratio: ratio(s.incurred, s.earned),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::kes;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn total(date: &str, product: &str, kind: MovementKind, amount: &str) -> DailyTotal {
        DailyTotal {
            date: day(date),
            product: product.into(),
            provider: None,
            currency: Currency::KES,
            kind,
            count: 1,
            open: 0,
            amount: amount.parse().unwrap(),
        }
    }

    fn earned(group: &str, amount: &str) -> PremiumRow {
        PremiumRow {
            group: group.into(),
            policies: 1,
            written: kes("0"),
            earned: kes(amount),
            unearned: kes("0"),
        }
    }

    /// Given a claim filed in October, approved for 30,000 in October and
    /// paid 10,000 in October and 20,000 in November, and another approved
    /// for 5,000 in November and closed unpaid in December.
    fn book() -> Vec<DailyTotal> {
        use MovementKind::*;
        vec![
            total("2026-10-03", "MOTOR", ClaimFiled, "45000"),
            total("2026-10-10", "MOTOR", ClaimApproved, "30000"),
            total("2026-10-20", "MOTOR", ClaimPaid, "10000"),
            total("2026-11-02", "MOTOR", ClaimPaid, "20000"),
            total("2026-11-05", "HEALTH", ClaimFiled, "8000"),
            total("2026-11-06", "HEALTH", ClaimApproved, "5000"),
            total("2026-12-01", "HEALTH", ClaimReleased, "-5000"),
        ]
    }

    #[test]
    fn by_month_incurred_is_approvals_less_releases_and_outstanding_carries_over() {
        let premiums = [earned("2026-10", "60000"), earned("2026-11", "62000")];
        let rows = losses(
            &book(),
            &premiums,
            day("2026-10-01"),
            day("2026-12-31"),
            GroupBy::Month,
        );
        let october = &rows[0];
        assert_eq!(october.group, "2026-10");
        assert_eq!(october.reported, 1);
        assert_eq!(october.incurred, kes("30000"));
        assert_eq!(october.paid, kes("10000"));
        assert_eq!(october.outstanding, kes("20000"));
        assert_eq!(october.loss_ratio, Some("0.5".parse().unwrap()));
        let november = &rows[1];
        assert_eq!((november.reported, november.incurred), (1, kes("5000")));
        assert_eq!(november.paid, kes("20000"));
        assert_eq!(november.outstanding, kes("5000"));
        // 5,000 ÷ 62,000 = 0.080645… → 0.0806
        assert_eq!(november.loss_ratio, Some("0.0806".parse().unwrap()));
        let december = &rows[2];
        assert_eq!(december.incurred, kes("-5000"));
        assert_eq!(december.outstanding, kes("0"));
        assert_eq!(december.loss_ratio, None, "nothing earned");
    }

    #[test]
    fn a_range_starting_later_counts_earlier_approvals_only_in_outstanding() {
        let rows = losses(
            &book(),
            &[],
            day("2026-11-01"),
            day("2026-11-30"),
            GroupBy::Month,
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].incurred, kes("5000"));
        assert_eq!(rows[0].paid, kes("20000"));
        assert_eq!(rows[0].outstanding, kes("5000"));
    }

    #[test]
    fn by_product_outstanding_is_at_the_ranges_end() {
        let premiums = [earned("MOTOR", "100000")];
        let rows = losses(
            &book(),
            &premiums,
            day("2026-10-01"),
            day("2026-11-30"),
            GroupBy::Product,
        );
        let groups: Vec<&str> = rows.iter().map(|r| r.group.as_str()).collect();
        assert_eq!(groups, ["HEALTH", "MOTOR"]);
        assert_eq!(rows[0].outstanding, kes("5000"));
        assert_eq!(rows[1].incurred, kes("30000"));
        assert_eq!(rows[1].outstanding, kes("0"));
        assert_eq!(rows[1].loss_ratio, Some("0.3".parse().unwrap()));
    }

    #[test]
    fn case_reserves_are_carried_to_each_months_end_and_are_not_incurred() {
        use MovementKind::*;
        // Given a claim reserved at 40,000 in October, raised to 50,000 in
        // November and approved for 45,000 in December (the reserve's
        // excess, 5,000, stays until the claim is paid in January).
        let totals = vec![
            total("2026-10-03", "MOTOR", ClaimFiled, "60000"),
            total("2026-10-04", "MOTOR", CaseReserve, "40000"),
            total("2026-11-09", "MOTOR", CaseReserve, "10000"),
            total("2026-12-01", "MOTOR", ClaimApproved, "45000"),
            total("2026-12-01", "MOTOR", CaseReserve, "-45000"),
            total("2027-01-15", "MOTOR", ClaimPaid, "45000"),
            total("2027-01-15", "MOTOR", CaseReserve, "-5000"),
        ];
        let rows = losses(
            &totals,
            &[],
            day("2026-11-01"),
            day("2027-01-31"),
            GroupBy::Month,
        );
        let by_month: Vec<(&str, Money, Money, Money)> = rows
            .iter()
            .map(|r| (r.group.as_str(), r.case_reserves, r.incurred, r.outstanding))
            .collect();
        assert_eq!(
            by_month,
            [
                ("2026-11", kes("50000"), kes("0"), kes("0")),
                ("2026-12", kes("5000"), kes("45000"), kes("45000")),
                ("2027-01", kes("0"), kes("0"), kes("0")),
            ]
        );
    }
}
