//! The payment outbox (`payment_jobs`): each charge, refund or payout asked
//! of a provider, from the event that asked for it until the provider's
//! outcome is recorded on its invoice or claim.
//!
//! Rows are written by the payments subscription inside its checkpoint
//! transaction, claimed by the payment worker with `FOR UPDATE SKIP LOCKED`
//! (a lease, so several processes share the work and a crashed one's jobs
//! come back), and settled by the webhook ingress or by reconciliation.

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::claim::{Claim, ClaimCommand};
use domain::invoice::{Invoice, InvoiceCommand};
use domain::{Currency, Money, PaymentId, PayoutId, RefundId};
use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub mod uncertain;

/// A charge, a refund or a payout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Take money for an invoice.
    Charge,
    /// Return money of a payment.
    Refund,
    /// Pay a claim.
    Payout,
}

impl JobKind {
    /// The kind's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Charge => "charge",
            JobKind::Refund => "refund",
            JobKind::Payout => "payout",
        }
    }
}

/// One job.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentJob {
    /// The payment's or refund's id.
    pub id: Uuid,
    /// `charge`, `refund` or `payout`.
    pub kind: String,
    /// `Invoice` or `Claim`.
    pub aggregate_type: String,
    /// The invoice or claim.
    pub aggregate_id: Uuid,
    /// The payment (for a refund: the one refunded; for a payout: itself).
    pub payment_id: Uuid,
    /// The provider.
    pub provider: String,
    /// Amount.
    pub amount: Decimal,
    /// ISO 4217.
    pub currency: String,
    /// Sent to the provider.
    pub idempotency_key: String,
    /// Phone number or email for the provider.
    pub payer_contact: Option<String>,
    /// For a refund: the payment's provider reference.
    pub original_reference: Option<String>,
    /// The provider's id, once submitted.
    pub provider_reference: Option<String>,
    /// `queued`, `submitted`, `settled`, `dead` (retries exhausted).
    pub status: String,
    /// Submissions tried.
    pub attempts: i32,
    /// The last submission error.
    pub last_error: Option<String>,
    /// The business flow.
    pub correlation_id: String,
    /// The event that asked for it.
    pub causation_id: String,
    /// When it was submitted.
    pub submitted_at: Option<DateTime<Utc>>,
    /// The configuration that carried it, once submitted through one.
    pub config_id: Option<Uuid>,
    /// The receipt a provider's callback carried (M-Pesa's transaction id).
    pub provider_receipt: Option<String>,
    /// For a refund: the amount of the payment it refunds.
    pub original_amount: Option<Decimal>,
}

impl PaymentJob {
    /// The amount as money.
    ///
    /// # Errors
    /// When the stored currency or amount is not valid (never written so).
    pub fn money(&self) -> anyhow::Result<Money> {
        let currency =
            Currency::parse(&self.currency).map_err(|e| anyhow::anyhow!("job {}: {e}", self.id))?;
        Ok(Money::new(self.amount, currency)?)
    }

    /// Its kind.
    pub fn kind(&self) -> JobKind {
        match self.kind.as_str() {
            "refund" => JobKind::Refund,
            "payout" => JobKind::Payout,
            _ => JobKind::Charge,
        }
    }
}

/// What a provider says happened to a job.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The money moved.
    Succeeded {
        /// The provider's id.
        reference: Option<String>,
        /// Amount moved (for a charge: what was received).
        amount: Money,
    },
    /// It did not.
    Failed {
        /// The provider's id.
        reference: Option<String>,
        /// Why.
        reason: String,
    },
}

/// The command that records `outcome` of `job` on its invoice or claim.
#[derive(Debug, Clone, PartialEq)]
pub enum Settlement {
    /// For an invoice (charges and refunds).
    Invoice(InvoiceCommand),
    /// For a claim (payouts).
    Claim(ClaimCommand),
}

