//! The notification log (`notifications`), which is also the notification
//! worker's queue: rows are written by the notifications subscription in its
//! checkpoint transaction (one per event, template, channel and recipient:
//! a redelivered event adds nothing), claimed under a lease with
//! `FOR UPDATE SKIP LOCKED`, and marked sent, retried or dead.

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::delivery_reports::Delivery;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification<'a> {
    /// Its id.
    pub id: Uuid,
    /// The event it is about (`event:<position>`).
    pub event_id: &'a str,
    /// Template name.
    pub template: &'a str,
    /// `email` or `sms`.
    pub channel: &'a str,
    /// The user it goes to.
    pub recipient_id: Option<Uuid>,
    /// Address or phone number.
    pub recipient: &'a str,
    /// Email subject.
    pub subject: Option<&'a str>,
    /// Text (the SMS, or the email's plain part).
    pub body_text: &'a str,
    /// The email's HTML part.
    pub body_html: Option<&'a str>,
    /// The business flow.
    pub correlation_id: &'a str,
}

/// Records `notification` unless that event already has it for that
/// template, channel and recipient. Returns whether it was new.
///
/// # Errors
/// When the database fails.
pub async fn insert(
    conn: &mut PgConnection,
    notification: &NewNotification<'_>,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        r#"INSERT INTO notifications (id, event_id, template, channel, recipient_id, recipient, subject,
               body_text, body_html, correlation_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (event_id, template, channel, recipient) DO NOTHING"#,
        notification.id,
        notification.event_id,
        notification.template,
        notification.channel,
        notification.recipient_id,
        notification.recipient,
        notification.subject,
        notification.body_text,
        notification.body_html,
        notification.correlation_id,
    )
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// A notification as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// Its id.
    pub id: Uuid,
    /// The event it is about.
    pub event_id: String,
    /// Template name.
    pub template: String,
    /// `email` or `sms`.
    pub channel: String,
    /// The user it goes to.
    pub recipient_id: Option<Uuid>,
    /// Address or phone number.
    pub recipient: String,
    /// Email subject.
    pub subject: Option<String>,
    /// Text.
    #[serde(skip)]
    pub body_text: String,
    /// HTML.
    #[serde(skip)]
    pub body_html: Option<String>,
    /// `queued`, `sent`, then `delivered` or `failed` as the provider
    /// reports; `dead` when it could not be sent.
    pub status: String,
    /// Sending attempts so far.
    pub attempts: i32,
    /// The last failure.
    pub last_error: Option<String>,
    /// Who carried it.
    pub provider: Option<String>,
    /// Their id of it.
    pub provider_message_id: Option<String>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
    /// When the provider reported it delivered or failed.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Why it failed to be delivered, in the provider's words.
    pub delivery_detail: Option<String>,
}

/// Claims up to `limit` due notifications, leasing them for `lease`.
///
/// # Errors
/// When the database fails.
pub async fn claim_due(
    pool: &PgPool,
    limit: i64,
    lease: Duration,
) -> Result<Vec<Notification>, sqlx::Error> {
    sqlx::query_as!(
        Notification,
        r#"UPDATE notifications n SET attempts = n.attempts + 1,
                  next_attempt_at = now() + make_interval(secs => $2)
           FROM (SELECT id FROM notifications
                 WHERE status = 'queued' AND next_attempt_at <= now()
                 ORDER BY next_attempt_at LIMIT $1
                 FOR UPDATE SKIP LOCKED) due
           WHERE n.id = due.id
           RETURNING n.id, n.event_id, n.template, n.channel, n.recipient_id, n.recipient, n.subject,
                     n.body_text, n.body_html, n.status, n.attempts, n.last_error, n.provider,
                     n.provider_message_id, n.created_at, n.sent_at, n.delivered_at,
                     n.delivery_detail"#,
        limit,
        lease.as_secs_f64()
    )
    .fetch_all(pool)
    .await
}

