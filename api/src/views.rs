//! JSON shapes shared by every resource: money as `{amount, currency}` with a
//! decimal string amount.

use domain::Money;
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// `{"amount": "1250.00", "currency": "KES"}`.
pub fn money(amount: Decimal, currency: &str) -> Value {
    // Stored sums (`0`, `12.5`) are shown at the currency's minor units.
    let amount = match domain::Currency::parse(currency) {
        Ok(c) => domain::Money::rounded(amount, c).amount(),
        Err(_) => amount,
    };
    json!({"amount": amount.to_string(), "currency": currency})
}

/// A `Money` as JSON.
pub fn money_of(value: &Money) -> Value {
    money(value.amount(), value.currency().code())
}

/// An optional `Money` as JSON (`null` when absent).
pub fn money_opt(value: Option<&Money>) -> Value {
    value.map_or(Value::Null, money_of)
}
