//! The Docker part of the resolved model: a machine's daemon settings and Docker networks, and
//! the Docker-only settings of a service. Kept apart from `model.rs` because only the Docker
//! renderers (Compose, the daemon's files, NixOS containers) read it.

use std::collections::BTreeMap;
use std::net::IpAddr;

use hearth_spec::ast::Gpus;
use hearth_spec::net::Cidr;
use hearth_spec::schedule::Schedule;
use hearth_spec::units::{Duration, Size};
use serde::Serialize;

/// A service's `volumes:` value that drops its catalog's volume of that name.
pub const DROP_VOLUME: &str = "false";

/// The Docker daemon of one machine, as its `docker:` block sets it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Daemon {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_driver: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_driver: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_max_size: Option<Size>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_max_files: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prune: Option<Prune>,
    /// Docker networks by the spec's key.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, Network>,
}

impl Daemon {
    /// Whether any `daemon.json` setting is given (networks and pruning are not daemon settings).
    pub fn has_settings(&self) -> bool {
        self.storage_driver.is_some()
            || self.log_driver.is_some()
            || self.log_max_size.is_some()
            || self.log_max_files.is_some()
    }
}

/// `docker system prune` on a schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prune {
    pub every: Schedule,
    pub all: bool,
    pub volumes: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub older_than: Option<Duration>,
}

/// A Docker network of a machine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Network {
    /// Its name in Docker.
    pub name: String,
    /// Created outside Hearth: stacks refer to it, none creates it.
    pub external: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<Cidr>,
}

/// A service's Docker-only settings beyond those `model::Service` carries for every container.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Settings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpus: Option<Gpus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<Size>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub init: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_add: Vec<String>,
    /// The machine's Docker networks it joins beside its stack's, by the spec's key.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<Attachment>,
}

impl Settings {
    pub fn is_empty(&self) -> bool {
        *self == Settings::default()
    }
}

/// A service on one of its machine's Docker networks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attachment {
    /// The spec's key of the network under the machine's `docker.networks`.
    pub network: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<IpAddr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}
