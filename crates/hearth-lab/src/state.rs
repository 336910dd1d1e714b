//! What a lab is made of, kept under `.hearth/lab/` beside the spec: machines and their
//! containers, lab subnets and the address map, proxies, the lab's SSH key, `ssh_config` and
//! `known_hosts`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::readdress::AddressMap;

/// The label on every container, network and volume a lab creates; its value is the lab's id.
pub const LABEL: &str = "hearth.lab";

/// The state folder of the spec at `spec` (a file, or a folder holding `hearth.yaml`).
pub fn dir_for(spec: &Path) -> PathBuf {
    let base =
        if spec.is_dir() { spec.to_path_buf() } else { spec.parent().map(Path::to_path_buf).unwrap_or_default() };
    base.join(".hearth").join("lab")
}

/// A lab's id: a hash of its state folder's absolute path, so two specs' labs never share a
/// container name or label, and `down` finds what `up` made even when `state.json` is gone.
pub fn lab_id(dir: &Path) -> String {
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let digest = Sha256::digest(absolute.to_string_lossy().as_bytes());
    digest.iter().take(5).map(|b| format!("{b:02x}")).collect()
}

/// One lab network: a spec network's stand-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkState {
    pub docker_name: String,
    pub subnet: String,
    pub gateway: Ipv4Addr,
}

/// One lab machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineState {
    pub container: String,
    pub network: String,
    pub address: Ipv4Addr,
    /// Whether the machine runs a Docker engine (`runtime: docker`).
    pub docker: bool,
    /// Further lab networks the container is attached to, with its fixed address on each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<(String, Ipv4Addr)>,
    /// A Proxmox guest: the node whose simulator creates its container when `apply --lab` starts
    /// it through the API; `up` does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxmox: Option<ProxmoxGuest>,
}

/// Which simulated node a guest machine belongs to, and its id there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxmoxGuest {
    pub node: String,
    /// The host machine the node runs on.
    pub host: String,
    pub vmid: u32,
}

/// A Proxmox API simulator the lab started for one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimulatorState {
    pub node: String,
    /// The host machine it stands in for.
    pub host: String,
    pub pid: u32,
    /// The API's base URL (`http://127.0.0.1:PORT/api2/json`).
    pub url: String,
    /// The simulator's own state file, which identifies its process (see `pve::stop`).
    pub state: PathBuf,
    pub log: PathBuf,
}

/// A package proxy the lab started on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyState {
    pub pid: u32,
    pub listen: String,
    pub config: PathBuf,
}

/// Everything `lab up` created, as `state.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabState {
    pub id: String,
    pub homelab: String,
    pub image: String,
    pub admin: String,
    pub map: AddressMap,
    pub networks: BTreeMap<String, NetworkState>,
    pub machines: BTreeMap<String, MachineState>,
    pub proxies: Vec<ProxyState>,
    /// One Proxmox API simulator per node that has guests in the lab.
    #[serde(default)]
    pub simulators: Vec<SimulatorState>,
}

/// The paths inside a lab's state folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub dir: PathBuf,
}

impl Paths {
    pub fn new(dir: &Path) -> Paths {
        Paths { dir: dir.to_path_buf() }
    }
    pub fn state(&self) -> PathBuf {
        self.dir.join("state.json")
    }
    /// The address map survives `down`, so the next `up` gives every machine the same address.
    pub fn map(&self) -> PathBuf {
        self.dir.join("addresses.json")
    }
    pub fn key(&self) -> PathBuf {
        self.dir.join("id_ed25519")
    }
    pub fn host_key(&self, machine: &str) -> PathBuf {
        self.dir.join("host-keys").join(machine).join("ssh_host_ed25519_key")
    }
    pub fn ssh_config(&self) -> PathBuf {
        self.dir.join("ssh_config")
    }
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }
    pub fn proxy_dir(&self) -> PathBuf {
        self.dir.join("proxy")
    }
    /// The simulators' files: `token` (0600), and per node its state, log and snippets.
    pub fn pve_dir(&self) -> PathBuf {
        self.dir.join("pve")
    }
    /// The lab's API token for its simulators, `root@pam!hearth-lab=SECRET`, a random stand-in
    /// made by `up`: never a real node's token.
    pub fn pve_token(&self) -> PathBuf {
        self.pve_dir().join("token")
    }
    /// The node's `/var/lib/vz/snippets`: bind-mounted into its host's container, where deploy
    /// writes the cloud-init snippets, and read by its simulator.
    pub fn snippets(&self, node: &str) -> PathBuf {
        self.pve_dir().join(node).join("snippets")
    }
}

