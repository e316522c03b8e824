//! The `Product` aggregate: an insurance product in the catalogue, its
//! pricing terms, and whether it still takes new applications.

mod commands;
mod errors;
mod events;
mod premium;
#[cfg(test)]
mod tests;

pub use commands::{NewProduct, ProductCommand};
pub use errors::ProductError;
pub use events::{ProductEvent, ProductTerms};
pub use premium::{premium_for, QuoteError};

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::Money;

/// The line of business a product belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Line {
    /// Motor vehicles.
    Motor,
    /// Medical cover.
    Health,
    /// Life assurance.
    Life,
    /// Buildings and contents.
    Property,
    /// Travel cover.
    Travel,
    /// Anything else.
    Other,
}

impl Line {
    /// Every line.
    pub const ALL: [Line; 6] = [
        Line::Motor,
        Line::Health,
        Line::Life,
        Line::Property,
        Line::Travel,
        Line::Other,
    ];

    /// The line's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Line::Motor => "motor",
            Line::Health => "health",
            Line::Life => "life",
            Line::Property => "property",
            Line::Travel => "travel",
            Line::Other => "other",
        }
    }

    /// Parses a line by its name.
    ///
    /// # Errors
    /// A message listing the valid lines.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Line::ALL
            .into_iter()
            .find(|l| l.as_str() == raw)
            .ok_or_else(|| {
                "must be one of motor, health, life, property, travel, other".to_string()
            })
    }
}

/// Whether a product takes new applications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    /// Not defined yet (no events).
    #[default]
    Undefined,
    /// Takes new applications.
    Active,
    /// Takes no new applications; existing policies are unaffected.
    Retired,
}

/// The product's state, rebuilt from its events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// Its terms, once defined.
    pub terms: Option<ProductTerms>,
    /// Its status.
    pub status: ProductStatus,
    /// Why it was retired, if it was and a reason was given.
    pub retired_reason: Option<String>,
}

impl Product {
    /// The premium a new application would be quoted at these terms.
    ///
    /// # Errors
    /// `QuoteError` when the product is not active or the sum insured does
    /// not fit its bounds or currency.
    pub fn quote(&self, sum_insured: Money) -> Result<Money, QuoteError> {
        let terms = match (&self.terms, self.status) {
            (Some(terms), ProductStatus::Active) => terms,
            _ => return Err(QuoteError::ProductNotActive),
        };
        terms.quote(sum_insured)
    }

    fn defined_terms(&self) -> Result<&ProductTerms, ProductError> {
        self.terms.as_ref().ok_or(ProductError::NotFound)
    }
}

impl Aggregate for Product {
    const TYPE: &'static str = "Product";
    type Command = ProductCommand;
    type Event = ProductEvent;
    type Error = ProductError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ProductEvent::ProductDefined(terms) => {
                self.terms = Some(terms);
                self.status = ProductStatus::Active;
            }
            ProductEvent::ProductRepriced {
                rate,
                minimum_premium,
                ..
            } => {
                if let Some(terms) = self.terms.as_mut() {
                    terms.rate = rate;
                    terms.minimum_premium = minimum_premium;
                }
            }
            ProductEvent::CommissionRateSet { rate, .. } => {
                if let Some(terms) = self.terms.as_mut() {
                    terms.commission_rate = rate;
                }
            }
            ProductEvent::ProductRetired { reason } => {
                self.status = ProductStatus::Retired;
                self.retired_reason = reason;
            }
        }
    }
}

impl Product {
    /// Decides which events a command produces, without changing state.
    fn decide(&self, command: ProductCommand) -> Result<Vec<ProductEvent>, ProductError> {
        match command {
            ProductCommand::DefineProduct(new) => {
                if self.terms.is_some() {
                    return Err(ProductError::AlreadyDefined);
                }
                Ok(vec![ProductEvent::ProductDefined(new.validate()?)])
            }
            ProductCommand::Reprice {
                rate,
                minimum_premium,
            } => {
                let terms = self.defined_terms()?;
                if self.status == ProductStatus::Retired {
                    return Err(ProductError::Retired);
                }
                commands::validate_pricing(terms.currency(), rate, &minimum_premium)?;
                if terms.rate == rate && terms.minimum_premium == minimum_premium {
                    return Ok(vec![]);
                }
                Ok(vec![ProductEvent::ProductRepriced {
                    rate,
                    minimum_premium,
                    previous_rate: terms.rate,
                    previous_minimum_premium: terms.minimum_premium,
                }])
            }
            ProductCommand::SetCommissionRate { rate } => {
                // A retired product's policies still pay premium, and
                // their agents still earn on it: allowed when retired.
                let terms = self.defined_terms()?;
                commands::validate_commission(rate)?;
                if terms.commission_rate == rate {
                    return Ok(vec![]);
                }
                Ok(vec![ProductEvent::CommissionRateSet {
                    rate,
                    previous: terms.commission_rate,
                }])
            }
            ProductCommand::Retire { reason } => {
                self.defined_terms()?;
                if self.status == ProductStatus::Retired {
                    return Err(ProductError::Retired);
                }
                Ok(vec![ProductEvent::ProductRetired { reason }])
            }
        }
    }
}

/// A rate as a fraction; kept here so commands and events share its bounds.
pub fn rate_is_valid(rate: Decimal) -> bool {
    rate > Decimal::ZERO && rate < Decimal::ONE
}
