//! The reporting projection: every money movement of invoices and claims on
//! its business date, with the product, customer and agent it belongs to
//! and the commission it earned — the input of the claims, revenue and
//! commission reports (`domain::reports`).
//!
//! Alongside the movements it keeps what it needs to attribute them, from
//! the events alone: each product's code and commission rate, each
//! customer's agent, and each policy's, invoice's and claim's product and
//! customer. A commission is fixed when the premium is paid (the product's
//! rate and the customer's agent that day); a refund takes back commission
//! on the premium part it returns, at the rate of the payment it returns.

use async_trait::async_trait;
use chrono::NaiveDate;
use domain::claim::ClaimEvent;
use domain::invoice::InvoiceEvent;
use domain::policy::PolicyEvent;
use domain::product::ProductEvent;
use domain::reports::collections::{commission, refunded_premium};
use domain::reports::movements::{DailyTotal, MovementKind};
use domain::user::UserEvent;
use domain::{Currency, Money};
use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Projection, Tables};
use crate::stored_event::StoredEvent;

/// Builds the `report_*` tables.
pub struct ReportingProjection;

const MOVEMENTS: &str = "report_movements";
const SUBJECTS: &str = "report_subjects";
const PRODUCTS: &str = "report_products";
const AGENTS: &str = "report_agents";
/// The movements totalled by day, product, provider, currency and kind,
/// kept as each movement is written: what the reports read (a month's
/// totals without going through every movement of the month).
const DAILY: &str = "report_daily";

/// The kinds that settle a payment request.
const SETTLING: [MovementKind; 2] = [MovementKind::PaymentSucceeded, MovementKind::PaymentFailed];

#[async_trait]
impl Projection for ReportingProjection {
    fn name(&self) -> &'static str {
        "reporting"
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        &["Product", "User", "Policy", "Invoice", "Claim"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &[MOVEMENTS, SUBJECTS, PRODUCTS, AGENTS, DAILY]
    }

    async fn create_tables(&self, conn: &mut PgConnection, tables: &Tables) -> anyhow::Result<()> {
        let (m, s, p, a) = (
            tables.get(MOVEMENTS),
            tables.get(SUBJECTS),
            tables.get(PRODUCTS),
            tables.get(AGENTS),
        );
        let ddl = [
            (
                m,
                vec![
                    format!(
                        "CREATE TABLE {m} (
                        id              text PRIMARY KEY,
                        kind            text    NOT NULL,
                        business_date   date    NOT NULL,
                        currency        text    NOT NULL,
                        amount          numeric NOT NULL,
                        premium         numeric NOT NULL,
                        commission_rate numeric NOT NULL,
                        commission      numeric NOT NULL,
                        provider        text,
                        product_code    text    NOT NULL,
                        policy_id       uuid    NOT NULL,
                        customer_id     uuid    NOT NULL,
                        agent_id        uuid,
                        subject_id      uuid    NOT NULL,
                        item_id         uuid,
                        related_id      uuid
                    )"
                    ),
                    format!("CREATE INDEX ON {m} (business_date, kind)"),
                    format!("CREATE INDEX ON {m} (item_id)"),
                    format!("CREATE INDEX ON {m} (related_id)"),
                    format!("CREATE INDEX ON {m} (subject_id)"),
                    format!("CREATE INDEX ON {m} (customer_id, business_date)"),
                    format!("CREATE INDEX ON {m} (agent_id, business_date)"),
                ],
            ),
            (
                s,
                vec![format!(
                    "CREATE TABLE {s} (
                    id           uuid PRIMARY KEY,
                    kind         text NOT NULL,
                    policy_id    uuid NOT NULL,
                    customer_id  uuid NOT NULL,
                    product_code text NOT NULL,
                    reserve      numeric NOT NULL DEFAULT 0,
                    claim_open   boolean NOT NULL DEFAULT true,
                    invoice_number text,
                    policy_number  text
                )"
                )],
            ),
            (
                p,
                vec![
                    format!(
                        "CREATE TABLE {p} (
                        id              uuid PRIMARY KEY,
                        code            text    NOT NULL,
                        commission_rate numeric NOT NULL
                    )"
                    ),
                    format!("CREATE INDEX ON {p} (code)"),
                ],
            ),
            (
                a,
                vec![format!(
                    "CREATE TABLE {a} (customer_id uuid PRIMARY KEY, agent_id uuid NOT NULL)"
                )],
            ),
        ];
        for (table, statements) in ddl {
            super::tables::create_once(conn, table, &statements).await?;
        }
        create_daily(conn, tables.get(DAILY), m).await?;
        // Subjects tables created before claims' case reserves were kept
        // (their reserves show after `ifinsure projections rebuild`).
        super::tables::add_column_once(conn, s, "reserve", "numeric NOT NULL DEFAULT 0").await?;
        super::tables::add_column_once(conn, s, "claim_open", "boolean NOT NULL DEFAULT true")
            .await?;
        // ... and before statements read their documents' numbers here.
        super::tables::add_column_once(conn, s, "invoice_number", "text").await?;
        super::tables::add_column_once(conn, s, "policy_number", "text").await?;
        Ok(())
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        tables: &Tables,
        event: &StoredEvent,
    ) -> anyhow::Result<()> {
        let id: Uuid = event.aggregate_id.parse()?;
        let mut writer = Writer {
            conn,
            tables,
            event,
            subject: id,
        };
        match event.aggregate_type.as_str() {
            "Product" => writer.product(event.decode()?).await,
            "User" => writer.user(event.decode()?).await,
            "Policy" => writer.policy(event.decode()?).await,
            "Invoice" => writer.invoice(event.decode()?).await,
            "Claim" => writer.claim(event.decode()?).await,
            _ => Ok(()),
        }
    }
}

