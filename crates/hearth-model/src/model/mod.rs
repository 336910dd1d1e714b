//! The resolved model: every default filled, every allocation made, every connection computed.
//!
//! Render, docs and deploy read only this. It holds secret *names*, never secret values:
//! templated values keep `Secret` parts that are filled in at apply time.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use hearth_catalog::Provides;
use hearth_spec::ast::{ClusterKind, Form, L4, PoolKind, Protocol, Runtime};
use hearth_spec::units::{Duration, Size};
use serde::Serialize;

mod backups;
mod ingress;
mod monitoring;
mod watch;

pub use backups::*;
pub use ingress::*;
pub use monitoring::*;
pub use watch::*;

/// The whole homelab, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct Model {
    pub homelab: String,
    pub domain: Option<String>,
    pub timezone: String,
    pub networks: BTreeMap<String, Network>,
    pub hosts: BTreeMap<String, Host>,
    pub guests: BTreeMap<String, Guest>,
    pub services: BTreeMap<String, Service>,
    /// Kubernetes clusters made of guests.
    pub clusters: BTreeMap<String, Cluster>,
    /// NFS exports and SMB shares by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub shares: BTreeMap<String, crate::shares::Share>,
    /// Every mount of a share, by machine and path.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub share_mounts: Vec<crate::shares::ShareMount>,
    /// Proxy routes, one per exposed name.
    pub routes: Vec<Route>,
    /// Internal DNS records.
    pub dns_records: Vec<DnsRecord>,
    /// PostgreSQL/MySQL/MongoDB databases and their users.
    pub databases: Vec<Database>,
    /// Redis logical databases.
    pub redis_dbs: Vec<RedisDb>,
    /// Object-store buckets.
    pub buckets: Vec<Bucket>,
    /// Secrets Hearth generates into the encrypted store.
    pub generated_secrets: Vec<GeneratedSecret>,
    /// Secrets only the operator can supply (provider tokens), not declared under `secrets:`:
    /// `hearth secrets set NAME` stores them.
    pub external_secrets: Vec<ExternalSecret>,
    /// Reverse proxy, TLS, SSO, tunnel.
    pub ingress: Ingress,
    /// The internal DNS server.
    pub dns: Dns,
    /// Scrape targets, alert rules and where alerts go.
    pub monitoring: Monitoring,
    /// Notification channels by name.
    pub notifications: BTreeMap<String, Channel>,
    /// Backup repositories, policies and the jobs derived from `backup:`.
    pub backups: Backups,
    /// Every connection the rendered homelab makes between its machines: what the firewall
    /// opens, exactly from these sources.
    pub flows: Vec<Flow>,
    /// Inbound openings per machine; everything else is dropped.
    pub firewall: BTreeMap<String, Vec<Opening>>,
    /// What may cross between zones.
    pub policy: crate::zones::ZonePolicy,
    /// Router port forwards.
    pub forwards: Vec<Forward>,
    /// The router's own address, if the spec gives it.
    pub router_address: Option<IpAddr>,
    /// The operator's account on managed machines.
    pub admin: Admin,
    /// Secrets declared under `secrets:`, with where their value comes from.
    pub declared_secrets: Vec<DeclaredSecret>,
    /// Items declared `planned` or `future`: documented, never rendered or deployed.
    pub planned: Vec<crate::plans::PlannedItem>,
    /// Design decisions, open or taken.
    pub decisions: Vec<crate::plans::Decision>,
    /// The Docker daemon of each machine with a `docker:` block.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub docker: BTreeMap<String, crate::docker::Daemon>,
    /// The update policy of each machine that has one (`updates:`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub updates: BTreeMap<String, crate::updates::Policy>,
    /// Where each entity was written: `guest/NAME`, `service/NAME`, `host/NAME`, `network/NAME`,
    /// or a section name. Render uses it to record which spec lines produced each file.
    #[serde(skip)]
    pub spans: BTreeMap<String, Vec<hearth_spec::Span>>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Dns {
    pub server: Option<String>,
    pub server_app: Option<String>,
    pub zone: String,
}

