//! NFS exports and SMB shares in the resolved model: what each server shares, with whom, and
//! where each client mounts it.
//!
//! A client that is an LXC container cannot mount a network filesystem itself (an unprivileged
//! container has no right to), so its Proxmox host mounts the share and binds the folder into the
//! container: the host is the client the export admits and the firewall opens to.

use std::net::IpAddr;

use hearth_spec::ast::ShareKind;
use serde::Serialize;

/// The prefix a `mounts:` entry's `from` names a share with (`share:NAME`).
pub const SHARE_PREFIX: &str = "share:";

/// One share, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct Share {
    pub kind: ShareKind,
    /// The service that serves it, when Hearth renders its export (`nfs-server`, `samba`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The machine that serves it.
    pub machine: String,
    /// The address clients mount it from.
    pub address: Option<IpAddr>,
    /// The port clients connect to (2049 for NFS, 445 for SMB, or the service's own).
    pub port: u16,
    /// The folder shared, as the server sees it.
    pub path: String,
    /// The SMB share name (the share's key unless the spec names it).
    pub name: String,
    pub readonly: bool,
    /// Machines that mount it (an LXC container's Proxmox host stands for it) or that `clients:`
    /// names, sorted.
    pub machines: Vec<String>,
    /// Networks `clients:` names (a zone stands for its networks), sorted.
    pub networks: Vec<String>,
    /// SMB: the user clients log in as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// SMB: the password's secret reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// SMB: a Time Machine destination, with the most its backups may take in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_machine: Option<TimeMachine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// An SMB share Macs back up to with Time Machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeMachine {
    /// The most the backups may take on the share (`None`: the whole folder).
    pub max_size: Option<hearth_spec::units::Size>,
}

impl Share {
    /// The source a client mounts: `ADDRESS:/path` for NFS, `//ADDRESS/name` for SMB.
    pub fn source(&self) -> Option<String> {
        let a = self.address?;
        let host = if a.is_ipv6() { format!("[{a}]") } else { a.to_string() };
        Some(match self.kind {
            ShareKind::Nfs => format!("{host}:{}", self.path),
            ShareKind::Smb => format!("//{host}/{}", self.name),
        })
    }

    /// The port a share kind is served on by default.
    pub fn default_port(kind: ShareKind) -> u16 {
        match kind {
            ShareKind::Nfs => 2049,
            ShareKind::Smb => 445,
        }
    }
}

/// One machine mounting one share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShareMount {
    pub share: String,
    /// The machine that mounts it: the client itself, or an LXC container's Proxmox host.
    pub machine: String,
    /// Where it is mounted on that machine.
    pub path: String,
    pub readonly: bool,
    /// Mounted on first access (a systemd `.automount`) rather than at boot.
    pub automount: bool,
    /// The LXC containers the folder is bound into (empty when the machine mounts it for itself).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub guests: Vec<String>,
}

/// Where a Proxmox host mounts a share for its containers.
pub fn host_path(share: &str) -> String {
    format!("/mnt/hearth/shares/{share}")
}
