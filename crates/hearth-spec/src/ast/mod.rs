//! The spec as written: one struct per section of `docs/SPEC.md`.
//!
//! These types mirror the YAML exactly (field name = key) and hold no defaults or derived values;
//! the resolver in `hearth-model` turns them into the resolved model.

mod backup;
mod docker;
mod guest;
mod host;
mod ingress;
mod monitoring;
mod network;
mod nixos;
mod service;
mod share;
mod status;
mod updates;

pub use backup::*;
pub use docker::*;
pub use guest::*;
pub use host::*;
pub use ingress::*;
pub use monitoring::*;
pub use network::*;
pub use nixos::*;
pub use service::*;
pub use share::*;
pub use status::*;
pub use updates::*;

use crate::decode::{NamedMap, Sp};
use crate::reference::SecretRef;
use crate::{spec_enum, spec_struct};

spec_struct! {
    /// A Hearth spec: the whole homelab, or one file of it.
    pub struct Spec {
        /// The homelab's name. Required in the root file.
        opt homelab: Sp<String>,
        /// Base domain of exposed names, e.g. `example.com`.
        opt domain: Sp<String>,
        /// More spec files, or folders of `*.yaml`, relative to this file.
        def include: Vec<Sp<String>>,
        /// Default timezone for services (default `UTC`).
        opt timezone: Sp<String>,
        /// Subnets.
        def networks: NamedMap<Network>,
        /// The gateway and its port forwards.
        opt router: Router,
        /// What may cross between zones: `default: allow | deny` and explicit `allow` entries.
        opt policy: ZonePolicy,
        /// Physical machines.
        def hosts: NamedMap<Host>,
        /// LXC containers and VMs.
        def guests: NamedMap<Guest>,
        /// Kubernetes clusters made of guests.
        def clusters: NamedMap<Cluster>,
        /// Everything that runs.
        def services: NamedMap<Service>,
        /// NFS exports and SMB shares, and who mounts them.
        def shares: NamedMap<Share>,
        /// Reverse proxy, TLS, SSO and tunnel.
        opt ingress: Ingress,
        /// The internal DNS server and extra records.
        opt dns: Dns,
        /// Metrics, logs, alerts and dashboards.
        opt monitoring: Monitoring,
        /// Alert channels.
        def notifications: NamedMap<Notification>,
        /// Backup repositories, policies, snapshots.
        opt backups: Backups,
        /// Secrets that come from outside Hearth.
        def secrets: NamedMap<SecretSpec>,
        /// The operator's login on the machines Hearth manages.
        opt admin: Admin,
        /// Unattended upgrades of every managed machine, unless its own `updates:` says otherwise.
        opt updates: Updates,
        /// Design decisions, open or taken, and the items they are about.
        def decisions: NamedMap<Decision>,
    }
}

spec_struct! {
    /// The account Hearth creates on new machines and logs in with.
    pub struct Admin {
        /// User name (default `hearth`).
        opt user: String,
        /// SSH public keys allowed to log in.
        def ssh_keys: Vec<String>,
    }
}

spec_enum! {
    /// The kind of a Kubernetes cluster.
    pub enum ClusterKind { K3s = "k3s", K8s = "k8s", Talos = "talos" }
}

spec_struct! {
    /// A Kubernetes cluster made of guests.
    pub struct Cluster {
        req kind: ClusterKind,
        /// Guests running the control plane.
        req servers: Vec<Sp<String>>,
        /// Worker guests.
        def agents: Vec<Sp<String>>,
        /// k3s only: whether its bundled Traefik ingress is deployed (default `true`, as k3s
        /// does); `false` disables it on every server.
        opt traefik: Sp<bool>,
        opt description: String,
        /// `planned` or `future`: checked and documented, not deployed (default `active`).
        opt status: Sp<Status>,
        /// Why or when, for a planned item (shown in the docs' Planned section).
        opt note: String,
    }
}

spec_struct! {
    /// A secret that comes from outside: the environment or 1Password.
    pub struct SecretSpec {
        /// Environment variable holding the value.
        opt env: Sp<String>,
        /// 1Password reference `op://vault/item/field`.
        opt op: Sp<String>,
        /// Characters of a generated value (when neither `env` nor `op` is given).
        opt length: u32,
        opt description: String,
    }
}

impl SecretSpec {
    /// The reference this declaration stands for, if it names an outside source.
    pub fn source(&self) -> Option<SecretRef> {
        if let Some(var) = &self.env {
            return Some(SecretRef::Env(var.value.clone()));
        }
        self.op.as_ref().map(|op| SecretRef::Op(op.value.clone()))
    }
}
