//! Invoices and payments: one row per `Invoice` aggregate (its state and the
//! columns lists are filtered on), and one row per payment on it.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::invoice::{Invoice, InvoiceEvent, Payment};
use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::aggregate_state::{evolve, get_scoped, StateRow, STATE_COLUMNS as INVOICE_COLUMNS};
use super::scope::{scoped, Scope};
use super::{Projection, Tables};
use crate::stored_event::StoredEvent;

/// Builds the `invoices` and `payments` tables.
pub struct BillingProjection;

/// One invoice as stored.
pub type InvoiceRow = StateRow<Invoice>;

/// One payment as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentRow {
    /// Payment id.
    pub id: Uuid,
    /// Its invoice.
    pub invoice_id: Uuid,
    /// The invoice's policy.
    pub policy_id: Uuid,
    /// Who pays.
    pub customer_id: Uuid,
    /// `pending`, `succeeded`, `failed`.
    pub status: String,
    /// Provider.
    pub provider: String,
    /// Amount asked.
    pub amount: Decimal,
    /// Amount received.
    pub amount_received: Decimal,
    /// ISO 4217.
    pub currency: String,
    /// The provider's id of it.
    pub provider_reference: Option<String>,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// Refunded (or being refunded).
    pub refunded: Decimal,
    /// When it was asked.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Filters of the invoice list.
#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    /// Only this status.
    pub status: Option<String>,
    /// Only this customer's.
    pub customer_id: Option<Uuid>,
    /// Only this policy's.
    pub policy_id: Option<Uuid>,
}

#[async_trait]
impl Projection for BillingProjection {
    fn name(&self) -> &'static str {
        "billing"
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        &["Invoice"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["invoices", "payments"]
    }

    async fn create_tables(&self, conn: &mut PgConnection, tables: &Tables) -> anyhow::Result<()> {
        let (i, p) = (tables.get("invoices"), tables.get("payments"));
        let invoices = [
            format!(
                "CREATE TABLE {i} (
                id          uuid PRIMARY KEY,
                status      text        NOT NULL,
                kind        text        NOT NULL,
                policy_id   uuid        NOT NULL,
                customer_id uuid        NOT NULL,
                due_date    date        NOT NULL,
                state       jsonb       NOT NULL,
                version     bigint      NOT NULL,
                created_at  timestamptz NOT NULL,
                updated_at  timestamptz NOT NULL
            )"
            ),
            format!("CREATE INDEX ON {i} (customer_id, id)"),
            format!("CREATE INDEX ON {i} (policy_id)"),
            format!("CREATE INDEX ON {i} (status, due_date)"),
        ];
        super::tables::create_once(conn, i, &invoices).await?;
        let payments = [
            format!(
                "CREATE TABLE {p} (
                id                 uuid PRIMARY KEY,
                invoice_id         uuid        NOT NULL,
                policy_id          uuid        NOT NULL,
                customer_id        uuid        NOT NULL,
                status             text        NOT NULL,
                provider           text        NOT NULL,
                amount             numeric     NOT NULL,
                amount_received    numeric     NOT NULL,
                currency           text        NOT NULL,
                provider_reference text,
                failure_reason     text,
                refunded           numeric     NOT NULL,
                created_at         timestamptz NOT NULL,
                updated_at         timestamptz NOT NULL
            )"
            ),
            format!("CREATE INDEX ON {p} (customer_id, id)"),
            format!("CREATE INDEX ON {p} (invoice_id)"),
        ];
        super::tables::create_once(conn, p, &payments).await?;
        Ok(())
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        tables: &Tables,
        event: &StoredEvent,
    ) -> anyhow::Result<()> {
        if event.aggregate_type != "Invoice" {
            return Ok(());
        }
        let (i, p) = (tables.get("invoices"), tables.get("payments"));
        let id: Uuid = event.aggregate_id.parse()?;
        let (invoice, decoded): (Invoice, _) = evolve(conn, i, id, event).await?;
        let Some(details) = &invoice.details else {
            return Ok(());
        };
        sqlx::query(&format!(
            "INSERT INTO {i} (id, status, kind, policy_id, customer_id, due_date, state, version, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
             ON CONFLICT (id) DO UPDATE SET status = $2, state = $7, version = $8, updated_at = $9"
        ))
        .bind(id)
        .bind(invoice.status.as_str())
        .bind(details.kind.as_str())
        .bind(details.policy_id.0)
        .bind(details.customer_id.0)
        .bind(details.due_date)
        .bind(sqlx::types::Json(&invoice))
        .bind(event.sequence)
        .bind(event.recorded_at)
        .execute(&mut *conn)
        .await?;
        if let Some(payment) = touched_payment(&invoice, &decoded) {
            upsert_payment(conn, p, &invoice, payment, event).await?;
        }
        Ok(())
    }
}

