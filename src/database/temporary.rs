//! A private PostgreSQL for one run: a cluster initialised in a fresh
//! directory from the machine's own server programs, reachable only through
//! a unix socket inside that directory (mode 0700: only the account that
//! runs it, and root, can connect; no TCP port at all), and stopped and
//! deleted when dropped. Root runs it as an unprivileged account ([`super::account`]);
//! a process killed outright takes the server with it (see
//! [`super::keeper`]) and the next start removes what it left.

use std::ffi::OsString;
use std::fs::File;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, PgConnection};

use super::account::{self, AccountError, RunAs};
use super::binaries::{Binaries, DEBIAN_ROOT};
use super::cluster_directory::{remove_abandoned, Directory};
use super::keeper::Keeper;

/// The cluster's superuser.
const SUPERUSER: &str = "postgres";
/// How long the server may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// The port in the socket's name (`.s.PGSQL.<port>`); nothing listens on
/// TCP, so it cannot be taken.
const PORT: u16 = 5432;
/// The longest socket path a unix socket address holds (`sun_path`, less
/// its terminating zero).
const SOCKET_PATH_MAX: usize = 107;

/// What to start and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// The database created for the caller (its name is in [`TemporaryServer::url`]).
    pub database: String,
    /// Where to look for `initdb` first (a `PATH`-style list).
    pub search_path: Option<OsString>,
    /// Where the per-version directories are otherwise (Debian's layout).
    pub debian_root: PathBuf,
    /// `TEMPORARY_POSTGRES_USER`: the account root runs the cluster as.
    pub account: Option<String>,
    /// Where the cluster's directory is made.
    pub parent_dir: PathBuf,
    /// Server settings (`-c name=value`) besides the ones this module needs.
    pub settings: Vec<(String, String)>,
}

impl Options {
    /// From the environment (`PATH`, `TEMPORARY_POSTGRES_USER`, `TMPDIR`),
    /// for a database named `ifinsure` on a server of 300 connections.
    pub fn from_env() -> Self {
        Self {
            database: "ifinsure".into(),
            search_path: std::env::var_os("PATH"),
            debian_root: DEBIAN_ROOT.into(),
            account: std::env::var("TEMPORARY_POSTGRES_USER")
                .ok()
                .filter(|name| !name.trim().is_empty()),
            parent_dir: std::env::temp_dir(),
            settings: vec![("max_connections".into(), "300".into())],
        }
    }
}

/// Why the temporary cluster did not start.
#[derive(Debug, thiserror::Error)]
pub enum TemporaryError {
    /// Neither `PATH` nor Debian's directories hold the server.
    #[error(
        "DATABASE_URL is not set and PostgreSQL's server programs (initdb, postgres) are neither \
         on PATH nor in {DEBIAN_ROOT}/<version>/bin: install the PostgreSQL server (Debian and \
         Ubuntu: `apt-get install postgresql`), or set DATABASE_URL"
    )]
    NoServerPrograms,
    /// No account to run it as.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// A file or process operation failed.
    #[error("{what} for the temporary PostgreSQL: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// `initdb` failed.
    #[error("initdb {initdb} failed ({status}): {output}")]
    Initdb {
        /// The program run.
        initdb: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// What it printed.
        output: String,
    },
    /// The server stopped, or never answered.
    #[error("the temporary PostgreSQL {problem}; its log ends: {log}")]
    Server {
        /// What happened.
        problem: String,
        /// The last lines of its log.
        log: String,
    },
    /// The caller's database could not be created.
    #[error("creating the database on the temporary PostgreSQL: {0}")]
    CreateDatabase(#[source] sqlx::Error),
}

pub(super) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> TemporaryError {
    let what = what.into();
    move |source| TemporaryError::Io { what, source }
}

/// A running temporary cluster; dropping it stops the server and deletes
/// its directory.
pub struct TemporaryServer {
    keeper: Option<Keeper>,
    directory: Directory,
    url: String,
    runs_as: RunAs,
}

impl std::fmt::Debug for TemporaryServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemporaryServer")
            .field("directory", &self.directory.0)
            .field("runs_as", &self.runs_as)
            .finish_non_exhaustive()
    }
}

impl TemporaryServer {
    /// Initialises and starts a cluster and creates `options.database`.
    ///
    /// # Errors
    /// When the server programs or an account to run them as are missing,
    /// or when initialising or starting the server fails.
    pub async fn start(options: Options) -> Result<Self, TemporaryError> {
        let binaries = Binaries::locate(options.search_path.as_deref(), &options.debian_root)
            .ok_or(TemporaryError::NoServerPrograms)?;
        let runs_as = account::choose(
            account::effective_uid(),
            options.account.as_deref(),
            account::lookup,
        )?;
        remove_abandoned(&options.parent_dir);
        let directory = Directory::create(&options.parent_dir, &runs_as)?;
        let socket = directory.0.join(format!(".s.PGSQL.{PORT}"));
        if socket.as_os_str().len() > SOCKET_PATH_MAX {
            return Err(TemporaryError::Io {
                what: format!("placing its socket at {}", socket.display()),
                source: std::io::Error::other(format!(
                    "longer than the {SOCKET_PATH_MAX} bytes a unix socket path may have: \
                     set TMPDIR to a shorter directory (e.g. /tmp)"
                )),
            });
        }
        {
            let (binaries, runs_as, dir) = (binaries.clone(), runs_as.clone(), directory.0.clone());
            tokio::task::spawn_blocking(move || initdb(&binaries, &runs_as, &dir))
                .await
                .map_err(|e| io("running initdb")(std::io::Error::other(e)))??;
        }
        let keeper = Keeper::spawn(postgres(&binaries, &runs_as, &directory, &options)?)
            .map_err(io(format!("starting {}", binaries.postgres().display())))?;
        let connect = PgConnectOptions::new()
            .socket(&directory.0)
            .port(PORT)
            .username(SUPERUSER)
            .database("postgres")
            .application_name("ifinsure-temporary");
        let mut admin = ready(&keeper, &connect, &directory).await?;
        create_database(&mut admin, &options.database).await?;
        let _ = sqlx::Connection::close(admin).await;
        let url = format!(
            "postgres://{SUPERUSER}@localhost:{PORT}/{}?host={}",
            options.database,
            directory.0.display()
        );
        Ok(Self {
            keeper: Some(keeper),
            url,
            directory,
            runs_as,
        })
    }

