//! Money: a decimal amount in a currency, never a float.
//!
//! On the wire it is `{"amount": "1250.00", "currency": "KES"}`; the amount
//! must be a JSON string and may not carry more decimals than the currency's
//! minor unit. Rounding happens only where a rule says so, half-up (away from
//! zero), never banker's.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::currency::Currency;

/// An exact amount of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

/// Why two amounts could not be combined, or an amount not built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The amounts are in different currencies.
    #[error("currency mismatch: {0} and {1}")]
    CurrencyMismatch(Currency, Currency),
    /// More decimal places than the currency's minor unit allows.
    #[error("{currency} amounts have at most {minor_units} decimal places")]
    TooPrecise {
        /// The currency.
        currency: Currency,
        /// Its minor units.
        minor_units: u32,
    },
    /// The result does not fit.
    #[error("amount out of range")]
    Overflow,
    /// The amount has a fraction the target unit can't carry (M-Pesa takes
    /// whole shillings).
    #[error("{0} is not a whole number of units")]
    NotWhole(Money),
}

impl Money {
    /// An exact amount; refuses more precision than the currency has.
    ///
    /// # Errors
    /// `TooPrecise` when `amount` has more decimals than the minor unit.
    pub fn new(amount: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        let normalized = amount.normalize();
        if normalized.scale() > currency.minor_units() {
            return Err(MoneyError::TooPrecise {
                currency,
                minor_units: currency.minor_units(),
            });
        }
        Ok(Self::rescaled(amount, currency))
    }

    /// Rounds `amount` half-up (away from zero) to the currency's minor unit.
    pub fn rounded(amount: Decimal, currency: Currency) -> Self {
        let rounded = amount.round_dp_with_strategy(
            currency.minor_units(),
            RoundingStrategy::MidpointAwayFromZero,
        );
        Self::rescaled(rounded, currency)
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Self::rescaled(Decimal::ZERO, currency)
    }

    fn rescaled(mut amount: Decimal, currency: Currency) -> Self {
        amount.rescale(currency.minor_units());
        Self { amount, currency }
    }

    /// The amount, at the currency's scale.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The smaller of the two (`self` when equal). Amounts of two
    /// currencies compare by amount alone; callers check the currency.
    #[must_use]
    pub fn min(self, other: Money) -> Money {
        if other.amount < self.amount {
            other
        } else {
            self
        }
    }

    /// The same amount with the opposite sign.
    #[must_use]
    pub fn negated(&self) -> Money {
        Self::rescaled(-self.amount, self.currency)
    }

    /// Whether the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    /// `self + other`, same currency only.
    ///
    /// # Errors
    /// `CurrencyMismatch` or `Overflow`.
    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let sum = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Self::rescaled(sum, self.currency))
    }

    /// The sum of `amounts` in `currency`. An amount that can't be added
    /// (another currency, or past the range) is left out of the total.
    pub fn total(currency: Currency, amounts: impl IntoIterator<Item = Money>) -> Money {
        amounts.into_iter().fold(Money::zero(currency), |total, m| {
            total.checked_add(&m).unwrap_or(total)
        })
    }

    /// `self - other`, same currency only.
    ///
    /// # Errors
    /// `CurrencyMismatch` or `Overflow`.
    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let difference = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Self::rescaled(difference, self.currency))
    }

    /// `self × factor`, rounded half-up to the minor unit.
    ///
    /// # Errors
    /// `Overflow`.
    pub fn checked_mul_rounded(&self, factor: Decimal) -> Result<Money, MoneyError> {
        let product = self
            .amount
            .checked_mul(factor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Self::rounded(product, self.currency))
    }

    /// Compares two amounts of the same currency.
    ///
    /// # Errors
    /// `CurrencyMismatch`.
    pub fn checked_cmp(&self, other: &Money) -> Result<std::cmp::Ordering, MoneyError> {
        self.same_currency(other)?;
        Ok(self.amount.cmp(&other.amount))
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }
}

/// Conversions to and from the units providers speak, in one place: Stripe
/// and Paystack take integer minor units, M-Pesa whole shillings. Each
/// conversion is exact or refused, never rounded.
impl Money {
    /// The amount in minor units (cents): `12.50 KES` → `1250`.
    ///
    /// # Errors
    /// `Overflow` when it does not fit an `i64`.
    pub fn to_minor_units(&self) -> Result<i64, MoneyError> {
        let scaled = self
            .amount
            .checked_mul(Decimal::from(10i64.pow(self.currency.minor_units())))
            .ok_or(MoneyError::Overflow)?;
        i64::try_from(scaled.trunc()).map_err(|_| MoneyError::Overflow)
    }

    /// An amount from minor units: `1250` KES → `12.50 KES`.
    pub fn from_minor_units(units: i64, currency: Currency) -> Self {
        Self::rescaled(Decimal::new(units, currency.minor_units()), currency)
    }

    /// The amount in whole major units: `1250.00 KES` → `1250`.
    ///
    /// # Errors
    /// `NotWhole` when it has a fraction; `Overflow` when it does not fit.
    pub fn to_whole_units(&self) -> Result<i64, MoneyError> {
        if !self.amount.fract().is_zero() {
            return Err(MoneyError::NotWhole(*self));
        }
        i64::try_from(self.amount.trunc()).map_err(|_| MoneyError::Overflow)
    }
}