impl LabState {
    /// Reads `state.json`; a missing file means no lab is up.
    pub fn load(paths: &Paths) -> Result<LabState, Error> {
        let path = paths.state();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::NoLab(path)),
            Err(e) => return Err(Error::Io { path, source: e }),
        };
        serde_json::from_str(&text).map_err(|e| Error::State { path, message: e.to_string() })
    }

    pub fn save(&self, paths: &Paths) -> Result<(), Error> {
        write_json(&paths.state(), self)?;
        write_json(&paths.map(), &self.map)
    }

    /// The machine's record, or an error listing the machines there are.
    pub fn machine(&self, name: &str) -> Result<&MachineState, Error> {
        self.machines.get(name).ok_or_else(|| Error::UnknownMachine {
            machine: name.to_string(),
            known: if self.machines.is_empty() {
                "no machines".to_string()
            } else {
                self.machines.keys().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
            },
        })
    }
}

/// The address map a previous `up` left, or an empty one.
pub fn previous_map(paths: &Paths) -> Result<AddressMap, Error> {
    let path = paths.map();
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| Error::State { path, message: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AddressMap::default()),
        Err(e) => Err(Error::Io { path, source: e }),
    }
}

/// `ssh_config`: one `Host` per machine, strict host key checking against the lab's known_hosts.
pub fn ssh_config(paths: &Paths, state: &LabState) -> String {
    let mut out = String::from("# Written by `hearth lab up`; use with `ssh -F THIS-FILE MACHINE`.\n");
    for (name, m) in &state.machines {
        out.push_str(&format!(
            "\nHost {name}\n  HostName {}\n  User {}\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n  StrictHostKeyChecking yes\n  GlobalKnownHostsFile /dev/null\n  LogLevel ERROR\n",
            m.address,
            state.admin,
            absolute(&paths.key()).display(),
            absolute(&paths.known_hosts()).display(),
        ));
    }
    out
}

/// `known_hosts`: each machine's host key under its name and its address.
pub fn known_hosts(state: &LabState, public_keys: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (name, m) in &state.machines {
        if let Some(key) = public_keys.get(name) {
            out.push_str(&format!("{name},{} {}\n", m.address, key.trim()));
        }
    }
    out
}

pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::State { path: path.to_path_buf(), message: e.to_string() })?;
    write(path, &(text + "\n"))
}

/// Writes a file atomically (temporary file, rename), creating its folder.
pub fn write(path: &Path, content: &str) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content).map_err(Error::io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(Error::io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_config_and_known_hosts() {
        let machine = |address: [u8; 4]| MachineState {
            container: "c".into(),
            network: "lan".into(),
            address: Ipv4Addr::from(address),
            docker: false,
            interfaces: Vec::new(),
            proxmox: None,
        };
        let state = LabState {
            id: "abc".into(),
            homelab: "h".into(),
            image: "i".into(),
            admin: "hearth".into(),
            map: AddressMap::default(),
            networks: BTreeMap::new(),
            machines: [("db".to_string(), machine([10, 200, 1, 10])), ("apps".to_string(), machine([10, 200, 0, 2]))]
                .into_iter()
                .collect(),
            proxies: Vec::new(),
            simulators: Vec::new(),
        };
        let paths = Paths::new(Path::new("/lab"));
        assert_eq!(
            ssh_config(&paths, &state),
            "# Written by `hearth lab up`; use with `ssh -F THIS-FILE MACHINE`.\n\
             \nHost apps\n  HostName 10.200.0.2\n  User hearth\n  IdentityFile /lab/id_ed25519\n  IdentitiesOnly yes\n  \
             UserKnownHostsFile /lab/known_hosts\n  StrictHostKeyChecking yes\n  GlobalKnownHostsFile /dev/null\n  LogLevel ERROR\n\
             \nHost db\n  HostName 10.200.1.10\n  User hearth\n  IdentityFile /lab/id_ed25519\n  IdentitiesOnly yes\n  \
             UserKnownHostsFile /lab/known_hosts\n  StrictHostKeyChecking yes\n  GlobalKnownHostsFile /dev/null\n  LogLevel ERROR\n"
        );
        let keys = [("db".to_string(), "ssh-ed25519 AAAA db@hearth-lab\n".to_string())].into_iter().collect();
        assert_eq!(known_hosts(&state, &keys), "db,10.200.1.10 ssh-ed25519 AAAA db@hearth-lab\n");
    }
}
