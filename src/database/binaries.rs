//! Where PostgreSQL's server programs are: the directory of `initdb` on
//! `PATH` (when `postgres` is beside it), else the newest
//! `/usr/lib/postgresql/<version>/bin` (Debian and Ubuntu keep them there,
//! off `PATH`).

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// Where Debian and Ubuntu install each PostgreSQL version's programs.
pub const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// A directory holding both `initdb` and `postgres`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    dir: PathBuf,
}

impl Binaries {
    /// Looks on `path` (a `PATH`-style list), then under `debian_root`.
    pub fn locate(path: Option<&OsStr>, debian_root: &Path) -> Option<Self> {
        let on_path = path
            .into_iter()
            .flat_map(std::env::split_paths)
            .find(|dir| holds_server(dir));
        on_path
            .or_else(|| newest_version(debian_root))
            .map(|dir| Self { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `initdb`.
    pub fn initdb(&self) -> PathBuf {
        self.dir.join("initdb")
    }

    /// `postgres`.
    pub fn postgres(&self) -> PathBuf {
        self.dir.join("postgres")
    }
}

fn holds_server(dir: &Path) -> bool {
    executable(&dir.join("initdb")) && executable(&dir.join("postgres"))
}

fn executable(file: &Path) -> bool {
    std::fs::metadata(file).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The highest `<root>/<version>/bin` holding the server (versions compared
/// as numbers: 9.6 < 10 < 15).
fn newest_version(root: &Path) -> Option<PathBuf> {
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(root)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name();
            let version = name
                .to_str()?
                .split('.')
                .map(|part| part.parse::<u32>().ok())
                .collect::<Option<Vec<u32>>>()?;
            let bin = entry.path().join("bin");
            holds_server(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir()
                .join(format!("ifinsure-binaries-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        /// `<dir>/<sub>` with the named programs in it (executable).
        fn programs(&self, sub: &str, names: &[&str]) -> PathBuf {
            let dir = self.0.join(sub);
            std::fs::create_dir_all(&dir).unwrap();
            for name in names {
                let file = dir.join(name);
                std::fs::write(&file, "#!/bin/sh\n").unwrap();
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
            dir
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn the_newest_debian_version_is_chosen_by_number_not_by_spelling() {
        let scratch = Scratch::new("newest");
        scratch.programs("lib/9.6/bin", &["initdb", "postgres"]);
        let fifteen = scratch.programs("lib/15/bin", &["initdb", "postgres"]);
        scratch.programs("lib/16/bin", &["initdb"]); // no server: not a candidate
        scratch.programs("lib/extra/bin", &["initdb", "postgres"]);

        let found = Binaries::locate(Some(OsStr::new("")), &scratch.0.join("lib")).unwrap();

        assert_eq!(found.dir(), fifteen);
        assert_eq!(found.initdb(), fifteen.join("initdb"));
    }

    #[test]
    fn a_server_on_path_comes_before_the_debian_directories() {
        let scratch = Scratch::new("path");
        scratch.programs("lib/15/bin", &["initdb", "postgres"]);
        let only_client = scratch.programs("client", &["initdb"]);
        let on_path = scratch.programs("bin", &["initdb", "postgres"]);
        let path = std::env::join_paths([only_client, on_path.clone()]).unwrap();

        let found = Binaries::locate(Some(&path), &scratch.0.join("lib")).unwrap();

        assert_eq!(found.dir(), on_path);
    }

    #[test]
    fn nothing_is_found_without_an_executable_initdb_and_postgres() {
        let scratch = Scratch::new("none");
        let dir = scratch.programs("bin", &[]);
        std::fs::write(dir.join("initdb"), "").unwrap(); // not executable
        std::fs::write(dir.join("postgres"), "").unwrap();

        assert_eq!(
            Binaries::locate(Some(dir.as_os_str()), &scratch.0.join("lib")),
            None
        );
        assert_eq!(Binaries::locate(None, &scratch.0.join("missing")), None);
    }
}
