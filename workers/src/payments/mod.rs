//! Payments: the provider adapters, the outbox subscription that records
//! what to send, the worker that sends it, and reconciliation.
//!
//! A requested payment becomes an event on its invoice; the [`outbox`]
//! subscription records a job for it in the same transaction as its
//! checkpoint; the [`runner`] claims due jobs and calls the provider with the
//! job's idempotency key; the provider's webhook (api) or a status query
//! ([`reconcile`]) records the outcome on the invoice.

pub mod flutterwave;
pub mod mpesa;
pub mod outbox;
pub mod paystack;
pub mod provider;
pub mod reconcile;
pub mod routing;
pub mod runner;
pub mod sandbox;
pub mod stripe;
pub mod uncertain;
pub mod units;

use std::collections::HashMap;
use std::sync::Arc;

pub use provider::{Lookup, PaymentProvider, ProviderError, Submission};

/// What a payer asked on their phone reads: the amount and what to do.
pub(crate) fn approve_on_phone(job: &projections::payment_jobs::PaymentJob) -> String {
    let amount = job.money().map_or_else(
        |_| format!("{} {}", job.currency, job.amount),
        |m| m.to_string(),
    );
    format!("Check your phone: approve the payment of {amount} with your M-Pesa PIN.")
}

/// Where a payer comes back to from a provider's hosted checkout: the
/// configuration's own return URL when it names one, else the invoice's
/// page in our console, which shows the payment as it settles.
pub(crate) fn return_url(
    configured: Option<&str>,
    public_base_url: &str,
    job: &projections::payment_jobs::PaymentJob,
) -> String {
    configured.map_or_else(
        || {
            format!(
                "{}/invoices/{}?payment={}",
                public_base_url.trim_end_matches('/'),
                job.aggregate_id,
                job.payment_id
            )
        },
        str::to_string,
    )
}

/// The configured providers, by name.
#[derive(Clone, Default)]
pub struct Providers {
    by_name: HashMap<String, Arc<dyn PaymentProvider>>,
}

impl Providers {
    /// Adds (or replaces) `provider` under its name.
    pub fn with(mut self, provider: Arc<dyn PaymentProvider>) -> Self {
        self.by_name.insert(provider.name().to_string(), provider);
        self
    }

    /// The provider called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn PaymentProvider>> {
        self.by_name.get(name)
    }
}

/// A job for adapter tests: `kind` of `amount` KES through `provider`, id
/// 7 on invoice (or claim) 8, keyed `{kind}-{id}`, submitted once.
#[cfg(test)]
pub(crate) fn test_job(
    kind: &str,
    provider: &str,
    amount: &str,
) -> projections::payment_jobs::PaymentJob {
    let id = uuid::Uuid::from_u128(7);
    projections::payment_jobs::PaymentJob {
        id,
        kind: kind.into(),
        aggregate_type: if kind == "payout" { "Claim" } else { "Invoice" }.into(),
        aggregate_id: uuid::Uuid::from_u128(8),
        payment_id: id,
        provider: provider.into(),
        amount: amount.parse().expect("a test amount"),
        currency: "KES".into(),
        idempotency_key: format!("{kind}-{id}"),
        payer_contact: None,
        original_reference: None,
        provider_reference: None,
        status: "queued".into(),
        attempts: 1,
        last_error: None,
        correlation_id: "c".into(),
        causation_id: "e".into(),
        submitted_at: None,
        config_id: None,
        provider_receipt: None,
        original_amount: None,
    }
}
