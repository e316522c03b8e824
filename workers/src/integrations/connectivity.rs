//! The connectivity check: every enabled configuration's connection is
//! tested on an interval (hourly by default), and each result is recorded
//! on the configuration as an admin's test would be (`last_test`, an event
//! an auditor can see), so a credential revoked at the provider shows up
//! before a payment or message needs it. One process at a time runs it (an
//! advisory lock).

use domain::integration::{IntegrationCommand, IntegrationConfig};
use projections::read_models::integrations;
use projections::subscription::Shutdown;
use projections::CommandMetadata;

use super::testing::{test_connection, TestError};
use crate::context::WorkerContext;
use crate::exclusive::while_locked;
use crate::follow_up::send;

/// The advisory lock key of the check (`ifconn` in ASCII).
const LOCK_KEY: i64 = 0x0069_6663_6f6e_6e00;

/// What one check found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checked {
    /// Configurations whose test passed.
    pub ok: usize,
    /// Configurations whose test failed.
    pub failed: usize,
    /// Whether another process held the lock (nothing was done).
    pub skipped: bool,
}

/// Tests every enabled configuration once.
///
/// # Errors
/// When the database or the event store fails.
#[tracing::instrument(skip_all)]
pub async fn run_once(ctx: &WorkerContext) -> anyhow::Result<Checked> {
    let checked = while_locked(&ctx.pool, LOCK_KEY, check_all(ctx)).await?;
    Ok(checked.unwrap_or(Checked {
        skipped: true,
        ..Checked::default()
    }))
}

async fn check_all(ctx: &WorkerContext) -> anyhow::Result<Checked> {
    let meta = CommandMetadata::system("connectivity-check");
    let mut checked = Checked::default();
    for row in integrations::enabled(&ctx.pool, &Default::default()).await? {
        let result = match test_connection(ctx, row.id).await {
            Ok(result) => result,
            Err(TestError::NotFound | TestError::NoAdapter(_)) => continue,
            Err(TestError::Store(error)) => return Err(error),
        };
        if result.ok {
            checked.ok += 1;
        } else {
            checked.failed += 1;
            tracing::warn!(integration = %row.id, detail = %result.detail, "connectivity check failed");
        }
        let command = IntegrationCommand::RecordTest(result);
        send::<IntegrationConfig>(&ctx.store, &row.id.to_string(), command, &meta).await?;
    }
    Ok(checked)
}

/// Runs the check every `connectivity_check_interval` until shutdown (the
/// first after one interval: a process starting is not a reason to call
/// every provider).
pub async fn run(ctx: WorkerContext, shutdown: Shutdown) {
    while shutdown.sleep(ctx.config.connectivity_check_interval).await {
        match run_once(&ctx).await {
            Ok(checked) if checked.failed > 0 => {
                tracing::warn!(?checked, "connectivity check found failing integrations")
            }
            Ok(checked) => tracing::debug!(?checked, "connectivity check"),
            Err(error) => tracing::warn!(error = format!("{error:#}"), "connectivity check failed"),
        }
    }
}
