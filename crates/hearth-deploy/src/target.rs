//! The machines deploy acts on and how to reach them over SSH.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// One machine and its connection settings. `destination` is what `ssh` is given: an address or
/// a `Host` alias from `~/.ssh/config` or the extra config file (the lab's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Machine {
    /// The machine's name in the spec; rendered files name their machine with it.
    pub name: String,
    pub destination: String,
    /// Login user; `None` leaves it to the SSH configuration. A user other than root runs every
    /// command through `sudo -n`.
    pub user: Option<String>,
    pub port: Option<u16>,
    /// `managed: false` machines are never contacted.
    pub managed: bool,
}

impl Machine {
    /// A managed machine reached at `destination` with the SSH configuration's defaults.
    pub fn new(name: &str, destination: &str) -> Machine {
        Machine { name: name.to_string(), destination: destination.to_string(), user: None, port: None, managed: true }
    }
}

/// How every connection is made.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// Hearth's own folder for ControlMaster sockets (never the user's ControlPath: sharing it
    /// makes deploy tools hang on a master they did not start).
    pub control_dir: PathBuf,
    /// An ssh_config read before `~/.ssh/config` (the lab's, with its hosts and known_hosts).
    pub extra_config: Option<PathBuf>,
    /// Accept and record the host key of a machine never seen before. Without it a host missing
    /// from known_hosts is refused; a changed key is always refused.
    pub accept_new_host_keys: bool,
    pub connect_timeout: Duration,
}

impl SshOptions {
    pub fn new(control_dir: impl Into<PathBuf>) -> SshOptions {
        SshOptions {
            control_dir: control_dir.into(),
            extra_config: None,
            accept_new_host_keys: false,
            connect_timeout: Duration::from_secs(10),
        }
    }
}
