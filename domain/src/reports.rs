//! Report arithmetic, pure: premium written, earned and unearned from the
//! policies' premium ledgers (here); claims and loss ratios (`losses`),
//! collections and commissions (`collections`), overdue ageing and the
//! claims queue (`ageing`) from the reporting projection's movements.
//!
//! - Only terms that came into force count (a policy approved but never
//!   paid, or lapsed, wrote nothing).
//! - **Written**: a charge is written on its first day of cover; a
//!   cancellation writes back (negatively) what its charges had not earned
//!   by the last day of cover, on that day.
//! - **Earned**: each charge pro rata by day, rounded half-up once per
//!   charge and date (`Charge::earned_through`); a period earns what was
//!   earned by its last day less what was earned by the day before it, so
//!   the months of a year add up to the year exactly. Earning stops at a
//!   cancellation's last day of cover.
//! - **Unearned** (the unearned premium reserve) at a date: written by then
//!   less earned by then.

pub mod ageing;
pub mod collections;
pub mod losses;
pub mod movements;

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::currency::Currency;
use crate::money::Money;
use crate::policy::ledger::Charge;
use crate::policy::{Policy, PolicyStatus};

/// How report rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// One row per calendar month (`2026-11`).
    Month,
    /// One row per product code, for the whole range.
    Product,
}

impl GroupBy {
    /// Its name in a query (`month`, `product`).
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Month => "month",
            GroupBy::Product => "product",
        }
    }

    /// The grouping named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [GroupBy::Month, GroupBy::Product]
            .into_iter()
            .find(|g| g.as_str() == name)
    }
}

/// One row of the premium report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PremiumRow {
    /// The month (`2026-11`) or product code.
    pub group: String,
    /// Policies that wrote or earned premium in it.
    pub policies: u32,
    /// Premium written.
    pub written: Money,
    /// Premium earned.
    pub earned: Money,
    /// Unearned premium reserve at the group's last day.
    pub unearned: Money,
}

/// A policy's charges that came into force, and its last day of cover if
/// it was cancelled.
fn in_force_charges(policy: &Policy) -> Option<(Vec<&Charge>, Option<NaiveDate>)> {
    let in_force = policy.in_force?;
    let ledger = policy.ledger.as_ref()?;
    let last_term = match policy.pending_renewal() {
        Some(renewal) if policy.renewal_paid => renewal.number,
        _ => in_force,
    };
    let charges = ledger
        .charges
        .iter()
        .filter(|c| c.term_number <= last_term)
        .collect();
    let end = (policy.status == PolicyStatus::Cancelled)
        .then(|| policy.cancellation.as_ref().map(|c| c.effective_date))
        .flatten();
    Some((charges, end))
}

fn day_before(date: NaiveDate) -> NaiveDate {
    crate::dates::previous_day(date).unwrap_or(date)
}

/// What one policy's charges wrote, earned and left unearned over `[from, to]`.
fn figures(
    charges: &[&Charge],
    end: Option<NaiveDate>,
    from: NaiveDate,
    to: NaiveDate,
) -> [Decimal; 3] {
    let capped = |date: NaiveDate| end.map_or(date, |end| date.min(end));
    let earned_by = |c: &Charge, date: NaiveDate| c.earned_through(capped(date)).amount();
    let (mut written, mut earned, mut unearned) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    // A charge whose cover was cancelled before it began was never written.
    let began = |c: &&&Charge| end.is_none_or(|end| c.from <= end);
    for charge in charges.iter().filter(began) {
        let amount = charge.amount.amount();
        if (from..=to).contains(&charge.from) {
            written += amount;
        }
        earned += earned_by(charge, to) - earned_by(charge, day_before(from));
        let returned = end.map_or(Decimal::ZERO, |end| amount - earned_by(charge, end));
        if end.is_some_and(|end| (from..=to).contains(&end)) {
            written -= returned;
        }
        if charge.from <= to {
            let cancelled = end.is_some_and(|end| end <= to);
            let left =
                amount - earned_by(charge, to) - if cancelled { returned } else { Decimal::ZERO };
            unearned += left;
        }
    }
    [written, earned, unearned]
}

/// The premium report of `policies` over `[from, to]`, grouped; rows in
/// group order, then currency.
pub fn premiums<'a>(
    policies: impl IntoIterator<Item = &'a Policy>,
    from: NaiveDate,
    to: NaiveDate,
    group_by: GroupBy,
) -> Vec<PremiumRow> {
    let periods: Vec<(String, NaiveDate, NaiveDate)> = match group_by {
        GroupBy::Month => months(from, to),
        GroupBy::Product => vec![(String::new(), from, to)],
    };
    // Keyed by group and currency code (sorted); the currency itself kept.
    let mut rows: BTreeMap<(String, &'static str), (Currency, [Decimal; 3], u32)> = BTreeMap::new();
    for policy in policies {
        let Some((charges, end)) = in_force_charges(policy) else {
            continue;
        };
        let Some(ledger) = &policy.ledger else {
            continue;
        };
        let product = policy
            .application
            .as_ref()
            .map_or_else(String::new, |a| a.product_code.clone());
        for (label, start, finish) in &periods {
            let group = match group_by {
                GroupBy::Month => label.clone(),
                GroupBy::Product => product.clone(),
            };
            let values = figures(&charges, end, *start, *finish);
            let entry = rows.entry((group, ledger.currency.code())).or_insert((
                ledger.currency,
                [Decimal::ZERO; 3],
                0,
            ));
            for (total, value) in entry.1.iter_mut().zip(values) {
                *total += value;
            }
            if !values[0].is_zero() || !values[1].is_zero() {
                entry.2 += 1;
            }
        }
    }
    rows.into_iter()
        .map(
            |((group, _), (currency, [written, earned, unearned], policies))| {
                let money =
                    |amount: Decimal| Money::new(amount, currency).unwrap_or(Money::zero(currency));
                PremiumRow {
                    group,
                    policies,
                    written: money(written),
                    earned: money(earned),
                    unearned: money(unearned),
                }
            },
        )
        .collect()
}

/// The calendar months of `[from, to]`, each clipped to it.
pub fn months(from: NaiveDate, to: NaiveDate) -> Vec<(String, NaiveDate, NaiveDate)> {
    let mut months = Vec::new();
    let mut start = from;
    while start <= to {
        let next = NaiveDate::from_ymd_opt(
            start.year() + i32::from(start.month() == 12),
            start.month() % 12 + 1,
            1,
        );
        let Some(next) = next else { break };
        let end = day_before(next).min(to);
        months.push((
            format!("{:04}-{:02}", start.year(), start.month()),
            start,
            end,
        ));
        start = next;
    }
    months
}

#[cfg(test)]
mod tests;
