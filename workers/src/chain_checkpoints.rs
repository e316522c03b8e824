//! Records a signed checkpoint of the events' hash chains on an interval
//! (`projections::tamper`), so removing an aggregate's latest events, or
//! rewriting a chain, is caught by the next verification. Processes may run
//! it side by side: a checkpoint number is taken once.

use projections::subscription::Shutdown;
use projections::tamper;
use secrecy::ExposeSecret;

use crate::context::WorkerContext;

/// Records checkpoints until shutdown.
pub async fn run(ctx: WorkerContext, shutdown: Shutdown) {
    while shutdown.sleep(ctx.config.chain_checkpoint_interval).await {
        let key = ctx.chain_key.expose_secret().as_bytes();
        match tamper::checkpoint(&ctx.pool, key).await {
            Ok(Some(id)) => tracing::debug!(checkpoint = id, "chain checkpoint recorded"),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "chain checkpoint failed; will retry"),
        }
    }
}