    /// The connection URL (through the socket in its directory).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The cluster's directory (data and log), deleted on drop.
    pub fn directory(&self) -> &Path {
        &self.directory.0
    }

    /// Whose the server's processes and files are.
    pub fn runs_as(&self) -> &RunAs {
        &self.runs_as
    }

    /// The server's (postmaster's) process id.
    pub fn pid(&self) -> u32 {
        self.keeper.as_ref().map_or(0, Keeper::pid)
    }
}

impl Drop for TemporaryServer {
    /// Stops the server first; the directory goes after (its own drop).
    fn drop(&mut self) {
        if let Some(keeper) = self.keeper.take() {
            keeper.stop();
        }
    }
}

/// A command that runs as `runs_as`, in the cluster's directory (root's
/// own working directory may be closed to that account).
fn command_as(program: &Path, runs_as: &RunAs, dir: &Path) -> Command {
    let mut command = Command::new(program);
    command.current_dir(dir).env_remove("PGDATA");
    if let Some(account) = runs_as.account() {
        // std drops supplementary groups, then sets the group and user ids,
        // in the child before exec.
        command.uid(account.uid).gid(account.gid);
    }
    command
}

/// A cluster whose superuser is trusted on its socket: the socket's
/// directory is the only way in, and only its owner (and root) may enter.
fn initdb(binaries: &Binaries, runs_as: &RunAs, dir: &Path) -> Result<(), TemporaryError> {
    let output = command_as(&binaries.initdb(), runs_as, dir)
        .arg("--pgdata")
        .arg(dir.join("data"))
        .args(["--username", SUPERUSER, "--auth=trust"])
        .args(["--encoding=UTF8", "--no-locale", "--no-sync"])
        .output()
        .map_err(io(format!("running {}", binaries.initdb().display())))?;
    if output.status.success() {
        return Ok(());
    }
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Err(TemporaryError::Initdb {
        initdb: binaries.initdb().display().to_string(),
        status: output.status,
        output: printed.split_whitespace().collect::<Vec<_>>().join(" "),
    })
}

/// The server: its socket in its own directory and no TCP, durability off
/// (the data is thrown away anyway), its output in `postgres.log`.
fn postgres(
    binaries: &Binaries,
    runs_as: &RunAs,
    directory: &Directory,
    options: &Options,
) -> Result<Command, TemporaryError> {
    let log = File::create(directory.log()).map_err(io("creating the log"))?;
    let log_too = log.try_clone().map_err(io("opening the log"))?;
    let mut command = command_as(&binaries.postgres(), runs_as, &directory.0);
    command.arg("-D").arg(directory.data());
    let fixed = [
        ("listen_addresses", String::new()),
        ("port", PORT.to_string()),
        ("unix_socket_directories", directory.0.display().to_string()),
        ("unix_socket_permissions", "0700".into()),
        ("fsync", "off".into()),
        ("synchronous_commit", "off".into()),
        ("full_page_writes", "off".into()),
    ];
    let chosen = options
        .settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()));
    for (name, value) in fixed.into_iter().chain(chosen) {
        command.arg("-c").arg(format!("{name}={value}"));
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_too));
    Ok(command)
}

/// Waits until the server accepts a connection, or has stopped, or
/// `READY_TIMEOUT` has passed.
async fn ready(
    keeper: &Keeper,
    connect: &PgConnectOptions,
    directory: &Directory,
) -> Result<PgConnection, TemporaryError> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = keeper.exited() {
            return Err(TemporaryError::Server {
                problem: format!("stopped while starting ({status})"),
                log: directory.log_tail(),
            });
        }
        match connect.connect().await {
            Ok(connection) => return Ok(connection),
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => {
                return Err(TemporaryError::Server {
                    problem: format!(
                        "did not accept connections within {} s ({error})",
                        READY_TIMEOUT.as_secs()
                    ),
                    log: directory.log_tail(),
                })
            }
        }
    }
}

async fn create_database(admin: &mut PgConnection, name: &str) -> Result<(), TemporaryError> {
    if name == "postgres" {
        return Ok(());
    }
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    sqlx::query(&format!("CREATE DATABASE {quoted}"))
        .execute(admin)
        .await
        .map(|_| ())
        .map_err(TemporaryError::CreateDatabase)
}
