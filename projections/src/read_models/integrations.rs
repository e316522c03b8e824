//! Integration configurations: one row per `IntegrationConfig`, its state
//! (no secrets: those are in the vault) and the columns lists filter on.

use async_trait::async_trait;
use domain::integration::catalogue;
use domain::integration::IntegrationConfig;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::aggregate_state::{evolve, StateRow, STATE_COLUMNS};
use super::{Projection, Tables};
use crate::stored_event::StoredEvent;

/// Builds the `integrations` table.
pub struct IntegrationsProjection;

/// One configuration as stored.
pub type IntegrationRow = StateRow<IntegrationConfig>;

/// Filters of the configuration list.
#[derive(Debug, Clone, Default)]
pub struct IntegrationFilter {
    /// Only this category.
    pub category: Option<String>,
    /// Only this provider.
    pub provider: Option<String>,
    /// Only this environment.
    pub environment: Option<String>,
}

#[async_trait]
impl Projection for IntegrationsProjection {
    fn name(&self) -> &'static str {
        "integrations"
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        &["IntegrationConfig"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["integrations"]
    }

    async fn create_tables(&self, conn: &mut PgConnection, tables: &Tables) -> anyhow::Result<()> {
        let t = tables.get("integrations");
        let statements = [
            format!(
                "CREATE TABLE {t} (
                id          uuid PRIMARY KEY,
                provider    text        NOT NULL,
                category    text        NOT NULL,
                environment text        NOT NULL,
                enabled     boolean     NOT NULL,
                state       jsonb       NOT NULL,
                version     bigint      NOT NULL,
                created_at  timestamptz NOT NULL,
                updated_at  timestamptz NOT NULL
            )"
            ),
            format!("CREATE INDEX ON {t} (category, environment)"),
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
        if event.aggregate_type != "IntegrationConfig" {
            return Ok(());
        }
        let t = tables.get("integrations");
        let id: Uuid = event.aggregate_id.parse()?;
        let (config, _): (IntegrationConfig, _) = evolve(conn, t, id, event).await?;
        let Some(details) = &config.details else {
            return Ok(());
        };
        let environment = serde_json::to_value(details.environment)?;
        sqlx::query(&format!(
            "INSERT INTO {t} (id, provider, category, environment, enabled, state, version, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
             ON CONFLICT (id) DO UPDATE SET enabled = $5, state = $6, version = $7, updated_at = $8"
        ))
        .bind(id)
        .bind(&details.provider)
        .bind(&details.category)
        .bind(environment.as_str().unwrap_or_default())
        .bind(details.enabled)
        .bind(sqlx::types::Json(&config))
        .bind(event.sequence)
        .bind(event.recorded_at)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// One configuration by id.
///
/// # Errors
/// When the database fails.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<IntegrationRow>, sqlx::Error> {
    super::aggregate_state::get(pool, "integrations", id).await
}

/// Up to `limit` configurations after `after`.
///
/// # Errors
/// When the database fails.
pub async fn list(
    pool: &PgPool,
    filter: &IntegrationFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<IntegrationRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {STATE_COLUMNS} FROM integrations
         WHERE ($1::text IS NULL OR category = $1) AND ($2::text IS NULL OR provider = $2)
           AND ($3::text IS NULL OR environment = $3) AND ($4::uuid IS NULL OR id > $4)
         ORDER BY id LIMIT $5"
    ))
    .bind(&filter.category)
    .bind(&filter.provider)
    .bind(&filter.environment)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The enabled configurations matching `filter` that ifinsure has an
/// adapter for, in the order to use them: the primary first, then by
/// priority. What routing, defaults, webhook verification and document
/// storage all choose from.
///
/// # Errors
/// When the database fails.
pub async fn enabled(
    pool: &PgPool,
    filter: &IntegrationFilter,
) -> Result<Vec<IntegrationRow>, sqlx::Error> {
    let mut rows: Vec<IntegrationRow> = list(pool, filter, None, 200)
        .await?
        .into_iter()
        .filter(|row| {
            row.state.details.as_ref().is_some_and(|d| {
                d.enabled && catalogue::provider(&d.provider).is_some_and(|p| p.adapter)
            })
        })
        .collect();
    rows.sort_by_key(|row| {
        let details = row.state.details.as_ref();
        (
            !details.is_some_and(|d| d.is_primary),
            details.map_or(u32::MAX, |d| d.priority),
        )
    });
    Ok(rows)
}

/// The message channels (`email`, `sms`) with no enabled provider: in
/// production, messages on them are not sent until one is enabled.
///
/// # Errors
/// When the database fails.
pub async fn channels_without_provider(pool: &PgPool) -> Result<Vec<&'static str>, sqlx::Error> {
    let mut missing = Vec::new();
    for channel in ["email", "sms"] {
        let filter = IntegrationFilter {
            category: Some(channel.into()),
            ..Default::default()
        };
        if enabled(pool, &filter).await?.is_empty() {
            missing.push(channel);
        }
    }
    Ok(missing)
}
