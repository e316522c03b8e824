//! Claims: one row per `Claim` aggregate, its state, and the columns the
//! customer's list and the staff queue filter on.

use async_trait::async_trait;
use chrono::NaiveDate;
use domain::claim::Claim;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::aggregate_state::{evolve, get_scoped, StateRow, STATE_COLUMNS};
use super::scope::{scoped, Scope};
use super::{Projection, Tables};
use crate::stored_event::StoredEvent;

/// Builds the `claims` table.
pub struct ClaimsProjection;

/// One claim as stored.
pub type ClaimRow = StateRow<Claim>;

/// Filters of the claim list (the staff queue).
#[derive(Debug, Clone, Default)]
pub struct ClaimFilter {
    /// Only this status.
    pub status: Option<String>,
    /// Only this reviewer's.
    pub assignee_id: Option<Uuid>,
    /// Only this policy's.
    pub policy_id: Option<Uuid>,
    /// Only this customer's.
    pub customer_id: Option<Uuid>,
    /// Only claims filed on or before this date (older ones).
    pub filed_on_or_before: Option<NaiveDate>,
}

#[async_trait]
impl Projection for ClaimsProjection {
    fn name(&self) -> &'static str {
        "claims"
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        &["Claim"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["claims"]
    }

    async fn create_tables(&self, conn: &mut PgConnection, tables: &Tables) -> anyhow::Result<()> {
        let t = tables.get("claims");
        let statements = [
            format!(
                "CREATE TABLE {t} (
                id           uuid PRIMARY KEY,
                claim_number text        NOT NULL,
                status       text        NOT NULL,
                policy_id    uuid        NOT NULL,
                customer_id  uuid        NOT NULL,
                assignee_id  uuid,
                filed_on     date        NOT NULL,
                state        jsonb       NOT NULL,
                version      bigint      NOT NULL,
                created_at   timestamptz NOT NULL,
                updated_at   timestamptz NOT NULL
            )"
            ),
            format!("CREATE UNIQUE INDEX ON {t} (claim_number)"),
            format!("CREATE INDEX ON {t} (customer_id, id)"),
            format!("CREATE INDEX ON {t} (status, filed_on)"),
            format!("CREATE INDEX ON {t} (assignee_id)"),
        ];
        super::tables::create_once(conn, t, &statements).await?;
        Ok(())
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        tables: &Tables,
        event: &StoredEvent,
    ) -> anyhow::Result<()> {
        if event.aggregate_type != "Claim" {
            return Ok(());
        }
        let t = tables.get("claims");
        let id: Uuid = event.aggregate_id.parse()?;
        let (claim, _): (Claim, _) = evolve(conn, t, id, event).await?;
        let Some(details) = &claim.details else {
            return Ok(());
        };
        sqlx::query(&format!(
            "INSERT INTO {t} (id, claim_number, status, policy_id, customer_id, assignee_id, filed_on, state, version, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
             ON CONFLICT (id) DO UPDATE SET status = $3, assignee_id = $6, state = $8, version = $9, updated_at = $10"
        ))
        .bind(id)
        .bind(&details.claim_number)
        .bind(claim.status.as_str())
        .bind(details.policy_id.0)
        .bind(details.customer_id.0)
        .bind(claim.assignee.map(|a| a.0))
        .bind(details.filed_on)
        .bind(sqlx::types::Json(&claim))
        .bind(event.sequence)
        .bind(event.recorded_at)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// One claim by id, if `scope` may see it.
///
/// # Errors
/// When the database fails.
pub async fn get(pool: &PgPool, id: Uuid, scope: Scope) -> Result<Option<ClaimRow>, sqlx::Error> {
    get_scoped(pool, "claims", id, scope).await
}

/// Up to `limit` claims after `after` that `scope` may see.
///
/// # Errors
/// When the database fails.
pub async fn list(
    pool: &PgPool,
    scope: Scope,
    filter: &ClaimFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<ClaimRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {STATE_COLUMNS} FROM claims
         WHERE {}
           AND ($3::text IS NULL OR status = $3)
           AND ($4::uuid IS NULL OR assignee_id = $4)
           AND ($5::uuid IS NULL OR policy_id = $5)
           AND ($6::date IS NULL OR filed_on <= $6)
           AND ($7::uuid IS NULL OR id > $7)
           AND ($9::uuid IS NULL OR customer_id = $9)
         ORDER BY id LIMIT $8",
        scoped(1, 2)
    ))
    .bind(scope.customer())
    .bind(scope.agent())
    .bind(&filter.status)
    .bind(filter.assignee_id)
    .bind(filter.policy_id)
    .bind(filter.filed_on_or_before)
    .bind(after)
    .bind(limit)
    .bind(filter.customer_id)
    .fetch_all(pool)
    .await
}

/// The statuses of a claim still open: submitted, under review, approved
/// and not yet paid.
pub const OPEN_STATUSES: [&str; 3] = ["submitted", "under_review", "approved"];

/// Every claim still open: its status and filing date (the claims queue's
/// input).
///
/// # Errors
/// When the database fails.
pub async fn open_claims(pool: &PgPool) -> Result<Vec<(String, NaiveDate)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT status, filed_on FROM claims WHERE status = ANY($1) ORDER BY filed_on, id",
    )
    .bind(OPEN_STATUSES)
    .fetch_all(pool)
    .await
}

/// Up to `limit` open claims `scope` may see, the oldest filed first.
///
/// # Errors
/// When the database fails.
pub async fn open_of(
    pool: &PgPool,
    scope: Scope,
    limit: i64,
) -> Result<Vec<ClaimRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {STATE_COLUMNS} FROM claims
         WHERE {} AND status = ANY($3)
         ORDER BY filed_on, id LIMIT $4",
        scoped(1, 2)
    ))
    .bind(scope.customer())
    .bind(scope.agent())
    .bind(OPEN_STATUSES)
    .bind(limit)
    .fetch_all(pool)
    .await
}
