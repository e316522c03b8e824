//! The premium formula: `max(sum_insured × rate, minimum_premium)`, rounded
//! half-up to the currency's minor unit.

use rust_decimal::Decimal;

use crate::currency::Currency;
use crate::money::{Money, MoneyError};

/// Why a premium could not be quoted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuoteError {
    /// The product is retired or not defined.
    #[error("the product is not active")]
    ProductNotActive,
    /// The sum insured is in another currency.
    #[error("the sum insured must be in {expected}")]
    CurrencyMismatch {
        /// The product's currency.
        expected: Currency,
    },
    /// The sum insured is outside the product's bounds.
    #[error("the sum insured must be between {min} and {max}")]
    SumInsuredOutOfRange {
        /// Lower bound.
        min: Money,
        /// Upper bound.
        max: Money,
    },
    /// Arithmetic overflow.
    #[error("the premium is out of range")]
    Overflow,
}

/// `max(sum_insured × rate, minimum_premium)`, rounded half-up.
///
/// # Errors
/// `CurrencyMismatch` when the minimum premium is in another currency,
/// `Overflow` when the product does not fit.
pub fn premium_for(
    sum_insured: Money,
    rate: Decimal,
    minimum_premium: Money,
) -> Result<Money, QuoteError> {
    let risk_premium = sum_insured
        .checked_mul_rounded(rate)
        .map_err(|_| QuoteError::Overflow)?;
    match risk_premium.checked_cmp(&minimum_premium) {
        Ok(std::cmp::Ordering::Less) => Ok(minimum_premium),
        Ok(_) => Ok(risk_premium),
        Err(MoneyError::CurrencyMismatch(_, expected)) => {
            Err(QuoteError::CurrencyMismatch { expected })
        }
        Err(_) => Err(QuoteError::Overflow),
    }
}
