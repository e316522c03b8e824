//! The revenue report: payments by provider and outcome, the payment
//! success rate, and what was collected, refunded and kept.
//!
//! - A payment counts in the period it was asked for (requested, pending)
//!   or settled (succeeded, failed); a refund in the period it reached the
//!   customer.
//! - **Success rate**: succeeded ÷ (succeeded + failed); payments still
//!   pending are left out.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use super::movements::{group_of, ratio, DailyTotal, MovementKind};
use super::GroupBy;
use crate::currency::Currency;
use crate::money::Money;

/// One row of the revenue report: a group, provider and currency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CollectionRow {
    /// The month (`2026-11`) or product code.
    pub group: String,
    /// The payment provider.
    pub provider: String,
    /// Payments asked for.
    pub requested: u32,
    /// Of those asked for, still awaiting an outcome.
    pub pending: u32,
    /// Payments received.
    pub succeeded: u32,
    /// Payments failed.
    pub failed: u32,
    /// Succeeded ÷ (succeeded + failed), to four places.
    pub success_rate: Option<Decimal>,
    /// Received.
    pub collected: Money,
    /// Refunded to customers.
    pub refunded: Money,
    /// Collected less refunded.
    pub net: Money,
}

#[derive(Default)]
struct Sums {
    requested: u32,
    pending: u32,
    succeeded: u32,
    failed: u32,
    collected: Decimal,
    refunded: Decimal,
}

/// The revenue report over `[from, to]`; rows in group, provider and
/// currency order.
pub fn collections(
    totals: &[DailyTotal],
    from: NaiveDate,
    to: NaiveDate,
    group_by: GroupBy,
) -> Vec<CollectionRow> {
    let mut rows: BTreeMap<(String, String, &'static str), (Currency, Sums)> = BTreeMap::new();
    for total in totals.iter().filter(|t| (from..=to).contains(&t.date)) {
        let Some(provider) = &total.provider else {
            continue;
        };
        let key = (
            group_of(group_by, total.date, &total.product),
            provider.clone(),
            total.currency.code(),
        );
        let sums = &mut rows
            .entry(key)
            .or_insert_with(|| (total.currency, Sums::default()))
            .1;
        match total.kind {
            MovementKind::PaymentRequested => {
                sums.requested += total.count;
                sums.pending += total.open;
            }
            MovementKind::PaymentSucceeded => {
                sums.succeeded += total.count;
                sums.collected += total.amount;
            }
            MovementKind::PaymentFailed => sums.failed += total.count,
            MovementKind::RefundIssued => sums.refunded += total.amount,
            _ => {}
        }
    }
    rows.into_iter()
        .filter(|(_, (_, s))| s.requested + s.succeeded + s.failed > 0 || !s.refunded.is_zero())
        .map(|((group, provider, _), (currency, s))| {
            let money = |amount: Decimal| Money::rounded(amount, currency);
            CollectionRow {
                group,
                provider,
                requested: s.requested,
                pending: s.pending,
                succeeded: s.succeeded,
                failed: s.failed,
                success_rate: ratio(
                    Decimal::from(s.succeeded),
                    Decimal::from(s.succeeded + s.failed),
                ),
                collected: money(s.collected),
                refunded: money(s.refunded),
                net: money(s.collected - s.refunded),
            }
        })
        .collect()
}

/// The commission on `premium` at `rate`, half-up to the minor unit.
pub fn commission(premium: Money, rate: Decimal) -> Money {
    Money::rounded(premium.amount() * rate, premium.currency())
}

/// How much of a refund of `refund` returns premium (and so takes back
/// commission) when `overpayment_left` of the payment it returns was never
/// premium: a refund returns the overpayment first. Gives the premium part
/// and the overpayment then left.
pub fn refunded_premium(refund: Decimal, overpayment_left: Decimal) -> (Decimal, Decimal) {
    let from_overpayment = refund.min(overpayment_left.max(Decimal::ZERO));
    (
        refund - from_overpayment,
        overpayment_left - from_overpayment,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::kes;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn total(
        date: &str,
        provider: &str,
        kind: MovementKind,
        count: u32,
        open: u32,
        amount: &str,
    ) -> DailyTotal {
        DailyTotal {
            date: day(date),
            product: "MOTOR".into(),
            provider: Some(provider.into()),
            currency: Currency::KES,
            kind,
            count,
            open,
            amount: amount.parse().unwrap(),
        }
    }

    #[test]
    fn payments_are_counted_by_provider_with_the_success_rate_and_net_collected() {
        use MovementKind::*;
        let totals = [
            total("2026-11-01", "mpesa", PaymentRequested, 4, 1, "40000"),
            total("2026-11-01", "mpesa", PaymentSucceeded, 2, 0, "20000"),
            total("2026-11-02", "mpesa", PaymentFailed, 1, 0, "10000"),
            total("2026-11-20", "mpesa", RefundIssued, 1, 0, "2500.50"),
            total("2026-11-03", "stripe", PaymentRequested, 1, 0, "7000"),
            total("2026-11-03", "stripe", PaymentSucceeded, 1, 0, "7000"),
            total("2026-12-01", "stripe", PaymentSucceeded, 1, 0, "9999"),
        ];
        let rows = collections(
            &totals,
            day("2026-11-01"),
            day("2026-11-30"),
            GroupBy::Month,
        );
        assert_eq!(rows.len(), 2);
        let mpesa = &rows[0];
        assert_eq!(mpesa.provider, "mpesa");
        assert_eq!(
            (
                mpesa.requested,
                mpesa.pending,
                mpesa.succeeded,
                mpesa.failed
            ),
            (4, 1, 2, 1)
        );
        assert_eq!(mpesa.success_rate, Some("0.6667".parse().unwrap()));
        assert_eq!(mpesa.collected, kes("20000"));
        assert_eq!(mpesa.refunded, kes("2500.50"));
        assert_eq!(mpesa.net, kes("17499.50"));
        assert_eq!(
            rows[1].collected,
            kes("7000"),
            "December is outside the range"
        );
        assert_eq!(rows[1].success_rate, Some(Decimal::ONE));
    }

    #[test]
    fn commission_rounds_half_up_to_the_cent() {
        assert_eq!(
            commission(kes("1000.05"), "0.1".parse().unwrap()),
            kes("100.01")
        );
        assert_eq!(
            commission(kes("15000"), "0.075".parse().unwrap()),
            kes("1125")
        );
    }

    #[test]
    fn a_refund_returns_the_overpayment_before_premium() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(refunded_premium(d("300"), d("100")), (d("200"), d("0")));
        assert_eq!(refunded_premium(d("60"), d("100")), (d("0"), d("40")));
        assert_eq!(refunded_premium(d("50"), d("0")), (d("50"), d("0")));
    }
}
