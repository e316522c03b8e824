//! The payment worker: claims due jobs and submits them to their provider.
//!
//! A job is leased when claimed; if this process dies after the provider
//! accepted it and before that was recorded, the lease runs out, another run
//! submits it again with the same idempotency key, and the provider returns
//! the first transaction instead of making a second. An outage is retried
//! with a doubling wait up to `payment_max_attempts` times (about an hour and
//! a half by default); then the job is dead and a dead letter waits for an admin.

use std::time::Duration;

use projections::payment_jobs::{self, JobKind, Outcome, PaymentJob};
use projections::subscription::Shutdown;

use uuid::Uuid;

use super::{routing, ProviderError};
use crate::context::WorkerContext;

/// Most jobs claimed at once.
const BATCH: i64 = 20;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Jobs the provider accepted.
    pub submitted: usize,
    /// Jobs refused for good (recorded as failed).
    pub rejected: usize,
    /// Jobs to retry later.
    pub retried: usize,
    /// Jobs given up on after their last attempt (dead letters).
    pub dead: usize,
}

/// Claims and submits the due jobs, once.
///
/// # Errors
/// When the database fails.
#[tracing::instrument(skip_all)]
pub async fn run_once(ctx: &WorkerContext) -> anyhow::Result<Pass> {
    let jobs = payment_jobs::claim_due(&ctx.pool, BATCH, ctx.config.payment_lease).await?;
    let mut pass = Pass::default();
    for job in jobs {
        match submit(ctx, &job).await {
            Ok(Submitted {
                provider,
                config_id,
                submission,
            }) => {
                payment_jobs::mark_submitted(
                    &ctx.pool,
                    job.id,
                    provider,
                    config_id,
                    &submission.reference,
                    submission.next_action.as_ref(),
                )
                .await?;
                pass.submitted += 1;
            }
            Err(ProviderError::Rejected(reason)) => {
                let outcome = Outcome::Failed {
                    reference: None,
                    reason,
                };
                payment_jobs::settle(&ctx.store, &job, outcome, None)
                    .await
                    .map_err(|e| anyhow::anyhow!("recording a refused job {}: {e}", job.id))?;
                pass.rejected += 1;
            }
            Err(ProviderError::Unavailable(error))
                if job.attempts >= ctx.config.payment_max_attempts =>
            {
                tracing::error!(job = %job.id, provider = %job.provider, attempts = job.attempts, %error, "payment job given up on: dead letter");
                payment_jobs::give_up(&ctx.pool, &job, &error).await?;
                pass.dead += 1;
            }
            Err(ProviderError::Unavailable(error)) => {
                tracing::warn!(job = %job.id, provider = %job.provider, attempts = job.attempts, %error, "payment job will be retried");
                payment_jobs::mark_retry(&ctx.pool, job.id, &error, backoff(job.attempts)).await?;
                pass.retried += 1;
            }
        }
    }
    Ok(pass)
}

/// Where a job went.
struct Submitted {
    provider: &'static str,
    config_id: Option<Uuid>,
    submission: super::Submission,
}

/// Submits `job` along its routes: a refusal is final; an outage moves a
/// charge on to the next route (failover) and leaves other jobs to retry.
async fn submit(ctx: &WorkerContext, job: &PaymentJob) -> Result<Submitted, ProviderError> {
    let mut outage = None;
    for route in routing::routes(ctx, job).await? {
        if routing::is_open(ctx, &route).await? {
            outage = Some(format!("{}: circuit open", route.adapter.name()));
            continue;
        }
        match route.adapter.submit(job).await {
            Ok(submission) => {
                return Ok(Submitted {
                    provider: route.adapter.name(),
                    config_id: route.config_id,
                    submission,
                })
            }
            Err(ProviderError::Unavailable(error)) => {
                tracing::warn!(job = %job.id, provider = route.adapter.name(), %error, "provider unavailable");
                outage = Some(error);
                if job.kind() != JobKind::Charge {
                    break;
                }
            }
            Err(refused) => return Err(refused),
        }
    }
    Err(ProviderError::Unavailable(
        outage.unwrap_or_else(|| "no route".into()),
    ))
}

/// Waits between attempts: 2, 4, 8 ... seconds (plus jitter), at most 15
/// minutes.
fn backoff(attempts: i32) -> Duration {
    crate::retry::backoff(attempts, Duration::from_secs(1), Duration::from_secs(900))
}

/// Submits due jobs whenever woken or every poll interval, and reconciles
/// quiet ones, until shutdown.
pub async fn run(ctx: WorkerContext, shutdown: Shutdown) {
    let mut last_reconcile = tokio::time::Instant::now();
    loop {
        if let Err(error) = run_once(&ctx).await {
            tracing::warn!(error = format!("{error:#}"), "payment worker pass failed");
        }
        if let Err(error) = super::reconcile::confirm_requested(&ctx).await {
            tracing::warn!(error = format!("{error:#}"), "confirming callbacks failed");
        }
        if last_reconcile.elapsed() >= ctx.config.reconcile_after / 2 {
            last_reconcile = tokio::time::Instant::now();
            if let Err(error) = super::reconcile::run_once(&ctx, ctx.config.reconcile_after).await {
                tracing::warn!(error = format!("{error:#}"), "reconciliation failed");
            }
        }
        tokio::select! {
            () = shutdown.wait() => return,
            () = ctx.payment_wakeup.notified() => {}
            () = tokio::time::sleep(ctx.config.payment_poll) => {}
        }
    }
}
