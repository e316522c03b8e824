//! The `ifinsure` command: run the service, seed a demo, migrate, bootstrap
//! users, and inspect or rebuild projections.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use base64::Engine;
use clap::{Parser, Subcommand, ValueEnum};
use domain::Role;
use ifinsure::app::{self, Parts};
use ifinsure::database::{self, Database};
use ifinsure::settings::{ChainAnchor, Settings, DEFAULT_ANCHOR};
use ifinsure::setup_error::{self, OrSetup as _, SetupError};
use ifinsure::stop_signal::StopSignal;
use ifinsure::{seed, telemetry};
use projections::clock::{Clock, SettableClock, SystemClock};
use projections::event_store::seal::SealKey;
use projections::read_models;
use projections::subscription::rebuild::{rebuild, RebuildProgress};
use projections::tamper::anchor::Anchor;
use projections::tamper::Recorded;
use projections::{CommandMetadata, EventStore};
use rand::RngCore;
use secrecy::SecretString;

/// ifinsure: an event-sourced insurance management engine.
///
/// Configuration comes from the environment and `.env` (see `.env.example`):
/// DATABASE_URL, LISTEN_ADDR, JWT_SECRET, PUBLIC_BASE_URL, LOG_FORMAT, RUST_LOG, ...
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service: the HTTP API, the projections and the workers.
    ///
    /// Several processes may share one database: each subscription runs in
    /// one process at a time and fails over when that process stops.
    Serve {
        /// Run only one part (e.g. several API processes and one worker process).
        #[arg(long, value_enum)]
        only: Option<Part>,
    },
    /// Run the whole service with a seeded demo catalogue, users and book of business.
    ///
    /// Without DATABASE_URL it uses a private temporary PostgreSQL (nothing is kept).
    /// Prints the URL and the demo logins.
    Demo,
    /// Apply database migrations and create read-model tables, then exit.
    Migrate,
    /// Manage users (e.g. bootstrap the first admin).
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Inspect or rebuild projections (read models).
    Projections {
        #[command(subcommand)]
        command: ProjectionsCommand,
    },
    /// The Integrations Center's credential vault.
    Integrations {
        #[command(subcommand)]
        command: IntegrationsCommand,
    },
    /// The workers' dead letters.
    Workers {
        #[command(subcommand)]
        command: WorkersCommand,
    },
    /// Tamper evidence.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check every event's seal and chain, every signed checkpoint, and the
    /// anchor's copy of them; prints the result as JSON and exits with 1 if
    /// anything is broken.
    Verify {
        /// The anchor to compare with (a directory of checkpoints; default:
        /// the configured one, `CHAIN_ANCHOR*`).
        #[arg(long)]
        anchor: Option<std::path::PathBuf>,
    },
    /// Record a signed checkpoint of the stream now (refused, raising an
    /// integrity alarm, if anything is broken).
    Checkpoint,
    /// Write the events recorded in a time range as NDJSON (one event with
    /// its metadata per line, in stream order) for external tools.
    Export {
        /// Recorded at or after (RFC 3339).
        #[arg(long)]
        from: Option<chrono::DateTime<chrono::Utc>>,
        /// Recorded before (RFC 3339).
        #[arg(long)]
        to: Option<chrono::DateTime<chrono::Utc>>,
        /// The file to write (default: standard output).
        #[arg(long)]
        output: Option<std::path::PathBuf>,
        /// Wait up to this many seconds for events that a transaction
        /// still running holds back behind the gap-safe horizon.
        #[arg(long, num_args = 0..=1, default_missing_value = "30")]
        wait: Option<u64>,
    },
}

#[derive(Subcommand)]
enum WorkersCommand {
    /// Re-drive every dead letter: each job goes back in its worker's queue.
    Retry,
}

#[derive(Subcommand)]
enum IntegrationsCommand {
    /// Re-encrypt every stored credential under IFINSURE_MASTER_KEY; the old
    /// keys must be listed in IFINSURE_PREVIOUS_MASTER_KEYS while this runs.
    RotateKey,
}

