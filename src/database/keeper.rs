//! The temporary cluster's server process and the thread that keeps it.
//!
//! One thread spawns the server, watches it and stops it, so that:
//! - the server is signalled only while it is still this thread's
//!   unreaped child (its process id cannot have been reused);
//! - the server's parent-death signal is tied to a thread that lives as long
//!   as the server does (Linux sends it when the *thread* that forked
//!   exits): if ifinsure is killed outright, the server shuts itself down.

use std::process::{Command, ExitStatus};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// How long each stop signal is given before the next, stronger one: fast
/// shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL.
const STOP_STEP: Duration = Duration::from_secs(10);
const WATCH_INTERVAL: Duration = Duration::from_millis(20);

/// A running server process.
pub struct Keeper {
    pid: u32,
    stop: mpsc::Sender<()>,
    exited: Arc<Mutex<Option<ExitStatus>>>,
    thread: Option<JoinHandle<()>>,
}

impl Keeper {
    /// Spawns `command` from a keeper thread. The child gets SIGQUIT
    /// (PostgreSQL's immediate shutdown) if that thread ends before it, and
    /// runs in its own process group, so a Ctrl-C at the terminal reaches
    /// ifinsure, which then stops the server in order.
    ///
    /// # Errors
    /// When the thread or the process cannot be started.
    pub fn spawn(command: Command) -> std::io::Result<Self> {
        Self::spawn_with(command, STOP_STEP)
    }

    fn spawn_with(mut command: Command, stop_step: Duration) -> std::io::Result<Self> {
        use std::os::unix::process::CommandExt as _;
        let parent = nix::unistd::getpid();
        command.process_group(0);
        // SAFETY: the closure runs between fork and exec and only makes two
        // system calls (no allocation, no locks).
        unsafe {
            command.pre_exec(move || {
                nix::sys::prctl::set_pdeathsig(Signal::SIGQUIT)?;
                if nix::unistd::getppid() != parent {
                    // The parent died before the signal was armed.
                    return Err(std::io::Error::from(nix::errno::Errno::ESRCH));
                }
                Ok(())
            });
        }
        let (started_tx, started_rx) = mpsc::channel();
        let (stop, stop_rx) = mpsc::channel();
        let exited = Arc::new(Mutex::new(None));
        let watched = exited.clone();
        let thread = std::thread::Builder::new()
            .name("temporary-postgres".into())
            .spawn(move || match command.spawn() {
                Err(e) => {
                    let _ = started_tx.send(Err(e));
                }
                Ok(mut child) => {
                    let _ = started_tx.send(Ok(child.id()));
                    let status = watch(&mut child, &stop_rx, stop_step);
                    *watched.lock().unwrap_or_else(|p| p.into_inner()) = status;
                }
            })?;
        let pid = started_rx
            .recv()
            .map_err(|_| std::io::Error::other("the keeper thread ended before starting"))??;
        Ok(Self {
            pid,
            stop,
            exited,
            thread: Some(thread),
        })
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// How the server ended, if it has.
    pub fn exited(&self) -> Option<ExitStatus> {
        *self.exited.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops the server (each signal in turn until it exits) and waits.
    pub fn stop(mut self) {
        self.stop_and_wait();
    }

    fn stop_and_wait(&mut self) {
        let _ = self.stop.send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        self.stop_and_wait();
    }
}

/// Waits for the child to exit; once asked to stop (or when the `Keeper` is
/// gone), signals it, more firmly each `step`.
fn watch(
    child: &mut std::process::Child,
    stop: &mpsc::Receiver<()>,
    step: Duration,
) -> Option<ExitStatus> {
    let mut signals = [Signal::SIGINT, Signal::SIGQUIT, Signal::SIGKILL].into_iter();
    let mut next_signal_at: Option<Instant> = None;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(_) => return None,
        }
        let asked = match next_signal_at {
            None => match stop.recv_timeout(WATCH_INTERVAL) {
                Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => true,
                Err(mpsc::RecvTimeoutError::Timeout) => false,
            },
            Some(at) => {
                std::thread::sleep(WATCH_INTERVAL);
                Instant::now() >= at
            }
        };
        if asked {
            if let Some(signal) = signals.next() {
                // The child is unreaped, so its pid is still its own.
                let pid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
                let _ = nix::sys::signal::kill(pid, signal);
            }
            next_signal_at = Some(Instant::now() + step);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alive(pid: u32) -> bool {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    }

    #[test]
    fn stopping_ends_the_process_and_reaps_it() {
        let mut command = Command::new("sleep");
        command.arg("600");
        let keeper = Keeper::spawn(command).unwrap();
        let pid = keeper.pid();
        assert!(alive(pid));
        assert_eq!(keeper.exited(), None);

        keeper.stop();

        assert!(!alive(pid), "the process is gone, not a zombie");
    }

    #[test]
    fn a_process_that_ignores_the_first_signal_gets_the_next() {
        // SIGINT is ignored from the moment the marker exists; SIGQUIT ends it.
        let marker = std::env::temp_dir().join(format!("ifinsure-keeper-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        let mut command = Command::new("sh");
        command.args(["-c", "trap '' INT; touch \"$0\"; exec sleep 600"]);
        command.arg(&marker);
        let step = Duration::from_millis(300);
        let keeper = Keeper::spawn_with(command, step).unwrap();
        let pid = keeper.pid();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !marker.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = std::fs::remove_file(&marker);
        let started = Instant::now();

        keeper.stop();

        assert!(!alive(pid));
        assert!(started.elapsed() >= step);
    }

    #[test]
    fn an_exit_is_seen_without_being_asked() {
        let keeper = Keeper::spawn(Command::new("true")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while keeper.exited().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(keeper.exited().is_some_and(|s| s.success()));
    }

    #[test]
    fn a_program_that_does_not_exist_is_an_error() {
        let result = Keeper::spawn(Command::new("/nonexistent/postgres"));
        assert!(result.is_err());
    }
}