/// The command that records `outcome` of `job`.
pub fn settlement(job: &PaymentJob, outcome: Outcome) -> Settlement {
    match (job.kind(), outcome) {
        (JobKind::Charge, Outcome::Succeeded { reference, amount }) => {
            Settlement::Invoice(InvoiceCommand::RecordPaymentSucceeded {
                payment_id: PaymentId(job.payment_id),
                amount,
                provider_reference: reference,
            })
        }
        (JobKind::Charge, Outcome::Failed { reference, reason }) => {
            Settlement::Invoice(InvoiceCommand::RecordPaymentFailed {
                payment_id: PaymentId(job.payment_id),
                reason,
                provider_reference: reference,
            })
        }
        (JobKind::Refund, Outcome::Succeeded { reference, .. }) => {
            Settlement::Invoice(InvoiceCommand::RecordRefundIssued {
                refund_id: RefundId(job.id),
                provider_reference: reference,
            })
        }
        (JobKind::Refund, Outcome::Failed { reason, .. }) => {
            Settlement::Invoice(InvoiceCommand::RecordRefundFailed {
                refund_id: RefundId(job.id),
                reason,
            })
        }
        (JobKind::Payout, Outcome::Succeeded { reference, .. }) => {
            Settlement::Claim(ClaimCommand::RecordPayoutSucceeded {
                payout_id: PayoutId(job.id),
                provider_reference: reference,
            })
        }
        (JobKind::Payout, Outcome::Failed { reason, .. }) => {
            Settlement::Claim(ClaimCommand::RecordPayoutFailed {
                payout_id: PayoutId(job.id),
                reason,
            })
        }
    }
}

/// The outcome a sandbox transaction (webhook or status query) reports.
///
/// # Errors
/// When its amount or currency does not parse.
pub fn sandbox_outcome(
    transaction: &domain::sandbox::SandboxTransaction,
) -> Result<Outcome, String> {
    let reference = Some(transaction.reference.clone());
    if transaction.outcome != "succeeded" {
        let reason = transaction
            .failure_reason
            .clone()
            .unwrap_or_else(|| "failed".into());
        return Ok(Outcome::Failed { reference, reason });
    }
    let currency = Currency::parse(&transaction.currency)?;
    let amount: Decimal = transaction
        .amount
        .parse()
        .map_err(|e: rust_decimal::Error| e.to_string())?;
    let amount = Money::new(amount, currency).map_err(|e| e.to_string())?;
    Ok(Outcome::Succeeded { reference, amount })
}

/// What a Stripe object says happened, if final: a Checkout Session
/// (`object_type` `checkout.session`), a PaymentIntent (`payment_intent`)
/// or a Refund (`refund`).
///
/// A PaymentIntent in `requires_payment_method`, even with a
/// `last_payment_error`, is not final: the payer may try another card on
/// the same checkout until it completes or expires.
pub fn stripe_outcome(object_type: &str, object: &serde_json::Value) -> Option<Outcome> {
    if object_type == "checkout.session" {
        return stripe_session_outcome(object);
    }
    let reference = object["id"].as_str().map(str::to_string);
    let amount_field = if object_type == "refund" {
        "amount"
    } else {
        "amount_received"
    };
    match object["status"].as_str()? {
        "succeeded" => Some(Outcome::Succeeded {
            reference,
            amount: stripe_money(object, amount_field)?,
        }),
        "canceled" | "failed" => Some(Outcome::Failed {
            reference,
            reason: stripe_failure(object)
                .unwrap_or("failed at Stripe")
                .to_string(),
        }),
        _ => None,
    }
}

/// What a Stripe webhook event says happened, if final. A session whose
/// delayed payment (a bank debit, say) failed after checkout says so only
/// by its event's type.
pub fn stripe_event_outcome(event: &serde_json::Value) -> Option<Outcome> {
    let object = &event["data"]["object"];
    let object_type = object["object"].as_str()?;
    if event["type"] == "checkout.session.async_payment_failed" {
        return Some(Outcome::Failed {
            reference: stripe_session_reference(object),
            reason: "the payment failed at Stripe after checkout".into(),
        });
    }
    stripe_outcome(object_type, object)
}

