//! Wiring one process: migrations, the event listener, the projections'
//! and workers' subscription runtimes, the maintenance job and the HTTP API.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use api::integrations::testing::{ConnectionTester, TestRefusal};
use domain::integration::ConnectionTest;
use projections::clock::Clock;
use projections::document_stores::DocumentStores;
use projections::documents::DocumentStore;
use projections::event_store::seal::SealKey;
use projections::live_settings::{FollowingClock, LiveSettings};
use projections::read_models::{self, ProjectionSubscriber};
use projections::subscription::wakeup::{self, AppendNotifier};
use projections::subscription::{
    Progress, RuntimeConfig, Shutdown, Subscriber, SubscriptionRuntime, Wakeups,
};
use projections::vault::Vault;
use projections::EventStore;
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use workers::integrations::testing::TestError;
use workers::integrations::LogTable;
use workers::notifications::templates::Templates;
use workers::payments::sandbox::{Sandbox, SandboxConfig};
use workers::payments::Providers;
use workers::{WorkerConfig, WorkerContext};

use crate::settings::Settings;
use crate::setup_error::{OrSetup as _, SetupError};

/// Which parts of ifinsure this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    /// The HTTP API.
    pub api: bool,
    /// The read-model projections.
    pub projections: bool,
    /// The workers and scheduled jobs.
    pub workers: bool,
}

impl Parts {
    /// Everything.
    pub const ALL: Parts = Parts {
        api: true,
        projections: true,
        workers: true,
    };
}

/// A running process.
pub struct Running {
    /// Where the API listens, if it runs.
    pub addr: Option<SocketAddr>,
    /// Stops everything.
    pub shutdown: Shutdown,
    /// The database pool.
    pub pool: PgPool,
    /// The workers' context, if workers run here (tests drive the scheduler
    /// and reconciliation through it).
    pub workers: Option<WorkerContext>,
    /// The event store, sealing with the service's chain key.
    pub store: EventStore,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Triggers shutdown and waits for every task to finish.
    pub async fn stop(self) {
        self.shutdown.trigger();
        for task in self.tasks {
            let _ = task.await;
        }
    }

