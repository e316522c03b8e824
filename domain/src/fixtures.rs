//! Test fixtures shared by the domain's tests.

use crate::currency::Currency;
use crate::money::Money;
use crate::product::{Line, NewProduct, Product, ProductEvent};
use cqrs_es::Aggregate as _;
use rust_decimal::Decimal;

/// `s` Kenyan shillings.
pub fn kes(s: &str) -> Money {
    Money::new(s.parse().unwrap(), Currency::KES).unwrap()
}

/// A twelve-month motor product `code` at `rate`, minimum premium 15,000,
/// sums insured 200,000 to 20,000,000.
pub fn motor_product(code: &str, rate: &str) -> Product {
    let mut product = Product::default();
    product.apply(ProductEvent::ProductDefined(
        NewProduct {
            code: code.into(),
            name: "Motor Comprehensive".into(),
            line: Line::Motor,
            description: String::new(),
            currency: Currency::KES,
            rate: rate.parse().unwrap(),
            minimum_premium: kes("15000"),
            sum_insured_min: kes("200000"),
            sum_insured_max: kes("20000000"),
            term_months: 12,
            commission_rate: Decimal::ZERO,
        }
        .validate()
        .unwrap(),
    ));
    product
}
