//! The node's state: storages and their volumes, guests, tasks and backup jobs. Plain data,
//! serializable to the optional state file; the rules that change it live in `sim` and the
//! routes.

pub mod guest;
pub mod storage;
pub mod tasks;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use guest::{Guest, Kind, SimSnapshot};
pub use storage::{Storage, Volume};
pub use tasks::Task;

/// Everything the node remembers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub node: String,
    pub storages: BTreeMap<String, Storage>,
    #[serde(default)]
    pub guests: BTreeMap<u32, Guest>,
    #[serde(default)]
    pub tasks: Vec<Task>,
    #[serde(default)]
    pub backup_jobs: BTreeMap<String, Map<String, Value>>,
    /// Linux bridges of the node, by name.
    #[serde(default = "default_bridges")]
    pub bridges: BTreeMap<String, Bridge>,
    /// The next worker PID, so UPIDs stay unique across restarts with a state file.
    #[serde(default = "first_pid")]
    pub next_pid: u32,
}

/// A Linux bridge guests attach to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bridge {
    pub vlan_aware: bool,
    pub ports: String,
}

impl Bridge {
    /// Parses `NAME[:vlan-aware][:PORTS]`, e.g. `vmbr0:vlan-aware:eno1`.
    pub fn parse_spec(spec: &str) -> Option<(String, Bridge)> {
        let mut parts = spec.split(':');
        let name = parts.next().filter(|n| !n.is_empty())?;
        let mut bridge = Bridge { vlan_aware: false, ports: String::new() };
        for p in parts {
            if p == "vlan-aware" {
                bridge.vlan_aware = true;
            } else {
                bridge.ports = p.to_string();
            }
        }
        Some((name.to_string(), bridge))
    }
}

/// A fresh node's bridge: `vmbr0` on the first NIC, made VLAN-aware (as the examples need).
pub fn default_bridges() -> BTreeMap<String, Bridge> {
    BTreeMap::from([("vmbr0".to_string(), Bridge { vlan_aware: true, ports: "eno1".into() })])
}

fn first_pid() -> u32 {
    4000
}

/// Why the state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read the state file `{path}`: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the state file `{path}` is not a simulator state: {source}")]
    Parse { path: String, source: serde_json::Error },
    #[error("cannot write the state file `{path}`: {source}")]
    Write { path: String, source: std::io::Error },
}

impl State {
    /// A fresh node with the given storages.
    pub fn new(node: &str, storages: BTreeMap<String, Storage>) -> State {
        State {
            node: node.to_string(),
            storages,
            guests: BTreeMap::new(),
            tasks: Vec::new(),
            backup_jobs: BTreeMap::new(),
            bridges: default_bridges(),
            next_pid: first_pid(),
        }
    }

    /// Reads a state file. Tasks that were running when it was written end as the real node
    /// reports a worker that vanished.
    pub fn load(path: &Path) -> Result<State, StateError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| StateError::Read { path: shown.clone(), source })?;
        let mut state: State =
            serde_json::from_str(&text).map_err(|source| StateError::Parse { path: shown, source })?;
        for t in state.tasks.iter_mut().filter(|t| t.exitstatus.is_none()) {
            t.exitstatus = Some("unexpected status".into());
        }
        for g in state.guests.values_mut() {
            g.flock = None;
        }
        Ok(state)
    }

    /// Writes the state file atomically (a temporary file renamed over it).
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let shown = path.display().to_string();
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|source| StateError::Write { path: shown, source })
    }

    /// The lowest free VMID from 100.
    pub fn next_id(&self) -> u32 {
        (100..).find(|id| !self.guests.contains_key(id)).unwrap_or(100)
    }

    /// A volume by its ID (`local:vztmpl/debian.tar.zst`).
    pub fn volume(&self, volid: &str) -> Option<&Volume> {
        let (store, name) = volid.split_once(':')?;
        self.storages.get(store)?.volumes.get(name)
    }

    /// Frees the volumes of a guest's config.
    pub fn free_volumes(&mut self, guest: &Guest) {
        for key in guest.disk_keys() {
            let Some(value) = guest.config.get(&key) else { continue };
            let volid = value.split(',').next().unwrap_or("");
            if let Some((store, name)) = volid.split_once(':')
                && let Some(s) = self.storages.get_mut(store)
            {
                s.volumes.remove(name);
            }
        }
    }
}
