//! Reconciliation: payments submitted long ago with no outcome recorded
//! (a webhook lost, or never sent) are settled by asking the provider.

use std::time::Duration;

use projections::payment_jobs::{self, PaymentJob};

use super::routing;

use crate::context::WorkerContext;

/// Asks the provider about every job submitted at least `quiet` ago and still
/// unsettled, and records each known outcome. Returns how many it settled.
///
/// # Errors
/// When the database fails.
#[tracing::instrument(skip_all)]
pub async fn run_once(ctx: &WorkerContext, quiet: Duration) -> anyhow::Result<usize> {
    let mut settled = 0;
    for job in payment_jobs::unsettled_since(&ctx.pool, quiet, 100).await? {
        if settle_from_status(ctx, &job).await? == Asked::Settled {
            settled += 1;
        }
    }
    Ok(settled)
}

/// Confirms, by status query, the jobs whose unsigned callback arrived
/// (M-Pesa): money is recorded only when the provider confirms it.
///
/// # Errors
/// When the database fails.
#[tracing::instrument(skip_all)]
pub async fn confirm_requested(ctx: &WorkerContext) -> anyhow::Result<usize> {
    let mut settled = 0;
    let (jobs, read_at) = payment_jobs::awaiting_confirmation(&ctx.pool, 50).await?;
    for job in jobs {
        match settle_from_status(ctx, &job).await? {
            Asked::Settled => settled += 1,
            // A settled charge is asked again only by its callback: a query
            // that failed keeps the request, or the provider's later word
            // would be lost.
            Asked::Unanswered if job.status == "settled" => continue,
            Asked::Pending | Asked::Unanswered => {}
        }
        payment_jobs::confirmation_answered(&ctx.pool, job.id, read_at).await?;
    }
    Ok(settled)
}

/// What asking a provider about a job gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    /// A final outcome, recorded.
    Settled,
    /// Still pending.
    Pending,
    /// No answer (no carrier, or the query failed).
    Unanswered,
}

/// Asks the carrier of `job` for its outcome and records it if final.
async fn settle_from_status(ctx: &WorkerContext, job: &PaymentJob) -> anyhow::Result<Asked> {
    let route = match routing::carrier(ctx, job).await {
        Ok(route) => route,
        Err(error) => {
            tracing::warn!(job = %job.id, %error, "no carrier to ask");
            return Ok(Asked::Unanswered);
        }
    };
    match route.adapter.status(job).await {
        Ok(Some(outcome)) => {
            payment_jobs::settle(&ctx.store, job, outcome, None)
                .await
                .map_err(|e| anyhow::anyhow!("settling job {}: {e}", job.id))?;
            tracing::info!(job = %job.id, provider = %job.provider, "settled by status query");
            Ok(Asked::Settled)
        }
        Ok(None) => Ok(Asked::Pending),
        Err(error) => {
            tracing::warn!(job = %job.id, %error, "status query failed; will ask again");
            Ok(Asked::Unanswered)
        }
    }
}
