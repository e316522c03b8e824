//! ifinsure's pure domain: aggregates, their commands, events and errors, and
//! the value types they are written in (money, currencies, ids, contacts).
//!
//! Nothing here does IO: no database, no HTTP, no clock. Everything an
//! aggregate needs from outside (the time, another aggregate's state) comes in
//! with the command, so every rule is unit-tested with cqrs-es's
//! given/when/then `TestFramework`.

pub mod branding;
pub mod claim;
pub mod contact;
pub mod currency;
pub mod dates;
pub mod delivery_reports;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod ids;
pub mod integration;
pub mod integrity_alarm;
pub mod invoice;
pub mod money;
pub mod mpesa;
pub mod notifications;
pub mod password_reset;
pub mod periods;
pub mod policy;
pub mod product;
pub mod reminders;
pub mod reports;
pub mod role;
pub mod sandbox;
pub mod settings;
pub mod signatures;
pub mod signed_id;
pub mod statement;
pub mod stripe_signature;
pub mod user;
pub mod validation;

pub use contact::{EmailAddress, PhoneNumber};
pub use currency::Currency;
pub use ids::{
    ClaimId, DocumentId, IntegrationId, InvoiceId, NoteId, PaymentId, PayoutId, PolicyId,
    ProductId, RefundId, UserId,
};
pub use money::Money;
pub use role::Role;
pub use validation::{FieldError, ValidationErrors};
