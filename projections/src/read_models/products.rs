//! The product catalogue read model: one row per product, current terms.
//!
//! Its tables are created by this projection (so a rebuild can make shadow
//! copies), not by migrations, so its queries are checked at run time.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::product::{ProductEvent, ProductTerms};
use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Projection, Tables};
use crate::stored_event::StoredEvent;

/// Builds the `products` table.
pub struct ProductsProjection;

/// One product as the API shows it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ProductRow {
    /// Aggregate id.
    pub id: Uuid,
    /// Catalogue code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Line of business.
    pub line: String,
    /// Description.
    pub description: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Current rate.
    pub rate: Decimal,
    /// Current minimum premium.
    pub minimum_premium: Decimal,
    /// Lower sum-insured bound.
    pub sum_insured_min: Decimal,
    /// Upper sum-insured bound.
    pub sum_insured_max: Decimal,
    /// Term.
    pub term_months: i32,
    /// `active` or `retired`.
    pub status: String,
    /// Why it was retired.
    pub retired_reason: Option<String>,
    /// The agents' commission, a fraction of premium paid.
    pub commission_rate: Decimal,
    /// Aggregate version.
    pub version: i64,
    /// First event's time.
    pub created_at: DateTime<Utc>,
    /// Last event's time.
    pub updated_at: DateTime<Utc>,
}

/// Filters of the product list.
#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    /// Only this status.
    pub status: Option<String>,
    /// Only this line.
    pub line: Option<String>,
    /// Only this currency.
    pub currency: Option<String>,
}

#[async_trait]
impl Projection for ProductsProjection {
    fn name(&self) -> &'static str {
        "products"
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        &["Product"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["products"]
    }

    async fn create_tables(&self, conn: &mut PgConnection, tables: &Tables) -> anyhow::Result<()> {
        let t = tables.get("products");
        let statements = [
            format!(
                "CREATE TABLE {t} (
                id              uuid PRIMARY KEY,
                code            text        NOT NULL,
                name            text        NOT NULL,
                line            text        NOT NULL,
                description     text        NOT NULL,
                currency        text        NOT NULL,
                rate            numeric     NOT NULL,
                minimum_premium numeric     NOT NULL,
                sum_insured_min numeric     NOT NULL,
                sum_insured_max numeric     NOT NULL,
                term_months     integer     NOT NULL,
                status          text        NOT NULL,
                retired_reason  text,
                commission_rate numeric     NOT NULL DEFAULT 0,
                version         bigint      NOT NULL,
                created_at      timestamptz NOT NULL,
                updated_at      timestamptz NOT NULL
            )"
            ),
            format!("CREATE UNIQUE INDEX ON {t} (code)"),
            format!("CREATE INDEX ON {t} (status, id)"),
        ];
        super::tables::create_once(conn, t, &statements).await?;
        // Tables created before commissions were recorded.
        super::tables::add_column_once(conn, t, "commission_rate", "numeric NOT NULL DEFAULT 0")
            .await?;
        Ok(())
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        tables: &Tables,
        event: &StoredEvent,
    ) -> anyhow::Result<()> {
        if event.aggregate_type != "Product" {
            return Ok(());
        }
        let t = tables.get("products");
        let id: Uuid = event.aggregate_id.parse()?;
        match event.decode::<ProductEvent>()? {
            ProductEvent::ProductDefined(terms) => insert(conn, t, id, &terms, event).await?,
            ProductEvent::ProductRepriced {
                rate,
                minimum_premium,
                ..
            } => {
                sqlx::query(&format!(
                    "UPDATE {t} SET rate = $2, minimum_premium = $3, version = $4, updated_at = $5 WHERE id = $1"
                ))
                .bind(id)
                .bind(rate)
                .bind(minimum_premium.amount())
                .bind(event.sequence)
                .bind(event.recorded_at)
                .execute(&mut *conn)
                .await?;
            }
            ProductEvent::CommissionRateSet { rate, .. } => {
                sqlx::query(&format!(
                    "UPDATE {t} SET commission_rate = $2, version = $3, updated_at = $4 WHERE id = $1"
                ))
                .bind(id)
                .bind(rate)
                .bind(event.sequence)
                .bind(event.recorded_at)
                .execute(&mut *conn)
                .await?;
            }
            ProductEvent::ProductRetired { reason } => {
                sqlx::query(&format!(
                    "UPDATE {t} SET status = 'retired', retired_reason = $2, version = $3, updated_at = $4 WHERE id = $1"
                ))
                .bind(id)
                .bind(reason)
                .bind(event.sequence)
                .bind(event.recorded_at)
                .execute(&mut *conn)
                .await?;
            }
        }
        Ok(())
    }
}

async fn insert(
    conn: &mut PgConnection,
    table: &str,
    id: Uuid,
    terms: &ProductTerms,
    event: &StoredEvent,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO {table} (id, code, name, line, description, currency, rate, minimum_premium, \
         sum_insured_min, sum_insured_max, term_months, status, commission_rate, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active', $14, $12, $13, $13)"
    ))
    .bind(id)
    .bind(&terms.code)
    .bind(&terms.name)
    .bind(terms.line.as_str())
    .bind(&terms.description)
    .bind(terms.currency().code())
    .bind(terms.rate)
    .bind(terms.minimum_premium.amount())
    .bind(terms.sum_insured_min.amount())
    .bind(terms.sum_insured_max.amount())
    .bind(terms.term_months as i32)
    .bind(event.sequence)
    .bind(event.recorded_at)
    .bind(terms.commission_rate)
    .execute(conn)
    .await?;
    Ok(())
}

/// One product by id.
///
/// # Errors
/// When the database fails.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<ProductRow>, sqlx::Error> {
    sqlx::query_as(
        r#"SELECT id, code, name, line, description, currency, rate, minimum_premium, sum_insured_min, sum_insured_max, term_months, status, retired_reason, commission_rate, version, created_at, updated_at
           FROM products WHERE id = $1"#,
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Up to `limit` products after `after` (by id, which is time-ordered).
///
/// # Errors
/// When the database fails.
pub async fn list(
    pool: &PgPool,
    filter: &ProductFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<ProductRow>, sqlx::Error> {
    sqlx::query_as(
        r#"SELECT id, code, name, line, description, currency, rate, minimum_premium, sum_insured_min, sum_insured_max, term_months, status, retired_reason, commission_rate, version, created_at, updated_at
           FROM products
           WHERE ($1::text IS NULL OR status = $1)
             AND ($2::text IS NULL OR line = $2)
             AND ($3::text IS NULL OR currency = $3)
             AND ($4::uuid IS NULL OR id > $4)
           ORDER BY id LIMIT $5"#,
    )
    .bind(&filter.status)
    .bind(&filter.line)
    .bind(&filter.currency)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}
