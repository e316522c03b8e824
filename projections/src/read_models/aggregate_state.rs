//! Read models that keep their aggregate's whole state beside the columns
//! they are filtered on: each event is applied to the stored state with the
//! aggregate's own `apply`, so a row always equals a replay of its events,
//! and the API shows exactly what the aggregate decides on.

use cqrs_es::Aggregate;
use serde::de::DeserializeOwned;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::stored_event::StoredEvent;

/// The state of aggregate `id` after `event`: the row's stored state (none
/// before the first event) with the event applied.
///
/// # Errors
/// When the database fails, the stored state or the event does not decode, or
/// the row is missing for an event after the first.
pub async fn evolve<A>(
    conn: &mut PgConnection,
    table: &str,
    id: Uuid,
    event: &StoredEvent,
) -> anyhow::Result<A>
where
    A: Aggregate + Default + DeserializeOwned,
{
    let mut state = if event.sequence == 1 {
        A::default()
    } else {
        let stored: Option<serde_json::Value> =
            sqlx::query_scalar(&format!("SELECT state FROM {table} WHERE id = $1"))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
        match stored {
            Some(value) => serde_json::from_value(value)?,
            None => anyhow::bail!(
                "{table} has no row {id} before its event {}",
                event.sequence
            ),
        }
    };
    state.apply(event.decode::<A::Event>()?);
    Ok(state)
}
