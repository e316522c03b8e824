//! The scheduler: time-driven transitions, run on an interval against the
//! business date of an injected clock (tests move the clock, never sleep).
//!
//! Each pass marks open invoices overdue, reminds of overdue invoices a
//! week after their due date and finally a few days before the grace
//! period ends, reminds policyholders 30 and 7 days before their cover
//! ends (`domain::reminders`), lapses policies whose first premium is
//! unpaid past the grace period, offers renewals within the
//! notice period, and expires (or rolls into a paid renewal) policies past
//! their end date. It is safe in several processes at once: a pass runs only
//! while holding an advisory lock, and every command is decided by its
//! aggregate, which refuses or ignores a transition already made.

use chrono::{Datelike, Days, NaiveDate};
use domain::invoice::{Invoice, InvoiceCommand};
use domain::policy::{Policy, PolicyCommand};
use domain::product::Product;
use projections::read_models::scope::Scope;
use projections::read_models::{billing, policies};
use projections::subscription::Shutdown;
use projections::CommandMetadata;
use uuid::Uuid;

use crate::context::WorkerContext;
use crate::exclusive::while_locked;
use crate::follow_up::send;

/// The advisory lock key of the scheduler (`ifsched` in ASCII).
const LOCK_KEY: i64 = 0x0069_6673_6368_6564;
/// Most items of each kind handled in one pass.
const BATCH: i64 = 500;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tick {
    /// Invoices marked overdue.
    pub overdue: usize,
    /// Further reminders of overdue invoices (second, final).
    pub overdue_reminders: usize,
    /// Policies reminded that their cover ends soon.
    pub expiry_reminders: usize,
    /// Policies lapsed.
    pub lapsed: usize,
    /// Renewals offered.
    pub renewed: usize,
    /// Policies expired or rolled into their renewal.
    pub expired: usize,
    /// Whether another process held the lock (nothing was done).
    pub skipped: bool,
}

/// Runs one pass for business date `today`.
///
/// # Errors
/// When the database or event store fails.
#[tracing::instrument(skip(ctx))]
pub async fn run_once(ctx: &WorkerContext, today: NaiveDate) -> anyhow::Result<Tick> {
    let tick = while_locked(&ctx.pool, LOCK_KEY, pass(ctx, today)).await?;
    Ok(tick.unwrap_or(Tick {
        skipped: true,
        ..Tick::default()
    }))
}

async fn pass(ctx: &WorkerContext, today: NaiveDate) -> anyhow::Result<Tick> {
    let periods = ctx.config.periods;
    let meta = CommandMetadata::system(&format!("scheduler:{today}"));
    let store = &ctx.store;
    let mut tick = Tick::default();

    for id in billing::ids_due_before(&ctx.pool, today, BATCH).await? {
        let command = InvoiceCommand::MarkOverdue { today };
        tick.overdue += applied(send::<Invoice>(store, &id.to_string(), command, &meta).await?);
    }

    let grace = periods.lapse_grace_days;
    let cutoffs = domain::reminders::overdue_cutoffs(today, grace);
    for id in billing::ids_due_a_reminder(&ctx.pool, &cutoffs, BATCH).await? {
        let command = InvoiceCommand::RemindOverdue {
            today,
            grace_days: grace,
        };
        tick.overdue_reminders +=
            applied(send::<Invoice>(store, &id.to_string(), command, &meta).await?);
    }

    for id in policies::ids_due_an_expiry_reminder(&ctx.pool, today, BATCH).await? {
        let command = PolicyCommand::RemindExpiry { today };
        tick.expiry_reminders +=
            applied(send::<Policy>(store, &id.to_string(), command, &meta).await?);
    }

    let grace_start = today
        .checked_sub_days(Days::new(u64::from(periods.lapse_grace_days)))
        .unwrap_or(today);
    for id in billing::policies_unpaid_since(&ctx.pool, grace_start, BATCH).await? {
        let command = PolicyCommand::Lapse {
            today,
            grace_days: periods.lapse_grace_days,
        };
        tick.lapsed += applied(send::<Policy>(store, &id.to_string(), command, &meta).await?);
    }

    let notice_until = today
        .checked_add_days(Days::new(u64::from(periods.renewal_notice_days)))
        .unwrap_or(today);
    for id in policies::ids_due_for_renewal(&ctx.pool, notice_until, BATCH).await? {
        tick.renewed += renew(ctx, id, today, &meta).await?;
    }

    for id in policies::ids_ending_before(&ctx.pool, "active", today, BATCH).await? {
        let command = PolicyCommand::Expire { today };
        tick.expired += applied(send::<Policy>(store, &id.to_string(), command, &meta).await?);
    }
    if tick != Tick::default() {
        tracing::info!(?tick, year = today.year(), "scheduler pass");
    }
    Ok(tick)
}

fn applied<A: cqrs_es::Aggregate>(committed: Option<projections::Committed<A>>) -> usize {
    usize::from(committed.is_some_and(|c| !c.events.is_empty()))
}

/// Offers the next term of policy `id` at its product's current terms, due
/// by the day the new term starts (or the usual period, if that has passed).
async fn renew(
    ctx: &WorkerContext,
    id: Uuid,
    today: NaiveDate,
    meta: &CommandMetadata,
) -> anyhow::Result<usize> {
    let Some(row) = policies::get(&ctx.pool, id, Scope::All).await? else {
        return Ok(0);
    };
    let Some(application) = &row.state.application else {
        return Ok(0);
    };
    let (product, _) = ctx
        .store
        .load::<Product>(&application.product_id.to_string())
        .await
        .map_err(|e| anyhow::anyhow!("loading product: {e}"))?;
    let due_date = row
        .state
        .renewal_due_date(today, ctx.config.periods.invoice_due_days);
    let command = PolicyCommand::Renew { product, due_date };
    Ok(applied(
        send::<Policy>(&ctx.store, &id.to_string(), command, meta).await?,
    ))
}

/// Runs a pass every interval until shutdown.
pub async fn run(ctx: WorkerContext, shutdown: Shutdown) {
    loop {
        let today = ctx.clock.today();
        if let Err(error) = run_once(&ctx, today).await {
            tracing::warn!(error = format!("{error:#}"), "scheduler pass failed");
        }
        if !shutdown.sleep(ctx.config.scheduler_interval).await {
            return;
        }
    }
}
