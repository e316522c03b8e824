//! Invoice events → policy commands: payments recorded, invoices paid,
//! credit or reductions an invoice declined given back to the policy.

use async_trait::async_trait;
use domain::invoice::{Invoice, InvoiceEvent};
use domain::policy::{Policy, PolicyCommand};
use domain::{InvoiceId, PaymentId};
use projections::subscription::Subscriber;
use projections::StoredEvent;
use sqlx::PgConnection;

use crate::context::WorkerContext;
use crate::follow_up::{caused_by, send};

/// The subscription's name.
pub const NAME: &str = "policy_process";

/// Records payments on policies and activates them.
pub struct PolicyProcess {
    ctx: WorkerContext,
}

impl PolicyProcess {
    /// The process manager over `ctx`.
    pub fn new(ctx: WorkerContext) -> Self {
        Self { ctx }
    }

    async fn invoice(&self, event: &StoredEvent) -> anyhow::Result<Invoice> {
        let (invoice, _) = self
            .ctx
            .store
            .load::<Invoice>(&event.aggregate_id)
            .await
            .map_err(|e| anyhow::anyhow!("loading invoice {}: {e}", event.aggregate_id))?;
        Ok(invoice)
    }

    async fn to_policy(
        &self,
        event: &StoredEvent,
        invoice: &Invoice,
        command: PolicyCommand,
    ) -> anyhow::Result<()> {
        let Some(details) = &invoice.details else {
            anyhow::bail!("invoice {} has no details", event.aggregate_id);
        };
        send::<Policy>(
            &self.ctx.store,
            &details.policy_id.to_string(),
            command,
            &caused_by(event, NAME),
        )
        .await?;
        Ok(())
    }

    /// Records all of a payment on the policy, the part beyond the
    /// invoice's balance as credit: whatever the invoice's state, the
    /// policy accounts for every shilling received.
    async fn record_payment(
        &self,
        event: &StoredEvent,
        payment_id: PaymentId,
        amount: domain::Money,
        overpayment: domain::Money,
    ) -> anyhow::Result<()> {
        if amount.amount().is_zero() {
            return Ok(());
        }
        let invoice = self.invoice(event).await?;
        let provider = invoice
            .payments
            .iter()
            .find(|p| p.payment_id == payment_id)
            .map_or_else(String::new, |p| p.provider.clone());
        let invoice_id: InvoiceId = event.aggregate_id.parse()?;
        let command = PolicyCommand::RecordPremiumPayment {
            invoice_id,
            payment_id,
            amount,
            credit: Some(overpayment),
            provider,
        };
        self.to_policy(event, &invoice, command).await
    }
}

impl PolicyProcess {
    /// Gives the policy back what its invoice declined.
    async fn restore_credit(
        &self,
        event: &StoredEvent,
        key: String,
        amount: domain::Money,
        from_reduction: bool,
    ) -> anyhow::Result<()> {
        let invoice = self.invoice(event).await?;
        let invoice_id: InvoiceId = event.aggregate_id.parse()?;
        let command = PolicyCommand::RestoreCredit {
            invoice_id,
            key,
            amount,
            from_reduction,
        };
        self.to_policy(event, &invoice, command).await
    }
}

#[async_trait]
impl Subscriber for PolicyProcess {
    fn name(&self) -> &str {
        NAME
    }

    fn gives_up_after(&self) -> Option<u32> {
        Some(crate::retry::EVENT_ATTEMPTS)
    }

    fn handles(&self, aggregate_type: &str) -> bool {
        aggregate_type == "Invoice"
    }

    #[tracing::instrument(skip_all, fields(position = event.global_position, event_type = %event.event_type))]
    async fn handle(&self, _conn: &mut PgConnection, event: &StoredEvent) -> anyhow::Result<()> {
        match event.decode::<InvoiceEvent>()? {
            InvoiceEvent::PaymentSucceeded {
                payment_id,
                amount,
                overpayment,
                ..
            } => {
                self.record_payment(event, payment_id, amount, overpayment)
                    .await
            }
            InvoiceEvent::CreditDeclined { key, amount } => {
                self.restore_credit(event, key, amount, false).await
            }
            InvoiceEvent::ReductionDeclined { key, amount } => {
                self.restore_credit(event, key, amount, true).await
            }
            InvoiceEvent::InvoicePaid { .. } => {
                let invoice = self.invoice(event).await?;
                let invoice_id: InvoiceId = event.aggregate_id.parse()?;
                let command = PolicyCommand::Activate {
                    invoice_id,
                    today: Some(self.ctx.clock.today()),
                };
                self.to_policy(event, &invoice, command).await
            }
            _ => Ok(()),
        }
    }
}
