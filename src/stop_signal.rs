//! The signals that stop ifinsure: Ctrl-C (SIGINT) and SIGTERM. Installed
//! at start, so a signal that arrives while the service is still starting
//! (or the demo is seeding) is not the default "die at once", which would
//! leave a temporary PostgreSQL's directory behind, but a request to stop
//! in order.

use tokio::signal::unix::{signal, Signal, SignalKind};

/// Ctrl-C and SIGTERM, from the moment this is installed.
pub struct StopSignal {
    interrupt: Signal,
    terminate: Signal,
}

impl StopSignal {
    /// Takes over SIGINT and SIGTERM for this process.
    ///
    /// # Errors
    /// When the handlers cannot be installed.
    pub fn install() -> std::io::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Waits for either signal (returns at once for one already received).
    pub async fn received(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}
