//! Process managers: subscriptions that turn one aggregate's events into
//! another's commands.
//!
//! - [`billing::BillingProcess`] (policy → invoice): approval, renewal and a
//!   premium-raising endorsement create invoices; cancellation and a
//!   premium-lowering endorsement refund through the original payments;
//!   cancellation and lapse void the invoices with nothing paid.
//! - [`policy::PolicyProcess`] (invoice → policy): money received is recorded
//!   on the policy; a paid premium invoice activates it (or its renewal).

pub mod billing;
pub mod policy;