#[derive(Clone, Copy, ValueEnum)]
enum Part {
    /// Only the HTTP API.
    Api,
    /// Only the read-model projections.
    Projections,
    /// Only the workers and scheduled jobs.
    Workers,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create a user with any role.
    Create {
        /// Login email.
        #[arg(long)]
        email: String,
        /// Password (at least 12 characters, not a common one).
        #[arg(long)]
        password: String,
        /// Full name.
        #[arg(long)]
        full_name: String,
        /// customer, agent, staff, admin or auditor.
        #[arg(long)]
        role: Role,
        /// Phone number, e.g. +254712345678.
        #[arg(long)]
        phone_number: Option<String>,
    },
}

#[derive(Subcommand)]
enum ProjectionsCommand {
    /// Each subscription's checkpoint and lag.
    Status,
    /// Rebuild a projection from the first event into fresh tables, then swap
    /// them in; the live read model keeps serving meanwhile.
    Rebuild {
        /// The projection (see `projections status`).
        name: Option<String>,
        /// Rebuild every projection.
        #[arg(long, conflicts_with = "name")]
        all: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => setup_error::report(&error),
    }
}

async fn run() -> anyhow::Result<()> {
    load_dotenv()?;
    let cli = Cli::parse();
    telemetry::init();
    let settings = Settings::from_env().or_setup()?;
    match cli.command {
        Command::Serve { only } => serve(settings, only).await,
        Command::Demo => demo(settings).await,
        Command::Migrate => {
            let (_db, pool) = connect(&settings, false).await?;
            app::prepare(&pool).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Users { command } => users(settings, command).await,
        Command::Projections { command } => projections_command(settings, command).await,
        Command::Integrations {
            command: IntegrationsCommand::RotateKey,
        } => rotate_key(settings).await,
        Command::Workers {
            command: WorkersCommand::Retry,
        } => {
            let (_db, pool) = connect(&settings, false).await?;
            let retried = projections::dead_letters::retry_all(&pool).await?;
            println!("{retried} dead letters re-driven");
            Ok(())
        }
        Command::Audit { command } => {
            let (_db, pool) = connect(&settings, false).await?;
            match command {
                AuditCommand::Verify { anchor } => {
                    let anchor = match anchor {
                        Some(directory) => Some(Anchor::directory(&directory)?),
                        None => settings.anchor()?,
                    };
                    let store = EventStore::new(pool.clone(), SealKey::new(&chain_key(&settings)?));
                    let against = projections::tamper::Against {
                        anchor: anchor.as_ref(),
                        stale_after: Some(settings.chain_checkpoint_interval * 2),
                    };
                    let result = projections::tamper::verify(&pool, store.seals(), against).await?;
                    println!("{}", serde_json::to_string_pretty(&result)?);
                    if !result.ok {
                        std::process::exit(1);
                    }
                }
                AuditCommand::Checkpoint => {
                    let store = EventStore::new(pool.clone(), SealKey::new(&chain_key(&settings)?));
                    let anchor = settings.anchor()?;
                    match projections::tamper::record(&store, anchor.as_ref()).await? {
                        Recorded::Signed(id) => println!("checkpoint {id} recorded"),
                        Recorded::Nothing => println!("no events since the last checkpoint"),
                        Recorded::Refused { alarm, problem } => {
                            eprintln!("refused: {problem} (integrity alarm {alarm})");
                            std::process::exit(1);
                        }
                    }
                }
                AuditCommand::Export {
                    from,
                    to,
                    output,
                    wait,
                } => {
                    let wait = wait.map(std::time::Duration::from_secs);
                    let reach = export(&pool, from, to, output.as_deref(), wait).await?;
                    if reach.complete {
                        eprintln!("{} events exported", reach.events);
                    } else {
                        eprintln!(
                            "{} events exported; {} more are committed but held back behind a transaction still running (tx {}): export again with --wait",
                            reach.events, reach.held_back, reach.horizon_tx
                        );
                        std::process::exit(3);
                    }
                }
            }
            Ok(())
        }
    }
}

/// `.env` in the working directory, if there is one; a malformed one is an
/// error (not silently half-read).
fn load_dotenv() -> Result<(), SetupError> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(error) if error.not_found() => Ok(()),
        Err(error) => Err(SetupError::new(format!(
            ".env could not be read: {error}; each line must be NAME=value (see .env.example)"
        ))),
    }
}

