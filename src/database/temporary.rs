//! A private PostgreSQL for one run: a cluster initialised in a fresh
//! directory from the machine's own server programs, listening on a random
//! loopback port with a random password, and stopped and deleted when
//! dropped. Root runs it as an unprivileged account ([`super::account`]);
//! a process killed outright takes the server with it (see
//! [`super::keeper`]) and the next start removes what it left.

use std::ffi::OsString;
use std::fs::File;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::Rng as _;
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
/// Ports tried when another program takes the one chosen first.
const PORT_ATTEMPTS: usize = 5;

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
    port: u16,
    runs_as: RunAs,
}

impl std::fmt::Debug for TemporaryServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemporaryServer")
            .field("directory", &self.directory.0)
            .field("port", &self.port)
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
        let password: String = rand::thread_rng()
            .sample_iter(rand::distributions::Alphanumeric)
            .take(32)
            .map(char::from)
            .collect();
        {
            let (binaries, runs_as, dir, password) = (
                binaries.clone(),
                runs_as.clone(),
                directory.0.clone(),
                password.clone(),
            );
            tokio::task::spawn_blocking(move || initdb(&binaries, &runs_as, &dir, &password))
                .await
                .map_err(|e| io("running initdb")(std::io::Error::other(e)))??;
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = free_port()?;
            let keeper = Keeper::spawn(postgres(&binaries, &runs_as, &directory, port, &options)?)
                .map_err(io(format!("starting {}", binaries.postgres().display())))?;
            let connect = PgConnectOptions::new()
                .host("127.0.0.1")
                .port(port)
                .username(SUPERUSER)
                .password(&password)
                .database("postgres")
                .application_name("ifinsure-temporary");
            match ready(&keeper, &connect, &directory).await {
                Ok(mut admin) => {
                    create_database(&mut admin, &options.database).await?;
                    return Ok(Self {
                        keeper: Some(keeper),
                        url: format!(
                            "postgres://{SUPERUSER}:{password}@127.0.0.1:{port}/{}",
                            options.database
                        ),
                        directory,
                        port,
                        runs_as,
                    });
                }
                Err(error) if attempt < PORT_ATTEMPTS && directory.log_says_port_taken() => {
                    tracing::debug!(port, %error, "port taken; trying another");
                    keeper.stop();
                    std::fs::remove_file(directory.log()).map_err(io("clearing the log"))?;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The connection URL (loopback, with the cluster's password).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The port it listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
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

fn initdb(
    binaries: &Binaries,
    runs_as: &RunAs,
    dir: &Path,
    password: &str,
) -> Result<(), TemporaryError> {
    let pwfile = dir.join("superuser-password");
    std::fs::write(&pwfile, password).map_err(io("writing the password file"))?;
    if let Some(account) = runs_as.account() {
        std::os::unix::fs::chown(&pwfile, Some(account.uid), Some(account.gid))
            .map_err(io("giving the password file away"))?;
    }
    let output = command_as(&binaries.initdb(), runs_as, dir)
        .arg("--pgdata")
        .arg(dir.join("data"))
        // The password travels over loopback only, so it is sent as is and
        // checked against its stored SCRAM verifier by the server: no
        // client-side key derivation on every connection (slow in debug
        // builds, where the test suite opens thousands).
        .args(["--username", SUPERUSER, "--auth=password"])
        .arg(format!("--pwfile={}", pwfile.display()))
        .args(["--encoding=UTF8", "--no-locale", "--no-sync"])
        .output()
        .map_err(io(format!("running {}", binaries.initdb().display())));
    let _ = std::fs::remove_file(&pwfile);
    let output = output?;
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

/// The server: loopback only, no unix socket, durability off (the data
/// is thrown away anyway), its output in `postgres.log`.
fn postgres(
    binaries: &Binaries,
    runs_as: &RunAs,
    directory: &Directory,
    port: u16,
    options: &Options,
) -> Result<Command, TemporaryError> {
    let log = File::create(directory.log()).map_err(io("creating the log"))?;
    let log_too = log.try_clone().map_err(io("opening the log"))?;
    let mut command = command_as(&binaries.postgres(), runs_as, &directory.0);
    command.arg("-D").arg(directory.data());
    let fixed = [
        ("listen_addresses", "127.0.0.1".to_string()),
        ("port", port.to_string()),
        ("unix_socket_directories", String::new()),
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

/// A port free on 127.0.0.1 now (another program may take it before the
/// server does; [`TemporaryServer::start`] then tries another).
fn free_port() -> Result<u16, TemporaryError> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(io("finding a free port"))
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