/// Records that `provider` took notification `id` as `message_id`. A
/// password reset's body is dropped once sent: its token must not outlive
/// the message.
///
/// # Errors
/// When the database fails.
pub async fn mark_sent(
    pool: &PgPool,
    id: Uuid,
    provider: &str,
    message_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE notifications SET status = 'sent', provider = $2, provider_message_id = $3,
                  sent_at = now(), last_error = NULL,
                  body_text = CASE WHEN template = 'password_reset'
                                   THEN '[sent; the reset token is not kept]' ELSE body_text END,
                  body_html = CASE WHEN template = 'password_reset' THEN NULL ELSE body_html END
           WHERE id = $1 AND status = 'queued'"#,
        id,
        provider,
        message_id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Records what `provider` reported of the message it took as
/// `message_id`: delivered, or failed with its words. Only a sent message
/// takes a report, and only its first final one (a late "failed" does not
/// undo a "delivered"). Returns whether a message took it.
///
/// # Errors
/// When the database fails.
pub async fn record_delivery(
    pool: &PgPool,
    provider: &str,
    message_id: &str,
    delivery: &Delivery,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query!(
        r#"UPDATE notifications SET status = $3, delivered_at = now(), delivery_detail = $4
           WHERE provider = $1 AND provider_message_id = $2 AND status = 'sent'"#,
        provider,
        message_id,
        delivery.status(),
        delivery.detail()
    )
    .execute(pool)
    .await?;
    Ok(updated.rows_affected() > 0)
}

/// Records a failed attempt: tried again after `backoff`, or, when `dead`,
/// never again (until an admin re-drives it).
///
/// # Errors
/// When the database fails.
pub async fn mark_failed(
    pool: &PgPool,
    id: Uuid,
    provider: &str,
    error: &str,
    backoff: Duration,
    dead: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE notifications SET last_error = $2, provider = $3,
                  status = CASE WHEN $5 THEN 'dead' ELSE status END,
                  next_attempt_at = now() + make_interval(secs => $4)
           WHERE id = $1 AND status = 'queued'"#,
        id,
        error,
        provider,
        backoff.as_secs_f64(),
        dead
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Puts a claimed notification back untried (its attempt given back) until
/// `wait` has passed, saying `why`: nothing can carry it now (production
/// with no provider of its channel), which is not the message's fault.
///
/// # Errors
/// When the database fails.
pub async fn postpone(
    pool: &PgPool,
    id: Uuid,
    why: &str,
    wait: Duration,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE notifications SET last_error = $2, attempts = greatest(attempts - 1, 0),
                  next_attempt_at = now() + make_interval(secs => $3)
           WHERE id = $1 AND status = 'queued'"#,
        id,
        why,
        wait.as_secs_f64()
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Which notifications to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only those to this user.
    pub recipient_id: Option<Uuid>,
    /// Only those to this address or number.
    pub recipient: Option<String>,
    /// One template.
    pub template: Option<String>,
    /// One channel.
    pub channel: Option<String>,
    /// One status.
    pub status: Option<String>,
}

/// Notifications matching `filter`, newest first, after the one with id
/// `after` (the previous page's last).
///
/// # Errors
/// When the database fails.
pub async fn list(
    pool: &PgPool,
    filter: &Filter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Notification>, sqlx::Error> {
    sqlx::query_as!(
        Notification,
        r#"SELECT id, event_id, template, channel, recipient_id, recipient, subject, body_text, body_html,
                  status, attempts, last_error, provider, provider_message_id, created_at, sent_at,
                  delivered_at, delivery_detail
           FROM notifications
           WHERE ($1::uuid IS NULL OR recipient_id = $1)
             AND ($2::text IS NULL OR recipient = $2)
             AND ($3::text IS NULL OR template = $3)
             AND ($4::text IS NULL OR channel = $4)
             AND ($5::text IS NULL OR status = $5)
             AND ($6::uuid IS NULL OR (created_at, id) <
                  (SELECT created_at, id FROM notifications WHERE id = $6))
           ORDER BY created_at DESC, id DESC LIMIT $7"#,
        filter.recipient_id,
        filter.recipient,
        filter.template,
        filter.channel,
        filter.status,
        after,
        limit
    )
    .fetch_all(pool)
    .await
}
