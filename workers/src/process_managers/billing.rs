//! Policy events → invoice commands.

use async_trait::async_trait;
use chrono::Datelike;
use domain::invoice::{Invoice, InvoiceCommand, InvoiceDetails, InvoiceKind, InvoiceStatus};
use domain::policy::{InvoiceOffset, Policy, PolicyEvent, RefundAllocation, Term};
use domain::{InvoiceId, Money};
use projections::numbers::{self, DocumentKind};
use projections::subscription::Subscriber;
use projections::StoredEvent;
use sqlx::PgConnection;

use crate::context::WorkerContext;
use crate::follow_up::{caused_by, send};

/// The subscription's name.
pub const NAME: &str = "billing_process";

/// Creates invoices and refunds for policy events.
pub struct BillingProcess {
    ctx: WorkerContext,
}

impl BillingProcess {
    /// The process manager over `ctx`.
    pub fn new(ctx: WorkerContext) -> Self {
        Self { ctx }
    }

    async fn invoice(
        &self,
        event: &StoredEvent,
        invoice_id: InvoiceId,
        kind: InvoiceKind,
        term_number: u32,
        amount: Money,
        due_date: chrono::NaiveDate,
    ) -> anyhow::Result<()> {
        let (policy, _) = self
            .ctx
            .store
            .load::<Policy>(&event.aggregate_id)
            .await
            .map_err(|e| anyhow::anyhow!("loading policy {}: {e}", event.aggregate_id))?;
        let (Some(application), Some(policy_number)) = (&policy.application, &policy.policy_number)
        else {
            anyhow::bail!("policy {} has no number to invoice", event.aggregate_id);
        };
        let today = self.ctx.clock.today();
        let invoice_number = numbers::assign(
            &self.ctx.pool,
            DocumentKind::Invoice,
            today.year(),
            invoice_id.0,
        )
        .await?;
        let details = InvoiceDetails {
            invoice_id,
            invoice_number,
            policy_id: application.policy_id,
            policy_number: policy_number.clone(),
            customer_id: application.customer_id,
            kind,
            term_number,
            amount,
            issued_on: today,
            due_date: due_date.max(today),
        };
        send::<Invoice>(
            &self.ctx.store,
            &invoice_id.to_string(),
            InvoiceCommand::Create(details),
            &caused_by(event, NAME),
        )
        .await?;
        Ok(())
    }

    async fn invoice_term(
        &self,
        event: &StoredEvent,
        term: &Term,
        kind: InvoiceKind,
    ) -> anyhow::Result<()> {
        self.invoice(
            event,
            term.invoice_id,
            kind,
            term.number,
            term.premium,
            term.due_date,
        )
        .await
    }

    /// Closes every invoice of the policy still open: a cancelled or
    /// lapsed policy's premium is no longer collected. What was paid on
    /// them is settled by the refund the policy computed; a payment that
    /// settles afterwards is returned by the policy (`PaymentReturned`).
    async fn close_open(&self, event: &StoredEvent, reason: &str) -> anyhow::Result<()> {
        let (policy, _) = self
            .ctx
            .store
            .load::<Policy>(&event.aggregate_id)
            .await
            .map_err(|e| anyhow::anyhow!("loading policy {}: {e}", event.aggregate_id))?;
        for (invoice_id, _) in &policy.invoices {
            let (invoice, _) = self
                .ctx
                .store
                .load::<Invoice>(&invoice_id.to_string())
                .await
                .map_err(|e| anyhow::anyhow!("loading invoice {invoice_id}: {e}"))?;
            if !matches!(invoice.status, InvoiceStatus::Open | InvoiceStatus::Overdue) {
                continue;
            }
            self.to_invoice(
                event,
                *invoice_id,
                InvoiceCommand::Close {
                    reason: reason.to_string(),
                },
            )
            .await?;
        }
        Ok(())
    }

    async fn to_invoice(
        &self,
        event: &StoredEvent,
        invoice_id: InvoiceId,
        command: InvoiceCommand,
    ) -> anyhow::Result<()> {
        send::<Invoice>(
            &self.ctx.store,
            &invoice_id.to_string(),
            command,
            &caused_by(event, NAME),
        )
        .await?;
        Ok(())
    }

    /// Bills less on the invoices a lower endorsement offset.
    async fn reduce(&self, event: &StoredEvent, offsets: &[InvoiceOffset]) -> anyhow::Result<()> {
        for offset in offsets {
            // The causing event names the reduction: a redelivery of it
            // reduces nothing twice.
            let command = InvoiceCommand::Reduce {
                key: event.id(),
                amount: offset.amount,
                reason: "endorsement lowered the premium before it was paid".to_string(),
            };
            self.to_invoice(event, offset.invoice_id, command).await?;
        }
        Ok(())
    }

    async fn refund(
        &self,
        event: &StoredEvent,
        refunds: &[RefundAllocation],
        reason: &str,
    ) -> anyhow::Result<()> {
        for refund in refunds {
            let command = InvoiceCommand::RequestRefund {
                refund_id: refund.refund_id,
                payment_id: refund.payment_id,
                amount: refund.amount,
                reason: reason.to_string(),
            };
            self.to_invoice(event, refund.invoice_id, command).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Subscriber for BillingProcess {
    fn name(&self) -> &str {
        NAME
    }

    fn gives_up_after(&self) -> Option<u32> {
        Some(crate::retry::EVENT_ATTEMPTS)
    }

    fn handles(&self, aggregate_type: &str) -> bool {
        aggregate_type == "Policy"
    }

    #[tracing::instrument(skip_all, fields(position = event.global_position, event_type = %event.event_type))]
    async fn handle(&self, _conn: &mut PgConnection, event: &StoredEvent) -> anyhow::Result<()> {
        match event.decode::<PolicyEvent>()? {
            PolicyEvent::ApplicationApproved { term, .. } => {
                self.invoice_term(event, &term, InvoiceKind::Premium).await
            }
            PolicyEvent::PolicyRenewed { term } => {
                self.invoice_term(event, &term, InvoiceKind::Renewal).await
            }
            PolicyEvent::PolicyEndorsed {
                invoice_id: Some(invoice_id),
                due_date: Some(due_date),
                adjustment,
                term_number,
                ..
            } => {
                self.invoice(
                    event,
                    invoice_id,
                    InvoiceKind::Endorsement,
                    term_number,
                    adjustment,
                    due_date,
                )
                .await
            }
            PolicyEvent::PolicyEndorsed {
                refunds, offsets, ..
            } => {
                self.reduce(event, &offsets).await?;
                self.refund(event, &refunds, "endorsement lowered the premium")
                    .await
            }
            PolicyEvent::PolicyCancelled { refunds, .. } => {
                self.close_open(event, "policy cancelled").await?;
                self.refund(event, &refunds, "policy cancelled: unearned premium")
                    .await
            }
            PolicyEvent::PolicyLapsed { refunds, .. } => {
                self.close_open(event, "policy lapsed: premium never paid")
                    .await?;
                self.refund(event, &refunds, "policy lapsed: never in force")
                    .await
            }
            PolicyEvent::PaymentReturned { refunds, .. } => {
                self.refund(
                    event,
                    &refunds,
                    "paid after the policy's cover had ended: returned in full",
                )
                .await
            }
            PolicyEvent::PolicyCreditApplied {
                invoice_id, amount, ..
            } => {
                let command = InvoiceCommand::ApplyCredit {
                    key: event.id(),
                    amount,
                };
                self.to_invoice(event, invoice_id, command).await
            }
            _ => Ok(()),
        }
    }
}
