//! How the queue workers stand (`/health/workers`): for the notification
//! and payment queues, jobs waiting, in flight (claimed under a lease, or
//! with the provider awaiting its outcome), retrying after a failure, and
//! dead (given up on, each with a dead letter).

use serde::Serialize;
use sqlx::PgPool;

/// One queue's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueStatus {
    /// The worker (`notifications`, `payments`).
    pub name: &'static str,
    /// Due and not yet claimed.
    pub queued: i64,
    /// Claimed and being worked on, or (payments) submitted and awaiting
    /// the provider's outcome.
    pub in_flight: i64,
    /// Failed at least once and waiting for the next attempt.
    pub retrying: i64,
    /// Given up on.
    pub dead: i64,
}

/// The counts of every queue.
///
/// # Errors
/// When the database fails.
pub async fn status(pool: &PgPool) -> Result<Vec<QueueStatus>, sqlx::Error> {
    let notifications = sqlx::query!(
        r#"SELECT
             count(*) FILTER (WHERE status = 'queued' AND next_attempt_at <= now()) AS "queued!",
             count(*) FILTER (WHERE status = 'queued' AND next_attempt_at > now() AND last_error IS NULL) AS "in_flight!",
             count(*) FILTER (WHERE status = 'queued' AND next_attempt_at > now() AND last_error IS NOT NULL) AS "retrying!",
             count(*) FILTER (WHERE status = 'dead') AS "dead!"
           FROM notifications WHERE status IN ('queued', 'dead')"#
    )
    .fetch_one(pool)
    .await?;
    let payments = sqlx::query!(
        r#"SELECT
             count(*) FILTER (WHERE status = 'queued' AND next_attempt_at <= now()) AS "queued!",
             count(*) FILTER (WHERE status = 'submitted'
                              OR (status = 'queued' AND next_attempt_at > now() AND last_error IS NULL)) AS "in_flight!",
             count(*) FILTER (WHERE status = 'queued' AND next_attempt_at > now() AND last_error IS NOT NULL) AS "retrying!",
             count(*) FILTER (WHERE status = 'dead') AS "dead!"
           FROM payment_jobs WHERE status <> 'settled'"#
    )
    .fetch_one(pool)
    .await?;
    Ok(vec![
        QueueStatus {
            name: "notifications",
            queued: notifications.queued,
            in_flight: notifications.in_flight,
            retrying: notifications.retrying,
            dead: notifications.dead,
        },
        QueueStatus {
            name: "payments",
            queued: payments.queued,
            in_flight: payments.in_flight,
            retrying: payments.retrying,
            dead: payments.dead,
        },
    ])
}
