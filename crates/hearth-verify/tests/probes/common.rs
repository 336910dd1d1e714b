//! Shared by the probe tests: the `unavailable` rule for missing server binaries, free loopback
//! ports, temporary folders and servers that are killed when their guard drops.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether validators are required (`HEARTH_REQUIRE_VALIDATORS=1`, set by `.ci/run`).
pub fn validators_required() -> bool {
    std::env::var_os("HEARTH_REQUIRE_VALIDATORS").is_some()
}

/// The one place a server that cannot run is reported: in CI it fails the test, on a developer
/// machine the test says what it skips and goes on. Returns `false` so callers can write
/// `found || unavailable(..)`.
pub fn unavailable(what: &str) -> bool {
    assert!(!validators_required(), "{what}; the scripts in scripts/validators.d/ install it");
    eprintln!("skipping: {what} (run the scripts in scripts/validators.d/)");
    false
}

/// The path of a program, or `None` after reporting it [`unavailable`].
pub fn program(name: &str, candidates: &[&str]) -> Option<PathBuf> {
    let found = candidates.iter().map(PathBuf::from).find(|p| p.exists()).or_else(|| {
        let out = Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().ok()?;
        out.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    });
    if found.is_none() {
        unavailable(&format!("`{name}` is not installed"));
    }
    found
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `127.0.0.1:port`
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A fresh temporary folder, removed when the guard drops.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("hearth-verify-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server process, killed (by its own id) when the guard drops.
pub struct Server {
    child: Child,
    pub name: &'static str,
    pub log: PathBuf,
}

impl Server {
    /// Starts `command` with its output in `log`.
    pub fn start(name: &'static str, mut command: Command, log: PathBuf) -> Self {
        let out = std::fs::File::create(&log).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("{name} does not start: {e}"));
        Self { child, name, log }
    }

    /// Waits until the port accepts connections, failing with the server's log.
    pub fn wait_for(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if TcpStream::connect(loopback(port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}):\n{}", self.name, self.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{} did not listen on {port} within a minute:\n{}", self.name, self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command, failing the test with its output when it fails.
pub fn run_ok(command: &mut Command, what: &str) -> String {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether the tests run as root (then servers that refuse root run as their own user).
pub fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Probe timeouts in the tests: generous, since two cores are shared.
pub const TIMEOUT: Duration = Duration::from_secs(20);
