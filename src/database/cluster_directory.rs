//! The temporary cluster's directory: `<parent>/ifinsure-postgres-<pid>-<random>`,
//! private to the account that runs the cluster, holding its data and its
//! log, removed when dropped; and the removal of directories that killed
//! processes left behind.

use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use super::account::RunAs;
use super::temporary::{io, TemporaryError};

/// The name every temporary cluster's directory starts with, then the
/// owning process id.
pub const DIRECTORY_PREFIX: &str = "ifinsure-postgres-";

/// The cluster's directory, removed when dropped.
pub struct Directory(pub PathBuf);

impl Directory {
    /// `<parent>/ifinsure-postgres-<pid>-<random>`, private to the account
    /// that runs the cluster.
    pub fn create(parent: &Path, runs_as: &RunAs) -> Result<Self, TemporaryError> {
        let name = format!(
            "{DIRECTORY_PREFIX}{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        let path = parent.join(name);
        DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(io(format!("creating {}", path.display())))?;
        let directory = Self(path);
        if let Some(account) = runs_as.account() {
            std::os::unix::fs::chown(&directory.0, Some(account.uid), Some(account.gid)).map_err(
                io(format!(
                    "giving {} to `{}`",
                    directory.0.display(),
                    account.name
                )),
            )?;
        }
        Ok(directory)
    }

    pub fn data(&self) -> PathBuf {
        self.0.join("data")
    }

    pub fn log(&self) -> PathBuf {
        self.0.join("postgres.log")
    }

    /// The log's last lines, on one line.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = lines[lines.len().saturating_sub(5)..].join(" / ");
        if tail.is_empty() {
            "(nothing)".into()
        } else {
            tail
        }
    }
}

impl Drop for Directory {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_dir_all(&self.0) {
            tracing::warn!(directory = %self.0.display(), %error, "could not remove the temporary PostgreSQL's directory");
        }
    }
}

/// Removes the directories of temporary clusters whose ifinsure process
/// and server are both gone (a process killed outright leaves its
/// directory; its server stops itself).
pub fn remove_abandoned(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(owner) = name
            .to_str()
            .and_then(|n| n.strip_prefix(DIRECTORY_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let path = entry.path();
        let server = std::fs::read_to_string(path.join("data/postmaster.pid"))
            .ok()
            .and_then(|text| text.lines().next()?.trim().parse::<u32>().ok());
        if !running(owner) && !server.is_some_and(running) {
            match std::fs::remove_dir_all(&path) {
                Ok(()) => {
                    tracing::info!(directory = %path.display(), "removed an abandoned temporary PostgreSQL")
                }
                Err(error) => {
                    tracing::debug!(directory = %path.display(), %error, "could not remove an abandoned temporary PostgreSQL")
                }
            }
        }
    }
}

fn running(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}
