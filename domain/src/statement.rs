//! A customer's statement of account over a period, per currency: the
//! balance brought forward, each invoice, payment, voided invoice and
//! refund in order with the running balance, and the closing balance.
//!
//! The balance is what the customer owes (negative: in credit). An invoice
//! is a debit; a payment received, the unpaid part of an invoice voided or
//! reduced, and a credit note (premium given back by a cancellation, a
//! lapse or a lower endorsement) are credits; a refund paid out to the
//! customer is a debit, and so is premium earned and not paid that a
//! cancellation keeps from what was paid. So the closing balance is always
//! the open invoices' balances less the customer's credit.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::currency::Currency;
use crate::money::Money;
use crate::reports::movements::MovementKind;

/// One movement on the customer's account, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its business date.
    pub date: NaiveDate,
    /// What it was (invoice issued or voided, payment, refund).
    pub kind: MovementKind,
    /// What it is shown as.
    pub description: String,
    /// The amount as recorded (a void's is negative).
    pub amount: Money,
}

impl Entry {
    /// Its effect on the balance owed.
    fn effect(&self) -> Decimal {
        let amount = self.amount.amount();
        match self.kind {
            MovementKind::InvoiceIssued | MovementKind::RefundIssued => amount,
            MovementKind::InvoiceVoided => amount.min(-amount),
            MovementKind::PaymentSucceeded | MovementKind::CreditNote => -amount,
            _ => Decimal::ZERO,
        }
    }
}

/// One line of a statement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatementLine {
    /// Business date.
    pub date: NaiveDate,
    /// What happened.
    pub description: String,
    /// Owed more.
    pub debit: Option<Money>,
    /// Owed less.
    pub credit: Option<Money>,
    /// Owed after it.
    pub balance: Money,
}

/// A statement in one currency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    /// Its currency.
    pub currency: Currency,
    /// Owed at the start of the period.
    pub opening_balance: Money,
    /// The period's movements, in order.
    pub lines: Vec<StatementLine>,
    /// Debits in the period.
    pub total_debits: Money,
    /// Credits in the period.
    pub total_credits: Money,
    /// Owed at the end of the period.
    pub closing_balance: Money,
}

/// The statements of `entries` (in the order they happened) over
/// `[from, to]`, one per currency the customer has dealt in by `to`.
pub fn statements(entries: &[Entry], from: NaiveDate, to: NaiveDate) -> Vec<Statement> {
    let mut by_currency: BTreeMap<&'static str, Vec<&Entry>> = BTreeMap::new();
    for entry in entries
        .iter()
        .filter(|e| e.date <= to && e.effect() != Decimal::ZERO)
    {
        by_currency
            .entry(entry.amount.currency().code())
            .or_default()
            .push(entry);
    }
    by_currency
        .into_values()
        .filter_map(|entries| {
            let currency = entries.first()?.amount.currency();
            let money = |amount: Decimal| Money::rounded(amount, currency);
            let opening: Decimal = entries
                .iter()
                .filter(|e| e.date < from)
                .map(|e| e.effect())
                .sum();
            let (mut balance, mut debits, mut credits) = (opening, Decimal::ZERO, Decimal::ZERO);
            let mut lines = Vec::new();
            for entry in entries.iter().filter(|e| e.date >= from) {
                let effect = entry.effect();
                balance += effect;
                let (debit, credit) = if effect > Decimal::ZERO {
                    debits += effect;
                    (Some(money(effect)), None)
                } else {
                    credits -= effect;
                    (None, Some(money(-effect)))
                };
                lines.push(StatementLine {
                    date: entry.date,
                    description: entry.description.clone(),
                    debit,
                    credit,
                    balance: money(balance),
                });
            }
            Some(Statement {
                currency,
                opening_balance: money(opening),
                lines,
                total_debits: money(debits),
                total_credits: money(credits),
                closing_balance: money(balance),
            })
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

    fn entry(date: &str, kind: MovementKind, amount: &str) -> Entry {
        Entry {
            date: day(date),
            kind,
            description: format!("{} {amount}", kind.as_str()),
            amount: kes(amount),
        }
    }

    #[test]
    fn a_period_brings_the_balance_forward_and_runs_it_line_by_line() {
        use MovementKind::*;
        // Given an invoice paid in October, and in November a renewal
        // invoice, a part payment, a voided invoice and a refund.
        let entries = [
            entry("2026-10-01", InvoiceIssued, "35000"),
            entry("2026-10-02", PaymentSucceeded, "30000"),
            entry("2026-11-01", InvoiceIssued, "36000"),
            entry("2026-11-03", PaymentSucceeded, "20000"),
            entry("2026-11-10", InvoiceVoided, "-16000"),
            entry("2026-11-12", RefundIssued, "1500.50"),
            entry("2026-12-01", InvoiceIssued, "99999"),
        ];
        // When the November statement is drawn
        let statements = statements(&entries, day("2026-11-01"), day("2026-11-30"));
        // Then it opens at what October left owing and closes at the sum.
        assert_eq!(statements.len(), 1);
        let november = &statements[0];
        assert_eq!(november.opening_balance, kes("5000"));
        let balances: Vec<Money> = november.lines.iter().map(|l| l.balance).collect();
        assert_eq!(
            balances,
            [kes("41000"), kes("21000"), kes("5000"), kes("6500.50")]
        );
        assert_eq!(november.lines[1].credit, Some(kes("20000")));
        assert_eq!(november.lines[2].credit, Some(kes("16000")));
        assert_eq!(november.lines[3].debit, Some(kes("1500.50")));
        assert_eq!(november.total_debits, kes("37500.50"));
        assert_eq!(november.total_credits, kes("36000"));
        assert_eq!(november.closing_balance, kes("6500.50"));
    }

    #[test]
    fn an_overpayment_leaves_the_customer_in_credit() {
        use MovementKind::*;
        let entries = [
            entry("2026-11-01", InvoiceIssued, "1000"),
            entry("2026-11-02", PaymentSucceeded, "1200"),
        ];
        let statement = &statements(&entries, day("2026-11-01"), day("2026-11-30"))[0];
        assert_eq!(statement.closing_balance, kes("-200"));
    }

    #[test]
    fn nothing_dealt_in_gives_no_statement() {
        assert!(statements(&[], day("2026-11-01"), day("2026-11-30")).is_empty());
    }
}