    /// Waits until every task has finished (after shutdown was triggered).
    pub async fn join(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// The names of every subscription (projections and workers).
pub fn subscription_names() -> Vec<String> {
    read_models::all()
        .iter()
        .map(|p| p.name().to_string())
        .chain(workers::SUBSCRIPTIONS.iter().map(|s| s.to_string()))
        .collect()
}

/// The keys of password-reset tokens and unsubscribe links: in production
/// generated once and kept sealed by the master key (nothing derived from
/// `JWT_SECRET`); in development derived from it.
struct ServiceKeys {
    password_reset: SecretString,
    unsubscribe: SecretString,
    /// The sandbox's webhook secret (no sandbox runs in production).
    sandbox_webhook: SecretString,
    /// The chain checkpoints' key (`CHAIN_KEY`; required in production).
    chain: SecretString,
}

impl ServiceKeys {
    async fn of(
        settings: &Settings,
        pool: &PgPool,
        vault: &Vault,
        jwt_secret: &SecretString,
    ) -> anyhow::Result<Self> {
        use projections::service_secrets::{load_or_create, ServiceSecret};
        let sandbox_webhook = settings.sandbox_secret(jwt_secret);
        let chain = settings.chain_key(jwt_secret);
        if !settings.production {
            return Ok(Self {
                password_reset: api::auth::password_reset::secret(jwt_secret),
                unsubscribe: api::unsubscribe::secret(jwt_secret),
                sandbox_webhook,
                chain,
            });
        }
        let sealed = |e: projections::vault::VaultError| {
            anyhow::Error::new(e).context("opening the service's own secrets (IFINSURE_MASTER_KEY)")
        };
        Ok(Self {
            password_reset: load_or_create(pool, vault, ServiceSecret::PasswordReset)
                .await
                .map_err(sealed)?,
            unsubscribe: load_or_create(pool, vault, ServiceSecret::Unsubscribe)
                .await
                .map_err(sealed)?,
            sandbox_webhook,
            chain,
        })
    }
}

/// The workers' context: the event store, clock, periods and providers.
fn worker_context(
    settings: &Settings,
    pool: &PgPool,
    store: EventStore,
    public_base_url: &str,
    vault: Vault,
    (templates, live_settings, clock): (Arc<Templates>, Arc<LiveSettings>, Arc<dyn Clock>),
    keys: &ServiceKeys,
) -> anyhow::Result<WorkerContext> {
    let sandbox = Sandbox::new(
        pool.clone(),
        SandboxConfig {
            webhook_url: format!("{public_base_url}/api/v1/webhooks/sandbox"),
            secret: keys.sandbox_webhook.expose_secret().as_bytes().to_vec(),
            delay: settings.sandbox_webhook_delay,
        },
    );
    Ok(WorkerContext {
        store,
        pool: pool.clone(),
        clock,
        config: WorkerConfig {
            periods: settings.periods,
            reconcile_after: settings.payment_reconcile_after,
            payment_uncertain_for: settings.payment_uncertain_for,
            scheduler_interval: settings.scheduler_interval,
            payment_max_attempts: settings.payment_max_attempts,
            payment_poll: settings.payment_poll,
            public_base_url: public_base_url.to_string(),
            // Production writes no message to disk: without a provider, it waits.
            notification_outbox: (!settings.production)
                .then(|| settings.notification_outbox.clone()),
            notification_retry_base: settings.notification_retry_base,
            staff_queue_email: settings.staff_queue_email.clone(),
            log_retention: settings.log_retention,
            connectivity_check_interval: settings.connectivity_check_interval,
            chain_checkpoint_interval: settings.chain_checkpoint_interval,
            egress: settings.egress(),
            ..WorkerConfig::default()
        },
        // Production has no sandbox: it would settle payments without moving money.
        providers: if settings.production {
            Providers::default()
        } else {
            Providers::default().with(Arc::new(sandbox))
        },
        vault,
        payment_wakeup: Arc::new(tokio::sync::Notify::new()),
        recorder: Arc::new(LogTable(pool.clone())),
        mpesa_tokens: Arc::default(),
        templates,
        settings: live_settings,
        notification_wakeup: Arc::new(tokio::sync::Notify::new()),
        password_reset_secret: keys.password_reset.clone(),
        unsubscribe_secret: keys.unsubscribe.clone(),
        anchor: settings.anchor()?,
    })
}

/// Connection tests through the workers' adapters.
struct AdapterTester(WorkerContext);

#[async_trait::async_trait]
impl ConnectionTester for AdapterTester {
    async fn test(&self, id: uuid::Uuid) -> Result<ConnectionTest, TestRefusal> {
        workers::integrations::testing::test_connection(&self.0, id)
            .await
            .map_err(|error| match error {
                TestError::NotFound => TestRefusal::NotFound,
                TestError::NoAdapter(_) => TestRefusal::NoAdapter(error.to_string()),
                TestError::Store(error) => TestRefusal::Internal(error),
            })
    }
}

/// Migrates the database and creates the read models' tables.
///
/// # Errors
/// When a migration fails.
pub async fn prepare(pool: &PgPool) -> anyhow::Result<()> {
    projections::db::migrate(pool)
        .await
        .context("applying migrations")?;
    read_models::create_live_tables(pool)
        .await
        .context("creating read-model tables")?;
    Ok(())
}

/// A listener on `addr`; a taken or forbidden address is a setup error
/// naming it.
async fn listen(name: &str, addr: SocketAddr) -> Result<tokio::net::TcpListener, SetupError> {
    tokio::net::TcpListener::bind(addr).await.map_err(|error| {
        SetupError::new(match error.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "{name} {addr} is already in use: stop the program listening there, \
                 or set {name} to another address (e.g. 127.0.0.1:8081)"
            ),
            std::io::ErrorKind::PermissionDenied => format!(
                "{name} {addr}: permission denied (ports below 1024 need privileges); \
                 set {name} to a port above 1024"
            ),
            std::io::ErrorKind::AddrNotAvailable => format!(
                "{name} {addr} is not an address of this machine: use one it has \
                 (127.0.0.1 for this machine only, 0.0.0.0 for every interface)"
            ),
            _ => format!("cannot listen on {name} {addr}: {error}"),
        })
    })
}

