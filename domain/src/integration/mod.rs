//! The Integrations Center's domain: the provider [`catalogue`] and the
//! `IntegrationConfig` aggregate — one configured provider in one
//! environment. Its events record who changed what, and which credential
//! fields were set, never the secret values (those are encrypted outside the
//! event store).

pub mod catalogue;
mod config;
pub mod egress;
#[cfg(test)]
mod tests;

pub use config::{
    takes, ConfigDetails, ConnectionTest, Environment, IntegrationCommand, IntegrationConfig,
    IntegrationError, IntegrationEvent, NewConfig, Settings, CURRENCIES,
};