/// A Checkout Session's outcome: paid once complete and paid; failed when
/// it expired unpaid, or when its PaymentIntent (expanded, in a status
/// query) was cancelled or failed after checkout; else pending. A paid
/// session is recorded under its PaymentIntent, which refunds name.
fn stripe_session_outcome(session: &serde_json::Value) -> Option<Outcome> {
    let reference = stripe_session_reference(session);
    let intent = &session["payment_intent"];
    match (
        session["status"].as_str()?,
        session["payment_status"].as_str(),
    ) {
        ("complete", Some("paid" | "no_payment_required")) => Some(Outcome::Succeeded {
            reference,
            amount: stripe_money(session, "amount_total")?,
        }),
        ("expired", _) => Some(Outcome::Failed {
            reference,
            reason: "the checkout expired before the payer paid".into(),
        }),
        ("complete", _)
            if intent["status"] == "canceled"
                || (intent["status"] == "requires_payment_method"
                    && intent["last_payment_error"].is_object()) =>
        {
            Some(Outcome::Failed {
                reference,
                reason: stripe_failure(intent)
                    .unwrap_or("the payment failed at Stripe after checkout")
                    .to_string(),
            })
        }
        _ => None,
    }
}

/// A session's PaymentIntent id (an id, or the expanded object's), else
/// the session's own id.
fn stripe_session_reference(session: &serde_json::Value) -> Option<String> {
    let intent = &session["payment_intent"];
    intent
        .as_str()
        .or_else(|| intent["id"].as_str())
        .or_else(|| session["id"].as_str())
        .map(str::to_string)
}

/// `object[field]`, minor units of the object's (lowercase) currency.
fn stripe_money(object: &serde_json::Value, field: &str) -> Option<Money> {
    let currency = Currency::parse(&object["currency"].as_str()?.to_uppercase()).ok()?;
    Some(Money::from_minor_units(object[field].as_i64()?, currency))
}

/// Why Stripe says an object failed, if it says.
fn stripe_failure(object: &serde_json::Value) -> Option<&str> {
    object["last_payment_error"]["message"]
        .as_str()
        .or_else(|| object["failure_reason"].as_str())
        .or_else(|| object["cancellation_reason"].as_str())
}

/// What a Paystack transaction (verify answer or `charge.success` data)
/// says happened, if final.
pub fn paystack_outcome(data: &serde_json::Value) -> Option<Outcome> {
    let reference = data["reference"].as_str().map(str::to_string);
    match data["status"].as_str()? {
        "success" => {
            let currency = Currency::parse(data["currency"].as_str()?).ok()?;
            let units = data["amount"]
                .as_i64()
                .or_else(|| data["amount"].as_str()?.parse().ok())?;
            Some(Outcome::Succeeded {
                reference,
                amount: Money::from_minor_units(units, currency),
            })
        }
        // `abandoned`: initialised, not yet paid, still payable at its
        // checkout page: pending, not failed.
        "failed" | "reversed" => Some(Outcome::Failed {
            reference,
            reason: data["gateway_response"]
                .as_str()
                .unwrap_or("failed at Paystack")
                .to_string(),
        }),
        _ => None,
    }
}

/// What a Flutterwave transaction (a verify answer's `data`) says of the
/// charge we made as `tx_ref`, if final: a transaction for another
/// reference or currency is not ours to record.
pub fn flutterwave_outcome(
    data: &serde_json::Value,
    tx_ref: &str,
    expected: Money,
) -> Option<Outcome> {
    if data["tx_ref"].as_str() != Some(tx_ref) {
        return None;
    }
    let reference = match &data["id"] {
        serde_json::Value::Null => Some(tx_ref.to_string()),
        id => Some(id.to_string().trim_matches('"').to_string()),
    };
    match data["status"].as_str()? {
        "successful" => {
            if data["currency"].as_str() != Some(expected.currency().code()) {
                return None;
            }
            let amount: Decimal = data["amount"].to_string().trim_matches('"').parse().ok()?;
            Some(Outcome::Succeeded {
                reference,
                amount: Money::new(amount, expected.currency()).ok()?,
            })
        }
        "failed" | "cancelled" => Some(Outcome::Failed {
            reference,
            reason: data["processor_response"]
                .as_str()
                .unwrap_or("failed at Flutterwave")
                .to_string(),
        }),
        _ => None,
    }
}

/// What the payer does to complete a pending charge, as the provider
/// asked when the charge was submitted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NextAction {
    /// Open the provider's hosted checkout (it returns the payer to us).
    Redirect {
        /// The checkout page.
        url: String,
    },
    /// Approve the prompt the provider sent to the payer's phone.
    ApproveOnPhone {
        /// What to tell the payer.
        message: String,
    },
}

