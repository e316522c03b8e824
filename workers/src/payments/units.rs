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
