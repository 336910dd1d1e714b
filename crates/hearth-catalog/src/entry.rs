//! The shape of one catalog entry (`docs/CATALOG.md`).

use hearth_spec::ast::{Healthcheck, Protocol};
use hearth_spec::units::Size;
use hearth_spec::{NamedMap, Sp, spec_enum, spec_struct};

spec_enum! {
    /// What an app is, for grouping and dashboards.
    pub enum Category {
        Infrastructure = "infrastructure", Proxy = "proxy", Dns = "dns", Vpn = "vpn", Security = "security",
        Database = "database", Storage = "storage", Monitoring = "monitoring", Logging = "logging",
        Dashboard = "dashboard", Media = "media", Downloads = "downloads", Apps = "apps",
        Automation = "automation", Games = "games", Development = "development", Backup = "backup", Home = "home",
    }
}

spec_enum! {
    /// What another service can `uses:` an app as.
    pub enum Provides {
        Postgres = "postgres", Mysql = "mysql", Redis = "redis", Mongodb = "mongodb", S3 = "s3",
        Proxy = "proxy", Dns = "dns", Sso = "sso", Vpn = "vpn", Tunnel = "tunnel", Metrics = "metrics",
        Logs = "logs", Alerts = "alerts", Smtp = "smtp", VpnGateway = "vpn-gateway", Ldap = "ldap",
        DockerApi = "docker-api", Mqtt = "mqtt",
    }
}

impl Provides {
    /// Whether this is a database whose port must only be open to its consumers.
    pub fn is_database(self) -> bool {
        matches!(self, Provides::Postgres | Provides::Mysql | Provides::Redis | Provides::Mongodb | Provides::S3)
    }

    /// Whether the port must only be open to the machines that connect to it: a database's, a
    /// directory's (LDAP binds carry passwords) and a Docker API's (it lists every container).
    pub fn only_to_clients(self) -> bool {
        self.is_database() || matches!(self, Provides::Ldap | Provides::DockerApi)
    }
}

spec_struct! {
    /// One application.
    pub struct App {
        req name: Sp<String>,
        opt title: String,
        opt description: String,
        req category: Category,
        opt homepage: String,
        /// Pinned image reference.
        req image: Sp<String>,
        def provides: Vec<Provides>,
        def ports: NamedMap<AppPort>,
        def volumes: NamedMap<AppVolume>,
        def env: NamedMap<String>,
        def secrets: NamedMap<AppSecret>,
        def uses: NamedMap<Wiring>,
        req healthcheck: Healthcheck,
        opt metrics: Metrics,
        opt command: Vec<String>,
        /// The user the container runs as, set by Hearth (compose `user:`).
        opt user: String,
        /// The user the image itself switches to (its Dockerfile `USER`, or the user its entrypoint
        /// drops to), as `uid` or `uid:gid`, when it is not root: the folders it writes must be
        /// its own, and the secret files it reads too.
        opt image_user: String,
        def cap_add: Vec<String>,
        def devices: Vec<String>,
        /// Kernel parameters the container needs (a VPN server's forwarding); the spec's
        /// `sysctls:` add to them and win on the same key.
        def sysctls: NamedMap<String>,
        /// Size of `/dev/shm` the app needs (Frigate's frame buffers); the spec's wins.
        opt shm_size: Size,
        opt privileged: bool,
        opt network_mode: String,
        opt native: Native,
        /// What the operator does once, by hand, before the container works and which Hearth
        /// cannot do for them (a schema to load, a configuration to generate); the docs list it.
        opt setup: String,
        opt resources: AppResources,
        def companions: NamedMap<Companion>,
    }
}

spec_struct! {
    /// A port the app listens on.
    pub struct AppPort {
        req port: u16,
        opt protocol: Protocol,
        opt description: String,
        /// The web UI: what `expose` routes to by default.
        opt primary: bool,
        /// `false`: reachable inside its stack only.
        opt publish: bool,
    }
}

spec_struct! {
    /// A path in the container that holds data.
    pub struct AppVolume {
        req path: String,
        /// Losing it loses user data: it needs a backup.
        opt stateful: bool,
        opt description: String,
        opt readonly: bool,
        /// A host path such as the Docker socket, mounted as is.
        opt socket: bool,
        opt host: String,
        /// The host folder must have the container's path: the app hands the path to the Docker
        /// engine for other containers' bind mounts (Pelican Wings and its game servers).
        opt same_path: bool,
    }
}

