//! A record's history as its single view shows it (a claim's `timeline`, a
//! policy's `history`): each event the viewer may see, in order, with what
//! happened, who did it (their id, role and name) and when; every event
//! checked against its seal first.

use std::collections::HashMap;

use projections::read_models::users;
use projections::{ExecuteError, StoredEvent};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// The events of `aggregate_type` `id` that `shown` keeps, as entries.
///
/// # Errors
/// When the store fails or an event fails its seal.
pub async fn entries<E>(
    state: &AppState,
    aggregate_type: &str,
    id: Uuid,
    shown: impl Fn(&StoredEvent) -> bool,
) -> Result<Vec<Value>, ApiError>
where
    E: std::error::Error,
    ExecuteError<E>: Into<ApiError>,
{
    let events = state
        .store
        .history::<E>(aggregate_type, &id.to_string())
        .await
        .map_err(Into::into)?;
    let mut names: HashMap<Uuid, Option<String>> = HashMap::new();
    let mut entries = Vec::with_capacity(events.len());
    for event in events.iter().filter(|e| shown(e)) {
        let user_id = event
            .metadata_str("user_id")
            .and_then(|u| u.parse::<Uuid>().ok());
        let user_name = match user_id {
            Some(user) => match names.get(&user) {
                Some(name) => name.clone(),
                None => {
                    let name = users::get(&state.pool, user).await?.map(|u| u.full_name);
                    names.insert(user, name.clone());
                    name
                }
            },
            None => None,
        };
        entries.push(json!({
            "sequence": event.sequence,
            "event_type": event.event_type,
            "recorded_at": event.recorded_at,
            "user_id": event.metadata_str("user_id"),
            "user_name": user_name,
            "role": event.metadata_str("role"),
        }));
    }
    Ok(entries)
}