async fn connect(
    settings: &Settings,
    allow_temporary: bool,
) -> anyhow::Result<(Database, sqlx::PgPool)> {
    if settings.database_url.is_none() && !allow_temporary {
        return Err(SetupError::new(
            "DATABASE_URL is not set: this command works on the database the service uses; \
             set DATABASE_URL to it",
        )
        .into());
    }
    let db = database::provision(settings.database_url.clone())
        .await
        .or_setup()?;
    let pool = database::open_pool(&db.url, settings.database_max_connections).await?;
    Ok((db, pool))
}

/// A temporary database keeps its checkpoints' anchor beside it, removed
/// with it: the default anchor, left by an earlier run on another temporary
/// database, would hold checkpoints this one never had, and verification
/// would say so.
fn anchor_beside(settings: &mut Settings, db: &Database) {
    if let (Some(server), ChainAnchor::Directory(path)) = (&db.temporary, &settings.chain_anchor) {
        if path == std::path::Path::new(DEFAULT_ANCHOR) {
            settings.chain_anchor = ChainAnchor::Directory(server.directory().join("anchors"));
        }
    }
}

fn jwt_secret(settings: &Settings, demo: bool) -> anyhow::Result<SecretString> {
    if let Some(secret) = &settings.jwt_secret {
        return Ok(secret.clone());
    }
    if !demo {
        return Err(SetupError::new(
            "JWT_SECRET is not set: set it to a random string of at least 32 bytes \
             (e.g. `openssl rand -base64 48`)",
        )
        .into());
    }
    let mut bytes = [0u8; 48];
    rand::thread_rng().fill_bytes(&mut bytes);
    tracing::warn!("JWT_SECRET is not set: using a random one; tokens will not survive a restart");
    Ok(SecretString::from(
        base64::engine::general_purpose::STANDARD.encode(bytes),
    ))
}

