//! The database: the one `DATABASE_URL` names, or a private temporary
//! PostgreSQL started from the machine's own server programs (its data is
//! not kept).

pub mod account;
pub mod binaries;
pub mod cluster_directory;
pub mod keeper;
pub mod temporary;

use sqlx::postgres::PgConnectOptions;

use crate::setup_error::SetupError;
pub use temporary::{Options, TemporaryError, TemporaryServer};

/// A database to connect to, and the temporary server if we started one
/// (it stops when this is dropped).
pub struct Database {
    /// Connection URL.
    pub url: String,
    /// The temporary server, if any.
    pub temporary: Option<TemporaryServer>,
}

/// Uses `url` if given, else starts a temporary cluster.
///
/// # Errors
/// When no PostgreSQL server programs or no account to run them as are
/// found, or the server does not start.
pub async fn provision(url: Option<String>) -> Result<Database, TemporaryError> {
    if let Some(url) = url {
        return Ok(Database {
            url,
            temporary: None,
        });
    }
    let server = TemporaryServer::start(Options::from_env()).await?;
    tracing::warn!(
        "DATABASE_URL is not set: started a private temporary PostgreSQL in {} as {} (reachable \
         through its socket there only); its data is deleted when ifinsure stops",
        server.directory().display(),
        server.runs_as().describe()
    );
    Ok(Database {
        url: server.url().to_string(),
        temporary: Some(server),
    })
}

/// How long the first connection may take before the database counts as
/// unreachable.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Opens a pool of `max_connections` on `url`, having first made one
/// connection itself: a pool that cannot connect only says it timed out,
/// and the operator needs to know why (refused, unknown host, password,
/// no such database).
///
/// # Errors
/// When the URL is not a PostgreSQL URL or the server cannot be reached,
/// worded for the operator.
pub async fn open_pool(url: &str, max_connections: u32) -> Result<sqlx::PgPool, SetupError> {
    use sqlx::{ConnectOptions as _, Connection as _};
    let not_postgres = |why: String| {
        SetupError::new(format!(
            "DATABASE_URL is not a PostgreSQL URL ({why}): use postgres://user:password@host:5432/database"
        ))
    };
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(not_postgres("it must start with postgres://".into()));
    }
    let options: PgConnectOptions = url.parse().map_err(|e| not_postgres(format!("{e}")))?;
    let unreachable = |cause: String| {
        SetupError::new(format!(
            "cannot connect to PostgreSQL at {}: {cause}; check that PostgreSQL is running and \
             DATABASE_URL is right, or unset DATABASE_URL to run on a private temporary PostgreSQL",
            shown(&options)
        ))
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Err(_) => {
            return Err(unreachable(format!(
                "no answer within {} s",
                CONNECT_TIMEOUT.as_secs()
            )))
        }
        Ok(Err(error)) => return Err(unreachable(error.to_string())),
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
        }
    }
    projections::db::connect(url, max_connections)
        .await
        .map_err(|e| unreachable(e.to_string()))
}

/// The server and database of `options`, without the password.
fn shown(options: &PgConnectOptions) -> String {
    format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    )
}
