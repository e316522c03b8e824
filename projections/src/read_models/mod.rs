//! Read models: tables built from events by projections, read by the API.
//!
//! Each projection owns its tables' DDL, so it can build a fresh copy of them
//! beside the live ones (a rebuild) and swap it in. Any read model can be
//! dropped and rebuilt from the event store.

pub mod aggregate_state;
pub mod billing;
pub mod claims;
pub mod integrations;
pub mod policies;
pub mod products;
pub mod reporting;
pub mod scope;
pub mod tables;
pub mod users;

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::PgConnection;

use crate::stored_event::StoredEvent;
use crate::subscription::Subscriber;
pub use tables::Tables;

/// A read model fed by the event stream.
///
/// Guarantee: **replayable**. `apply` depends only on the event and the
/// projection's own tables, so replaying the stream from zero into fresh
/// tables gives the same rows as live processing.
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// The subscription name (and checkpoint) of the live projection.
    fn name(&self) -> &'static str;

    /// The aggregate types whose events it applies.
    fn aggregate_types(&self) -> &'static [&'static str];

    /// The base names of the tables it owns.
    fn tables(&self) -> &'static [&'static str];

    /// Creates its tables (under the names `tables` gives) if missing.
    ///
    /// # Errors
    /// When the database fails.
    async fn create_tables(&self, conn: &mut PgConnection, tables: &Tables) -> anyhow::Result<()>;

    /// Applies one event to its tables.
    ///
    /// # Errors
    /// When the database fails or the event can't be decoded.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        tables: &Tables,
        event: &StoredEvent,
    ) -> anyhow::Result<()>;
}

/// Every projection of ifinsure.
pub fn all() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(products::ProductsProjection),
        Arc::new(users::UsersProjection),
        Arc::new(policies::PoliciesProjection),
        Arc::new(billing::BillingProjection),
        Arc::new(claims::ClaimsProjection),
        Arc::new(integrations::IntegrationsProjection),
        Arc::new(reporting::ReportingProjection),
    ]
}

/// Finds a projection by name.
pub fn by_name(name: &str) -> Option<Arc<dyn Projection>> {
    all().into_iter().find(|p| p.name() == name)
}

/// A projection running as a subscription, over one set of its tables.
pub struct ProjectionSubscriber {
    projection: Arc<dyn Projection>,
    tables: Tables,
    name: String,
}

impl ProjectionSubscriber {
    /// The live subscription of `projection`, on its live tables.
    pub fn live(projection: Arc<dyn Projection>) -> Self {
        Self {
            tables: Tables::live(projection.tables()),
            name: projection.name().to_string(),
            projection,
        }
    }

    /// A rebuild of `projection` into shadow tables, under its own checkpoint.
    pub fn shadow(projection: Arc<dyn Projection>) -> Self {
        Self {
            tables: Tables::shadow(projection.tables()),
            name: format!("{}#rebuild", projection.name()),
            projection,
        }
    }

    /// The tables it writes.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// The projection.
    pub fn projection(&self) -> &Arc<dyn Projection> {
        &self.projection
    }
}

#[async_trait]
impl Subscriber for ProjectionSubscriber {
    fn name(&self) -> &str {
        &self.name
    }

    fn handles(&self, aggregate_type: &str) -> bool {
        self.projection.aggregate_types().contains(&aggregate_type)
    }

    fn durable_commit(&self) -> bool {
        false
    }

    async fn handle(&self, conn: &mut PgConnection, event: &StoredEvent) -> anyhow::Result<()> {
        self.projection.apply(conn, &self.tables, event).await
    }
}

/// Creates the live tables of every projection (at start, after migrations).
///
/// # Errors
/// When the database fails.
pub async fn create_live_tables(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await?;
    for projection in all() {
        let tables = Tables::live(projection.tables());
        projection.create_tables(&mut conn, &tables).await?;
    }
    Ok(())
}