spec_struct! {
    /// A secret the app needs.
    pub struct AppSecret {
        opt env: String,
        /// Characters of a generated value.
        opt length: u32,
        /// Supplied by the operator (a provider credential), not generated.
        opt external: bool,
        opt description: String,
    }
}

spec_struct! {
    /// How a `uses:` of one kind is wired into the app.
    pub struct Wiring {
        def env: NamedMap<String>,
        /// Database extensions the app needs in its database (PostgreSQL: `CREATE EXTENSION`).
        def extensions: Vec<String>,
        /// Whether the app's database role must be a superuser (its migrations manage extensions).
        opt superuser: bool,
        /// Whether the app only reads the server's statistics (an exporter): its login gets the
        /// engine's monitoring role (PostgreSQL `pg_monitor`) and no database or Redis DB of its own.
        opt monitor: bool,
    }
}

spec_struct! {
    /// The app's Prometheus endpoint.
    pub struct Metrics {
        req port: String,
        opt path: String,
    }
}

spec_struct! {
    /// How the app runs without Docker.
    pub struct Native {
        opt package: String,
        /// Where the package comes from when Debian does not ship it (an apt repository, or
        /// the upstream's releases); Debian's own archive when absent.
        opt repository: String,
        /// The version Debian ships of a package named after its version (`postgresql-{{ version }}`):
        /// that one comes from Debian, every other from `repository`.
        opt debian_version: String,
        opt unit: String,
        opt config: String,
        opt nixos: String,
        opt user: String,
        opt data: String,
        /// Where the NixOS module keeps the data, when not at `data`; `{{ service }}` is the
        /// service's name (NixOS's Redis keeps `/var/lib/redis-<name>`).
        opt nixos_data: String,
        /// Why Hearth cannot deploy the native form on a Debian machine (no package, or a
        /// configuration it does not write); NixOS machines still run it from `nixos`.
        opt debian_unsupported: String,
        /// The `EnvironmentFile=` of the package's unit, where Hearth writes the service's
        /// environment (mode 0600: it may hold a password).
        opt env_file: String,
        /// The native form's one-time step by hand, like the entry's `setup`.
        opt setup: String,
    }
}

spec_struct! {
    /// Resource hints.
    pub struct AppResources {
        opt memory: Size,
    }
}

spec_struct! {
    /// Another container the app always needs.
    pub struct Companion {
        opt image: String,
        opt command: Vec<String>,
        def env: NamedMap<String>,
        /// `true`: the container gets its own `env` only, not the service's environment and
        /// `uses` wiring (a daemon that must not hold the app's database password).
        opt own_env: bool,
        def volumes: NamedMap<String>,
        def ports: NamedMap<AppPort>,
        opt healthcheck: Healthcheck,
        opt user: String,
        opt description: String,
    }
}

impl App {
    /// The port `expose` routes to: the one marked primary, else the first HTTP one, else the first.
    pub fn primary_port(&self) -> Option<(&str, &AppPort)> {
        self.ports
            .iter()
            .find(|(_, p)| p.primary == Some(true))
            .or_else(|| self.ports.iter().find(|(_, p)| matches!(p.protocol, Some(Protocol::Http | Protocol::Https))))
            .or_else(|| self.ports.iter().next())
    }

    /// The name of the app's metrics port when that port is for Prometheus alone: the catalog
    /// names such ports `metrics…` (`metrics`, `metrics-api`), and an exporter's port is for
    /// nothing else. Prometheus may be given one without giving anyone else the app, unlike a
    /// dashboard or API port that also serves `/metrics` (Traefik's `dashboard`, Caddy's `admin`).
    pub fn metrics_only_port(&self) -> Option<&str> {
        const EXPORTERS: &[&str] = &["node-exporter", "cadvisor", "blackbox-exporter"];
        let port = &self.metrics.as_ref()?.port;
        let only = port.starts_with("metrics") || EXPORTERS.contains(&self.name.value.as_str());
        (only && self.ports.contains(port)).then_some(port.as_str())
    }

    /// Whether the app serves the given kind of `uses:`.
    pub fn provides(&self, kind: Provides) -> bool {
        self.provides.contains(&kind)
    }

    /// The image's tag, if it has one.
    pub fn tag(&self) -> Option<&str> {
        image_tag(&self.image)
    }
}

/// The tag of an image reference (`repo/name:tag`), ignoring a registry port; `None` when untagged.
pub fn image_tag(image: &str) -> Option<&str> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split_once(':').map(|(_, t)| t).filter(|t| !t.is_empty())
}