/// Starts `parts` of ifinsure on `pool`.
///
/// # Errors
/// When migrations fail, the JWT secret is unusable, or the address is taken.
pub async fn start(
    settings: &Settings,
    pool: PgPool,
    jwt_secret: SecretString,
    parts: Parts,
) -> anyhow::Result<Running> {
    // Refuse a bad configuration before touching the database.
    settings.check_production()?;
    let api_config = if parts.api {
        Some(settings.api_config(jwt_secret.clone()).or_setup()?)
    } else {
        None
    };
    let vault = settings.vault(&jwt_secret).or_setup()?;
    let live_settings = Arc::new(LiveSettings::new(settings.settings_defaults()?));
    // The calendar follows the saved business offset; a clock a test or the
    // demo sets stays as set.
    let clock: Arc<dyn Clock> = if settings.clock.is_calendar() {
        Arc::new(FollowingClock(live_settings.clone()))
    } else {
        settings.clock.clone()
    };
    let templates = Arc::new(
        Templates::load(settings.branding.clone())
            .context("loading the notification templates")?
            .following(live_settings.clone()),
    );
    // A taken address is refused before the database is changed.
    let listener = if parts.api {
        Some(listen("LISTEN_ADDR", settings.listen_addr).await?)
    } else {
        None
    };
    let operations_listener = match (parts.api, settings.metrics_addr) {
        (true, Some(addr)) => Some(listen("METRICS_ADDR", addr).await?),
        _ => None,
    };
    prepare(&pool).await?;
    let keys = ServiceKeys::of(settings, &pool, &vault, &jwt_secret).await?;
    if settings.production {
        for channel in read_models::integrations::channels_without_provider(&pool).await? {
            tracing::warn!(
                channel,
                "no {channel} provider is enabled: {channel} messages (password resets \
                 included) wait unsent until an admin enables one in the Integrations Center"
            );
        }
    }
    let shutdown = Shutdown::new();
    let progress = Progress::new();
    let wakeups = Wakeups::default();
    let notifier = AppendNotifier::new(wakeups.clone());
    let mut tasks = vec![
        tokio::spawn(wakeup::listen(
            pool.clone(),
            wakeups.clone(),
            progress.clone(),
            shutdown.clone(),
        )),
        tokio::spawn(wakeup::notify_appends(
            pool.clone(),
            notifier.requests(),
            shutdown.clone(),
        )),
    ];
    let runtime_config = RuntimeConfig {
        batch_size: settings.subscription_batch_size,
        poll_interval: settings.subscription_poll_interval,
        ..RuntimeConfig::default()
    };
    let addr = listener.as_ref().map(|l| l.local_addr()).transpose()?;
    let public_base_url = settings
        .public_base_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", addr.unwrap_or(settings.listen_addr)));
    let seal_key = SealKey::new(keys.chain.expose_secret().as_bytes());
    let store = EventStore::new(pool.clone(), seal_key)
        .with_notifier(notifier)
        .with_clock(clock.clone());
    // What admins saved is in force before the first request or message.
    live_settings
        .refresh(&store)
        .await
        .context("reading the saved settings")?;
    tasks.push(tokio::spawn(
        live_settings
            .clone()
            .keep_fresh(store.clone(), shutdown.clone()),
    ));

    let mut subscribers: Vec<Arc<dyn Subscriber>> = Vec::new();
    if parts.projections {
        subscribers.extend(
            read_models::all()
                .into_iter()
                .map(|p| Arc::new(ProjectionSubscriber::live(p)) as Arc<dyn Subscriber>),
        );
    }
    // The API tests configurations through the workers' adapters, so the
    // context exists even when this process runs no workers.
    let ctx = worker_context(
        settings,
        &pool,
        store.clone(),
        &public_base_url,
        vault.clone(),
        (templates, live_settings.clone(), clock.clone()),
        &keys,
    )?;
    let mut worker_ctx = None;
    if parts.workers {
        worker_ctx = Some(ctx.clone());
        subscribers.extend(workers::subscribers(&ctx));
        tasks.extend(workers::spawn_jobs(&ctx, &shutdown));
        let retention = workers::maintenance::Retention {
            idempotency_keys: settings.idempotency_key_retention,
            logs: settings.log_retention,
            ..Default::default()
        };
        tasks.push(tokio::spawn(workers::maintenance::run(
            pool.clone(),
            retention,
            shutdown.clone(),
        )));
    }
    if !subscribers.is_empty() {
        // Subscriptions get their own connections, so a busy API never makes
        // a projection queue for one (that would show up as projection lag).
        let subscription_pool = PgPoolOptions::new()
            .max_connections(
                settings
                    .subscription_pool_size
                    .unwrap_or(2 + 2 * subscribers.len() as u32),
            )
            // Their statements take no optional filters: cached generic
            // plans, unlike the request pool's custom ones (the last
            // setting given wins).
            .connect_with(
                (*pool.connect_options())
                    .clone()
                    .options([("plan_cache_mode", "auto")]),
            )
            .await
            .context("connecting the subscriptions' pool")?;
        let runtime = SubscriptionRuntime::new(
            subscription_pool,
            store.seals().clone(),
            subscribers,
            wakeups,
            progress.clone(),
            runtime_config,
        );
        tasks.extend(runtime.spawn(shutdown.clone()));
    }

    if let (Some(listener), Some(local), Some(mut config)) = (listener, addr, api_config) {
        config.public_base_url = public_base_url.clone();
        config.password_reset_secret = keys.password_reset.clone();
        config.unsubscribe_secret = keys.unsubscribe.clone();
        let state = api::AppState::new(
            pool.clone(),
            store.clone(),
            progress,
            config,
            subscription_names(),
            api::state::Resources {
                clock: clock.clone(),
                documents: DocumentStores::new(
                    DocumentStore::open(&settings.document_store)
                        .context("opening the document store")?,
                    pool.clone(),
                    vault.clone(),
                ),
                vault,
                tester: Arc::new(AdapterTester(ctx)),
                settings: live_settings,
            },
        );
        if let Some(operations) = operations_listener {
            let app = api::operations(state.clone());
            let stop = shutdown.clone();
            let local = operations.local_addr()?;
            tasks.push(tokio::spawn(async move {
                let served = axum::serve(operations, app)
                    .with_graceful_shutdown(async move { stop.wait().await })
                    .await;
                if let Err(error) = served {
                    tracing::error!(%error, "the operations listener failed");
                }
            }));
            tracing::info!(%local, "operations listener (health, metrics) listening");
        }
        let app = api::router(state).into_make_service_with_connect_info::<SocketAddr>();
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.wait().await })
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "the HTTP server failed");
            }
        }));
        tracing::info!(%local, %public_base_url, "API listening");
    }
    Ok(Running {
        addr,
        shutdown,
        pool,
        workers: worker_ctx,
        store,
        tasks,
    })
}
