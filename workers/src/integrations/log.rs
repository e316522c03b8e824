//! Where adapters' calls are recorded: the integration log table in
//! production, memory in unit tests.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use projections::integration_log::{self, NewEntry};
use sqlx::PgPool;

/// Records provider calls. Guarantee: never fails the call it records (a
/// log write that fails is reported as a warning, not as the call's error).
#[async_trait]
pub trait CallRecorder: Send + Sync + 'static {
    /// Records one attempt.
    async fn record(&self, entry: NewEntry);
}

/// Writes to `integration_log`.
pub struct LogTable(pub PgPool);

#[async_trait]
impl CallRecorder for LogTable {
    async fn record(&self, entry: NewEntry) {
        if let Err(error) = integration_log::insert(&self.0, &entry).await {
            tracing::warn!(%error, provider = %entry.provider, action = %entry.action, "integration log write failed");
        }
    }
}

/// Keeps entries in memory (tests).
#[derive(Default, Clone)]
pub struct Memory(pub Arc<Mutex<Vec<NewEntry>>>);

impl Memory {
    /// What was recorded so far.
    pub fn entries(&self) -> Vec<NewEntry> {
        self.0.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl CallRecorder for Memory {
    async fn record(&self, entry: NewEntry) {
        if let Ok(mut entries) = self.0.lock() {
            entries.push(entry);
        }
    }
}