/// One inbound opening on a machine's firewall.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Opening {
    pub port: u16,
    pub protocol: L4,
    /// Source addresses or CIDRs; empty means anywhere.
    pub from: Vec<String>,
    pub reason: String,
}

/// Where a flow comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "lowercase")]
pub enum FlowSource {
    /// A guest or host of the homelab, reached at its address.
    Machine(String),
    /// Every client of a network (DNS clients), reached as the network's CIDR.
    Network(String),
    /// The internet (router forwards).
    Anywhere,
}

/// One connection the rendered homelab makes: a consumer to what it `uses`, Prometheus to a
/// scrape target, an agent to Prometheus or Loki, the proxy to an upstream, a backup job to its
/// repository, a DNS client to the DNS server.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Flow {
    pub from: FlowSource,
    /// The machine connected to.
    pub to: String,
    /// The service connected to, when the port is one service's.
    pub service: Option<String>,
    pub port: u16,
    pub protocol: L4,
    /// Why, as the firewall's comment says it (`postgresql: postgres for its consumers`).
    pub reason: String,
    /// The spec entity that makes the connection (`service/NAME`, `monitoring`, `backups`,
    /// `ingress`, `dns`, `notification/NAME`), for diagnostics and provenance.
    pub origin: String,
}

/// Zones whose networks are isolated unless the spec says otherwise: the seeds keep IoT and
/// guest networks apart from the homelab ("IoT/Guest networks: isolated, restricted").
pub const ISOLATED_ZONES: &[&str] = &["iot", "guest"];

#[derive(Debug, Clone, Serialize)]
pub struct Forward {
    pub port: u16,
    pub protocol: L4,
    pub to: String,
    pub to_address: Option<IpAddr>,
    pub to_port: u16,
}

impl Model {
    /// A machine's address: a guest's or a host's.
    pub fn machine_address(&self, machine: &str) -> Option<IpAddr> {
        self.guests.get(machine).and_then(|g| g.address).or_else(|| self.hosts.get(machine).and_then(|h| h.address))
    }

