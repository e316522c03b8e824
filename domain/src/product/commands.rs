//! What can be asked of a product, and the validation of the input.

use rust_decimal::Decimal;

use super::errors::ProductError;
use super::events::ProductTerms;
use super::{rate_is_valid, Line};
use crate::currency::Currency;
use crate::money::Money;
use crate::validation::ValidationErrors;

/// The commands of a `Product`.
#[derive(Debug, Clone, PartialEq)]
pub enum ProductCommand {
    /// Add a product to the catalogue.
    DefineProduct(NewProduct),
    /// Change pricing for new applications.
    Reprice {
        /// New rate (fraction, `0 < rate < 1`).
        rate: Decimal,
        /// New minimum premium (`>= 0`, product currency).
        minimum_premium: Money,
    },
    /// Change the commission its agents earn on premium paid from today.
    SetCommissionRate {
        /// The fraction of premium paid (`0 <= rate < 1`).
        rate: Decimal,
    },
    /// Stop taking new applications.
    Retire {
        /// Why, if given.
        reason: Option<String>,
    },
}

/// A product as requested, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProduct {
    /// Catalogue code.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Line of business.
    pub line: Line,
    /// Description.
    pub description: String,
    /// The product's currency.
    pub currency: Currency,
    /// Rate.
    pub rate: Decimal,
    /// Minimum premium.
    pub minimum_premium: Money,
    /// Lower sum-insured bound.
    pub sum_insured_min: Money,
    /// Upper sum-insured bound.
    pub sum_insured_max: Money,
    /// Term in months.
    pub term_months: u32,
    /// The agents' commission, a fraction of premium paid (`0 <= rate < 1`).
    pub commission_rate: Decimal,
}

/// The longest code, name and description accepted.
const MAX_CODE: usize = 32;
const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 4000;

impl NewProduct {
    /// Checks every rule and returns the terms to record.
    ///
    /// # Errors
    /// `ProductError::Validation` listing every broken rule.
    pub fn validate(self) -> Result<ProductTerms, ProductError> {
        let mut errors = ValidationErrors::new();
        let code_ok = !self.code.is_empty()
            && self.code.len() <= MAX_CODE
            && self
                .code
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_');
        errors.check(
            code_ok,
            "code",
            format!("must be 1 to {MAX_CODE} characters of A-Z, 0-9, '-' or '_'"),
        );
        let name = self.name.trim().to_string();
        errors.check(
            !name.is_empty() && name.chars().count() <= MAX_NAME,
            "name",
            format!("must be 1 to {MAX_NAME} characters"),
        );
        errors.check(
            self.description.chars().count() <= MAX_DESCRIPTION,
            "description",
            format!("must be at most {MAX_DESCRIPTION} characters"),
        );
        pricing_errors(&mut errors, self.currency, self.rate, &self.minimum_premium);
        for (field, money) in [
            ("sum_insured_min", &self.sum_insured_min),
            ("sum_insured_max", &self.sum_insured_max),
        ] {
            errors.check(
                money.currency() == self.currency,
                field,
                format!("must be in the product currency {}", self.currency),
            );
            errors.check(!money.is_negative(), field, "must not be negative");
        }
        errors.check(
            self.sum_insured_min.amount() <= self.sum_insured_max.amount(),
            "sum_insured_max",
            "must be at least sum_insured_min",
        );
        errors.check(
            (1..=120).contains(&self.term_months),
            "term_months",
            "must be between 1 and 120",
        );
        commission_errors(&mut errors, self.commission_rate);
        errors.into_result().map_err(ProductError::Validation)?;
        Ok(ProductTerms {
            code: self.code,
            name,
            line: self.line,
            description: self.description,
            rate: self.rate,
            minimum_premium: self.minimum_premium,
            sum_insured_min: self.sum_insured_min,
            sum_insured_max: self.sum_insured_max,
            term_months: self.term_months,
            commission_rate: self.commission_rate,
        })
    }
}

fn commission_errors(errors: &mut ValidationErrors, rate: Decimal) {
    errors.check(
        (Decimal::ZERO..Decimal::ONE).contains(&rate),
        "commission_rate",
        "must be a fraction from 0 up to (not including) 1",
    );
}

/// Checks a commission rate.
///
/// # Errors
/// `ProductError::Validation` when it is not a fraction `0 <= rate < 1`.
pub(super) fn validate_commission(rate: Decimal) -> Result<(), ProductError> {
    let mut errors = ValidationErrors::new();
    commission_errors(&mut errors, rate);
    errors.into_result().map_err(ProductError::Validation)
}

/// Checks a rate and minimum premium against a product currency.
///
/// # Errors
/// `ProductError::Validation` listing every broken rule.
pub(super) fn validate_pricing(
    currency: Currency,
    rate: Decimal,
    minimum_premium: &Money,
) -> Result<(), ProductError> {
    let mut errors = ValidationErrors::new();
    pricing_errors(&mut errors, currency, rate, minimum_premium);
    errors.into_result().map_err(ProductError::Validation)
}

fn pricing_errors(
    errors: &mut ValidationErrors,
    currency: Currency,
    rate: Decimal,
    minimum_premium: &Money,
) {
    errors.check(
        rate_is_valid(rate),
        "rate",
        "must be a fraction greater than 0 and less than 1, like \"0.035\"",
    );
    errors.check(
        minimum_premium.currency() == currency,
        "minimum_premium",
        format!("must be in the product currency {currency}"),
    );
    errors.check(
        !minimum_premium.is_negative(),
        "minimum_premium",
        "must not be negative",
    );
}
