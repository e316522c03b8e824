//! Writes an agent makes for a customer: allowed while the customer is
//! assigned to them, and only then. The assignment is read from the
//! customer's account in the event store (not the users read model, which
//! can lag a reassignment) and held until the command's events are appended:
//! the append is guarded by the account's version ([`projections::Guard`]),
//! so a reassignment that commits first refuses the agent's command, and one
//! that commits after it comes after it in the stream.
//!
//! Customers and staff write without a guard: a customer's own records stay
//! theirs, and staff may act for anyone.

use cqrs_es::Aggregate;
use domain::user::User;
use domain::{Role, UserId};
use projections::{CommandMetadata, Committed, ExecuteError, Guard};
use uuid::Uuid;

use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::state::AppState;

/// How many times a write is decided again when the customer's account
/// changed meanwhile in a way that leaves the assignment (a password reset,
/// a preference), before `409 concurrency_conflict`.
const ATTEMPTS: usize = 3;

/// The aggregate written to.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// An existing aggregate, at the version `If-Match` named, if any.
    Existing(&'a str, Option<u64>),
    /// An aggregate under an id minted for this command.
    New(&'a str),
}

/// Runs `command` on `target` for `customer_id`, as
/// [`projections::EventStore::execute`] does, but when `principal` is an
/// agent only while the customer is assigned to them; `not_assigned` is the
/// answer when they are not (a `404` where the record is no longer theirs
/// to see, a `422` where the caller named the customer).
///
/// # Errors
/// `not_assigned()`; the command's own refusals; `409 concurrency_conflict`
/// when the customer's account kept changing.
pub async fn execute_for<A>(
    state: &AppState,
    principal: &Principal,
    customer_id: Uuid,
    target: Target<'_>,
    command: A::Command,
    metadata: &CommandMetadata,
    not_assigned: impl Fn() -> ApiError,
) -> Result<Committed<A>, ApiError>
where
    A: Aggregate<Services = ()> + Clone + 'static,
    A::Command: Clone + Send + Sync + 'static,
    A::Error: Send + Into<ApiError>,
{
    let mut attempt = 1;
    loop {
        let guards = guards(state, principal, customer_id)
            .await?
            .ok_or_else(&not_assigned)?;
        let store = &state.store;
        let result = match target {
            Target::Existing(id, expected) => {
                store
                    .execute_guarded::<A>(id, command.clone(), expected, guards, metadata)
                    .await
            }
            Target::New(id) => {
                store
                    .execute_new_guarded::<A>(id, command.clone(), guards, metadata)
                    .await
            }
        };
        match result {
            Err(ExecuteError::Changed { .. }) if attempt < ATTEMPTS => attempt += 1,
            other => return other.map_err(ApiError::from),
        }
    }
}

/// The guards `principal`'s write for `customer_id` must hold under: none
/// for customers and staff; for an agent, the customer's account at the
/// version that names them its agent. `None` when the agent is not the
/// customer's.
async fn guards(
    state: &AppState,
    principal: &Principal,
    customer_id: Uuid,
) -> Result<Option<Vec<Guard>>, ApiError> {
    if principal.role != Role::Agent {
        return Ok(Some(Vec::new()));
    }
    let (account, version) = state.store.load::<User>(&customer_id.to_string()).await?;
    let agent = account.profile.as_ref().and_then(|p| p.agent_id);
    if agent != Some(UserId(principal.user_id)) {
        return Ok(None);
    }
    Ok(Some(vec![Guard {
        aggregate_type: User::TYPE,
        aggregate_id: customer_id.to_string(),
        version,
    }]))
}