/// A movement before it is written.
struct Movement {
    kind: MovementKind,
    amount: Money,
    provider: Option<String>,
    item_id: Option<Uuid>,
    related_id: Option<Uuid>,
    /// The premium part of a payment or refund, the rate and the commission.
    premium: Decimal,
    commission_rate: Decimal,
    commission: Decimal,
    agent_id: Option<Uuid>,
    /// Set on the second movement one event records.
    id_suffix: Option<&'static str>,
}

impl Movement {
    fn new(kind: MovementKind, amount: Money) -> Self {
        Self {
            kind,
            amount,
            provider: None,
            item_id: None,
            related_id: None,
            premium: Decimal::ZERO,
            commission_rate: Decimal::ZERO,
            commission: Decimal::ZERO,
            agent_id: None,
            id_suffix: None,
        }
    }

    fn item(mut self, provider: Option<String>, item_id: Uuid) -> Self {
        self.provider = provider;
        self.item_id = Some(item_id);
        self
    }
}

/// What a claim's event does to its case reserve.
#[derive(Debug, Clone, Copy)]
enum ReserveStep {
    /// The adjuster set the reserve to this.
    Set(Decimal),
    /// The approved total changed.
    Recount,
    /// The claim opened (reopened) or ended (paid, rejected, closed).
    Open(bool),
}

/// A requested payment, refund or payout as recorded.
#[derive(sqlx::FromRow)]
struct Requested {
    amount: Decimal,
    currency: String,
    provider: Option<String>,
    related_id: Option<Uuid>,
}

/// The premium, rate, commission and agent of a payment as recorded.
#[derive(sqlx::FromRow)]
struct Paid {
    amount: Decimal,
    premium: Decimal,
    commission_rate: Decimal,
    agent_id: Option<Uuid>,
}

struct Writer<'a> {
    conn: &'a mut PgConnection,
    tables: &'a Tables,
    event: &'a StoredEvent,
    /// The event's aggregate (invoice or claim).
    subject: Uuid,
}