impl Money {
    /// As people read it: `KES 1,250,000.00` (thousands grouped, the
    /// currency's decimals), for documents and messages.
    pub fn grouped(&self) -> String {
        let amount = self.amount.to_string();
        let (whole, fraction) = amount.split_once('.').unwrap_or((&amount, ""));
        let (sign, digits) = whole.strip_prefix('-').map_or(("", whole), |d| ("-", d));
        let mut grouped = String::new();
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        let fraction = if fraction.is_empty() {
            String::new()
        } else {
            format!(".{fraction}")
        };
        format!("{} {sign}{grouped}{fraction}", self.currency)
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.currency, self.amount)
    }
}

#[derive(Serialize, Deserialize)]
struct MoneyWire {
    amount: String,
    currency: String,
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        MoneyWire {
            amount: self.amount.to_string(),
            currency: self.currency.code().to_string(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let wire = MoneyWire::deserialize(deserializer)?;
        let currency = Currency::parse(&wire.currency).map_err(D::Error::custom)?;
        let amount = parse_decimal(&wire.amount).map_err(D::Error::custom)?;
        Money::new(amount, currency).map_err(D::Error::custom)
    }
}

/// Parses a plain decimal string (`"1250.00"`, `"-3"`, `"0.035"`); no
/// exponents, no thousands separators, no surrounding spaces.
///
/// # Errors
/// A message for the client.
pub fn parse_decimal(raw: &str) -> Result<Decimal, String> {
    let well_formed = {
        let body = raw.strip_prefix('-').unwrap_or(raw);
        let mut parts = body.splitn(2, '.');
        let int = parts.next().unwrap_or("");
        let frac = parts.next();
        !int.is_empty()
            && int.chars().all(|c| c.is_ascii_digit())
            && frac.is_none_or(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
    };
    if !well_formed {
        return Err(format!("`{raw}` is not a decimal number like \"1250.00\""));
    }
    raw.parse::<Decimal>()
        .map_err(|_| format!("`{raw}` is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(amount: &str, currency: &str) -> Money {
        Money::new(amount.parse().unwrap(), Currency::parse(currency).unwrap()).unwrap()
    }

    #[test]
    fn minor_units_follow_the_currency_and_round_trip_exactly() {
        assert_eq!(money("12.50", "KES").to_minor_units(), Ok(1250));
        assert_eq!(money("5000", "UGX").to_minor_units(), Ok(5000));
        assert_eq!(money("1.234", "BHD").to_minor_units(), Ok(1234));
        assert_eq!(
            Money::from_minor_units(1250, Currency::KES),
            money("12.50", "KES")
        );
        assert_eq!(
            Money::from_minor_units(-5, Currency::KES),
            money("-0.05", "KES")
        );
    }

    #[test]
    fn whole_units_refuse_fractions() {
        assert_eq!(money("1250.00", "KES").to_whole_units(), Ok(1250));
        assert_eq!(
            money("1250.50", "KES").to_whole_units(),
            Err(MoneyError::NotWhole(money("1250.50", "KES")))
        );
    }

    #[test]
    fn amounts_read_grouped_by_thousands() {
        assert_eq!(money("1250000", "KES").grouped(), "KES 1,250,000.00");
        assert_eq!(money("999.5", "KES").grouped(), "KES 999.50");
        assert_eq!(money("-15726.03", "KES").grouped(), "KES -15,726.03");
        assert_eq!(money("5000000", "UGX").grouped(), "UGX 5,000,000");
    }

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn serializes_amount_as_string_at_currency_scale() {
        let m = Money::new(dec("1250"), Currency::KES).unwrap();
        assert_eq!(
            serde_json::to_value(m).unwrap(),
            serde_json::json!({"amount": "1250.00", "currency": "KES"})
        );
    }

    #[test]
    fn zero_decimal_currencies_have_no_point() {
        let ugx = Currency::parse("UGX").unwrap();
        let m = Money::rounded(dec("1500.5"), ugx);
        assert_eq!(m.amount().to_string(), "1501");
    }

    #[test]
    fn float_amounts_are_refused() {
        let r: Result<Money, _> =
            serde_json::from_value(serde_json::json!({"amount": 12.5, "currency": "KES"}));
        assert!(r.is_err());
    }

    #[test]
    fn over_precise_amounts_are_refused() {
        let r: Result<Money, _> =
            serde_json::from_value(serde_json::json!({"amount": "12.505", "currency": "KES"}));
        assert!(r
            .unwrap_err()
            .to_string()
            .contains("at most 2 decimal places"));
        let ok: Money =
            serde_json::from_value(serde_json::json!({"amount": "12.500", "currency": "KES"}))
                .unwrap();
        assert_eq!(ok.amount().to_string(), "12.50");
    }

    #[test]
    fn malformed_decimals_are_refused() {
        for bad in ["", "1e5", "1,000", " 1", "1.", ".5", "abc", "--1"] {
            assert!(parse_decimal(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rounding_is_half_up_not_bankers() {
        assert_eq!(
            Money::rounded(dec("0.125"), Currency::KES).amount(),
            dec("0.13")
        );
        assert_eq!(
            Money::rounded(dec("0.135"), Currency::KES).amount(),
            dec("0.14")
        );
        assert_eq!(
            Money::rounded(dec("-0.125"), Currency::KES).amount(),
            dec("-0.13")
        );
    }

    #[test]
    fn mixing_currencies_is_an_error() {
        let a = Money::zero(Currency::KES);
        let b = Money::zero(Currency::USD);
        assert_eq!(
            a.checked_add(&b),
            Err(MoneyError::CurrencyMismatch(Currency::KES, Currency::USD))
        );
    }
}