    /// The nodes of a cluster, servers first: where its NodePorts answer.
    pub fn cluster_nodes(&self, cluster: &str) -> Vec<&str> {
        self.clusters
            .get(cluster)
            .map(|c| c.servers.iter().chain(&c.agents).map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The machines a service's connections come from: its own, or every node of its cluster
    /// (a pod's traffic leaves through the address of the node it runs on).
    pub fn source_machines<'a>(&'a self, s: &'a Service) -> Vec<&'a str> {
        match &s.on {
            Placement::Cluster(cluster) => self.cluster_nodes(cluster),
            _ => s.machines(),
        }
    }

    /// Whether a machine is a NixOS guest (its flake configures its services).
    pub fn is_nixos(&self, machine: &str) -> bool {
        self.guests.get(machine).is_some_and(|g| g.os.starts_with("nixos"))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Network {
    pub cidr: String,
    pub gateway: Option<IpAddr>,
    pub vlan: Option<u16>,
    pub zone: String,
    pub bridge: String,
    /// Ranges never allocated, as written (`FIRST-LAST`).
    pub reserved: Vec<String>,
    pub dhcp: Option<String>,
    pub allocate: Option<String>,
    pub dns: Vec<IpAddr>,
    /// Machines here start no connection into other networks (beyond DNS to the network's own
    /// resolvers), and ports opened to the homelab's networks stay closed to this one.
    pub isolated: bool,
    /// The guest routing this network at its gateway address (unmanaged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub router: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HostKind {
    Proxmox,
    BareMetal,
}

#[derive(Debug, Clone, Serialize)]
pub struct Host {
    pub kind: HostKind,
    /// Proxmox node name (the host's name unless the spec says otherwise).
    pub node: Option<String>,
    /// Proxmox API URL.
    pub api: Option<String>,
    /// The Proxmox API token `hearth apply` authenticates with, as a secret reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The Proxmox VE version the spec says the node runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub address: Option<IpAddr>,
    pub network: Option<String>,
    /// Every interface, the primary one (`network`, `address`) first.
    pub interfaces: Vec<crate::zones::Interface>,
    pub runtime: Option<Runtime>,
    pub cores: Option<u32>,
    pub threads: Option<u32>,
    pub memory: Option<Size>,
    /// The disks of `hardware.disks`, by name: what a pool is built from or a VM is given whole.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub disks: BTreeMap<String, Size>,
    pub pools: BTreeMap<String, Pool>,
    /// The totals the spec states for its guests (`expect:`), checked against the computed ones.
    #[serde(skip_serializing_if = "crate::totals::Stated::is_empty")]
    pub expect: crate::totals::Stated,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pool {
    pub kind: PoolKind,
    pub size: Option<Size>,
    pub tier: Option<String>,
    pub path: String,
    pub datasets: Vec<String>,
    /// The host disks it is built from (names under `hardware.disks`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disks: Vec<String>,
    /// ZFS properties per dataset, as written.
    pub dataset_properties: BTreeMap<String, BTreeMap<String, String>>,
    /// Proxmox content types.
    pub content: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GuestKind {
    Lxc,
    Vm,
}

#[derive(Debug, Clone, Serialize)]
pub struct Guest {
    pub kind: GuestKind,
    pub host: String,
    pub id: u32,
    pub hostname: String,
    pub os: String,
    pub network: Option<String>,
    pub address: Option<IpAddr>,
    pub zone: Option<String>,
    /// Every interface, the primary one (`network`, `address`) first.
    pub interfaces: Vec<crate::zones::Interface>,
    pub cores: u32,
    pub memory: Size,
    pub disk: Size,
    pub storage: Option<String>,
    pub swap: Option<Size>,
    pub runtime: Runtime,
    pub managed: bool,
    /// LXC: unprivileged container (default true).
    pub unprivileged: bool,
    pub onboot: bool,
    pub tags: Vec<String>,
    pub description: Option<String>,
    /// VM: firmware, machine and CPU types, TPM, data disks (defaults of its `os` applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm: Option<crate::hardware::VmHardware>,
    /// Guest path -> host path.
    pub mounts: BTreeMap<String, String>,
    pub devices: Vec<crate::hardware::Device>,
    /// The host disks passed to a VM whole (`disk:NAME`), whether or not their `id` is written
    /// yet: what the guest is given, for the totals.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub passed_disks: Vec<String>,
    pub features: Vec<String>,
    /// Whole-guest backup policies, in the order written.
    #[serde(serialize_with = "one_or_many")]
    pub backup: Vec<String>,
    /// A NixOS guest's own garbage collection and upgrades (`nixos:`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nixos: Option<NixosSettings>,
    /// How many of Hearth's snapshots to keep, when `hearth apply` takes one before it changes
    /// the guest (`snapshot: { before_apply: true }`, its own or its host's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_keep: Option<u32>,
}

/// What a NixOS guest's system does on its own schedule.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NixosSettings {
    /// `nix.gc`: systemd calendar and `--delete-older-than` in days.
    pub gc: Option<NixGc>,
    /// `system.autoUpgrade`: systemd calendar and whether it may reboot.
    pub upgrade: Option<NixUpgrade>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NixGc {
    pub on_calendar: String,
    pub older_than_days: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NixUpgrade {
    pub on_calendar: String,
    pub reboot: bool,
}

/// A list of policy names written as the spec writes it: nothing, one name, or a list.
fn one_or_many<S: serde::Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
    match v {
        [] => s.serialize_none(),
        [one] => s.serialize_str(one),
        many => serde::Serialize::serialize(many, s),
    }
}

impl Guest {
    /// The distribution's generic cloud image a managed Debian or Ubuntu VM boots (Proxmox
    /// imports it from `import/`), configured by cloud-init user-data; `None` for containers and
    /// for VMs whose system Hearth does not configure (NixOS, appliances, unmanaged).
    pub fn cloud_image(&self) -> Option<String> {
        if self.kind != GuestKind::Vm || !self.managed {
            return None;
        }
        match self.os.split_once('-') {
            Some(("debian", version)) if !version.is_empty() => {
                Some(format!("debian-{version}-genericcloud-amd64.qcow2"))
            }
            Some(("ubuntu", version)) if !version.is_empty() => {
                // Ubuntu publishes it as `.img`, but it is a qcow2 image; Proxmox's `import`
                // content only lists known disk extensions, so it is stored under `.qcow2`.
                Some(format!("ubuntu-{version}-server-cloudimg-amd64.qcow2"))
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Cluster {
    pub kind: ClusterKind,
    /// Guests running the control plane; manifests are applied on the first.
    pub servers: Vec<String>,
    pub agents: Vec<String>,
    /// k3s deploys its bundled Traefik ingress (the spec's `traefik:`, default on for k3s).
    pub traefik: bool,
}

/// Where a service runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "lowercase")]
pub enum Placement {
    Guest(String),
    Host(String),
    Cluster(String),
}

impl Placement {
    pub fn name(&self) -> &str {
        match self {
            Placement::Guest(n) | Placement::Host(n) | Placement::Cluster(n) => n,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Service {
    pub app: Option<String>,
    pub image: Option<String>,
    pub form: Form,
    pub on: Placement,
    pub also_on: Vec<String>,
    pub address: Option<IpAddr>,
    /// The network whose interface its published ports listen on (`address` is there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    pub ports: Vec<Port>,
    pub env: BTreeMap<String, Template>,
    pub volumes: Vec<Volume>,
    pub uses: Vec<Use>,
    pub exposes: Vec<Exposure>,
    /// Backup policies, in the order written.
    #[serde(serialize_with = "one_or_many")]
    pub backup: Vec<String>,
    /// `backup: false`: the operator said this data needs no backup.
    pub backup_disabled: bool,
    pub resources: Option<Resources>,
    /// Start after these services, beyond what `uses` implies.
    pub after: Vec<String>,
    /// Container settings: the spec's, else the catalog's (devices and capabilities: both).
    pub command: Option<Vec<String>>,
    /// The user the container runs as, when its catalog entry names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The user (`uid` or `uid:gid`) the container's process runs as when it is not root: the
    /// spec's `compose: { user: … }`, else the catalog's `user`, else the image's own user. Its
    /// bind-mounted data folders and the secret files it reads are made its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs_as: Option<String>,
    pub privileged: bool,
    pub devices: Vec<String>,
    pub cap_add: Vec<String>,
    /// Raw compose keys merged into the rendered service (the spec's escape hatch).
    pub compose: Option<serde_json::Value>,
    pub via: Option<String>,
    pub stack: String,
    pub group: String,
    pub healthcheck: Option<Healthcheck>,
    /// How `hearth watch` checks it: its own `watch:`, field by field over `monitoring.watch`.
    #[serde(skip_serializing_if = "Watch::is_empty")]
    pub watch: Watch,
    pub metrics: Option<String>,
    pub network_mode: Option<String>,
    /// Docker-only settings: GPUs, `/dev/shm`, sysctls, init, groups, Docker networks.
    #[serde(skip_serializing_if = "crate::docker::Settings::is_empty")]
    pub docker: crate::docker::Settings,
    /// Containers the catalog app always runs beside the service (Immich's machine learning,
    /// Authentik's worker), each `<service>-<companion>`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub companions: Vec<Companion>,
    /// On a cluster: the NodePort of each port (by name), where machines outside the cluster
    /// (the proxy, consumers) reach it on any node. Empty elsewhere.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub node_ports: BTreeMap<String, u16>,
    /// On a cluster: the nodes its pods may run on, as the spec's `nodes:` names them (empty:
    /// any node).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    /// A job: runs at these times and exits instead of running all the time (a CronJob).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<hearth_spec::schedule::Schedule>,
}

/// The namespace Hearth's Kubernetes objects live in.
pub const CLUSTER_NAMESPACE: &str = "default";

impl Service {
    /// The in-cluster DNS name of the Kubernetes Service of service `name`.
    pub fn cluster_dns(name: &str) -> String {
        format!("{name}.{CLUSTER_NAMESPACE}.svc.cluster.local")
    }
}

/// A container a catalog app runs beside its service, resolved like the service itself.
#[derive(Debug, Clone, Serialize)]
pub struct Companion {
    /// The catalog's name for it (`machine-learning`); the container is `<service>-<name>`.
    pub name: String,
    /// The companion's image, on the service's `version:` when it shares the app's tag.
    pub image: String,
    pub command: Option<Vec<String>>,
    pub user: Option<String>,
    /// Its whole environment: the service's, then its own on top.
    pub env: BTreeMap<String, Template>,
    /// Its ports; published ones are claimed on the service's machine like the service's own.
    pub ports: Vec<Port>,
    /// The service's volumes it mounts, at its own paths.
    pub volumes: Vec<Volume>,
    pub healthcheck: Option<Healthcheck>,
}

impl Service {
    /// Every machine the service runs on: its placement, then its replicas.
    pub fn machines(&self) -> Vec<&str> {
        std::iter::once(self.on.name()).chain(self.also_on.iter().map(String::as_str)).collect()
    }

    /// The version the service runs: its image's tag (the spec's `version:` when it sets one).
    pub fn version(&self) -> Option<&str> {
        self.image.as_deref().and_then(hearth_catalog::image_tag)
    }

    /// A port by name, as the process binds it and as other machines reach it.
    pub fn port(&self, name: &str) -> Option<Endpoint> {
        self.ports.iter().find(|p| p.name == name).map(|p| self.endpoint(p))
    }

    /// The first of `names` the service has, else its first port: for renderers that accept
    /// whichever port an app calls its main one.
    pub fn port_or_first(&self, names: &[&str]) -> Option<Endpoint> {
        names.iter().find_map(|n| self.port(n)).or_else(|| self.ports.first().map(|p| self.endpoint(p)))
    }

    /// One of the service's ports, as both sides see it.
    pub fn endpoint(&self, port: &Port) -> Endpoint {
        Endpoint {
            // A native process has no port mapping: it binds the port the machine publishes.
            listen: if self.form == Form::Docker { port.container } else { port.reachable() },
            reachable: port.reachable(),
            published: port.host.is_some(),
            protocol: port.protocol,
        }
    }
}

/// A service port from both sides: where the process binds and where other machines connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// The container port under Docker; the machine's port for a native service.
    pub listen: u16,
    /// The published host port, else the container port.
    pub reachable: u16,
    /// Whether the port is published on the machine (catalog ports with `publish: false` are not).
    pub published: bool,
    pub protocol: Protocol,
}

#[derive(Debug, Clone, Serialize)]
pub struct Resources {
    pub cpus: Option<f64>,
    pub memory: Option<Size>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Port {
    pub name: String,
    pub host: Option<u16>,
    pub container: u16,
    pub protocol: Protocol,
}

impl Port {
    /// Where other machines connect: the published host port, else the container port (what a
    /// service sharing the machine's network binds).
    pub fn reachable(&self) -> u16 {
        self.host.unwrap_or(self.container)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Volume {
    pub name: String,
    pub source: String,
    pub target: String,
    pub stateful: bool,
    pub readonly: bool,
    /// The `pool/dataset` on the host that holds `source`, when it lies in one.
    pub dataset: Option<String>,
    /// An NFS share a pod mounts itself (`share:NAME` in the `mounts:` of a service on a
    /// cluster); `source` is then the share's `ADDRESS:/path`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nfs: Option<NfsVolume>,
}

/// The NFS share behind a volume of a service on a cluster: what its pod spec's `nfs:` names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NfsVolume {
    /// The share's name under `shares:`.
    pub share: String,
    /// The server's address.
    pub server: IpAddr,
    /// The exported folder, as the server sees it.
    pub path: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Use {
    pub service: String,
    pub kind: String,
    pub database: Option<String>,
    pub user: Option<String>,
    pub db: Option<u32>,
    pub bucket: Option<String>,
    pub url: Option<Template>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Healthcheck {
    pub probe: Probe,
    pub interval: Duration,
    pub timeout: Duration,
    pub retries: u32,
    pub start_period: Option<Duration>,
}

/// What a health probe checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Probe {
    /// An HTTP GET; `port` is a port name or number.
    Http {
        port: String,
        path: String,
    },
    Tcp {
        port: String,
    },
    /// An argument vector run inside the container.
    Command {
        argv: Vec<String>,
    },
}

impl Healthcheck {
    /// The healthcheck a spec or catalog entry describes, with Hearth's default timings; `None`
    /// when it names no probe.
    pub fn from_spec(h: &hearth_spec::ast::Healthcheck) -> Option<Healthcheck> {
        let probe = if let Some(http) = &h.http {
            Probe::Http { port: http.port.value.clone(), path: http.path.clone().unwrap_or_else(|| "/".into()) }
        } else if let Some(tcp) = &h.tcp {
            Probe::Tcp { port: tcp.value.clone() }
        } else {
            Probe::Command { argv: h.command.clone()? }
        };
        Some(Healthcheck {
            probe,
            interval: h.interval.unwrap_or(Duration::seconds(30)),
            timeout: h.timeout.unwrap_or(Duration::seconds(5)),
            retries: h.retries.unwrap_or(3),
            start_period: h.start_period,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DnsRecord {
    pub name: String,
    pub address: IpAddr,
}

#[derive(Debug, Clone, Serialize)]
pub struct Database {
    pub server: String,
    pub engine: Engine,
    pub name: String,
    pub user: String,
    pub password_secret: String,
    pub consumers: Vec<String>,
    /// Extensions its consumers' apps need in it (catalog `uses.<kind>.extensions`).
    pub extensions: Vec<String>,
    /// Whether its user must be a superuser (catalog `uses.<kind>.superuser`).
    pub superuser: bool,
    /// A monitoring login (catalog `uses.<kind>.monitor`): `name` is the server's maintenance
    /// database, which Hearth neither creates nor owns; the user gets the monitoring role.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub monitor: bool,
}

/// A database engine whose databases and users Hearth creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Postgres,
    Mysql,
    Mongodb,
}

impl Engine {
    /// The engine a catalog app provides, if it provides a database Hearth manages.
    pub fn of(provides: Provides) -> Option<Engine> {
        match provides {
            Provides::Postgres => Some(Engine::Postgres),
            Provides::Mysql => Some(Engine::Mysql),
            Provides::Mongodb => Some(Engine::Mongodb),
            _ => None,
        }
    }

    /// The name the spec, the catalog and `hearth show` use.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
            Engine::Mongodb => "mongodb",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RedisDb {
    pub server: String,
    pub db: u32,
    pub consumer: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Bucket {
    pub server: String,
    pub name: String,
    pub consumers: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Admin {
    pub user: String,
    pub ssh_keys: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeclaredSecret {
    pub name: String,
    /// `env:VAR`, `op://...`, or `generated` (a declaration that only sets the length).
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExternalSecret {
    pub name: String,
    pub used_by: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GeneratedSecret {
    pub name: String,
    pub length: usize,
    pub used_by: Vec<String>,
}

/// A value with secret parts: `postgresql://n8n:{secret}@10.0.20.10:5432/n8n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    /// A secret by reference (`secret:NAME`, `env:VAR`, `op://...`).
    Secret(String),
}

impl Template {
    pub fn text(s: impl Into<String>) -> Template {
        Template { parts: vec![Part::Text(s.into())] }
    }

    pub fn secret(name: impl Into<String>) -> Template {
        Template { parts: vec![Part::Secret(name.into())] }
    }

    pub fn is_secret(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Secret(_)))
    }

    pub fn push_text(&mut self, s: &str) {
        if let Some(Part::Text(t)) = self.parts.last_mut() {
            t.push_str(s);
        } else if !s.is_empty() {
            self.parts.push(Part::Text(s.to_string()));
        }
    }

    pub fn append(&mut self, other: &Template) {
        for p in &other.parts {
            match p {
                Part::Text(t) => self.push_text(t),
                Part::Secret(s) => self.parts.push(Part::Secret(s.clone())),
            }
        }
    }
}

impl fmt::Display for Template {
    /// Secrets print as `${secret:NAME}`: safe to show, never the value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.parts {
            match p {
                Part::Text(t) => f.write_str(t)?,
                Part::Secret(s) => write!(f, "${{{s}}}")?,
            }
        }
        Ok(())
    }
}

impl Serialize for Template {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