async fn serve(mut settings: Settings, only: Option<Part>) -> anyhow::Result<()> {
    let parts = match only {
        None => Parts::ALL,
        Some(Part::Api) => Parts {
            api: true,
            projections: false,
            workers: false,
        },
        Some(Part::Projections) => Parts {
            api: false,
            projections: true,
            workers: false,
        },
        Some(Part::Workers) => Parts {
            api: false,
            projections: false,
            workers: true,
        },
    };
    let secret = jwt_secret(&settings, false)?;
    // A bad secret is refused before a database is touched (or started).
    settings.api_config(secret.clone()).or_setup()?;
    settings.check_production()?;
    let mut stop = StopSignal::install()?;
    let (db, pool) = connect(&settings, true).await?;
    anchor_beside(&mut settings, &db);
    let running = app::start(&settings, pool, secret, parts).await?;
    stop.received().await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

async fn demo(mut settings: Settings) -> anyhow::Result<()> {
    let secret = jwt_secret(&settings, true)?;
    if settings.chain_key.is_none() && settings.jwt_secret.is_none() {
        // The demo's JWT secret is random each run; its events stay
        // verifiable on a database reused across runs (never in production).
        settings.chain_key = Some(SecretString::from(
            "ifinsure demo chain key (not for production)",
        ));
    }
    settings.api_config(secret.clone()).or_setup()?;
    let mut stop = StopSignal::install()?;
    let (db, pool) = connect(&settings, true).await?;
    anchor_beside(&mut settings, &db);
    // The demo replays thirteen months of business on this clock, then
    // leaves it on the real date.
    let clock = SettableClock::at(SystemClock::default().today());
    let settings = Settings {
        clock: Arc::new(clock.clone()),
        ..settings
    };
    let running = app::start(&settings, pool.clone(), secret, Parts::ALL).await?;
    let addr = running.addr.context("the API is not running")?;
    let seeded = async {
        seed::seed(&pool, &running.store).await?;
        let workers = running
            .workers
            .as_ref()
            .context("the workers are not running")?;
        println!(
            "Seeding the demo book of business (a year of policies, paid through the sandbox)..."
        );
        seed::book::seed_book(&pool, &format!("http://{addr}/api/v1"), &clock, workers).await
    };
    let seeding = tokio::select! {
        result = seeded => Some(result),
        () = stop.received() => None,
    };
    match seeding {
        Some(result) => result?,
        None => {
            println!("Stopped while seeding.");
            running.stop().await;
            return Ok(());
        }
    }
    println!();
    println!("ifinsure demo is running: open http://{addr}/ in a browser (the web console)");
    println!("The API: http://{addr}/api/v1  (OpenAPI: http://{addr}/api/v1/openapi.json)");
    println!("Demo logins (password for all: {}):", seed::DEMO_PASSWORD);
    for (email, name, _, role) in seed::DEMO_USERS {
        println!("  {role:<9} {email:<24} {name}");
    }
    println!("Try: curl -s http://{addr}/api/v1/auth/login -H 'content-type: application/json' \\");
    println!(
        "       -d '{{\"email\":\"admin@example.com\",\"password\":\"{}\"}}'",
        seed::DEMO_PASSWORD
    );
    println!("Press Ctrl-C to stop.");
    stop.received().await;
    running.stop().await;
    Ok(())
}

async fn users(settings: Settings, command: UsersCommand) -> anyhow::Result<()> {
    let UsersCommand::Create {
        email,
        password,
        full_name,
        role,
        phone_number,
    } = command;
    let (_db, pool) = connect(&settings, false).await?;
    app::prepare(&pool).await?;
    let account = api::accounts::NewAccount {
        email,
        password,
        full_name,
        phone_number,
        role,
    };
    let shown = account.to_string();
    let store = EventStore::new(pool.clone(), SealKey::new(&chain_key(&settings)?));
    let (id, _) = api::accounts::open_account(
        &pool,
        &store,
        account,
        &CommandMetadata::system("cli-users-create"),
    )
    .await
    .map_err(|e| match e {
        api::ApiError::Validation(errors) => anyhow::anyhow!("invalid user: {errors}"),
        other => anyhow::anyhow!("{other}"),
    })?;
    println!("created {shown}: {id}");
    Ok(())
}

async fn rotate_key(settings: Settings) -> anyhow::Result<()> {
    if settings.master_key.is_none() {
        bail!("set IFINSURE_MASTER_KEY to the new key and IFINSURE_PREVIOUS_MASTER_KEYS to the old ones");
    }
    let secret = jwt_secret(&settings, false)?;
    let vault = settings.vault(&secret)?;
    let (_db, pool) = connect(&settings, false).await?;
    app::prepare(&pool).await?;
    let rotated = vault.rotate(&pool).await?;
    println!("re-encrypted {rotated} credential set(s) under the current master key");
    Ok(())
}

async fn projections_command(
    settings: Settings,
    command: ProjectionsCommand,
) -> anyhow::Result<()> {
    let (_db, pool) = connect(&settings, false).await?;
    app::prepare(&pool).await?;
    match command {
        ProjectionsCommand::Status => {
            let statuses =
                projections::subscription::checkpoint::status(&pool, &app::subscription_names())
                    .await?;
            println!(
                "{:<24} {:>12} {:>14} {:>10} {:>10}",
                "subscription", "position", "handled", "lag", "lag (s)"
            );
            for s in statuses {
                println!(
                    "{:<24} {:>12} {:>14} {:>10} {:>10.1}",
                    s.name, s.position, s.events_handled, s.lag_events, s.lag_seconds
                );
            }
            Ok(())
        }
        ProjectionsCommand::Rebuild { name, all } => {
            let targets = match (name, all) {
                (_, true) => read_models::all(),
                (Some(name), false) => vec![read_models::by_name(&name).with_context(|| {
                    let known: Vec<_> = read_models::all().iter().map(|p| p.name()).collect();
                    format!("no projection named {name:?}; known: {}", known.join(", "))
                })?],
                (None, false) => bail!("name a projection, or pass --all"),
            };
            let seals =
                projections::event_store::seal::Seals::new(SealKey::new(&chain_key(&settings)?));
            for projection in targets {
                let name = projection.name();
                let mut progress = Progress::new(name);
                let events = rebuild(
                    &pool,
                    &seals,
                    projection,
                    settings.subscription_batch_size,
                    |p: RebuildProgress| progress.update(p),
                )
                .await?;
                progress.finish();
                println!("rebuilt {name}: {events} events replayed and swapped in");
            }
            Ok(())
        }
    }
}

/// The chain checkpoints' key (`CHAIN_KEY`, else derived from `JWT_SECRET`).
fn chain_key(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    use secrecy::ExposeSecret;
    settings.check_production()?;
    let secret = jwt_secret(settings, false)?;
    Ok(settings
        .chain_key(&secret)
        .expose_secret()
        .as_bytes()
        .to_vec())
}

/// Writes the events recorded in `[from, to)` as NDJSON to `output` (or
/// standard output), a page at a time; how many.
async fn export(
    pool: &sqlx::PgPool,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
    output: Option<&std::path::Path>,
    wait: Option<std::time::Duration>,
) -> anyhow::Result<projections::audit::Reach> {
    use std::io::Write;
    let mut out: Box<dyn Write> = match output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let filter = projections::audit::Filter {
        from,
        to,
        ..Default::default()
    };
    let mut pages = projections::audit::Pages::new(filter, None, None);
    let deadline = wait.map(|w| std::time::Instant::now() + w);
    let reach = loop {
        while let Some(page) = pages.next(pool, 1000).await? {
            for event in &page {
                serde_json::to_writer(&mut out, &api::audit::view(event))?;
                out.write_all(b"\n")?;
            }
        }
        let reach = pages.reach(pool).await?;
        match deadline {
            Some(deadline) if !reach.complete && std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                pages.resume(None);
            }
            _ => break reach,
        }
    };
    serde_json::to_writer(&mut out, &serde_json::json!({"export": reach}))?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(reach)
}

