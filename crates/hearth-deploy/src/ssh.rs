//! Connections through the system OpenSSH: one ControlMaster per machine, on a control folder of
//! Hearth's own, honouring `~/.ssh/config` (ProxyJump, agent, users) and an extra config file.

use std::path::{Path, PathBuf};
use std::process::Output;

use openssh::{ControlPersist, ForwardType, KnownHosts, Session, SessionBuilder, Stdio};
use tokio::io::AsyncWriteExt;

use crate::error::DeployError;
use crate::target::{Machine, SshOptions};

/// An open master connection to one machine.
pub struct Connection {
    session: Session,
    machine: String,
}

impl Connection {
    /// Starts a new master: every call makes a fresh TCP connection and authentication, which is
    /// what the rollback confirmation relies on.
    pub async fn open(machine: &Machine, options: &SshOptions) -> Result<Connection, DeployError> {
        if !machine.managed {
            return Err(DeployError::Unmanaged { machine: machine.name.clone() });
        }
        let control_dir = control_dir(&options.control_dir)?;
        let mut builder = SessionBuilder::default();
        builder
            .control_directory(&control_dir)
            .known_hosts_check(if options.accept_new_host_keys { KnownHosts::Add } else { KnownHosts::Strict })
            .connect_timeout(options.connect_timeout)
            .server_alive_interval(std::time::Duration::from_secs(5))
            // A controller killed before it closes the master must not leave it running forever.
            .control_persist(ControlPersist::IdleFor(std::num::NonZeroUsize::MIN.saturating_add(59)));
        if let Some(extra) = &options.extra_config {
            builder.config_file(wrapper_config(&control_dir, extra)?);
        }
        if let Some(user) = &machine.user {
            builder.user(user.clone());
        }
        if let Some(port) = machine.port {
            builder.port(port);
        }
        let session = builder.connect(&machine.destination).await.map_err(|e| DeployError::Connect {
            machine: machine.name.clone(),
            reason: e.to_string().trim().to_string(),
        })?;
        Ok(Connection { session, machine: machine.name.clone() })
    }

    /// Runs one shell command line on the machine, feeding it `stdin`, and returns its output
    /// whatever its exit status.
    pub async fn run(&self, line: &str, stdin: &[u8]) -> Result<Output, DeployError> {
        let transport = |e: &dyn std::fmt::Display| DeployError::Connect {
            machine: self.machine.clone(),
            reason: e.to_string().trim().to_string(),
        };
        let mut child = self
            .session
            .raw_command(line)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .await
            .map_err(|e| transport(&e))?;
        let input = child.stdin().take();
        let write = async move {
            if let Some(mut input) = input {
                // A command that stops reading early reports why through its exit status and
                // stderr, which is what the caller sees; the broken pipe adds nothing.
                let _ = input.write_all(stdin).await;
                let _ = input.shutdown().await;
            }
        };
        let (_, output) = tokio::join!(write, child.wait_with_output());
        output.map_err(|e| transport(&e))
    }

    /// Forwards `local` (a loopback address on the controller) to `remote` as the machine
    /// connects to it: connections through it leave from the machine's address, which is what
    /// firewall rules and database access rules match. Undone by [`Connection::unforward`].
    pub async fn forward(&self, local: std::net::SocketAddr, remote: std::net::SocketAddr) -> Result<(), DeployError> {
        self.session.request_port_forward(ForwardType::Local, local, remote).await.map_err(|e| DeployError::Connect {
            machine: self.machine.clone(),
            reason: format!("cannot forward {local} to {remote}: {}", e.to_string().trim()),
        })
    }

    /// Stops a forward [`Connection::forward`] set up.
    pub async fn unforward(&self, local: std::net::SocketAddr, remote: std::net::SocketAddr) {
        // A forward that cannot be closed ends with the master connection.
        let _ = self.session.close_port_forward(ForwardType::Local, local, remote).await;
    }

    /// Whether the master connection still answers (`ssh -O check`).
    pub async fn is_alive(&self) -> bool {
        self.session.check().await.is_ok()
    }

    pub async fn close(self) {
        // Closing only stops the master early; one that fails to stop expires by ControlPersist.
        let _ = self.session.close().await;
    }
}

fn control_dir(dir: &Path) -> Result<PathBuf, DeployError> {
    let err = |e: std::io::Error| DeployError::ControlDir { path: dir.display().to_string(), reason: e.to_string() };
    std::fs::create_dir_all(dir).map_err(err)?;
    set_private(dir).map_err(err)?;
    std::path::absolute(dir).map_err(err)
}

#[cfg(unix)]
fn set_private(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// `ssh -F` replaces `~/.ssh/config`; a file that includes the extra config first and then the
/// user's keeps both (ssh takes the first value it reads for each option).
fn wrapper_config(control_dir: &Path, extra: &Path) -> Result<PathBuf, DeployError> {
    let err =
        |e: std::io::Error| DeployError::ControlDir { path: control_dir.display().to_string(), reason: e.to_string() };
    let extra = std::path::absolute(extra).map_err(err)?;
    let path = control_dir.join("ssh_config");
    let text = format!("Include \"{}\"\nInclude ~/.ssh/config\n", extra.display());
    if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
        return Ok(path);
    }
    // Connections to other machines may be reading the file right now: they must see a whole
    // one, so it is written aside and renamed into place.
    let temp = control_dir.join(format!("ssh_config.{}.{:?}", std::process::id(), std::thread::current().id()));
    std::fs::write(&temp, text).map_err(err)?;
    std::fs::rename(&temp, &path).map_err(err)?;
    Ok(path)
}
