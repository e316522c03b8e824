//! The one place where our amounts become a provider's: integer minor units
//! (Stripe, Paystack: cents, kobo), whole units (M-Pesa: whole shillings) or
//! major-unit decimals (Flutterwave). A conversion that would not be exact
//! is refused, never rounded: a provider is never asked for a cent more or
//! less than the invoice says.

use projections::payment_jobs::PaymentJob;
use rust_decimal::Decimal;

use super::ProviderError;

/// The job's amount in its currency's minor units (`35000.00 KES` → 3500000).
///
/// # Errors
/// `Rejected` when the amount is not exact in minor units.
pub fn minor_units(job: &PaymentJob) -> Result<i64, ProviderError> {
    money(job)?
        .to_minor_units()
        .map_err(|e| ProviderError::Rejected(e.to_string()))
}

/// The job's amount as Stripe takes it: minor units, and for three-decimal
/// currencies (BHD, JOD, KWD, OMR, TND) a multiple of ten of them, as
/// Stripe requires ("round amounts to the nearest ten"); refused, never
/// rounded, when it is not.
///
/// # Errors
/// `Rejected` when the amount is not exact in minor units or its last
/// digit of a three-decimal currency is not 0.
pub fn stripe_units(job: &PaymentJob) -> Result<i64, ProviderError> {
    let money = money(job)?;
    let units = minor_units(job)?;
    if money.currency().minor_units() == 3 && units % 10 != 0 {
        return Err(ProviderError::Rejected(format!(
            "Stripe takes {} amounts in hundredths (the third decimal 0): {money} cannot be charged",
            money.currency().code()
        )));
    }
    Ok(units)
}

/// The job's amount in whole units (`35000.00 KES` → 35000); `35000.50`
/// cannot be sent through a provider that takes whole shillings.
///
/// # Errors
/// `Rejected` when the amount has a fraction.
pub fn whole_units(job: &PaymentJob) -> Result<i64, ProviderError> {
    money(job)?
        .to_whole_units()
        .map_err(|e| ProviderError::Rejected(e.to_string()))
}

/// The job's amount as a major-unit decimal (`35000.00`), for providers
/// that take decimals.
///
/// # Errors
/// `Rejected` when the stored amount is not valid money.
pub fn decimal(job: &PaymentJob) -> Result<Decimal, ProviderError> {
    Ok(money(job)?.amount())
}

fn money(job: &PaymentJob) -> Result<domain::Money, ProviderError> {
    job.money()
        .map_err(|e| ProviderError::Rejected(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(amount: &str, currency: &str) -> PaymentJob {
        let mut job = crate::payments::test_job("charge", "stripe", amount);
        job.currency = currency.into();
        job
    }

    #[test]
    fn stripe_takes_three_decimal_amounts_only_in_tens_of_the_smallest_unit() {
        assert_eq!(stripe_units(&job("1.230", "BHD")), Ok(1230));
        assert!(matches!(
            stripe_units(&job("1.234", "BHD")),
            Err(ProviderError::Rejected(reason)) if reason.contains("BHD")
        ));
        assert_eq!(stripe_units(&job("12.34", "USD")), Ok(1234));
        assert_eq!(stripe_units(&job("500", "UGX")), Ok(500));
    }
}
