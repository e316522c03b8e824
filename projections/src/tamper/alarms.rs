//! Integrity alarms as the event store holds them (`IntegrityAlarm`
//! events): raised by the checkpoint writer, acknowledged by an admin.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

/// One alarm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alarm {
    /// Its id (the problem's fingerprint).
    pub id: String,
    /// What is broken.
    pub problem: String,
    /// When it was raised.
    pub raised_at: DateTime<Utc>,
    /// The admin's note, once acknowledged.
    pub acknowledged_note: Option<String>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// When.
    pub acknowledged_at: Option<DateTime<Utc>>,
}

/// Every alarm, oldest first.
///
/// # Errors
/// When the database fails.
pub async fn all(pool: &PgPool) -> Result<Vec<Alarm>, sqlx::Error> {
    sqlx::query_as!(
        Alarm,
        r#"SELECT r.aggregate_id AS id,
                  coalesce(r.payload -> 'IntegrityAlarmRaised' ->> 'problem', '') AS "problem!",
                  r.recorded_at AS raised_at,
                  a.payload -> 'IntegrityAlarmAcknowledged' ->> 'note' AS acknowledged_note,
                  a.metadata ->> 'user_id' AS acknowledged_by,
                  a.recorded_at AS "acknowledged_at?"
           FROM events r
           LEFT JOIN events a
             ON a.aggregate_type = r.aggregate_type AND a.aggregate_id = r.aggregate_id
            AND a.event_type = 'IntegrityAlarmAcknowledged'
           WHERE r.aggregate_type = 'IntegrityAlarm' AND r.event_type = 'IntegrityAlarmRaised'
           ORDER BY r.global_position"#
    )
    .fetch_all(pool)
    .await
}

/// The alarms not yet acknowledged.
///
/// # Errors
/// When the database fails.
pub async fn open(pool: &PgPool) -> Result<Vec<Alarm>, sqlx::Error> {
    Ok(all(pool)
        .await?
        .into_iter()
        .filter(|a| a.acknowledged_at.is_none())
        .collect())
}
