//! Given/when/then tests of every product command and rejection, and
//! property tests of the premium formula.

use cqrs_es::test::TestFramework;
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::currency::Currency;
use crate::validation::ValidationErrors;

type ProductTestFramework = TestFramework<Product>;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn kes(s: &str) -> Money {
    Money::new(d(s), Currency::KES).unwrap()
}

fn motor() -> NewProduct {
    NewProduct {
        code: "MOTOR-COMP".into(),
        name: "Motor Comprehensive".into(),
        line: Line::Motor,
        description: "Private cars, comprehensive cover".into(),
        currency: Currency::KES,
        rate: d("0.035"),
        minimum_premium: kes("15000"),
        sum_insured_min: kes("200000"),
        sum_insured_max: kes("20000000"),
        term_months: 12,
        commission_rate: Decimal::ZERO,
    }
}

fn defined() -> ProductEvent {
    ProductEvent::ProductDefined(motor().validate().unwrap())
}

fn validation_fields(error: ProductError) -> Vec<String> {
    match error {
        ProductError::Validation(ValidationErrors(errors)) => {
            errors.into_iter().map(|e| e.field).collect()
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn define_result(new: NewProduct) -> Result<Vec<ProductEvent>, ProductError> {
    ProductTestFramework::with(())
        .given_no_previous_events()
        .when(ProductCommand::DefineProduct(new))
        .inspect_result()
}

#[test]
fn defining_a_product_records_its_terms() {
    ProductTestFramework::with(())
        .given_no_previous_events()
        .when(ProductCommand::DefineProduct(motor()))
        .then_expect_events(vec![defined()]);
}

#[test]
fn defining_trims_the_name() {
    let mut new = motor();
    new.name = "  Motor Comprehensive ".into();
    let events = define_result(new).unwrap();
    assert_eq!(events, vec![defined()]);
}

#[test]
fn defining_twice_is_refused() {
    ProductTestFramework::with(())
        .given(vec![defined()])
        .when(ProductCommand::DefineProduct(motor()))
        .then_expect_error(ProductError::AlreadyDefined);
}

#[test]
fn a_rate_of_zero_or_one_or_more_is_refused() {
    for rate in ["0", "1", "1.5", "-0.01"] {
        let mut new = motor();
        new.rate = d(rate);
        assert_eq!(
            validation_fields(define_result(new).unwrap_err()),
            ["rate"],
            "{rate}"
        );
    }
}

#[test]
fn a_negative_minimum_premium_is_refused() {
    let mut new = motor();
    new.minimum_premium = kes("-1");
    assert_eq!(
        validation_fields(define_result(new).unwrap_err()),
        ["minimum_premium"]
    );
}

#[test]
fn a_zero_minimum_premium_is_allowed() {
    let mut new = motor();
    new.minimum_premium = kes("0");
    assert!(define_result(new).is_ok());
}

#[test]
fn sum_insured_bounds_must_be_ordered() {
    let mut new = motor();
    new.sum_insured_min = kes("300000");
    new.sum_insured_max = kes("200000");
    assert_eq!(
        validation_fields(define_result(new).unwrap_err()),
        ["sum_insured_max"]
    );
}

#[test]
fn equal_sum_insured_bounds_are_allowed() {
    let mut new = motor();
    new.sum_insured_max = new.sum_insured_min;
    assert!(define_result(new).is_ok());
}

#[test]
fn term_must_be_between_1_and_120_months() {
    for months in [0, 121] {
        let mut new = motor();
        new.term_months = months;
        assert_eq!(
            validation_fields(define_result(new).unwrap_err()),
            ["term_months"]
        );
    }
    for months in [1, 120] {
        let mut new = motor();
        new.term_months = months;
        assert!(define_result(new).is_ok());
    }
}

#[test]
fn every_amount_must_be_in_the_product_currency() {
    let mut new = motor();
    let usd = |s: &str| Money::new(d(s), Currency::USD).unwrap();
    new.minimum_premium = usd("100");
    new.sum_insured_min = usd("1000");
    new.sum_insured_max = usd("5000");
    assert_eq!(
        validation_fields(define_result(new).unwrap_err()),
        ["minimum_premium", "sum_insured_min", "sum_insured_max"]
    );
}

#[test]
fn malformed_codes_and_empty_names_are_refused_together() {
    let mut new = motor();
    new.code = "motor comp".into();
    new.name = "   ".into();
    assert_eq!(
        validation_fields(define_result(new).unwrap_err()),
        ["code", "name"]
    );
}

#[test]
fn repricing_records_old_and_new_pricing() {
    ProductTestFramework::with(())
        .given(vec![defined()])
        .when(ProductCommand::Reprice {
            rate: d("0.04"),
            minimum_premium: kes("17500"),
        })
        .then_expect_events(vec![ProductEvent::ProductRepriced {
            rate: d("0.04"),
            minimum_premium: kes("17500"),
            previous_rate: d("0.035"),
            previous_minimum_premium: kes("15000"),
        }]);
}

#[test]
fn repricing_to_the_same_pricing_records_nothing() {
    ProductTestFramework::with(())
        .given(vec![defined()])
        .when(ProductCommand::Reprice {
            rate: d("0.035"),
            minimum_premium: kes("15000"),
        })
        .then_expect_events(vec![]);
}

#[test]
fn repricing_with_an_invalid_rate_is_refused() {
    let result = ProductTestFramework::with(())
        .given(vec![defined()])
        .when(ProductCommand::Reprice {
            rate: d("2"),
            minimum_premium: Money::new(d("1"), Currency::USD).unwrap(),
        })
        .inspect_result();
    assert_eq!(
        validation_fields(result.unwrap_err()),
        ["rate", "minimum_premium"]
    );
}

#[test]
fn repricing_an_unknown_product_is_not_found() {
    ProductTestFramework::with(())
        .given_no_previous_events()
        .when(ProductCommand::Reprice {
            rate: d("0.04"),
            minimum_premium: kes("1"),
        })
        .then_expect_error(ProductError::NotFound);
}

#[test]
fn repricing_a_retired_product_is_refused() {
    ProductTestFramework::with(())
        .given(vec![
            defined(),
            ProductEvent::ProductRetired { reason: None },
        ])
        .when(ProductCommand::Reprice {
            rate: d("0.04"),
            minimum_premium: kes("1"),
        })
        .then_expect_error(ProductError::Retired);
}

#[test]
fn setting_the_commission_rate_records_it_and_the_rate_before() {
    ProductTestFramework::with(())
        .given(vec![defined()])
        .when(ProductCommand::SetCommissionRate { rate: d("0.1") })
        .then_expect_events(vec![ProductEvent::CommissionRateSet {
            rate: d("0.1"),
            previous: Decimal::ZERO,
        }]);
}

#[test]
fn the_same_commission_rate_again_changes_nothing() {
    ProductTestFramework::with(())
        .given(vec![
            defined(),
            ProductEvent::CommissionRateSet {
                rate: d("0.1"),
                previous: Decimal::ZERO,
            },
        ])
        .when(ProductCommand::SetCommissionRate { rate: d("0.10") })
        .then_expect_events(vec![]);
}

#[test]
fn a_retired_products_commission_can_still_change() {
    // Its policies still pay premium and their agents still earn on it.
    ProductTestFramework::with(())
        .given(vec![
            defined(),
            ProductEvent::ProductRetired { reason: None },
        ])
        .when(ProductCommand::SetCommissionRate { rate: d("0.05") })
        .then_expect_events(vec![ProductEvent::CommissionRateSet {
            rate: d("0.05"),
            previous: Decimal::ZERO,
        }]);
}

#[test]
fn a_commission_rate_must_be_a_fraction_below_one() {
    for rate in ["-0.01", "1", "1.5"] {
        let error = ProductTestFramework::with(())
            .given(vec![defined()])
            .when(ProductCommand::SetCommissionRate { rate: d(rate) })
            .inspect_result()
            .unwrap_err();
        assert_eq!(validation_fields(error), vec!["commission_rate"], "{rate}");
    }
    let mut new = motor();
    new.commission_rate = d("1");
    assert_eq!(
        validation_fields(define_result(new).unwrap_err()),
        vec!["commission_rate"]
    );
}

#[test]
fn retiring_records_the_reason() {
    ProductTestFramework::with(())
        .given(vec![defined()])
        .when(ProductCommand::Retire {
            reason: Some("replaced by MOTOR-COMP-2".into()),
        })
        .then_expect_events(vec![ProductEvent::ProductRetired {
            reason: Some("replaced by MOTOR-COMP-2".into()),
        }]);
}

#[test]
fn retiring_twice_is_refused() {
    ProductTestFramework::with(())
        .given(vec![
            defined(),
            ProductEvent::ProductRetired { reason: None },
        ])
        .when(ProductCommand::Retire { reason: None })
        .then_expect_error(ProductError::Retired);
}

#[test]
fn retiring_an_unknown_product_is_not_found() {
    ProductTestFramework::with(())
        .given_no_previous_events()
        .when(ProductCommand::Retire { reason: None })
        .then_expect_error(ProductError::NotFound);
}

#[test]
fn a_retired_product_quotes_nothing() {
    let mut product = Product::default();
    product.apply(defined());
    product.apply(ProductEvent::ProductRetired { reason: None });
    assert_eq!(
        product.quote(kes("500000")),
        Err(QuoteError::ProductNotActive)
    );
}

#[test]
fn quotes_use_the_current_pricing() {
    let mut product = Product::default();
    product.apply(defined());
    assert_eq!(product.quote(kes("1000000")), Ok(kes("35000")));
    product.apply(ProductEvent::ProductRepriced {
        rate: d("0.04"),
        minimum_premium: kes("15000"),
        previous_rate: d("0.035"),
        previous_minimum_premium: kes("15000"),
    });
    assert_eq!(product.quote(kes("1000000")), Ok(kes("40000")));
}

#[test]
fn the_minimum_premium_applies_to_small_sums() {
    let mut product = Product::default();
    product.apply(defined());
    assert_eq!(product.quote(kes("200000")), Ok(kes("15000")));
}

#[test]
fn sums_outside_the_bounds_or_currency_are_not_quoted() {
    let mut product = Product::default();
    product.apply(defined());
    assert!(matches!(
        product.quote(kes("199999.99")),
        Err(QuoteError::SumInsuredOutOfRange { .. })
    ));
    assert!(matches!(
        product.quote(kes("20000000.01")),
        Err(QuoteError::SumInsuredOutOfRange { .. })
    ));
    assert_eq!(
        product.quote(Money::new(d("500000"), Currency::USD).unwrap()),
        Err(QuoteError::CurrencyMismatch {
            expected: Currency::KES
        })
    );
}

#[test]
fn premium_rounds_half_up_to_the_cent() {
    // 1234.50 × 0.035 = 43.2075 → 43.21; 100.10 × 0.05 = 5.005 → 5.01 (banker's gives 5.00).
    assert_eq!(
        premium_for(kes("1234.50"), d("0.035"), kes("0")),
        Ok(kes("43.21"))
    );
    assert_eq!(
        premium_for(kes("100.10"), d("0.05"), kes("0")),
        Ok(kes("5.01"))
    );
}

#[test]
fn premium_in_a_zero_decimal_currency_is_whole() {
    let ugx = Currency::parse("UGX").unwrap();
    let sum = Money::new(d("1000010"), ugx).unwrap();
    let premium = premium_for(sum, d("0.035"), Money::zero(ugx)).unwrap();
    assert_eq!(premium.amount(), d("35000")); // 35000.35 → 35000
}

fn currencies() -> impl Strategy<Value = Currency> {
    prop::sample::select(vec!["KES", "UGX", "USD", "BHD", "JPY"])
        .prop_map(|code| Currency::parse(code).unwrap())
}

proptest! {
    #[test]
    fn premium_is_never_below_the_minimum_and_is_in_minor_units(
        currency in currencies(),
        sum_minor in 0i64..10_000_000_000,
        rate_millionths in 1i64..999_999,
        minimum_minor in 0i64..100_000_000,
    ) {
        let scale = currency.minor_units();
        let sum = Money::new(Decimal::new(sum_minor, scale), currency).unwrap();
        let minimum = Money::new(Decimal::new(minimum_minor, scale), currency).unwrap();
        let rate = Decimal::new(rate_millionths, 6);
        let premium = premium_for(sum, rate, minimum).unwrap();
        prop_assert!(premium.amount() >= minimum.amount());
        prop_assert!(premium.amount().normalize().scale() <= scale);
        let exact = sum.amount() * rate;
        if premium != minimum {
            let half_unit = Decimal::new(5, scale + 1);
            prop_assert!((premium.amount() - exact).abs() <= half_unit);
        }
    }

    #[test]
    fn premium_never_falls_as_the_sum_insured_rises(
        a in 0i64..1_000_000_000,
        b in 0i64..1_000_000_000,
        rate_millionths in 1i64..999_999,
    ) {
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        let rate = Decimal::new(rate_millionths, 6);
        let minimum = kes("100");
        let p_low = premium_for(Money::new(Decimal::new(low, 2), Currency::KES).unwrap(), rate, minimum).unwrap();
        let p_high = premium_for(Money::new(Decimal::new(high, 2), Currency::KES).unwrap(), rate, minimum).unwrap();
        prop_assert!(p_low.amount() <= p_high.amount());
    }
}
