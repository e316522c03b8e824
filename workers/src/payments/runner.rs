//! The payment worker: claims due jobs and submits them to their provider.
//!
//! A job is leased when claimed; if this process dies after the provider
//! accepted it and before that was recorded, the lease runs out, another run
//! submits it again with the same idempotency key, and the provider returns
//! the first transaction instead of making a second. An outage is retried
//! with a doubling wait up to `payment_max_attempts` times (about an hour and
//! a half by default); then the job is dead and a dead letter waits for an admin.
//! A request the provider does not deduplicate that went unanswered is not
//! retried: the job is uncertain until [`super::uncertain`] learns what the
//! provider did.

use std::time::Duration;

use projections::payment_jobs::{self, uncertain, JobKind, Outcome, PaymentJob};
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
    /// Jobs whose request went unanswered (looked up, not sent again).
    pub uncertain: usize,
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
                record_submission(ctx, &job, provider, config_id, submission).await?;
                pass.submitted += 1;
            }
            Err(Unsent::Uncertain {
                provider,
                config_id,
                why,
            }) => {
                tracing::warn!(job = %job.id, provider, %why, "payment request unanswered: looked up before anything is sent again");
                uncertain::mark_uncertain(
                    &ctx.pool,
                    job.id,
                    provider,
                    config_id,
                    &why,
                    super::uncertain::look_interval(ctx),
                )
                .await?;
                pass.uncertain += 1;
            }
            Err(Unsent::Failed(ProviderError::Rejected(reason))) => {
                let outcome = Outcome::Failed {
                    reference: None,
                    reason,
                };
                payment_jobs::settle(&ctx.store, &job, outcome, None)
                    .await
                    .map_err(|e| anyhow::anyhow!("recording a refused job {}: {e}", job.id))?;
                pass.rejected += 1;
            }
            Err(Unsent::Failed(error)) if job.attempts >= ctx.config.payment_max_attempts => {
                tracing::error!(job = %job.id, provider = %job.provider, attempts = job.attempts, %error, "payment job given up on: dead letter");
                payment_jobs::give_up(&ctx.pool, &job, &error.to_string()).await?;
                pass.dead += 1;
            }
            Err(Unsent::Failed(error)) => {
                tracing::warn!(job = %job.id, provider = %job.provider, attempts = job.attempts, %error, "payment job will be retried");
                payment_jobs::mark_retry(
                    &ctx.pool,
                    job.id,
                    &error.to_string(),
                    backoff(job.attempts),
                )
                .await?;
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

/// Why a job was not submitted.
enum Unsent {
    /// The provider may have acted on it without answering.
    Uncertain {
        provider: &'static str,
        config_id: Option<Uuid>,
        why: String,
    },
    /// A refusal or an outage.
    Failed(ProviderError),
}

/// Submits `job` along its routes: a refusal is final; an outage moves a
/// charge on to the next route (failover) and leaves other jobs to retry;
/// an unanswered request that may have been acted on stops there (another
/// route could charge twice).
async fn submit(ctx: &WorkerContext, job: &PaymentJob) -> Result<Submitted, Unsent> {
    let mut outage = None;
    for route in routing::routes(ctx, job).await.map_err(Unsent::Failed)? {
        if routing::is_open(ctx, &route)
            .await
            .map_err(Unsent::Failed)?
        {
            outage = Some(format!("{}: circuit open", route.adapter.name()));
            continue;
        }
        let marked = !route.adapter.deduplicates(job);
        if marked && !begin_sending(ctx, job).await? {
            return Err(Unsent::Uncertain {
                provider: route.adapter.name(),
                config_id: route.config_id,
                why: "the process sending this request stopped before its answer was recorded"
                    .into(),
            });
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
                if marked {
                    uncertain::not_sent(&ctx.pool, job.id)
                        .await
                        .map_err(|e| Unsent::Failed(ProviderError::Unavailable(e.to_string())))?;
                }
                outage = Some(error);
                if job.kind() != JobKind::Charge {
                    break;
                }
            }
            Err(ProviderError::Uncertain(why)) => {
                return Err(Unsent::Uncertain {
                    provider: route.adapter.name(),
                    config_id: route.config_id,
                    why,
                })
            }
            Err(refused) => return Err(Unsent::Failed(refused)),
        }
    }
    Err(Unsent::Failed(ProviderError::Unavailable(
        outage.unwrap_or_else(|| "no route".into()),
    )))
}

/// Records that `provider` (through `config_id`) took `job` as
/// `submission` says, and the outcome when its answer already gave it
/// (its webhook or a status query would say the same later).
///
/// # Errors
/// When the database fails.
pub(super) async fn record_submission(
    ctx: &WorkerContext,
    job: &PaymentJob,
    provider: &str,
    config_id: Option<Uuid>,
    submission: super::Submission,
) -> anyhow::Result<()> {
    payment_jobs::mark_submitted(
        &ctx.pool,
        job.id,
        provider,
        config_id,
        &submission.reference,
        submission.next_action.as_ref(),
    )
    .await?;
    if let Some(outcome) = submission.outcome {
        payment_jobs::settle(&ctx.store, job, outcome, None)
            .await
            .map_err(|e| anyhow::anyhow!("recording the answer to job {}: {e}", job.id))?;
    }
    Ok(())
}

/// Marks `job`'s request as being sent; `false` when an earlier one was
/// and nothing of it was recorded.
async fn begin_sending(ctx: &WorkerContext, job: &PaymentJob) -> Result<bool, Unsent> {
    uncertain::begin_sending(&ctx.pool, job.id)
        .await
        .map_err(|e| Unsent::Failed(ProviderError::Unavailable(e.to_string())))
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
        if let Err(error) = super::uncertain::resolve(&ctx).await {
            tracing::warn!(
                error = format!("{error:#}"),
                "looking up unanswered requests failed"
            );
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
