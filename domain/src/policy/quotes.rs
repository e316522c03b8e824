//! What a command would give, asked before it is given, with the very
//! rules that decide it, and nothing recorded: the premium and cover of an
//! application, and the refund of a cancellation.

use chrono::NaiveDate;
use serde::Serialize;

use super::commands::{NewApplication, PolicyCommand};
use super::errors::PolicyError;
use super::events::{Application, PolicyEvent};
use super::Policy;
use crate::money::Money;

/// What a cancellation on a date would give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CancellationQuote {
    /// Refunded to the customer.
    pub refund: Money,
    /// Kept: what was paid less the refund.
    pub retained: Money,
    /// The last day of cover.
    pub effective_date: NaiveDate,
}

impl Policy {
    /// The application `new` would record (its premium, its cover
    /// period), as submitting it would decide.
    ///
    /// # Errors
    /// As submitting it: the product retired, a sum insured outside its
    /// range, a start date too far back or ahead.
    pub fn quote(new: NewApplication) -> Result<Application, PolicyError> {
        let events = Policy::default().decide(PolicyCommand::SubmitApplication(new))?;
        events
            .into_iter()
            .find_map(|event| match event {
                PolicyEvent::ApplicationSubmitted(application) => Some(application),
                _ => None,
            })
            .ok_or(PolicyError::NotFound)
    }

    /// What cancelling on `effective_date` would refund and keep, as
    /// cancelling would decide.
    ///
    /// # Errors
    /// As cancelling: the policy not approved or active, a date past cover.
    pub fn cancellation_quote(
        &self,
        effective_date: NaiveDate,
    ) -> Result<CancellationQuote, PolicyError> {
        let command = PolicyCommand::Cancel {
            reason: "quote".into(),
            effective_date,
            cancelled_by: None,
        };
        let refund = self
            .decide(command)?
            .into_iter()
            .find_map(|event| match event {
                PolicyEvent::PolicyCancelled { refund, .. } => Some(refund),
                _ => None,
            })
            .ok_or(PolicyError::NotFound)?;
        let paid = self
            .ledger
            .as_ref()
            .map_or(Money::zero(refund.currency()), |l| l.paid_net(|_| true));
        Ok(CancellationQuote {
            retained: paid.checked_sub(&refund).unwrap_or(paid),
            refund,
            effective_date,
        })
    }
}
