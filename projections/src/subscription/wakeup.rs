//! Waking subscriptions when events are appended, and following other
//! processes' progress.
//!
//! An append in this process wakes the local subscriptions directly and asks
//! [`notify_appends`] to send one `pg_notify('ifinsure_events')` for the
//! other processes. That notice is sent outside the writer's transaction and
//! coalesced, because a transaction that notifies takes a cluster-wide lock
//! at commit: notifying from every append (a trigger) would serialise all
//! writers' commits and defeat group commit.
//!
//! [`listen`] receives `ifinsure_events` (wake every local subscription) and
//! `ifinsure_checkpoints` (other processes' progress, into [`Progress`]).
//! After a reconnect (notices may have been lost) every subscription is woken
//! anyway, and subscriptions also poll slowly.

use std::sync::{Arc, Mutex};

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::Notify;

use super::progress::Progress;
use super::shutdown::Shutdown;
use crate::stored_event::StreamPosition;

/// The wake-up signals of this process's subscriptions.
#[derive(Clone, Default)]
pub struct Wakeups {
    signals: Arc<Mutex<Vec<Arc<Notify>>>>,
}

impl Wakeups {
    /// A new signal, woken on every append.
    pub fn register(&self) -> Arc<Notify> {
        let notify = Arc::new(Notify::new());
        self.signals
            .lock()
            .expect("wakeups lock poisoned")
            .push(notify.clone());
        notify
    }

    /// Wakes every registered subscription (a permit is stored if it is busy).
    pub fn wake_all(&self) {
        for signal in self.signals.lock().expect("wakeups lock poisoned").iter() {
            signal.notify_one();
        }
    }
}

/// What the event store calls after each append.
#[derive(Clone)]
pub struct AppendNotifier {
    wakeups: Wakeups,
    request: Arc<Notify>,
}

impl AppendNotifier {
    /// A notifier waking `wakeups`; run [`notify_appends`] with
    /// [`AppendNotifier::requests`] to tell other processes too.
    pub fn new(wakeups: Wakeups) -> Self {
        Self {
            wakeups,
            request: Arc::new(Notify::new()),
        }
    }

    /// Events were appended.
    pub fn appended(&self) {
        self.wakeups.wake_all();
        self.request.notify_one();
    }

    /// The signal [`notify_appends`] waits on.
    pub fn requests(&self) -> Arc<Notify> {
        self.request.clone()
    }
}

/// Shortest gap between two notices to other processes.
const NOTIFY_COALESCE: std::time::Duration = std::time::Duration::from_millis(2);

/// Sends one `pg_notify('ifinsure_events')` per burst of appends, until shutdown.
pub async fn notify_appends(pool: PgPool, requests: Arc<Notify>, shutdown: Shutdown) {
    loop {
        tokio::select! {
            () = shutdown.wait() => return,
            () = requests.notified() => {}
        }
        // pg_notify returns void, which the checked macros cannot describe.
        if let Err(error) = sqlx::query("SELECT pg_notify('ifinsure_events', '')")
            .execute(&pool)
            .await
        {
            tracing::warn!(%error, "could not notify other processes of an append");
        }
        // Under load, one notice per few milliseconds wakes them as well as
        // one per append, at a fraction of the cost.
        tokio::time::sleep(NOTIFY_COALESCE).await;
    }
}

/// Listens until shutdown, reconnecting as needed.
pub async fn listen(pool: PgPool, wakeups: Wakeups, progress: Progress, shutdown: Shutdown) {
    loop {
        if shutdown.is_triggered() {
            return;
        }
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => {
                if let Err(error) = listener
                    .listen_all(["ifinsure_events", "ifinsure_checkpoints"])
                    .await
                {
                    tracing::warn!(%error, "could not LISTEN; retrying");
                } else {
                    wakeups.wake_all();
                    receive(&mut listener, &wakeups, &progress, &shutdown).await;
                }
            }
            Err(error) => tracing::warn!(%error, "could not connect the event listener; retrying"),
        }
        tokio::select! {
            () = shutdown.wait() => return,
            () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
    }
}

async fn receive(
    listener: &mut PgListener,
    wakeups: &Wakeups,
    progress: &Progress,
    shutdown: &Shutdown,
) {
    loop {
        let notification = tokio::select! {
            () = shutdown.wait() => return,
            n = listener.try_recv() => n,
        };
        match notification {
            Ok(Some(n)) if n.channel() == "ifinsure_events" => wakeups.wake_all(),
            Ok(Some(n)) => {
                if let Some((name, position)) = parse_checkpoint(n.payload()) {
                    progress.update(name, position);
                }
            }
            Ok(None) => {
                tracing::warn!("event listener lost its connection; reconnecting");
                wakeups.wake_all();
            }
            Err(error) => {
                tracing::warn!(%error, "event listener failed");
                return;
            }
        }
    }
}

fn parse_checkpoint(payload: &str) -> Option<(&str, StreamPosition)> {
    let mut parts = payload.rsplitn(3, ' ');
    let position = parts.next()?.parse().ok()?;
    let tx_id = parts.next()?.parse().ok()?;
    let name = parts.next()?;
    Some((name, StreamPosition { tx_id, position }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_notices_parse() {
        assert_eq!(
            parse_checkpoint("products 812 44"),
            Some((
                "products",
                StreamPosition {
                    tx_id: 812,
                    position: 44
                }
            ))
        );
        assert_eq!(parse_checkpoint("garbage"), None);
    }
}