impl Writer<'_> {
    async fn product(&mut self, event: ProductEvent) -> anyhow::Result<()> {
        let p = self.tables.get(PRODUCTS);
        match event {
            ProductEvent::ProductDefined(terms) => {
                sqlx::query(&format!(
                    "INSERT INTO {p} (id, code, commission_rate) VALUES ($1, $2, $3)
                     ON CONFLICT (id) DO NOTHING"
                ))
                .bind(self.subject)
                .bind(&terms.code)
                .bind(terms.commission_rate)
                .execute(&mut *self.conn)
                .await?;
            }
            ProductEvent::CommissionRateSet { rate, .. } => {
                sqlx::query(&format!(
                    "UPDATE {p} SET commission_rate = $2 WHERE id = $1"
                ))
                .bind(self.subject)
                .bind(rate)
                .execute(&mut *self.conn)
                .await?;
            }
            _ => {}
        }
        Ok(())
    }

    async fn user(&mut self, event: UserEvent) -> anyhow::Result<()> {
        if let UserEvent::AgentAssigned { agent_id, .. } = event {
            let a = self.tables.get(AGENTS);
            sqlx::query(&format!(
                "INSERT INTO {a} (customer_id, agent_id) VALUES ($1, $2)
                 ON CONFLICT (customer_id) DO UPDATE SET agent_id = $2"
            ))
            .bind(self.subject)
            .bind(agent_id.0)
            .execute(&mut *self.conn)
            .await?;
        }
        Ok(())
    }

    async fn policy(&mut self, event: PolicyEvent) -> anyhow::Result<()> {
        use MovementKind::CreditNote;
        match event {
            PolicyEvent::ApplicationSubmitted(application) => {
                let s = self.tables.get(SUBJECTS);
                sqlx::query(&format!(
                    "INSERT INTO {s} (id, kind, policy_id, customer_id, product_code)
                     VALUES ($1, 'policy', $1, $2, $3) ON CONFLICT (id) DO NOTHING"
                ))
                .bind(self.subject)
                .bind(application.customer_id.0)
                .bind(&application.product_code)
                .execute(&mut *self.conn)
                .await?;
            }
            PolicyEvent::ApplicationApproved { policy_number, .. } => {
                let s = self.tables.get(SUBJECTS);
                sqlx::query(&format!("UPDATE {s} SET policy_number = $2 WHERE id = $1"))
                    .bind(self.subject)
                    .bind(&policy_number)
                    .execute(&mut *self.conn)
                    .await?;
            }
            PolicyEvent::PolicyCancelled {
                credit_note,
                earned_unpaid,
                ..
            } => {
                if let Some(note) = credit_note.filter(|n| !n.amount().is_zero()) {
                    self.write(Movement::new(CreditNote, note)).await?;
                }
                if let Some(kept) = earned_unpaid.filter(|k| !k.amount().is_zero()) {
                    let mut movement = Movement::new(CreditNote, kept.negated());
                    movement.id_suffix = Some("earned_unpaid");
                    self.write(movement).await?;
                }
            }
            PolicyEvent::PolicyLapsed { credit_note, .. }
            | PolicyEvent::PaymentReturned { credit_note, .. } => {
                if let Some(note) = credit_note.filter(|n| !n.amount().is_zero()) {
                    self.write(Movement::new(CreditNote, note)).await?;
                }
            }
            PolicyEvent::CreditRestored {
                amount,
                from_reduction,
                after_end,
                ..
            } => {
                // A reduction an invoice could not take is premium given
                // back as credit; credit an invoice declined after cover
                // ended was counted in the cancellation's credit note as
                // applied, and is taken back from it.
                let note = match (from_reduction, after_end) {
                    (true, false) => Some(amount),
                    (false, true) => Some(amount.negated()),
                    _ => None,
                };
                if let Some(note) = note {
                    self.write(Movement::new(CreditNote, note)).await?;
                }
            }
            PolicyEvent::PolicyEndorsed {
                adjustment,
                offsets,
                ..
            } if adjustment.is_negative() => {
                // The lower premium less what it took off unpaid invoices
                // (those show as reductions of the invoices).
                let offset: Decimal = offsets.iter().map(|o| o.amount.amount()).sum();
                let note = -adjustment.amount() - offset;
                if note > Decimal::ZERO {
                    let note = Money::rounded(note, adjustment.currency());
                    self.write(Movement::new(CreditNote, note)).await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Records an invoice or claim of `policy_id` under its policy's product,
    /// with the document numbers its statement lines name.
    async fn record_subject(
        &mut self,
        kind: &str,
        policy_id: Uuid,
        customer_id: Uuid,
        numbers: (Option<&str>, Option<&str>),
    ) -> anyhow::Result<()> {
        let s = self.tables.get(SUBJECTS);
        let (invoice_number, policy_number) = numbers;
        sqlx::query(&format!(
            "INSERT INTO {s} (id, kind, policy_id, customer_id, product_code, invoice_number, policy_number)
             SELECT $1, $2, $3, $4, coalesce((SELECT product_code FROM {s} WHERE id = $3), ''), $5, $6
             ON CONFLICT (id) DO NOTHING"
        ))
        .bind(self.subject)
        .bind(kind)
        .bind(policy_id)
        .bind(customer_id)
        .bind(invoice_number)
        .bind(policy_number)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    async fn invoice(&mut self, event: InvoiceEvent) -> anyhow::Result<()> {
        use MovementKind::*;
        let movement = match event {
            InvoiceEvent::InvoiceCreated(details) => {
                let numbers = (
                    Some(details.invoice_number.as_str()),
                    Some(details.policy_number.as_str()),
                );
                self.record_subject(
                    "invoice",
                    details.policy_id.0,
                    details.customer_id.0,
                    numbers,
                )
                .await?;
                Movement::new(InvoiceIssued, details.amount)
            }
            InvoiceEvent::InvoiceVoided { .. } => {
                // What was still owed on it: issued less reductions, premium
                // paid and credit applied.
                let issued = self.sum(&[InvoiceIssued, InvoiceVoided]).await?;
                let paid = self.premium_paid().await?;
                let Some(currency) = self.currency_of(InvoiceIssued).await? else {
                    return Ok(());
                };
                let unpaid = issued - paid;
                if unpaid <= Decimal::ZERO {
                    return Ok(());
                }
                Movement::new(InvoiceVoided, Money::rounded(-unpaid, currency))
            }
            InvoiceEvent::InvoiceReduced { amount, .. } => {
                Movement::new(InvoiceVoided, amount.negated())
            }
            InvoiceEvent::CreditApplied { amount, .. } => {
                let mut movement = Movement::new(CreditApplied, amount);
                movement.premium = amount.amount();
                movement
            }
            InvoiceEvent::PaymentRequested {
                payment_id,
                provider,
                amount,
                ..
            } => Movement::new(PaymentRequested, amount).item(Some(provider), payment_id.0),
            InvoiceEvent::PaymentSucceeded {
                payment_id,
                amount,
                applied,
                ..
            } => {
                let asked = self.requested(PaymentRequested, payment_id.0).await?;
                let (rate, agent) = self.commission_terms().await?;
                let mut movement = Movement::new(PaymentSucceeded, amount)
                    .item(asked.and_then(|r| r.provider), payment_id.0);
                movement.premium = applied.amount();
                movement.commission_rate = rate;
                movement.commission = commission(applied, rate).amount();
                movement.agent_id = agent;
                movement
            }
            InvoiceEvent::PaymentFailed { payment_id, .. } => {
                let Some(asked) = self.requested(PaymentRequested, payment_id.0).await? else {
                    return Ok(());
                };
                let amount = money(asked.amount, &asked.currency)?;
                Movement::new(PaymentFailed, amount).item(asked.provider, payment_id.0)
            }
            InvoiceEvent::RefundRequested {
                refund_id,
                payment_id,
                amount,
                provider,
                ..
            } => {
                let mut movement =
                    Movement::new(RefundRequested, amount).item(Some(provider), refund_id.0);
                movement.related_id = Some(payment_id.0);
                movement
            }
            InvoiceEvent::RefundIssued { refund_id, .. } => {
                let Some(asked) = self.requested(RefundRequested, refund_id.0).await? else {
                    return Ok(());
                };
                let amount = money(asked.amount, &asked.currency)?;
                let mut movement =
                    Movement::new(RefundIssued, amount).item(asked.provider, refund_id.0);
                movement.related_id = asked.related_id;
                if let Some(payment_id) = asked.related_id {
                    self.take_back_commission(&mut movement, payment_id).await?;
                }
                movement
            }
            _ => return Ok(()),
        };
        self.write(movement).await
    }

    async fn claim(&mut self, event: ClaimEvent) -> anyhow::Result<()> {
        let step = match &event {
            ClaimEvent::ReserveSet { amount, .. } => Some(ReserveStep::Set(amount.amount())),
            ClaimEvent::ClaimApproved { .. } => Some(ReserveStep::Recount),
            ClaimEvent::ClaimRejected { .. }
            | ClaimEvent::ClaimClosed { .. }
            | ClaimEvent::ClaimPaid { .. } => Some(ReserveStep::Open(false)),
            ClaimEvent::ClaimReopened { .. } => Some(ReserveStep::Open(true)),
            _ => None,
        };
        if let Some(movement) = self.claim_movement(event).await? {
            self.write(movement).await?;
        }
        match step {
            Some(step) => self.follow_case_reserve(step).await,
            None => Ok(()),
        }
    }

    /// The money movement a claim's event records, if any.
    async fn claim_movement(&mut self, event: ClaimEvent) -> anyhow::Result<Option<Movement>> {
        use MovementKind::*;
        let movement = match event {
            ClaimEvent::ClaimFiled(details) => {
                let numbers = (None, Some(details.policy_number.as_str()));
                self.record_subject("claim", details.policy_id.0, details.customer_id.0, numbers)
                    .await?;
                Movement::new(ClaimFiled, details.claimed_amount)
            }
            ClaimEvent::ClaimApproved {
                approved_amount, ..
            } => {
                // What is owed becomes the approved total, whatever was
                // approved or released before.
                let owed = self.owed().await?;
                let change = approved_amount.amount() - owed;
                if change.is_zero() {
                    return Ok(None);
                }
                Movement::new(
                    ClaimApproved,
                    Money::rounded(change, approved_amount.currency()),
                )
            }
            ClaimEvent::ClaimClosed { .. } => {
                let unpaid = self.owed().await? - self.sum(&[ClaimPaid]).await?;
                if unpaid <= Decimal::ZERO {
                    return Ok(None);
                }
                let Some(currency) = self.currency_of(ClaimFiled).await? else {
                    return Ok(None);
                };
                Movement::new(ClaimReleased, Money::rounded(-unpaid, currency))
            }
            ClaimEvent::PayoutRequested {
                payout_id,
                amount,
                provider,
                ..
            } => Movement::new(PayoutRequested, amount).item(Some(provider), payout_id.0),
            ClaimEvent::PayoutSucceeded { payout_id, .. } => {
                let Some(asked) = self.requested(PayoutRequested, payout_id.0).await? else {
                    return Ok(None);
                };
                let amount = money(asked.amount, &asked.currency)?;
                Movement::new(ClaimPaid, amount).item(asked.provider, payout_id.0)
            }
            _ => return Ok(None),
        };
        Ok(Some(movement))
    }

    /// Brings the claim's case reserve to what `step` leaves: while the
    /// claim is open, what its reserve exceeds its approved total; none
    /// once it is paid, rejected or closed. Records the change.
    async fn follow_case_reserve(&mut self, step: ReserveStep) -> anyhow::Result<()> {
        let s = self.tables.get(SUBJECTS);
        let (reserve, open) = match step {
            ReserveStep::Set(amount) => (Some(amount), None),
            ReserveStep::Open(open) => (None, Some(open)),
            ReserveStep::Recount => (None, None),
        };
        let Some((reserve, open)) = sqlx::query_as::<_, (Decimal, bool)>(&format!(
            "UPDATE {s} SET reserve = coalesce($2, reserve), claim_open = coalesce($3, claim_open)
             WHERE id = $1 RETURNING reserve, claim_open"
        ))
        .bind(self.subject)
        .bind(reserve)
        .bind(open)
        .fetch_optional(&mut *self.conn)
        .await?
        else {
            return Ok(());
        };
        let target = if open {
            (reserve - self.owed().await?).max(Decimal::ZERO)
        } else {
            Decimal::ZERO
        };
        let change = target - self.sum(&[MovementKind::CaseReserve]).await?;
        if change.is_zero() {
            return Ok(());
        }
        let Some(currency) = self.currency_of(MovementKind::ClaimFiled).await? else {
            return Ok(());
        };
        let mut movement =
            Movement::new(MovementKind::CaseReserve, Money::rounded(change, currency));
        movement.id_suffix = Some("case_reserve");
        self.write(movement).await
    }

    /// The request of kind `kind` for `item_id`.
    async fn requested(
        &mut self,
        kind: MovementKind,
        item_id: Uuid,
    ) -> anyhow::Result<Option<Requested>> {
        let m = self.tables.get(MOVEMENTS);
        Ok(sqlx::query_as(&format!(
            "SELECT amount, currency, provider, related_id FROM {m} WHERE item_id = $1 AND kind = $2"
        ))
        .bind(item_id)
        .bind(kind.as_str())
        .fetch_optional(&mut *self.conn)
        .await?)
    }

    /// The total of this subject's movements of `kinds`.
    async fn sum(&mut self, kinds: &[MovementKind]) -> anyhow::Result<Decimal> {
        let m = self.tables.get(MOVEMENTS);
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        Ok(sqlx::query_scalar(&format!(
            "SELECT coalesce(sum(amount), 0) FROM {m} WHERE subject_id = $1 AND kind = ANY($2)"
        ))
        .bind(self.subject)
        .bind(&kinds)
        .fetch_one(&mut *self.conn)
        .await?)
    }

    /// What is owed on this claim so far: approvals less releases.
    async fn owed(&mut self) -> anyhow::Result<Decimal> {
        self.sum(&[MovementKind::ClaimApproved, MovementKind::ClaimReleased])
            .await
    }

    /// This subject's premium paid so far.
    async fn premium_paid(&mut self) -> anyhow::Result<Decimal> {
        let m = self.tables.get(MOVEMENTS);
        Ok(sqlx::query_scalar(&format!(
            "SELECT coalesce(sum(premium), 0) FROM {m} WHERE subject_id = $1 AND kind IN ($2, $3)"
        ))
        .bind(self.subject)
        .bind(MovementKind::PaymentSucceeded.as_str())
        .bind(MovementKind::CreditApplied.as_str())
        .fetch_one(&mut *self.conn)
        .await?)
    }

    /// The currency of this subject's movement of `kind` (its first).
    async fn currency_of(&mut self, kind: MovementKind) -> anyhow::Result<Option<Currency>> {
        let m = self.tables.get(MOVEMENTS);
        let code: Option<String> = sqlx::query_scalar(&format!(
            "SELECT currency FROM {m} WHERE subject_id = $1 AND kind = $2 LIMIT 1"
        ))
        .bind(self.subject)
        .bind(kind.as_str())
        .fetch_optional(&mut *self.conn)
        .await?;
        code.map(|c| Currency::parse(&c).map_err(anyhow::Error::msg))
            .transpose()
    }

    /// The commission rate of this invoice's product and its customer's
    /// agent, today.
    async fn commission_terms(&mut self) -> anyhow::Result<(Decimal, Option<Uuid>)> {
        let (s, p, a) = (
            self.tables.get(SUBJECTS),
            self.tables.get(PRODUCTS),
            self.tables.get(AGENTS),
        );
        let row: Option<(Option<Decimal>, Option<Uuid>)> = sqlx::query_as(&format!(
            "SELECT (SELECT p.commission_rate FROM {p} p WHERE p.code = s.product_code),
                    (SELECT a.agent_id FROM {a} a WHERE a.customer_id = s.customer_id)
             FROM {s} s WHERE s.id = $1"
        ))
        .bind(self.subject)
        .fetch_optional(&mut *self.conn)
        .await?;
        let (rate, agent) = row.unwrap_or_default();
        // Without an agent nobody earns commission.
        Ok((agent.and(rate).unwrap_or_default(), agent))
    }

    /// Sets a refund's premium part and the commission it takes back from
    /// payment `payment_id`'s agent.
    async fn take_back_commission(
        &mut self,
        refund: &mut Movement,
        payment_id: Uuid,
    ) -> anyhow::Result<()> {
        let m = self.tables.get(MOVEMENTS);
        let paid: Option<Paid> = sqlx::query_as(&format!(
            "SELECT amount, premium, commission_rate, agent_id FROM {m} WHERE item_id = $1 AND kind = $2"
        ))
        .bind(payment_id)
        .bind(MovementKind::PaymentSucceeded.as_str())
        .fetch_optional(&mut *self.conn)
        .await?;
        let Some(paid) = paid else {
            return Ok(());
        };
        let refunded_before: Decimal = sqlx::query_scalar(&format!(
            "SELECT coalesce(sum(amount - premium), 0) FROM {m} WHERE related_id = $1 AND kind = $2"
        ))
        .bind(payment_id)
        .bind(MovementKind::RefundIssued.as_str())
        .fetch_one(&mut *self.conn)
        .await?;
        let overpayment_left = paid.amount - paid.premium - refunded_before;
        let (premium, _) = refunded_premium(refund.amount.amount(), overpayment_left);
        let premium = Money::rounded(premium, refund.amount.currency());
        refund.premium = premium.amount();
        refund.commission_rate = paid.commission_rate;
        refund.commission = -commission(premium, paid.commission_rate).amount();
        refund.agent_id = paid.agent_id;
        Ok(())
    }

    async fn write(&mut self, movement: Movement) -> anyhow::Result<()> {
        let (m, s) = (self.tables.get(MOVEMENTS), self.tables.get(SUBJECTS));
        let id = match movement.id_suffix {
            Some(suffix) => format!("{}:{suffix}", self.event.id()),
            None => self.event.id(),
        };
        let (kind, item_id) = (movement.kind, movement.item_id);
        let written = sqlx::query(&format!(
            "INSERT INTO {m} (id, kind, business_date, currency, amount, premium, commission_rate,
                 commission, provider, product_code, policy_id, customer_id, agent_id, subject_id,
                 item_id, related_id)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, s.product_code, s.policy_id, s.customer_id,
                 $10, s.id, $11, $12
             FROM {s} s WHERE s.id = $13
             ON CONFLICT (id) DO NOTHING"
        ))
        .bind(&id)
        .bind(movement.kind.as_str())
        .bind(self.event.business_date())
        .bind(movement.amount.currency().code())
        .bind(movement.amount.amount())
        .bind(movement.premium)
        .bind(movement.commission_rate)
        .bind(movement.commission)
        .bind(movement.provider)
        .bind(movement.agent_id)
        .bind(movement.item_id)
        .bind(movement.related_id)
        .bind(self.subject)
        .execute(&mut *self.conn)
        .await?
        .rows_affected();
        if written == 1 {
            self.total(&id, kind, item_id).await?;
        }
        Ok(())
    }

    /// Adds movement `id` to its day's total. A payment request counts as
    /// open until its payment succeeds or fails; the first of those takes
    /// it off its request's day.
    async fn total(
        &mut self,
        id: &str,
        kind: MovementKind,
        item_id: Option<Uuid>,
    ) -> anyhow::Result<()> {
        let (m, d) = (self.tables.get(MOVEMENTS), self.tables.get(DAILY));
        let settling: Vec<&str> = SETTLING.iter().map(|k| k.as_str()).collect();
        sqlx::query(&format!(
            "INSERT INTO {d} AS d (business_date, product_code, provider, currency, kind, count, open, amount)
             SELECT business_date, product_code, coalesce(provider, ''), currency, kind, 1,
                    CASE WHEN kind = $2 AND NOT EXISTS (
                        SELECT 1 FROM {m} o WHERE o.item_id = m.item_id AND o.kind = ANY($3))
                    THEN 1 ELSE 0 END,
                    amount
             FROM {m} m WHERE id = $1
             ON CONFLICT (business_date, kind, product_code, provider, currency) DO UPDATE
             SET count = d.count + 1, open = d.open + excluded.open, amount = d.amount + excluded.amount"
        ))
        .bind(id)
        .bind(MovementKind::PaymentRequested.as_str())
        .bind(&settling)
        .execute(&mut *self.conn)
        .await?;
        let (true, Some(item)) = (SETTLING.contains(&kind), item_id) else {
            return Ok(());
        };
        sqlx::query(&format!(
            "UPDATE {d} d SET open = d.open - 1
             FROM {m} r
             WHERE r.item_id = $1 AND r.kind = $2
               AND d.business_date = r.business_date AND d.kind = r.kind
               AND d.product_code = r.product_code AND d.provider = coalesce(r.provider, '')
               AND d.currency = r.currency
               AND (SELECT count(*) FROM {m} WHERE item_id = $1 AND kind = ANY($3)) = 1"
        ))
        .bind(item)
        .bind(MovementKind::PaymentRequested.as_str())
        .bind(&settling)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }
}

/// Creates the daily totals `d` unless they exist, filled from the
/// movements `m` already written (a deployment whose movements came before
/// the totals did).
async fn create_daily(conn: &mut PgConnection, d: &str, m: &str) -> anyhow::Result<()> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(d)
        .fetch_one(&mut *conn)
        .await?;
    if exists {
        return Ok(());
    }
    sqlx::query(&format!(
        "CREATE TABLE {d} (
            business_date date    NOT NULL,
            kind          text    NOT NULL,
            product_code  text    NOT NULL,
            provider      text    NOT NULL,
            currency      text    NOT NULL,
            count         bigint  NOT NULL,
            open          bigint  NOT NULL,
            amount        numeric NOT NULL,
            PRIMARY KEY (business_date, kind, product_code, provider, currency)
        )"
    ))
    .execute(&mut *conn)
    .await?;
    let settling: Vec<&str> = SETTLING.iter().map(|k| k.as_str()).collect();
    sqlx::query(&format!(
        "INSERT INTO {d} (business_date, kind, product_code, provider, currency, count, open, amount)
         SELECT m.business_date, m.kind, m.product_code, coalesce(m.provider, ''), m.currency, count(*),
                count(*) FILTER (WHERE m.kind = $1 AND NOT EXISTS (
                    SELECT 1 FROM {m} o WHERE o.item_id = m.item_id AND o.kind = ANY($2))),
                sum(m.amount)
         FROM {m} m GROUP BY 1, 2, 3, 4, 5"
    ))
    .bind(MovementKind::PaymentRequested.as_str())
    .bind(&settling)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A stored movement kind.
fn stored_kind(name: &str) -> anyhow::Result<MovementKind> {
    MovementKind::parse(name).ok_or_else(|| anyhow::anyhow!("unknown movement kind {name}"))
}

/// A stored amount in a stored currency.
fn money(amount: Decimal, currency: &str) -> anyhow::Result<Money> {
    let currency = Currency::parse(currency).map_err(anyhow::Error::msg)?;
    Ok(Money::rounded(amount, currency))
}

/// One day's total as queried: date, product, provider, currency, kind,
/// count, open requests, amount.
type TotalRow = (
    NaiveDate,
    String,
    Option<String>,
    String,
    String,
    i64,
    i64,
    Decimal,
);

/// The movements of `kinds` from `from` (or the beginning) to `to`,
/// totalled by day, product, provider, currency and kind; payment requests
/// still awaiting their outcome counted as `open`.
///
/// # Errors
/// When the database fails or a stored kind or currency is unknown.
pub async fn daily_totals(
    pool: &PgPool,
    from: Option<NaiveDate>,
    to: NaiveDate,
    kinds: &[MovementKind],
) -> anyhow::Result<Vec<DailyTotal>> {
    let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    let rows: Vec<TotalRow> = sqlx::query_as(
            "SELECT business_date, product_code, nullif(provider, ''), currency, kind, count, open, amount
             FROM report_daily
             WHERE ($1::date IS NULL OR business_date >= $1) AND business_date <= $2
               AND kind = ANY($3)
             ORDER BY 1, 2, 3, 4, 5",
        )
        .bind(from)
        .bind(to)
        .bind(&names)
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(
            |(date, product, provider, currency, kind, count, open, amount)| {
                Ok(DailyTotal {
                    date,
                    product,
                    provider,
                    currency: Currency::parse(&currency).map_err(anyhow::Error::msg)?,
                    kind: MovementKind::parse(&kind)
                        .ok_or_else(|| anyhow::anyhow!("unknown movement kind {kind}"))?,
                    count: u32::try_from(count)?,
                    open: u32::try_from(open)?,
                    amount,
                })
            },
        )
        .collect()
}

/// One agent's commissions in one group and currency.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Commission {
    /// The month (`2026-11`) or product code.
    pub group: String,
    /// The agent.
    pub agent_id: Uuid,
    /// The agent's name.
    pub agent_name: String,
    /// Policies that paid premium.
    pub policies: i64,
    /// Premium paid less premium refunded.
    pub premium: Money,
    /// Commission earned less commission taken back.
    pub commission: Money,
}

/// Agents' commissions over `[from, to]`, grouped by month or product
/// (`by_product`); only `agent`'s when given.
///
/// # Errors
/// When the database fails or a stored currency is unknown.
pub async fn commissions(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    by_product: bool,
    agent: Option<Uuid>,
) -> anyhow::Result<Vec<Commission>> {
    let rows: Vec<(String, Uuid, String, String, i64, Decimal, Decimal)> = sqlx::query_as(
        r#"SELECT CASE WHEN $3 THEN m.product_code ELSE to_char(m.business_date, 'YYYY-MM') END,
                  m.agent_id, coalesce(u.full_name, ''), m.currency,
                  count(DISTINCT m.policy_id) FILTER (WHERE m.kind = 'payment_succeeded'),
                  sum(CASE WHEN m.kind = 'refund_issued' THEN -m.premium ELSE m.premium END),
                  sum(m.commission)
           FROM report_movements m LEFT JOIN users u ON u.id = m.agent_id
           WHERE m.business_date BETWEEN $1 AND $2 AND m.agent_id IS NOT NULL
             AND m.kind IN ('payment_succeeded', 'refund_issued')
             AND ($4::uuid IS NULL OR m.agent_id = $4)
           GROUP BY 1, 2, 3, 4 ORDER BY 1, 3, 2, 4"#,
    )
    .bind(from)
    .bind(to)
    .bind(by_product)
    .bind(agent)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(
            |(group, agent_id, agent_name, currency, policies, premium, commission)| {
                Ok(Commission {
                    group,
                    agent_id,
                    agent_name,
                    policies,
                    premium: money(premium, &currency)?,
                    commission: money(commission, &currency)?,
                })
            },
        )
        .collect()
}

/// Every invoice still open or overdue and due before `due_before`, with
/// its product (the ageing report's input: an invoice not yet past due is
/// in no bucket, so it is not read at all).
///
/// # Errors
/// When the database fails or a stored state does not decode.
pub async fn unpaid_invoices(
    pool: &PgPool,
    customers_of_agent: Option<Uuid>,
    due_before: NaiveDate,
) -> anyhow::Result<Vec<(String, domain::invoice::Invoice)>> {
    let rows: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "SELECT coalesce(s.product_code, ''), i.state FROM invoices i
         LEFT JOIN report_subjects s ON s.id = i.id
         WHERE i.status IN ('open', 'overdue') AND i.due_date < $2
           AND ($1::uuid IS NULL OR i.customer_id IN (SELECT u.id FROM users u WHERE u.agent_id = $1))
         ORDER BY i.due_date, i.id",
    )
    .bind(customers_of_agent)
    .bind(due_before)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(product, state)| Ok((product, serde_json::from_value(state)?)))
        .collect()
}

