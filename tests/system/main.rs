//! End-to-end tests of ifinsure against a real PostgreSQL: the HTTP API on a
//! random port, the subscription runtime, the event store.

mod audit;
mod auth;
mod book;
mod claims;
mod cli;
mod common;
mod conventions;
mod demo;
mod dependable_workers;
mod docs;
mod documents;
mod egress;
mod event_store;
mod flutterwave;
mod integrations;
mod messaging;
mod mpesa;
mod notifications;
mod payments;
mod paystack;
mod policy_access;
mod production;
mod products;
mod quote_to_cash;
mod rebuild;
mod reminders;
mod reports;
mod restart;
mod security_headers;
mod separation_of_duties;
mod sessions;
mod stripe;
mod subscriptions;
mod temporary_postgres;
mod webhook_flood;
