//! The private temporary PostgreSQL that `demo`, `serve` and the tests use
//! when `DATABASE_URL` is not set: started from the machine's own server
//! programs, with no `sudo` anywhere on `PATH`, as an unprivileged user when
//! run as root, and gone without a trace when ifinsure stops — or is
//! killed. These tests ignore `DATABASE_URL`, so the path is exercised
//! even when the rest of the suite runs on another server.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ifinsure::database::{Options, TemporaryError, TemporaryServer};
use sqlx::{Connection, PgConnection};

/// This process's `PATH` with every directory holding a `sudo` left out.
fn path_without_sudo() -> std::ffi::OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|dir| !dir.join("sudo").exists())
        .collect();
    std::env::join_paths(dirs).unwrap()
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// The ids on a `/proc/<pid>/status` line (`Uid:`, `Gid:`, `Groups:`).
fn ids_of(pid: u32, field: &str) -> Vec<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace()
        .skip(1)
        .map(|id| id.parse().unwrap())
        .collect()
}

/// The real user id of a running process.
fn uid_of(pid: u32) -> u32 {
    ids_of(pid, "Uid:")[0]
}

fn running(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Waits up to `limit` for `condition`.
fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    condition()
}

/// A scratch `TMPDIR` that an unprivileged account can enter.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("ifinsure-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self(dir)
    }

    /// The temporary clusters' directories in it.
    fn clusters(&self) -> Vec<PathBuf> {
        std::fs::read_dir(&self.0)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("ifinsure-postgres-")
            })
            .map(|e| e.path())
            .collect()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn a_temporary_cluster_runs_unprivileged_without_sudo_and_leaves_nothing_when_dropped() {
    let scratch = Scratch::new("temporary-cluster");
    let options = Options {
        search_path: Some(path_without_sudo()),
        parent_dir: scratch.0.clone(),
        ..Options::from_env()
    };

    let server = TemporaryServer::start(options).await.expect("starting");

    let pid = server.pid();
    let directory = server.directory().to_path_buf();
    let expected_uid = match server.runs_as().account() {
        Some(account) => {
            assert!(is_root(), "only root drops to another account");
            assert_ne!(account.uid, 0);
            account.uid
        }
        None => unsafe { libc::geteuid() },
    };
    assert_eq!(uid_of(pid), expected_uid, "the server runs as that user");
    if let Some(account) = server.runs_as().account() {
        assert!(
            ids_of(pid, "Uid:").iter().all(|id| *id == account.uid),
            "real, effective and saved user ids all dropped"
        );
        assert!(ids_of(pid, "Gid:").iter().all(|id| *id == account.gid));
        assert!(
            !ids_of(pid, "Groups:").contains(&0),
            "root's groups are not kept"
        );
    }
    let metadata = std::fs::metadata(&directory).unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::uid(&metadata),
        expected_uid,
        "and owns its directory"
    );
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o777,
        0o700,
        "which is the only way in: no other user reaches the socket inside"
    );

    let mut connection = PgConnection::connect(server.url()).await.unwrap();
    let (database, listen, max_connections): (String, String, String) = sqlx::query_as(
        "SELECT current_database(), current_setting('listen_addresses'), \
         current_setting('max_connections')",
    )
    .fetch_one(&mut connection)
    .await
    .unwrap();
    assert_eq!(
        (database.as_str(), listen.as_str(), max_connections.as_str()),
        ("ifinsure", "", "300"),
        "no TCP listener at all"
    );
    connection.close().await.unwrap();

    drop(server);

    assert!(!running(pid), "the server has stopped and been reaped");
    assert!(!directory.exists(), "its directory is gone");
    assert!(scratch.clusters().is_empty());
}

#[tokio::test]
async fn without_server_programs_the_error_says_what_to_install() {
    let scratch = Scratch::new("no-server-programs");
    let options = Options {
        search_path: Some("".into()),
        debian_root: scratch.0.join("no-postgresql-here"),
        parent_dir: scratch.0.clone(),
        ..Options::from_env()
    };

    let error = TemporaryServer::start(options).await.unwrap_err();

    assert!(matches!(error, TemporaryError::NoServerPrograms), "{error}");
    let message = error.to_string();
    assert!(message.contains("apt-get install postgresql"), "{message}");
    assert!(message.contains("DATABASE_URL"), "{message}");
    assert!(scratch.clusters().is_empty(), "nothing was created");
}

