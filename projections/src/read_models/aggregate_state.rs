//! Read models that keep their aggregate's whole state beside the columns
//! they are filtered on: each event is applied to the stored state with the
//! aggregate's own `apply`, so a row always equals a replay of its events,
//! and the API shows exactly what the aggregate decides on.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use serde::de::DeserializeOwned;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

/// One aggregate's row: its id, version, first and last event times, and
/// its state (`SELECT id, version, created_at, updated_at, state`).
#[derive(Debug, Clone)]
pub struct StateRow<A> {
    /// Aggregate id.
    pub id: Uuid,
    /// Aggregate version.
    pub version: i64,
    /// First event's time.
    pub created_at: DateTime<Utc>,
    /// Last event's time.
    pub updated_at: DateTime<Utc>,
    /// The aggregate's state.
    pub state: A,
}

impl<'r, A: DeserializeOwned> sqlx::FromRow<'r, PgRow> for StateRow<A> {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        let sqlx::types::Json(state) = row.try_get("state")?;
        Ok(Self {
            id: row.try_get("id")?,
            version: row.try_get("version")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            state,
        })
    }
}

/// The columns a [`StateRow`] is read from.
pub const STATE_COLUMNS: &str = "id, version, created_at, updated_at, state";

use crate::stored_event::StoredEvent;

/// The state of aggregate `id` after `event` (the row's stored state, none
/// before the first event, with the event applied), and the decoded event.
///
/// # Errors
/// When the database fails, the stored state or the event does not decode, or
/// the row is missing for an event after the first.
pub async fn evolve<A>(
    conn: &mut PgConnection,
    table: &str,
    id: Uuid,
    event: &StoredEvent,
) -> anyhow::Result<(A, A::Event)>
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
    let decoded = event.decode::<A::Event>()?;
    state.apply(decoded.clone());
    Ok((state, decoded))
}

/// The row of aggregate `id` in `table` (a live state table).
///
/// # Errors
/// When the database fails.
pub async fn get<A: DeserializeOwned + Send + Unpin>(
    pool: &sqlx::PgPool,
    table: &str,
    id: Uuid,
) -> Result<Option<StateRow<A>>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {STATE_COLUMNS} FROM {table} WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// The row of aggregate `id` in `table` (a live state table), if `scope`
/// may see it.
///
/// # Errors
/// When the database fails.
pub async fn get_scoped<A: DeserializeOwned + Send + Unpin>(
    pool: &sqlx::PgPool,
    table: &str,
    id: Uuid,
    scope: super::scope::Scope,
) -> Result<Option<StateRow<A>>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {STATE_COLUMNS} FROM {table} WHERE id = $1 AND {}",
        super::scope::scoped(2, 3)
    ))
    .bind(id)
    .bind(scope.customer())
    .bind(scope.agent())
    .fetch_optional(pool)
    .await
}
