//! Records a signed checkpoint of the event stream on an interval
//! (`projections::tamper::record`), keeps it in the anchor outside the
//! database, and never signs over a broken history: it raises an integrity
//! alarm instead, until an admin acknowledges it. Processes may run it
//! side by side: a checkpoint number is taken once.

use projections::subscription::Shutdown;
use projections::tamper::{self, Recorded};

use crate::context::WorkerContext;

/// Records checkpoints until shutdown.
pub async fn run(ctx: WorkerContext, shutdown: Shutdown) {
    while shutdown.sleep(ctx.config.chain_checkpoint_interval).await {
        match tamper::record(&ctx.store, ctx.anchor.as_ref()).await {
            Ok(Recorded::Signed(id)) => {
                tracing::debug!(checkpoint = id, "chain checkpoint recorded")
            }
            Ok(Recorded::Nothing) => {}
            Ok(Recorded::Refused { alarm, problem }) => {
                tracing::error!(alarm, %problem, "no chain checkpoint: integrity alarm raised");
            }
            Err(error) => tracing::warn!(
                error = format!("{error:#}"),
                "chain checkpoint failed; will retry"
            ),
        }
    }
}