/// Where the charge of a payment stands, for its payer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeStep {
    /// Not yet with a provider (its job not recorded, or queued).
    Waiting,
    /// With a provider, unsettled: what the payer does next, if anything.
    Submitted(Option<NextAction>),
    /// Settled or given up.
    Done,
}

/// Where the charge of payment `payment_id` stands.
///
/// # Errors
/// When the database fails or a stored action does not read back.
pub async fn charge_step(pool: &PgPool, payment_id: Uuid) -> anyhow::Result<ChargeStep> {
    let row = sqlx::query!(
        r#"SELECT status, next_action FROM payment_jobs
           WHERE payment_id = $1 AND kind = 'charge'
           ORDER BY created_at DESC LIMIT 1"#,
        payment_id
    )
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        None => ChargeStep::Waiting,
        Some(r) if r.status == "queued" => ChargeStep::Waiting,
        Some(r) if r.status == "submitted" => {
            ChargeStep::Submitted(r.next_action.map(serde_json::from_value).transpose()?)
        }
        Some(_) => ChargeStep::Done,
    })
}

/// A job to record.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    /// Payment or refund id.
    pub id: Uuid,
    /// Kind.
    pub kind: JobKind,
    /// `Invoice` or `Claim`.
    pub aggregate_type: &'static str,
    /// The invoice or claim.
    pub aggregate_id: Uuid,
    /// Payment.
    pub payment_id: Uuid,
    /// Provider.
    pub provider: &'a str,
    /// Amount.
    pub amount: Money,
    /// Key.
    pub idempotency_key: &'a str,
    /// Contact.
    pub payer_contact: Option<&'a str>,
    /// For refunds.
    pub original_reference: Option<&'a str>,
    /// Flow.
    pub correlation_id: &'a str,
    /// Cause.
    pub causation_id: &'a str,
}

