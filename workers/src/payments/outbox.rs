//! The payments subscription: records a job for each payment or refund an
//! invoice asks for and each payout a claim asks for, in the same
//! transaction as its checkpoint, and marks jobs settled when their outcome
//! is recorded.

use std::sync::Arc;

use async_trait::async_trait;
use domain::claim::ClaimEvent;
use domain::invoice::InvoiceEvent;
use projections::payment_jobs::{self, JobKind, NewJob};
use projections::subscription::Subscriber;
use projections::StoredEvent;
use sqlx::PgConnection;
use tokio::sync::Notify;
use uuid::Uuid;

/// The subscription's name.
pub const NAME: &str = "payments";

/// Fills the payment outbox.
pub struct PaymentOutbox {
    wakeup: Arc<Notify>,
}

impl PaymentOutbox {
    /// The outbox subscriber; `wakeup` is notified when a job is recorded.
    pub fn new(wakeup: Arc<Notify>) -> Self {
        Self { wakeup }
    }
}

impl PaymentOutbox {
    async fn handle_claim(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> anyhow::Result<()> {
        let claim_id: Uuid = event.aggregate_id.parse()?;
        match event.decode::<ClaimEvent>()? {
            ClaimEvent::PayoutRequested {
                payout_id,
                amount,
                provider,
                idempotency_key,
                payee_contact,
            } => {
                let causation_id = event.id();
                let job = NewJob {
                    id: payout_id.0,
                    kind: JobKind::Payout,
                    aggregate_type: "Claim",
                    aggregate_id: claim_id,
                    payment_id: payout_id.0,
                    provider: &provider,
                    amount,
                    idempotency_key: &idempotency_key,
                    payer_contact: payee_contact.as_deref(),
                    original_reference: None,
                    correlation_id: event.metadata_str("correlation_id").unwrap_or_default(),
                    causation_id: &causation_id,
                };
                payment_jobs::insert(conn, &job).await?;
                self.wakeup.notify_one();
            }
            ClaimEvent::PayoutSucceeded { payout_id, .. }
            | ClaimEvent::PayoutFailed { payout_id, .. } => {
                payment_jobs::mark_settled(conn, payout_id.0).await?;
            }
            _ => {}
        }
        Ok(())
    }
}

#[async_trait]
impl Subscriber for PaymentOutbox {
    fn name(&self) -> &str {
        NAME
    }

    fn gives_up_after(&self) -> Option<u32> {
        Some(crate::retry::EVENT_ATTEMPTS)
    }

    fn handles(&self, aggregate_type: &str) -> bool {
        aggregate_type == "Invoice" || aggregate_type == "Claim"
    }

    async fn handle(&self, conn: &mut PgConnection, event: &StoredEvent) -> anyhow::Result<()> {
        if event.aggregate_type == "Claim" {
            return self.handle_claim(conn, event).await;
        }
        let invoice_id: Uuid = event.aggregate_id.parse()?;
        let correlation_id = event.metadata_str("correlation_id").unwrap_or_default();
        let causation_id = event.id();
        match event.decode::<InvoiceEvent>()? {
            InvoiceEvent::PaymentRequested {
                payment_id,
                provider,
                amount,
                idempotency_key,
                payer_contact,
                ..
            } => {
                let job = NewJob {
                    id: payment_id.0,
                    kind: JobKind::Charge,
                    aggregate_type: "Invoice",
                    aggregate_id: invoice_id,
                    payment_id: payment_id.0,
                    provider: &provider,
                    amount,
                    idempotency_key: &idempotency_key,
                    payer_contact: payer_contact.as_deref(),
                    original_reference: None,
                    correlation_id,
                    causation_id: &causation_id,
                };
                payment_jobs::insert(conn, &job).await?;
                self.wakeup.notify_one();
            }
            InvoiceEvent::RefundRequested {
                refund_id,
                payment_id,
                amount,
                provider,
                provider_reference,
                idempotency_key,
                ..
            } => {
                let job = NewJob {
                    id: refund_id.0,
                    kind: JobKind::Refund,
                    aggregate_type: "Invoice",
                    aggregate_id: invoice_id,
                    payment_id: payment_id.0,
                    provider: &provider,
                    amount,
                    idempotency_key: &idempotency_key,
                    payer_contact: None,
                    original_reference: provider_reference.as_deref(),
                    correlation_id,
                    causation_id: &causation_id,
                };
                payment_jobs::insert(conn, &job).await?;
                self.wakeup.notify_one();
            }
            InvoiceEvent::PaymentSucceeded { payment_id, .. }
            | InvoiceEvent::PaymentFailed { payment_id, .. } => {
                payment_jobs::mark_settled(conn, payment_id.0).await?;
            }
            InvoiceEvent::RefundIssued { refund_id, .. }
            | InvoiceEvent::RefundFailed { refund_id, .. } => {
                payment_jobs::mark_settled(conn, refund_id.0).await?;
            }
            _ => {}
        }
        Ok(())
    }
}
