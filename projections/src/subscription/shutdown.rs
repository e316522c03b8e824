//! A cloneable shutdown signal for long-running tasks.

use tokio::sync::watch;

/// Tells tasks to stop; every clone sees the same signal.
#[derive(Clone)]
pub struct Shutdown {
    sender: std::sync::Arc<watch::Sender<bool>>,
    receiver: watch::Receiver<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A signal not yet given.
    pub fn new() -> Self {
        let (sender, receiver) = watch::channel(false);
        Self {
            sender: std::sync::Arc::new(sender),
            receiver,
        }
    }

    /// Gives the signal.
    pub fn trigger(&self) {
        self.sender.send_replace(true);
    }

    /// Whether the signal was given.
    pub fn is_triggered(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Resolves once the signal is given.
    pub async fn wait(&self) {
        let mut receiver = self.receiver.clone();
        let _ = receiver.wait_for(|stop| *stop).await;
    }

    /// Waits `duration`, or less if the signal comes: whether the time ran
    /// out without it (a periodic job's loop goes on while this is true).
    pub async fn sleep(&self, duration: std::time::Duration) -> bool {
        tokio::select! {
            () = self.wait() => false,
            () = tokio::time::sleep(duration) => true,
        }
    }
}