/// Records a job unless it exists (events are handled at least once).
///
/// # Errors
/// When the database fails.
pub async fn insert(conn: &mut PgConnection, job: &NewJob<'_>) -> Result<(), sqlx::Error> {
    // A refund takes the refunded charge's amount and, unless it names its
    // own, its payer's contact: where money goes back when the payment
    // cannot simply be reversed.
    sqlx::query!(
        r#"INSERT INTO payment_jobs (id, kind, aggregate_type, aggregate_id, payment_id, provider, amount,
               currency, idempotency_key, payer_contact, original_reference, correlation_id, causation_id,
               original_amount)
           SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9,
                  coalesce($10, charge.payer_contact), $11, $12, $13, charge.amount
           FROM (SELECT 1) one
           LEFT JOIN payment_jobs charge ON $2 = 'refund' AND charge.id = $5 AND charge.kind = 'charge'
           ON CONFLICT (id) DO NOTHING"#,
        job.id,
        job.kind.as_str(),
        job.aggregate_type,
        job.aggregate_id,
        job.payment_id,
        job.provider,
        job.amount.amount(),
        job.amount.currency().code(),
        job.idempotency_key,
        job.payer_contact,
        job.original_reference,
        job.correlation_id,
        job.causation_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks a job settled (its outcome is on the invoice). A confirmation it
/// awaits stays asked for: the provider's later word may still change the
/// outcome (see [`request_confirmation`]).
///
/// # Errors
/// When the database fails.
pub async fn mark_settled(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payment_jobs SET status = 'settled', settled_at = coalesce(settled_at, now())
         WHERE id = $1",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The job sent with `idempotency_key`.
///
/// # Errors
/// When the database fails.
pub async fn by_key(
    pool: &PgPool,
    idempotency_key: &str,
) -> Result<Option<PaymentJob>, sqlx::Error> {
    sqlx::query_as!(
        PaymentJob,
        r#"SELECT id, kind, aggregate_type, aggregate_id, payment_id, provider, amount, currency, idempotency_key,
                  payer_contact, original_reference, provider_reference, status, attempts,
                  last_error, correlation_id, causation_id, submitted_at, config_id, provider_receipt,
                  original_amount
           FROM payment_jobs WHERE idempotency_key = $1"#,
        idempotency_key
    )
    .fetch_optional(pool)
    .await
}

/// The job `id` (a payment's, refund's or payout's id).
///
/// # Errors
/// When the database fails.
pub async fn by_id(pool: &PgPool, id: Uuid) -> Result<Option<PaymentJob>, sqlx::Error> {
    sqlx::query_as!(
        PaymentJob,
        r#"SELECT id, kind, aggregate_type, aggregate_id, payment_id, provider, amount, currency, idempotency_key,
                  payer_contact, original_reference, provider_reference, status, attempts,
                  last_error, correlation_id, causation_id, submitted_at, config_id, provider_receipt,
                  original_amount
           FROM payment_jobs WHERE id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await
}

/// The job `provider` knows as `reference`.
///
/// # Errors
/// When the database fails.
pub async fn by_reference(
    pool: &PgPool,
    provider: &str,
    reference: &str,
) -> Result<Option<PaymentJob>, sqlx::Error> {
    sqlx::query_as!(
        PaymentJob,
        r#"SELECT id, kind, aggregate_type, aggregate_id, payment_id, provider, amount, currency, idempotency_key,
                  payer_contact, original_reference, provider_reference, status, attempts,
                  last_error, correlation_id, causation_id, submitted_at, config_id, provider_receipt,
                  original_amount
           FROM payment_jobs WHERE provider = $1 AND provider_reference = $2"#,
        provider,
        reference
    )
    .fetch_optional(pool)
    .await
}

/// Claims up to `limit` queued jobs that are due, leasing them for `lease`:
/// another process skips them, and they come back if this one dies.
///
/// # Errors
/// When the database fails.
pub async fn claim_due(
    pool: &PgPool,
    limit: i64,
    lease: Duration,
) -> Result<Vec<PaymentJob>, sqlx::Error> {
    sqlx::query_as!(
        PaymentJob,
        r#"UPDATE payment_jobs j SET attempts = j.attempts + 1,
                  next_attempt_at = now() + make_interval(secs => $2)
           FROM (SELECT id FROM payment_jobs
                 WHERE status = 'queued' AND next_attempt_at <= now()
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

/// Records that a provider accepted a job (or, for an uncertain one, that
/// its record shows the request): which provider and configuration carried
/// it (routing may have failed over from the one asked for) and the
/// provider's reference.
///
/// # Errors
/// When the database fails.
pub async fn mark_submitted(
    pool: &PgPool,
    id: Uuid,
    provider: &str,
    config_id: Option<Uuid>,
    reference: &str,
    next_action: Option<&NextAction>,
) -> Result<(), sqlx::Error> {
    let next_action = next_action.map(|a| serde_json::to_value(a).unwrap_or_default());
    sqlx::query!(
        r#"UPDATE payment_jobs SET status = 'submitted', provider = $2, config_id = $3,
                  provider_reference = $4, submitted_at = now(), last_error = NULL,
                  next_action = $5, request_sent_at = NULL
           WHERE id = $1 AND status IN ('queued', 'uncertain')"#,
        id,
        provider,
        config_id,
        reference,
        next_action
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Asks for the outcome of the job `provider` knows as `reference` to be
/// confirmed with a status query (its callback is not signed): the payment
/// worker queries it on its next pass. A `receipt` the callback carried is
/// kept for when the query confirms it. A charge already settled is asked
/// again too: a query that said it failed may have spoken before the payer
/// answered, and the provider's later word that the money moved must settle
/// it (the invoice takes a success after a failure; a repeated success
/// changes nothing). Returns whether such a job awaits.
///
/// # Errors
/// When the database fails.
pub async fn request_confirmation(
    pool: &PgPool,
    provider: &str,
    reference: &str,
    receipt: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query!(
        r#"UPDATE payment_jobs SET confirm_requested_at = clock_timestamp(),
                  provider_receipt = coalesce($3, provider_receipt)
           WHERE provider = $1 AND provider_reference = $2
             AND (status = 'submitted' OR (status = 'settled' AND kind = 'charge'))"#,
        provider,
        reference,
        receipt
    )
    .execute(pool)
    .await?;
    Ok(updated.rows_affected() > 0)
}

/// Jobs whose callback asked for a status query, and the moment they were
/// read: a callback after it asks again ([`confirmation_answered`]).
///
/// # Errors
/// When the database fails.
pub async fn awaiting_confirmation(
    pool: &PgPool,
    limit: i64,
) -> Result<(Vec<PaymentJob>, DateTime<Utc>), sqlx::Error> {
    let read_at = sqlx::query_scalar!(r#"SELECT clock_timestamp() AS "now!""#)
        .fetch_one(pool)
        .await?;
    let jobs = sqlx::query_as!(
        PaymentJob,
        r#"SELECT id, kind, aggregate_type, aggregate_id, payment_id, provider, amount, currency, idempotency_key,
                  payer_contact, original_reference, provider_reference, status, attempts,
                  last_error, correlation_id, causation_id, submitted_at, config_id, provider_receipt,
                  original_amount
           FROM payment_jobs
           WHERE status IN ('submitted', 'settled') AND confirm_requested_at <= $2
           ORDER BY confirm_requested_at LIMIT $1"#,
        limit,
        read_at
    )
    .fetch_all(pool)
    .await?;
    Ok((jobs, read_at))
}

/// The status query asked for up to `read_at` was answered (settled, or
/// still pending: asked again after the usual quiet period, not on every
/// pass). A callback that asked again after `read_at` keeps its request.
///
/// # Errors
/// When the database fails.
pub async fn confirmation_answered(
    pool: &PgPool,
    id: Uuid,
    read_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payment_jobs SET confirm_requested_at = NULL WHERE id = $1 AND confirm_requested_at <= $2",
        id,
        read_at
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Records a failed submission; the job is tried again after `backoff`.
///
/// # Errors
/// When the database fails.
pub async fn mark_retry(
    pool: &PgPool,
    id: Uuid,
    error: &str,
    backoff: Duration,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE payment_jobs SET last_error = $2, next_attempt_at = now() + make_interval(secs => $3),
                  request_sent_at = NULL
           WHERE id = $1 AND status = 'queued'"#,
        id,
        error,
        backoff.as_secs_f64()
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Gives up on `job` after its last failed attempt: the job is `dead` and
/// a dead letter says why (one transaction); an admin's re-drive queues it
/// again with the same idempotency key, so the provider never charges twice.
///
/// # Errors
/// When the database fails.
pub async fn give_up(pool: &PgPool, job: &PaymentJob, error: &str) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let updated = sqlx::query!(
        "UPDATE payment_jobs SET status = 'dead', last_error = $2
         WHERE id = $1 AND status IN ('queued', 'uncertain')",
        job.id,
        error
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 1 {
        crate::dead_letters::record(
            &mut *tx,
            crate::dead_letters::PAYMENTS,
            job.id,
            &job.causation_id,
            error,
            job.attempts,
        )
        .await?;
    }
    tx.commit().await
}

/// Submitted jobs with no outcome for longer than `quiet` (reconciliation).
///
/// # Errors
/// When the database fails.
pub async fn unsettled_since(
    pool: &PgPool,
    quiet: Duration,
    limit: i64,
) -> Result<Vec<PaymentJob>, sqlx::Error> {
    sqlx::query_as!(
        PaymentJob,
        r#"SELECT id, kind, aggregate_type, aggregate_id, payment_id, provider, amount, currency, idempotency_key,
                  payer_contact, original_reference, provider_reference, status, attempts,
                  last_error, correlation_id, causation_id, submitted_at, config_id, provider_receipt,
                  original_amount
           FROM payment_jobs
           WHERE status = 'submitted' AND submitted_at <= now() - make_interval(secs => $1)
           ORDER BY submitted_at LIMIT $2"#,
        quiet.as_secs_f64(),
        limit
    )
    .fetch_all(pool)
    .await
}

/// Why an outcome could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    /// The invoice or claim refused it (a stale or unknown outcome).
    #[error("refused: {0}")]
    Refused(String),
    /// The store failed; try again.
    #[error("store failure: {0}")]
    Store(String),
}

fn settle_error<E: std::error::Error>(error: crate::ExecuteError<E>) -> SettleError {
    match error {
        crate::ExecuteError::Domain(e) => SettleError::Refused(e.to_string()),
        other => SettleError::Store(other.to_string()),
    }
}

/// Records `outcome` of `job` on its invoice or claim (a provider's webhook
/// or a status query said so) and marks the job settled. Idempotent: an
/// outcome recorded already changes nothing.
///
/// # Errors
/// [`SettleError`].
pub async fn settle(
    store: &crate::EventStore,
    job: &PaymentJob,
    outcome: Outcome,
    provider_event_id: Option<&str>,
) -> Result<(), SettleError> {
    let metadata = crate::CommandMetadata {
        user_id: None,
        role: "provider".into(),
        request_id: format!("{}:{}", job.provider, job.idempotency_key),
        correlation_id: job.correlation_id.clone(),
        causation_id: provider_event_id
            .unwrap_or(&job.idempotency_key)
            .to_string(),
        client_ip: None,
        provider_event_id: provider_event_id.map(str::to_string),
    };
    let id = job.aggregate_id.to_string();
    match settlement(job, outcome) {
        Settlement::Invoice(command) => store
            .execute::<Invoice>(&id, command, None, &metadata)
            .await
            .map(drop)
            .map_err(settle_error)?,
        Settlement::Claim(command) => store
            .execute::<Claim>(&id, command, None, &metadata)
            .await
            .map(drop)
            .map_err(settle_error)?,
    }
    let mut conn = store
        .pool()
        .acquire()
        .await
        .map_err(|e| SettleError::Store(e.to_string()))?;
    mark_settled(&mut conn, job.id)
        .await
        .map_err(|e| SettleError::Store(e.to_string()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A webhook event of `event_type` about session `cs_1`.
    fn session_event(event_type: &str, status: &str, paid: &str) -> serde_json::Value {
        json!({
            "id": "evt_1", "object": "event", "type": event_type,
            "data": {"object": {"id": "cs_1", "object": "checkout.session", "status": status,
                                 "payment_status": paid, "payment_intent": "pi_1",
                                 "amount_total": 1234000, "currency": "bhd"}}
        })
    }

    #[test]
    fn a_checkout_session_settles_when_paid_waits_while_its_payment_is_delayed_and_fails_when_it_ends_unpaid(
    ) {
        let bhd = Currency::parse("BHD").unwrap();
        assert_eq!(
            stripe_event_outcome(&session_event(
                "checkout.session.completed",
                "complete",
                "paid"
            )),
            Some(Outcome::Succeeded {
                reference: Some("pi_1".into()),
                amount: Money::new("1234.000".parse().unwrap(), bhd).unwrap()
            })
        );
        assert_eq!(
            stripe_event_outcome(&session_event(
                "checkout.session.completed",
                "complete",
                "unpaid"
            )),
            None,
            "a delayed method (a bank debit) is still processing"
        );
        assert_eq!(
            stripe_event_outcome(&session_event(
                "checkout.session.async_payment_succeeded",
                "complete",
                "paid"
            ))
            .map(|o| matches!(o, Outcome::Succeeded { .. })),
            Some(true)
        );
        assert_eq!(
            stripe_event_outcome(&session_event(
                "checkout.session.async_payment_failed",
                "complete",
                "unpaid"
            )),
            Some(Outcome::Failed {
                reference: Some("pi_1".into()),
                reason: "the payment failed at Stripe after checkout".into()
            })
        );
        assert!(matches!(
            stripe_event_outcome(&session_event(
                "checkout.session.expired",
                "expired",
                "unpaid"
            )),
            Some(Outcome::Failed { .. })
        ));
    }

    #[test]
    fn a_declined_card_leaves_the_payment_intent_payable_and_a_cancelled_one_fails() {
        let intent = |status: &str| {
            json!({"id": "pi_1", "object": "payment_intent", "status": status, "currency": "kes",
                   "amount_received": 0,
                   "last_payment_error": {"message": "Your card was declined."}})
        };
        assert_eq!(
            stripe_outcome("payment_intent", &intent("requires_payment_method")),
            None
        );
        assert_eq!(
            stripe_outcome("payment_intent", &intent("canceled")),
            Some(Outcome::Failed {
                reference: Some("pi_1".into()),
                reason: "Your card was declined.".into()
            })
        );
    }
}
