//! The settings in force in this process: the environment's values as
//! defaults, overlaid by what admins saved (the `Settings` aggregate).
//!
//! Every process keeps its own copy and looks at the aggregate's version
//! every [`REFRESH_EVERY`]; when it moved, the aggregate is replayed (its
//! events checked against their seals) and the copy swapped. A value saved
//! in one process is so in force in every other within a second, and at
//! once in the process that saved it ([`LiveSettings::refresh`]).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use domain::settings::{Settings, SettingsValues, SETTINGS_ID};

use crate::clock::{Clock, SystemClock};
use crate::event_store::EventStore;
use crate::subscription::Shutdown;

/// How often each process looks for saved settings.
pub const REFRESH_EVERY: Duration = Duration::from_millis(250);

/// What admins saved, replayed (each event checked against its seal), and
/// its version.
///
/// # Errors
/// When the store fails or an event fails its check.
pub async fn saved(store: &EventStore) -> anyhow::Result<(Settings, u64)> {
    store
        .load::<Settings>(SETTINGS_ID)
        .await
        .map_err(|e| anyhow::anyhow!("reading the settings: {e}"))
}

/// The shortest password accepted now: the saved security section's, or
/// the API's floor of 12 (for callers without a [`LiveSettings`], such as
/// the command line).
///
/// # Errors
/// When the store fails or an event fails its seal check.
pub async fn password_min_length(store: &EventStore) -> anyhow::Result<u32> {
    let (saved, _) = saved(store).await?;
    Ok(saved
        .security
        .map_or(domain::settings::PASSWORD_MIN_LENGTH_FLOOR, |s| {
            s.password_min_length
        }))
}

/// The settings in force, kept fresh.
pub struct LiveSettings {
    defaults: SettingsValues,
    /// The aggregate's version read last, and the values then in force.
    current: RwLock<(i64, Arc<SettingsValues>)>,
}

impl LiveSettings {
    /// Settings in force as `defaults` until something saved is read.
    pub fn new(defaults: SettingsValues) -> Self {
        let current = RwLock::new((0, Arc::new(defaults.clone())));
        Self { defaults, current }
    }

    /// The environment's values.
    pub fn defaults(&self) -> &SettingsValues {
        &self.defaults
    }

    /// The values in force now.
    pub fn current(&self) -> Arc<SettingsValues> {
        self.current.read().expect("settings lock").1.clone()
    }

    /// The aggregate's version the values in force come from (0: nothing
    /// saved, or not read yet).
    pub fn version(&self) -> i64 {
        self.current.read().expect("settings lock").0
    }

    /// Reads the saved settings when their version moved since the last
    /// read.
    ///
    /// # Errors
    /// When the store fails or an event fails its seal check (the values
    /// in force stay as they were).
    pub async fn refresh(&self, store: &EventStore) -> anyhow::Result<()> {
        let version: i64 = sqlx::query_scalar(
            "SELECT coalesce(max(sequence), 0) FROM events
             WHERE aggregate_type = 'Settings' AND aggregate_id = $1",
        )
        .bind(SETTINGS_ID)
        .fetch_one(store.pool())
        .await?;
        if version == self.version() {
            return Ok(());
        }
        let (saved, version) = saved(store).await?;
        let values = Arc::new(saved.effective(&self.defaults));
        let version = i64::try_from(version).unwrap_or(i64::MAX);
        let mut current = self.current.write().expect("settings lock");
        // A slower concurrent refresh never puts back an older version.
        if version > current.0 {
            *current = (version, values);
        }
        Ok(())
    }

    /// Refreshes every [`REFRESH_EVERY`] until `shutdown`; a failed read is
    /// logged and tried again.
    pub async fn keep_fresh(self: Arc<Self>, store: EventStore, shutdown: Shutdown) {
        loop {
            if let Err(error) = self.refresh(&store).await {
                tracing::warn!(error = %error, "could not read the saved settings");
            }
            if !shutdown.sleep(REFRESH_EVERY).await {
                return;
            }
        }
    }
}

/// The calendar at the business day's offset in force (the general
/// settings'), so a saved offset dates what happens next in every process.
pub struct FollowingClock(pub Arc<LiveSettings>);

impl Clock for FollowingClock {
    fn today(&self) -> chrono::NaiveDate {
        let offset = self.0.current().general.business_utc_offset_minutes;
        SystemClock::with_offset_minutes(offset).today()
    }

    fn is_calendar(&self) -> bool {
        true
    }
}
