//! Routing: which configured provider carries a job, and failover.
//!
//! - A **charge** goes to the enabled configurations that take its currency
//!   and can reach the payer: those of the provider the payment asked for
//!   first (the primary, then by priority), then every other one of the
//!   payment category in the same order. When one is out (timeouts, 5xx,
//!   an open circuit breaker) the next is tried: new payments fail over.
//! - A **refund** goes back through the configuration that took the money.
//! - A **payout** goes to the configurations of the provider asked for.
//!
//! The built-in sandbox (and providers injected by tests) carry their own
//! jobs and nothing else.

use std::sync::Arc;

use domain::integration::catalogue::Category;
use projections::integration_log::{self, BreakerState};
use projections::payment_jobs::{self, JobKind, PaymentJob};
use uuid::Uuid;

use super::{PaymentProvider, ProviderError};
use crate::context::WorkerContext;
use crate::integrations::config;

/// One way to carry a job.
#[derive(Clone)]
pub struct Route {
    /// The configuration (`None` for a built-in provider).
    pub config_id: Option<Uuid>,
    /// Its adapter.
    pub adapter: Arc<dyn PaymentProvider>,
}

fn store_error(error: impl std::fmt::Display) -> ProviderError {
    ProviderError::Unavailable(error.to_string())
}

/// The routes for `job`, in the order to try them.
///
/// # Errors
/// `Unavailable` when the database fails; `Rejected` when nothing enabled
/// can carry it.
pub async fn routes(ctx: &WorkerContext, job: &PaymentJob) -> Result<Vec<Route>, ProviderError> {
    if let Some(builtin) = ctx.providers.get(&job.provider) {
        return Ok(vec![Route {
            config_id: None,
            adapter: builtin.clone(),
        }]);
    }
    if job.kind() == JobKind::Refund {
        if let Some(route) = original_carrier(ctx, job).await? {
            return Ok(vec![route]);
        }
    }
    let provider = (job.kind() != JobKind::Charge).then_some(job.provider.as_str());
    let configs = config::enabled(&ctx.pool, &ctx.vault, Category::Payment, provider)
        .await
        .map_err(store_error)?;
    let (asked, others): (Vec<_>, Vec<_>) = configs
        .into_iter()
        .filter(|c| c.takes(&job.currency))
        .partition(|c| c.provider() == job.provider);
    let mut routes = Vec::new();
    let mut refusals = Vec::new();
    for config in asked.into_iter().chain(others) {
        match ctx.payment_adapter(&config) {
            Ok(adapter) if adapter.can_serve(job) => routes.push(Route {
                config_id: Some(config.id),
                adapter,
            }),
            Ok(_) => refusals.push(format!("{} cannot reach this payer", config.provider())),
            Err(error) => refusals.push(format!("{}: {error}", config.provider())),
        }
    }
    if routes.is_empty() {
        let why = if refusals.is_empty() {
            "none is enabled".to_string()
        } else {
            refusals.join("; ")
        };
        return Err(ProviderError::Rejected(format!(
            "no payment provider can carry this {} in {}: {why}",
            job.kind().as_str(),
            job.currency
        )));
    }
    Ok(routes)
}

/// The configuration that took the payment a refund returns.
async fn original_carrier(
    ctx: &WorkerContext,
    job: &PaymentJob,
) -> Result<Option<Route>, ProviderError> {
    let Some(original) = payment_jobs::by_id(&ctx.pool, job.payment_id)
        .await
        .map_err(store_error)?
    else {
        return Ok(None);
    };
    let Some(config_id) = original.config_id else {
        return Ok(None);
    };
    let Some(config) = config::load(&ctx.pool, &ctx.vault, config_id)
        .await
        .map_err(store_error)?
    else {
        return Ok(None);
    };
    Ok(Some(Route {
        config_id: Some(config_id),
        adapter: ctx.payment_adapter(&config)?,
    }))
}

/// The route that carried a submitted job (for status queries).
///
/// # Errors
/// `Unavailable` when the database fails; `Rejected` when its carrier is
/// no longer configured.
pub async fn carrier(ctx: &WorkerContext, job: &PaymentJob) -> Result<Route, ProviderError> {
    if let Some(config_id) = job.config_id {
        let config = config::load(&ctx.pool, &ctx.vault, config_id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ProviderError::Rejected(format!("configuration {config_id} is gone")))?;
        return Ok(Route {
            config_id: Some(config_id),
            adapter: ctx.payment_adapter(&config)?,
        });
    }
    routes(ctx, job)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ProviderError::Rejected("no carrier".into()))
}

/// Whether `route`'s circuit breaker keeps new work away.
///
/// # Errors
/// `Unavailable` when the database fails.
pub async fn is_open(ctx: &WorkerContext, route: &Route) -> Result<bool, ProviderError> {
    let Some(config_id) = route.config_id else {
        return Ok(false);
    };
    let state = integration_log::breaker(&ctx.pool, config_id)
        .await
        .map_err(store_error)?;
    Ok(state == BreakerState::Open)
}