/// `ifinsure serve` without `DATABASE_URL`, on a `PATH` without `sudo`,
/// keeping its temporary cluster in `tmpdir`.
struct Service {
    child: Child,
    base: String,
}

impl Service {
    fn start(tmpdir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_ifinsure"))
            .arg("serve")
            .env_remove("DATABASE_URL")
            .env("PATH", path_without_sudo())
            .env("TMPDIR", tmpdir)
            .env("JWT_SECRET", crate::common::JWT_SECRET)
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("DOCUMENT_STORE_PATH", tmpdir.join("documents"))
            .env("NOTIFICATION_OUTBOX_DIR", tmpdir.join("outbox"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn healthy(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(180);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("serve exited while starting: {status}");
            }
            let answer = client.get(format!("{}/health/db", self.base)).send().await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("serve never answered /health/db");
    }

    fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).unwrap();
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    fn wait(mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("serve did not stop");
    }
}

/// The only cluster directory in `scratch`, and its server's process id.
fn the_cluster(scratch: &Scratch) -> (PathBuf, u32) {
    let clusters = scratch.clusters();
    assert_eq!(clusters.len(), 1, "{clusters:?}");
    let dir = clusters[0].clone();
    let pid = std::fs::read_to_string(dir.join("data/postmaster.pid"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (dir, pid)
}

#[tokio::test]
async fn serve_without_a_database_url_cleans_up_when_stopped_and_after_being_killed() {
    let scratch = Scratch::new("serve-temporary");

    // Stopped as an operator would (SIGTERM): server and directory go.
    let mut service = Service::start(&scratch.0);
    service.healthy().await;
    let (_, server) = the_cluster(&scratch);
    if is_root() {
        assert_ne!(uid_of(server), 0, "not run as root");
    }
    service.signal(libc::SIGTERM);
    assert!(service.wait().success());
    assert!(!running(server), "the server stopped with ifinsure");
    assert!(scratch.clusters().is_empty(), "and its directory is gone");

    // Killed outright: the server stops by itself, and the directory it
    // leaves is removed by the next start.
    let mut service = Service::start(&scratch.0);
    service.healthy().await;
    let (killed_dir, server) = the_cluster(&scratch);
    service.signal(libc::SIGKILL);
    let _ = service.wait();
    assert!(
        eventually(Duration::from_secs(60), || !running(server)),
        "the orphaned server shut itself down"
    );
    assert!(killed_dir.exists(), "a killed process cannot clean up");

    let mut service = Service::start(&scratch.0);
    service.healthy().await;
    let (dir, _) = the_cluster(&scratch);
    assert_ne!(dir, killed_dir, "the abandoned directory was removed");
    service.signal(libc::SIGINT);
    assert!(service.wait().success(), "Ctrl-C stops it cleanly");
    assert!(scratch.clusters().is_empty());
}

#[test]
fn the_demo_stopped_with_ctrl_c_while_seeding_stops_in_order_and_leaves_nothing() {
    use std::io::BufRead as _;
    let scratch = Scratch::new("demo-interrupted");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut demo = Command::new(env!("CARGO_BIN_EXE_ifinsure"))
        .arg("demo")
        .current_dir(&scratch.0)
        .env_remove("DATABASE_URL")
        .env("PATH", path_without_sudo())
        .env("TMPDIR", &scratch.0)
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Its output, read to the end (a closed pipe would fail its prints).
    let (seeding_tx, seeding_rx) = std::sync::mpsc::channel();
    let stdout = demo.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut printed = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if line.starts_with("Seeding the demo book") {
                let _ = seeding_tx.send(());
            }
            printed.push(line);
        }
        printed
    });
    assert!(
        seeding_rx.recv_timeout(Duration::from_secs(300)).is_ok(),
        "the demo reached its seeding"
    );
    let (_, server) = the_cluster(&scratch);

    assert_eq!(
        unsafe { libc::kill(i32::try_from(demo.id()).unwrap(), libc::SIGINT) },
        0
    );

    let stopped = Service {
        child: demo,
        base: String::new(),
    }
    .wait();
    let printed = reader.join().unwrap();
    assert!(stopped.success(), "{stopped}: {printed:?}");
    assert!(
        printed.iter().any(|l| l == "Stopped while seeding."),
        "{printed:?}"
    );
    assert!(!running(server), "its PostgreSQL stopped with it");
    assert!(scratch.clusters().is_empty(), "and its directory is gone");
}
