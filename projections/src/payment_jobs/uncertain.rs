//! Jobs whose provider may have acted without saying so: a request it does
//! not deduplicate went out and no answer came back. Such a job is
//! `uncertain` — never sent again as it is — until the provider's own
//! record says what happened ([`look_again`] schedules the next look), its
//! callback names it ([`adopt_checkout`]), or the payment worker decides
//! after a while that nothing will (a charge failed, anything else a dead
//! letter for a person).

use std::time::Duration;

use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;

use super::PaymentJob;

/// Records that `provider` (through `config_id`) may have acted on job
/// `id` without answering, saying `why`; the first look is due after
/// `look_after`.
///
/// # Errors
/// When the database fails.
pub async fn mark_uncertain(
    pool: &PgPool,
    id: Uuid,
    provider: &str,
    config_id: Option<Uuid>,
    why: &str,
    look_after: Duration,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE payment_jobs SET status = 'uncertain', provider = $2, config_id = $3,
                  provider_reference = NULL, submitted_at = now(), last_error = $4,
                  next_attempt_at = now() + make_interval(secs => $5), request_sent_at = NULL
           WHERE id = $1 AND status = 'queued'"#,
        id,
        provider,
        config_id,
        why,
        look_after.as_secs_f64()
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Claims up to `limit` uncertain jobs whose next look is due, leasing
/// them for `lease`.
///
/// # Errors
/// When the database fails.
pub async fn due(
    pool: &PgPool,
    limit: i64,
    lease: Duration,
) -> Result<Vec<PaymentJob>, sqlx::Error> {
    sqlx::query_as!(
        PaymentJob,
        r#"UPDATE payment_jobs j SET next_attempt_at = now() + make_interval(secs => $2)
           FROM (SELECT id FROM payment_jobs
                 WHERE status = 'uncertain' AND next_attempt_at <= now()
                 ORDER BY next_attempt_at LIMIT $1
                 FOR UPDATE SKIP LOCKED) due
           WHERE j.id = due.id
           RETURNING j.id, j.kind, j.aggregate_type, j.aggregate_id, j.payment_id, j.provider, j.amount, j.currency,
                     j.idempotency_key, j.payer_contact, j.original_reference, j.provider_reference,
                     j.status, j.attempts, j.last_error, j.correlation_id, j.causation_id, j.submitted_at,
                     j.config_id, j.provider_receipt, j.original_amount"#,
        limit,
        lease.as_secs_f64()
    )
    .fetch_all(pool)
    .await
}

/// Marks a request of job `id` that its provider does not deduplicate as
/// about to be sent. Returns `false` when one already was and nothing of
/// it was recorded: the process sending it stopped mid-request, and the
/// job is uncertain, not to be sent again.
///
/// # Errors
/// When the database fails.
pub async fn begin_sending(pool: &PgPool, id: Uuid) -> Result<bool, sqlx::Error> {
    let marked = sqlx::query!(
        r#"UPDATE payment_jobs SET request_sent_at = now()
           WHERE id = $1 AND status = 'queued' AND request_sent_at IS NULL"#,
        id
    )
    .execute(pool)
    .await?;
    Ok(marked.rows_affected() > 0)
}

/// The request marked by [`begin_sending`] provably did not reach its
/// provider (a refused connection, a `429` or `503`): the mark is lifted.
///
/// # Errors
/// When the database fails.
pub async fn not_sent(pool: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payment_jobs SET request_sent_at = NULL WHERE id = $1",
        id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Nothing known yet: look again after `after`.
///
/// # Errors
/// When the database fails.
pub async fn look_again(pool: &PgPool, id: Uuid, after: Duration) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE payment_jobs SET next_attempt_at = now() + make_interval(secs => $2)
           WHERE id = $1 AND status = 'uncertain'"#,
        id,
        after.as_secs_f64()
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The provider's record shows the request was never acted on: the job
/// is queued again, to be sent with the same key.
///
/// # Errors
/// When the database fails.
pub async fn requeue(pool: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE payment_jobs SET status = 'queued', next_attempt_at = now(), request_sent_at = NULL,
                  last_error = coalesce(last_error, '') || ' (not made at the provider: sent again)'
           WHERE id = $1 AND status = 'uncertain'"#,
        id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// An STK callback names a checkout no job knows: it is the answer to the
/// push of the charge of `amount` to `msisdn` (`2547…`) whose request went
/// unanswered (uncertain, or failed since for want of an answer). That job
/// takes `reference` (and the callback's `receipt`) and asks for a
/// confirming query, so only Daraja's own answer settles it. Returns
/// whether such a job was found.
///
/// # Errors
/// When the database fails.
pub async fn adopt_checkout(
    pool: &PgPool,
    msisdn: &str,
    amount: Decimal,
    reference: &str,
    receipt: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let adopted = sqlx::query!(
        r#"UPDATE payment_jobs SET provider_reference = $3,
                  provider_receipt = coalesce($4, provider_receipt),
                  status = CASE WHEN status = 'uncertain' THEN 'submitted' ELSE status END,
                  confirm_requested_at = coalesce(confirm_requested_at, now())
           WHERE id = (SELECT id FROM payment_jobs
                       WHERE provider = 'mpesa' AND kind = 'charge' AND provider_reference IS NULL
                         AND status IN ('uncertain', 'settled') AND submitted_at IS NOT NULL
                         AND regexp_replace(payer_contact, '\D', '', 'g') = $1 AND amount = $2
                       ORDER BY submitted_at DESC LIMIT 1
                       FOR UPDATE SKIP LOCKED)"#,
        msisdn,
        amount,
        reference,
        receipt
    )
    .execute(pool)
    .await?;
    Ok(adopted.rows_affected() > 0)
}
