//! Requests that went unanswered and may have been acted on (an STK push,
//! a reversal, a refund without an idempotency key): their jobs are
//! `uncertain` and are never sent again as they are. Each pass asks the
//! carrier's own record ([`PaymentProvider::look_up`]): a request it shows
//! is submitted under its reference; one it proves was never made is sent
//! again; while nothing can be told, the job waits for its callback (an
//! M-Pesa prompt's callback is matched by phone and amount) until
//! `payment_uncertain_for` has passed. Then a charge is failed, so the
//! payer may pay again (a later confirmation that money moved still
//! settles it), and a refund or payout becomes a dead letter: a person
//! checks at the provider before anything is sent again.
//!
//! [`PaymentProvider::look_up`]: super::PaymentProvider::look_up

use std::time::Duration;

use chrono::Utc;
use projections::payment_jobs::{self, uncertain, JobKind, Outcome, PaymentJob};

use super::{routing, Lookup};
use crate::context::WorkerContext;

/// Most jobs looked up in one pass.
const BATCH: i64 = 20;

/// How long between looks at one uncertain job: a quarter of the time it
/// may stay uncertain, at most 30 seconds.
pub fn look_interval(ctx: &WorkerContext) -> Duration {
    (ctx.config.payment_uncertain_for / 4).min(Duration::from_secs(30))
}

/// Looks up the uncertain jobs that are due, once. Returns how many were
/// resolved (submitted, sent again, failed or given up on).
///
/// # Errors
/// When the database fails.
#[tracing::instrument(skip_all)]
pub async fn resolve(ctx: &WorkerContext) -> anyhow::Result<usize> {
    let mut resolved = 0;
    for job in uncertain::due(&ctx.pool, BATCH, ctx.config.payment_lease).await? {
        if resolve_one(ctx, &job).await? {
            resolved += 1;
        }
    }
    Ok(resolved)
}

async fn resolve_one(ctx: &WorkerContext, job: &PaymentJob) -> anyhow::Result<bool> {
    let lookup = match routing::carrier(ctx, job).await {
        Ok(route) => route.adapter.look_up(job).await.map(|l| (route, l)),
        Err(error) => Err(error),
    };
    match lookup {
        Ok((route, Lookup::Made(submission))) => {
            tracing::info!(job = %job.id, reference = %submission.reference, "unanswered request found at the provider");
            super::runner::record_submission(
                ctx,
                job,
                route.adapter.name(),
                route.config_id,
                submission,
            )
            .await?;
            Ok(true)
        }
        Ok((_, Lookup::NotMade)) => {
            tracing::info!(job = %job.id, "unanswered request never made at the provider: sent again");
            uncertain::requeue(&ctx.pool, job.id).await?;
            ctx.payment_wakeup.notify_one();
            Ok(true)
        }
        Ok((_, Lookup::Unknown)) => wait_or_give_up(ctx, job).await,
        Err(error) => {
            tracing::warn!(job = %job.id, %error, "could not look up an unanswered request; will again");
            wait_or_give_up(ctx, job).await
        }
    }
}

/// Looks again later, or, once the job has been uncertain for
/// `payment_uncertain_for`, ends the wait: a charge fails, anything else
/// waits for a person.
async fn wait_or_give_up(ctx: &WorkerContext, job: &PaymentJob) -> anyhow::Result<bool> {
    let since = job.submitted_at.unwrap_or_else(Utc::now);
    let waited = (Utc::now() - since).to_std().unwrap_or_default();
    if waited < ctx.config.payment_uncertain_for {
        uncertain::look_again(&ctx.pool, job.id, look_interval(ctx)).await?;
        return Ok(false);
    }
    if job.kind() == JobKind::Charge {
        let outcome = Outcome::Failed {
            reference: None,
            reason: format!(
                "{} never answered the payment request; nothing is recorded as paid. \
                 If the money was taken, its confirmation still settles this payment",
                job.provider
            ),
        };
        payment_jobs::settle(&ctx.store, job, outcome, None)
            .await
            .map_err(|e| anyhow::anyhow!("failing an unanswered charge {}: {e}", job.id))?;
    } else {
        let error = format!(
            "{} never answered the {} request and its outcome is unknown: check at {} whether it \
             was made before retrying (a retry sends it again)",
            job.provider, job.kind, job.provider
        );
        tracing::error!(job = %job.id, %error, "unanswered request: dead letter");
        payment_jobs::give_up(&ctx.pool, job, &error).await?;
    }
    Ok(true)
}