/// A rebuild's progress: a bar (events/s, ETA) on a terminal, a log line
/// every five seconds otherwise.
struct Progress {
    name: &'static str,
    bar: Option<indicatif::ProgressBar>,
    last_line: std::time::Instant,
}

impl Progress {
    fn new(name: &'static str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            let style = indicatif::ProgressStyle::with_template(
                "{prefix:>14} [{bar:40}] {pos}/{len} events  {per_sec}  ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(name);
            bar
        });
        Self {
            name,
            bar,
            last_line: std::time::Instant::now(),
        }
    }

    fn update(&mut self, p: RebuildProgress) {
        if let Some(bar) = &self.bar {
            bar.set_length(p.total_estimate.max(p.events));
            bar.set_position(p.events);
            return;
        }
        if self.last_line.elapsed() < Duration::from_secs(5) {
            return;
        }
        self.last_line = std::time::Instant::now();
        let rate = p.events as f64 / p.elapsed.as_secs_f64().max(0.001);
        let remaining = p.total_estimate.saturating_sub(p.events) as f64 / rate.max(1.0);
        tracing::info!(
            projection = self.name,
            events = p.events,
            total = p.total_estimate,
            "rebuilding: {rate:.0} events/s, ETA {remaining:.0}s"
        );
    }

    fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish();
        }
    }
}
