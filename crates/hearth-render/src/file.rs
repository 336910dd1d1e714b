//! A rendered file and the collection renderers write into.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a file is, as recorded in `manifest.json`. The names are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Compose,
    /// `/etc/docker/daemon.json`.
    DockerDaemon,
    EnvSecret,
    TraefikStatic,
    TraefikDynamic,
    Caddyfile,
    Nginx,
    AdguardHome,
    Dnsmasq,
    Unbound,
    Prometheus,
    PrometheusRules,
    Blackbox,
    NodeExporter,
    Alertmanager,
    GrafanaProvisioning,
    Loki,
    /// The Loki ruler's rules file (LogQL alert rules).
    LokiRules,
    Alloy,
    Promtail,
    Homepage,
    PostgresInit,
    /// A `postgresql.conf` drop-in in the cluster's `conf.d`.
    PostgresConf,
    Redis,
    MongoInit,
    /// `mongod.conf`, the configuration of a native MongoDB server.
    Mongod,
    /// A CrowdSec bouncer's configuration file.
    CrowdsecBouncer,
    /// MariaDB/MySQL users and databases: `init.sql` and the `apply.sh` that runs it.
    MysqlInit,
    /// A MariaDB option file in the server's `mariadb.conf.d`.
    MysqlConf,
    /// A k3s configuration drop-in (`/etc/rancher/k3s/config.yaml.d/`).
    K3sConfig,
    MinioInit,
    SystemdUnit,
    /// The watcher's configuration (`hearth watch --config`).
    Watch,
    /// `/etc/default/<package>`: the variables a Debian package's unit reads with
    /// `EnvironmentFile=` (for Prometheus and Alertmanager, the daemon's command line as `ARGS=`).
    Defaults,
    /// A shell script a unit or an activation runs.
    Script,
    /// The Debian packages a machine needs, one per line.
    Packages,
    /// A `sysusers.d` file: system users the services need.
    Sysusers,
    /// A `tmpfiles.d` file: directories the services need, with owner and mode.
    Tmpfiles,
    Zfs,
    Pbs,
    Nftables,
    ProxmoxGuest,
    CloudInit,
    Cloudflared,
    Wireguard,
    /// A PEM certificate a program reads: the CA a proxy checks an HTTPS upstream against.
    Certificate,
    Nixos,
    Kubernetes,
    /// `/etc/exports.d/hearth.exports`: an NFS server's exports.
    NfsExports,
    /// Samba's `smb.conf`.
    SambaConf,
    /// An apt configuration file in `/etc/apt/apt.conf.d/` (unattended upgrades).
    AptConf,
}

impl Kind {
    /// The kind as written in the manifest, e.g. `env-secret`.
    pub fn as_str(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    }
}

/// What a machine must do after this file is added, changed or removed, so that the change takes
/// effect. A planner computes every action of a change from these alone; renderers say what their
/// file needs, deploy decides the order (packages, users and directories, files in place, unit
/// reloads, rulesets, restarts, compose stacks, init scripts).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Activation {
    /// The file is a list of Debian packages, one per line: install what is missing.
    InstallPackages,
    /// A `sysusers.d` file: run `systemd-sysusers` on it.
    Sysusers,
    /// A `tmpfiles.d` file: run `systemd-tmpfiles --create` on it.
    Tmpfiles,
    /// A systemd unit file: `daemon-reload`, then enable the unit and, when `start`, (re)start it
    /// (timers start; a oneshot service that a timer runs is only enabled).
    Unit { unit: String, start: bool },
    /// A unit that reads this file must be restarted.
    Restart { unit: String },
    /// A unit that reads this file can be reloaded without a restart.
    Reload { unit: String },
    /// A compose file: `docker compose up -d --remove-orphans` in its folder. `services`, when
    /// given, are the only containers to start (the lab sets it to those whose images its
    /// machines have); the renderers always leave it out, so every container starts.
    ComposeUp {
        dir: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        services: Option<Vec<String>>,
    },
    /// A container that reads this file must be restarted: `docker compose restart SERVICE` in
    /// the folder of its compose file (`up -d` does not restart a container whose bind-mounted
    /// file changed).
    RestartContainer { dir: String, service: String },
    /// An nftables ruleset: `nft -f` it.
    LoadRuleset,
    /// An idempotent script or command to run once the rest is in place (database init, ZFS
    /// datasets); `argv[0]` is absolute.
    Run { argv: Vec<String> },
}

/// One file to place on one machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// A guest or host name.
    pub machine: String,
    /// Absolute path on that machine.
    pub path: String,
    pub kind: Kind,
    /// Unix permission bits, e.g. `0o644`; always `0o600` for [`Kind::EnvSecret`].
    pub mode: u32,
    /// Owning user and group on the machine (`root` unless the daemon reading a private file runs
    /// as another user, e.g. `redis`).
    pub owner: String,
    pub group: String,
    /// What the machine must do when this file changes, in no particular order.
    pub activation: Vec<Activation>,
    pub content: String,
    /// Model entities that produced it (`service/n8n`, `guest/db`, `monitoring` ...): the keys of
    /// `Model::spans`, turned into spec lines for the manifest.
    pub sources: BTreeSet<String>,
}

impl File {
    pub fn new(machine: &str, path: impl Into<String>, kind: Kind, content: impl Into<String>) -> File {
        let mode = if kind == Kind::EnvSecret { 0o600 } else { 0o644 };
        File {
            machine: machine.to_string(),
            path: path.into(),
            kind,
            mode,
            owner: "root".to_string(),
            group: "root".to_string(),
            activation: Vec::new(),
            content: content.into(),
            sources: BTreeSet::new(),
        }
    }

    /// Sets the owning user and group.
    pub fn owned_by(mut self, owner: &str, group: &str) -> File {
        self.owner = owner.to_string();
        self.group = group.to_string();
        self
    }

    /// Adds an action the machine must take when this file changes.
    pub fn activate(mut self, activation: Activation) -> File {
        if !self.activation.contains(&activation) {
            self.activation.push(activation);
        }
        self
    }

    /// Records a model entity this file was derived from.
    pub fn from(mut self, source: impl Into<String>) -> File {
        self.sources.insert(source.into());
        self
    }

    pub fn mode(mut self, mode: u32) -> File {
        if self.kind != Kind::EnvSecret {
            self.mode = mode;
        }
        self
    }

    /// Hex SHA-256 of the content.
    pub fn sha256(&self) -> String {
        let digest = Sha256::digest(self.content.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Where renderers put their files.
#[derive(Debug, Default)]
pub struct Output {
    files: Vec<File>,
}

impl Output {
    pub fn push(&mut self, file: File) {
        self.files.push(file);
    }

    /// The files sorted by (machine, path). Nothing is dropped: two renderers writing one place
    /// is a bug the render tests look for, and hiding it here would make that test blind.
    pub fn finish(mut self) -> Vec<File> {
        self.files.sort_by(|a, b| (&a.machine, &a.path).cmp(&(&b.machine, &b.path)));
        self.files
    }
}