/// One movement on a customer's account, with the invoice it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountMovement {
    /// Business date.
    pub date: NaiveDate,
    /// What moved (invoice issued or voided, payment, refund).
    pub kind: MovementKind,
    /// Amount as recorded (a void's is negative).
    pub amount: Money,
    /// The provider, for payments and refunds.
    pub provider: Option<String>,
    /// The invoice's number.
    pub invoice_number: Option<String>,
    /// The policy's number.
    pub policy_number: Option<String>,
}

/// The movements on `customer`'s account up to `to`, in the order they
/// happened: invoices issued and voided, payments received, refunds paid.
///
/// # Errors
/// When the database fails or a stored kind or currency is unknown.
pub async fn account_movements(
    pool: &PgPool,
    customer: Uuid,
    to: NaiveDate,
) -> anyhow::Result<Vec<AccountMovement>> {
    type Row = (
        NaiveDate,
        String,
        Decimal,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT m.business_date, m.kind, m.amount, m.currency, m.provider,
                coalesce(s.invoice_number, i.state -> 'details' ->> 'invoice_number'),
                coalesce(s.policy_number, i.state -> 'details' ->> 'policy_number', p.policy_number)
         FROM report_movements m LEFT JOIN report_subjects s ON s.id = m.subject_id
              -- subjects recorded before they kept their numbers
              LEFT JOIN invoices i ON i.id = m.subject_id AND s.invoice_number IS NULL
              LEFT JOIN policies p ON p.id = m.subject_id AND s.policy_number IS NULL
         WHERE m.customer_id = $1 AND m.business_date <= $2
           AND m.kind IN ('invoice_issued', 'invoice_voided', 'payment_succeeded', 'refund_issued',
                          'credit_note')
         ORDER BY m.business_date, split_part(m.id, ':', 2)::bigint",
    )
    .bind(customer)
    .bind(to)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(
            |(date, kind, amount, currency, provider, invoice_number, policy_number)| {
                Ok(AccountMovement {
                    date,
                    kind: stored_kind(&kind)?,
                    amount: money(amount, &currency)?,
                    provider,
                    invoice_number,
                    policy_number,
                })
            },
        )
        .collect()
}
