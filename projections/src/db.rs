//! Connecting to PostgreSQL and applying the migrations.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::str::FromStr;
use std::time::Duration;

/// The embedded migrations of `migrations/`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Opens a pool on `database_url`.
///
/// # Errors
/// When the URL is malformed or the server can't be reached.
pub async fn connect(database_url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    // Every statement is planned for its own parameters: the read models'
    // lists take optional filters (`$1 IS NULL OR status = $1`), which a
    // cached generic plan can only scan for; a custom plan folds the absent
    // ones away and uses the index of the present ones.
    let options = PgConnectOptions::from_str(database_url)?
        .application_name("ifinsure")
        .options([("plan_cache_mode", "force_custom_plan")]);
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
}

/// Applies every migration not yet applied.
///
/// # Errors
/// When a migration fails or one already applied was changed.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}
