//! Follow-up commands: what a process manager sends because of an event.
//!
//! Each carries the causing event's id (`event:<global position>`) as its
//! causation id and the event's correlation id, so an auditor can follow a
//! policy from application to refund across aggregates. Handling an event
//! twice sends the same command twice; aggregates make that a no-op.

use cqrs_es::Aggregate;
use projections::{CommandMetadata, Committed, EventStore, ExecuteError, StoredEvent};

/// Metadata of a command that `worker` sends because of `event`.
pub fn caused_by(event: &StoredEvent, worker: &str) -> CommandMetadata {
    let cause = event.id();
    CommandMetadata {
        user_id: None,
        role: "system".into(),
        request_id: format!("{worker}:{}", event.global_position),
        correlation_id: event
            .metadata_str("correlation_id")
            .map_or_else(|| cause.clone(), str::to_string),
        causation_id: cause,
        client_ip: None,
        provider_event_id: None,
    }
}

/// Sends `command` to aggregate `id`. A refusal by the aggregate is logged
/// and accepted (the event's consequence no longer applies, or was carried
/// out already); a store failure is returned so the event is handled again.
///
/// # Errors
/// When the store fails or keeps conflicting.
pub async fn send<A>(
    store: &EventStore,
    id: &str,
    command: A::Command,
    metadata: &CommandMetadata,
) -> anyhow::Result<Option<Committed<A>>>
where
    A: Aggregate<Services = ()> + Clone + 'static,
    A::Command: Clone + Send + Sync + std::fmt::Debug + 'static,
    A::Error: Send,
{
    let description = format!("{command:?}");
    match store.execute::<A>(id, command, None, metadata).await {
        Ok(committed) => Ok(Some(committed)),
        Err(ExecuteError::Domain(error)) => {
            tracing::info!(
                aggregate_type = A::TYPE,
                aggregate_id = id,
                %error,
                command = description.chars().take(200).collect::<String>(),
                "follow-up refused by the aggregate; nothing to do"
            );
            Ok(None)
        }
        Err(error) => Err(anyhow::anyhow!("{} {id}: {error}", A::TYPE)),
    }
}