/// The payment an event is about (directly, or through one of its refunds).
fn touched_payment<'a>(invoice: &'a Invoice, event: &InvoiceEvent) -> Option<&'a Payment> {
    let payment_id = match event {
        InvoiceEvent::PaymentRequested { payment_id, .. }
        | InvoiceEvent::PaymentSucceeded { payment_id, .. }
        | InvoiceEvent::PaymentFailed { payment_id, .. }
        | InvoiceEvent::RefundRequested { payment_id, .. } => *payment_id,
        InvoiceEvent::RefundIssued { refund_id, .. }
        | InvoiceEvent::RefundFailed { refund_id, .. } => {
            invoice
                .refunds
                .iter()
                .find(|r| r.refund_id == *refund_id)?
                .payment_id
        }
        _ => return None,
    };
    invoice.payments.iter().find(|p| p.payment_id == payment_id)
}

async fn upsert_payment(
    conn: &mut PgConnection,
    table: &str,
    invoice: &Invoice,
    payment: &Payment,
    event: &StoredEvent,
) -> Result<(), sqlx::Error> {
    let Some(details) = &invoice.details else {
        return Ok(());
    };
    sqlx::query(&format!(
        "INSERT INTO {table} (id, invoice_id, policy_id, customer_id, status, provider, amount, amount_received,
             currency, provider_reference, failure_reason, refunded, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
         ON CONFLICT (id) DO UPDATE SET status = $5, amount_received = $8, provider_reference = $10,
             failure_reason = $11, refunded = $12, updated_at = $13"
    ))
    .bind(payment.payment_id.0)
    .bind(details.invoice_id.0)
    .bind(details.policy_id.0)
    .bind(details.customer_id.0)
    .bind(payment.status.as_str())
    .bind(&payment.provider)
    .bind(payment.requested.amount())
    .bind(payment.received.amount())
    .bind(payment.requested.currency().code())
    .bind(&payment.provider_reference)
    .bind(&payment.failure_reason)
    .bind(payment.refunded.amount())
    .bind(event.recorded_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// One invoice by id, if `scope` may see it.
///
/// # Errors
/// When the database fails.
pub async fn get_invoice(
    pool: &PgPool,
    id: Uuid,
    scope: Scope,
) -> Result<Option<InvoiceRow>, sqlx::Error> {
    get_scoped(pool, "invoices", id, scope).await
}

/// Up to `limit` invoices after `after` that `scope` may see.
///
/// # Errors
/// When the database fails.
pub async fn list_invoices(
    pool: &PgPool,
    scope: Scope,
    filter: &InvoiceFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<InvoiceRow>, sqlx::Error> {
    let (customer, agent) = (scope.customer(), scope.agent());
    sqlx::query_as(&format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices
         WHERE {}
           AND ($3::text IS NULL OR status = $3)
           AND ($4::uuid IS NULL OR customer_id = $4)
           AND ($5::uuid IS NULL OR policy_id = $5)
           AND ($6::uuid IS NULL OR id > $6)
         ORDER BY id LIMIT $7",
        scoped(1, 2)
    ))
    .bind(customer)
    .bind(agent)
    .bind(&filter.status)
    .bind(filter.customer_id)
    .bind(filter.policy_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

const PAYMENT_COLUMNS: &str = "id, invoice_id, policy_id, customer_id, status, provider, amount, amount_received, currency, provider_reference, failure_reason, refunded, created_at, updated_at";

/// One payment by id, if `scope` may see it.
///
/// # Errors
/// When the database fails.
pub async fn get_payment(
    pool: &PgPool,
    id: Uuid,
    scope: Scope,
) -> Result<Option<PaymentRow>, sqlx::Error> {
    let (customer, agent) = (scope.customer(), scope.agent());
    sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = $1 AND {}",
        scoped(2, 3)
    ))
    .bind(id)
    .bind(customer)
    .bind(agent)
    .fetch_optional(pool)
    .await
}

/// Up to `limit` payments after `after` that `scope` may see, optionally of
/// one invoice or status.
///
/// # Errors
/// When the database fails.
pub async fn list_payments(
    pool: &PgPool,
    scope: Scope,
    invoice_id: Option<Uuid>,
    status: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<PaymentRow>, sqlx::Error> {
    let (customer, agent) = (scope.customer(), scope.agent());
    sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments
         WHERE {}
           AND ($3::uuid IS NULL OR invoice_id = $3)
           AND ($4::text IS NULL OR status = $4)
           AND ($5::uuid IS NULL OR id > $5)
         ORDER BY id LIMIT $6",
        scoped(1, 2)
    ))
    .bind(customer)
    .bind(agent)
    .bind(invoice_id)
    .bind(status)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Ids of open invoices due before `date` (the scheduler's overdue list).
///
/// # Errors
/// When the database fails.
pub async fn ids_due_before(
    pool: &PgPool,
    date: NaiveDate,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM invoices WHERE status = 'open' AND due_date < $1 ORDER BY due_date, id LIMIT $2",
    )
    .bind(date)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Overdue invoices that may have a reminder due (`cutoffs` for the
/// business day): past the second reminder's day without it, or past the
/// final notice's day without that, and still within the grace period (the
/// scheduler's reminder list; the invoice decides).
///
/// # Errors
/// When the database fails.
pub async fn ids_due_a_reminder(
    pool: &PgPool,
    cutoffs: &domain::reminders::OverdueCutoffs,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM invoices
         WHERE status = 'overdue' AND due_date >= $3
           AND NOT coalesce(state->'reminders' @> '[\"final\"]', false)
           AND ((due_date <= $1 AND NOT coalesce(state->'reminders' @> '[\"second\"]', false))
                OR due_date <= $2)
         ORDER BY due_date, id LIMIT $4",
    )
    .bind(cutoffs.second)
    .bind(cutoffs.final_notice)
    .bind(cutoffs.lapsed)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Policies still awaiting their first premium whose invoice for it is
/// unpaid and was due before `date` (the scheduler's lapse list).
///
/// # Errors
/// When the database fails.
pub async fn policies_unpaid_since(
    pool: &PgPool,
    date: NaiveDate,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT i.policy_id FROM invoices i JOIN policies p ON p.id = i.policy_id
         WHERE i.kind = 'premium' AND i.status IN ('open', 'overdue') AND i.due_date < $1
           AND p.status = 'approved'
         ORDER BY i.due_date, i.id LIMIT $2",
    )
    .bind(date)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The open or overdue invoice `scope` may see that falls due first.
///
/// # Errors
/// When the database fails.
pub async fn next_due(pool: &PgPool, scope: Scope) -> Result<Option<InvoiceRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices
         WHERE {} AND status IN ('open', 'overdue')
         ORDER BY due_date, id LIMIT 1",
        scoped(1, 2)
    ))
    .bind(scope.customer())
    .bind(scope.agent())
    .fetch_optional(pool)
    .await
}
