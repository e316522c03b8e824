//! The database: the one `DATABASE_URL` names, or a private temporary
//! PostgreSQL started from the machine's own binaries (data is not kept).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use pgtemp::{PgTempDB, PgTempDBBuilder};

/// A database to connect to, and the temporary server if we started one
/// (it stops when this is dropped).
pub struct Database {
    /// Connection URL.
    pub url: String,
    /// The temporary server, if any.
    pub temporary: Option<PgTempDB>,
}

/// Uses `url` if given, else starts a temporary cluster.
///
/// # Errors
/// When no PostgreSQL binaries are found, or (as root) `sudo` is missing.
pub async fn provision(url: Option<String>) -> anyhow::Result<Database> {
    if let Some(url) = url {
        return Ok(Database {
            url,
            temporary: None,
        });
    }
    let server = start_temporary().await?;
    let url = server.connection_uri();
    tracing::warn!(
        "DATABASE_URL is not set: started a private temporary PostgreSQL on port {}; \
         its data is deleted when ifinsure stops",
        server.db_port()
    );
    Ok(Database {
        url,
        temporary: Some(server),
    })
}

/// Starts a temporary cluster (also used by the test harness).
///
/// # Errors
/// When no PostgreSQL binaries are found, or (as root) `sudo` is missing.
pub async fn start_temporary() -> anyhow::Result<PgTempDB> {
    let mut builder = PgTempDBBuilder::new()
        .with_config_param("max_connections", "300")
        .with_dbname("ifinsure");
    if !on_path("initdb") {
        let bin = postgres_bin_dir().context(
            "DATABASE_URL is not set and no PostgreSQL server binaries were found \
             (initdb is neither on PATH nor in /usr/lib/postgresql/<version>/bin); \
             install PostgreSQL or set DATABASE_URL",
        )?;
        builder = builder.with_bin_path(bin);
    }
    if is_root() && !on_path("sudo") {
        bail!(
            "running as root, the temporary PostgreSQL must run as the `postgres` user through \
             sudo, which is not installed: `apt-get install sudo`, or set DATABASE_URL"
        );
    }
    Ok(builder.start_async().await)
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding `initdb`.
fn postgres_bin_dir() -> Option<PathBuf> {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}
