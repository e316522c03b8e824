//! Progress of subscriptions as this process knows it, so a command can wait
//! until its events are visible in a read model (read-your-writes).
//!
//! Updated by the local runtime after each batch and by `pg_notify` from
//! runtimes in other processes ([`super::wakeup`]); a slow re-read of the
//! checkpoint table covers a lost notification.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;

use super::checkpoint;
use crate::stored_event::StreamPosition;

/// How often a waiter re-reads the checkpoint table if no notice arrives.
const RECHECK: Duration = Duration::from_millis(250);

/// Shared map of subscription name → last handled position.
#[derive(Clone)]
pub struct Progress {
    sender: Arc<watch::Sender<HashMap<String, StreamPosition>>>,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    /// Nothing known yet.
    pub fn new() -> Self {
        Self {
            sender: Arc::new(watch::Sender::new(HashMap::new())),
        }
    }

    /// Records that `name` reached `position` (never moves backwards).
    pub fn update(&self, name: &str, position: StreamPosition) {
        self.sender.send_if_modified(|map| {
            let current = map.entry(name.to_string()).or_default();
            if position > *current {
                *current = position;
                true
            } else {
                false
            }
        });
    }

    /// Sets `name`'s position outright, even backwards (its checkpoint was
    /// loaded afresh, e.g. after a rebuild swapped its tables in).
    pub fn reset(&self, name: &str, position: StreamPosition) {
        self.sender.send_modify(|map| {
            map.insert(name.to_string(), position);
        });
    }

    /// What is known of `name`.
    pub fn get(&self, name: &str) -> StreamPosition {
        self.sender.borrow().get(name).copied().unwrap_or_default()
    }

    /// Waits until `name` has handled `target`, at most `timeout`. Returns
    /// whether it did.
    pub async fn wait_for(
        &self,
        pool: &PgPool,
        name: &str,
        target: StreamPosition,
        timeout: Duration,
    ) -> bool {
        let mut receiver = self.sender.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.get(name) >= target {
                return true;
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return false;
            }
            let pause = RECHECK.min(deadline - now);
            tokio::select! {
                changed = receiver.changed() => {
                    if changed.is_err() {
                        return self.get(name) >= target;
                    }
                }
                () = tokio::time::sleep(pause) => {
                    if let Ok(mut conn) = pool.acquire().await {
                        if let Ok(position) = checkpoint::load(&mut conn, name).await {
                            self.update(name, position);
                        }
                    }
                }
            }
        }
    }
}
