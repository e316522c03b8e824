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
pub mod units;

use std::collections::HashMap;
use std::sync::Arc;

pub use provider::{PaymentProvider, ProviderError};

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
