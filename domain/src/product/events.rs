//! What happened to a product. Event type names and fields never change once
//! stored; a new shape gets a new `event_version` and an upcaster.

use cqrs_es::DomainEvent;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::premium::{premium_for, QuoteError};
use super::Line;
use crate::currency::Currency;
use crate::money::Money;

/// A product's terms as defined, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductTerms {
    /// Unique catalogue code (`MOTOR-COMP`).
    pub code: String,
    /// Display name.
    pub name: String,
    /// Line of business.
    pub line: Line,
    /// Description for customers.
    pub description: String,
    /// Premium rate as a fraction of the sum insured.
    pub rate: Decimal,
    /// The least premium charged.
    pub minimum_premium: Money,
    /// Smallest sum insured accepted.
    pub sum_insured_min: Money,
    /// Largest sum insured accepted.
    pub sum_insured_max: Money,
    /// Length of one policy term.
    pub term_months: u32,
    /// The agents' commission as a fraction of premium paid (none for
    /// products defined before commissions were recorded).
    #[serde(default)]
    pub commission_rate: Decimal,
}

impl ProductTerms {
    /// The product's currency (every amount is in it).
    pub fn currency(&self) -> Currency {
        self.minimum_premium.currency()
    }

    /// The premium for `sum_insured` at these terms.
    ///
    /// # Errors
    /// `QuoteError` when the currency differs or the sum is out of bounds.
    pub fn quote(&self, sum_insured: Money) -> Result<Money, QuoteError> {
        if sum_insured.currency() != self.currency() {
            return Err(QuoteError::CurrencyMismatch {
                expected: self.currency(),
            });
        }
        let amount = sum_insured.amount();
        if amount < self.sum_insured_min.amount() || amount > self.sum_insured_max.amount() {
            return Err(QuoteError::SumInsuredOutOfRange {
                min: self.sum_insured_min,
                max: self.sum_insured_max,
            });
        }
        premium_for(sum_insured, self.rate, self.minimum_premium)
    }
}

/// The events of a `Product`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProductEvent {
    /// The product was added to the catalogue, active.
    ProductDefined(ProductTerms),
    /// Its pricing changed; applies to new applications only.
    ProductRepriced {
        /// The new rate.
        rate: Decimal,
        /// The new minimum premium.
        minimum_premium: Money,
        /// The rate before.
        previous_rate: Decimal,
        /// The minimum premium before.
        previous_minimum_premium: Money,
    },
    /// The commission its agents earn on premium paid changed, from the
    /// business date of this event.
    CommissionRateSet {
        /// The new rate.
        rate: Decimal,
        /// The rate before.
        previous: Decimal,
    },
    /// It takes no new applications.
    ProductRetired {
        /// Why, if given.
        reason: Option<String>,
    },
}

impl DomainEvent for ProductEvent {
    fn event_type(&self) -> String {
        match self {
            ProductEvent::ProductDefined(_) => "ProductDefined",
            ProductEvent::ProductRepriced { .. } => "ProductRepriced",
            ProductEvent::CommissionRateSet { .. } => "CommissionRateSet",
            ProductEvent::ProductRetired { .. } => "ProductRetired",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}
