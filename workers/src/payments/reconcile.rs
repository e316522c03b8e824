//! Reconciliation: payments submitted long ago with no outcome recorded
//! (a webhook lost, or never sent) are settled by asking the provider.

use std::time::Duration;

use projections::payment_jobs;

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
        let Ok(provider) = ctx.provider(&job.provider).await else {
            continue;
        };
        match provider.status(&job).await {
            Ok(Some(outcome)) => {
                payment_jobs::settle(&ctx.store, &job, outcome, None)
                    .await
                    .map_err(|e| anyhow::anyhow!("settling job {}: {e}", job.id))?;
                tracing::info!(job = %job.id, provider = %job.provider, "settled by reconciliation");
                settled += 1;
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(job = %job.id, %error, "status query failed; will ask again");
            }
        }
    }
    Ok(settled)
}
