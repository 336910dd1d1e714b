//! The resolved monitoring: Prometheus's scrape jobs and rules, the notification channels, the
//! watcher run as a service.

use serde::Serialize;

use super::{FlowSource, Watch};

#[derive(Debug, Clone, Default, Serialize)]
pub struct Monitoring {
    pub prometheus: Option<String>,
    pub alertmanager: Option<String>,
    pub grafana: Option<String>,
    pub loki: Option<String>,
    pub uptime: Option<String>,
    pub dashboard: Option<String>,
    /// `hearth watch` as a service of one machine, when the spec asks for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watcher: Option<Watcher>,
    pub agent: Option<String>,
    pub exporters: Vec<String>,
    /// Machines Hearth installs Prometheus's node exporter on (its Debian package, or the NixOS
    /// option): every machine of the `node` job. Alloy machines are not here: Alloy's own
    /// `prometheus.exporter.unix` replaces it.
    pub node_exporter: Vec<String>,
    pub retention: String,
    /// Loki's storage (`monitoring.logs`).
    pub logs: Logs,
    pub scrape_interval: String,
    pub dashboards: Vec<String>,
    /// Prometheus jobs: name -> targets.
    pub scrape: Vec<ScrapeJob>,
    pub rules: Vec<AlertRule>,
    /// Log-pattern rules (`logql:`): LogQL expressions Loki's ruler evaluates, alerting through
    /// the same Alertmanager.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub log_rules: Vec<AlertRule>,
    pub notify: Vec<String>,
    /// Homepage widgets by service: the service's `widget:`, or derived for its app.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub widgets: std::collections::BTreeMap<String, Widget>,
    /// Metrics endpoints left out of the scrape jobs: container ports not published on their
    /// machine, so not reachable at its address.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unscraped: Vec<Unscraped>,
    /// `hearth watch`'s settings for services that give none (each service's own `watch` has
    /// these merged in already).
    #[serde(skip_serializing_if = "Watch::is_empty")]
    pub watch: Watch,
}

/// The watcher run as a service (`monitoring.watcher`): `hearth watch --config` under systemd on
/// `machine`, which `apply` deploys with the binary it runs.
#[derive(Debug, Clone, Serialize)]
pub struct Watcher {
    pub machine: String,
    /// Where the status page listens.
    pub listen: std::net::SocketAddr,
    /// The page's token as a secret reference (`secret:NAME`); required beyond loopback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Who the firewall lets reach the page: networks and machines of the spec.
    pub from: Vec<FlowSource>,
}

impl Watcher {
    /// The unit (and service name) the watcher runs as.
    pub const UNIT: &'static str = "hearth-watch";

    /// Where the page listens when the spec does not say: loopback, which needs no token.
    pub const DEFAULT_LISTEN: std::net::SocketAddr =
        std::net::SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9180);

    /// Whether other machines may reach the page at all.
    pub fn beyond_loopback(&self) -> bool {
        !self.listen.ip().is_loopback()
    }
}

/// Where Loki keeps logs and for how long.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Logs {
    /// How long logs are kept: the compactor deletes older chunks (`limits_config.retention_period`).
    pub retention: String,
    /// How long the index files of recent logs stay on Loki's local disk after a querier fetched
    /// them (`storage_config.tsdb_shipper.cache_ttl`), when the logs are in an object store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<String>,
    /// The object store holding chunks and index; none: Loki's local disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<LogStore>,
}

/// Loki's bucket on an S3 service of the spec, reached with Loki's own login there.
#[derive(Debug, Clone, Serialize)]
pub struct LogStore {
    /// The S3 service (MinIO).
    pub service: String,
    pub bucket: String,
    /// `host:port` of its S3 API.
    pub endpoint: String,
    /// The access key: Loki's service name, the user MinIO's init script creates.
    pub access_key: String,
}

impl LogStore {
    /// The variable of Loki's environment holding the secret key (set by the catalog's `uses:
    /// s3` wiring); the configuration reads it with `-config.expand-env=true`, so the key never
    /// enters the file.
    pub const SECRET_ENV: &'static str = "LOKI_S3_SECRET_ACCESS_KEY";
}

/// A Homepage widget on a service's tile. Secret settings are never values: each names the
/// `HOMEPAGE_VAR_…` variable of the dashboard's environment that holds it, which Homepage
/// substitutes for `{{HOMEPAGE_VAR_…}}` when it reads `services.yaml`.
#[derive(Debug, Clone, Serialize)]
pub struct Widget {
    /// Homepage's widget type.
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    /// Plain settings (`username`, `slug` ...).
    pub fields: std::collections::BTreeMap<String, String>,
    /// Secret settings: setting -> the variable holding it (`key` -> `HOMEPAGE_VAR_SONARR_KEY`).
    pub secrets: std::collections::BTreeMap<String, String>,
}

/// A service's metrics port Prometheus cannot reach.
#[derive(Debug, Clone, Serialize)]
pub struct Unscraped {
    pub service: String,
    /// The catalog's name of the port.
    pub port: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScrapeJob {
    pub job: String,
    pub targets: Vec<String>,
    pub path: String,
    /// A probe job: `targets` are what the Blackbox exporter at `exporter` probes with `module`,
    /// not endpoints Prometheus scrapes itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<BlackboxProbe>,
    /// The job's own scrape interval (`monitoring.scrape`), when not the global one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// `https` when Prometheus scrapes the targets over TLS (`monitoring.scrape`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// The spec entry a job written by the operator comes from (`monitoring/scrape/<job>`,
    /// `monitoring/probes/<name>`); derived jobs come from `monitoring`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

impl ScrapeJob {
    /// A job Hearth derives: every setting from `monitoring`.
    pub fn derived(job: impl Into<String>, targets: Vec<String>, path: impl Into<String>) -> Self {
        ScrapeJob {
            job: job.into(),
            targets,
            path: path.into(),
            probe: None,
            interval: None,
            scheme: None,
            origin: None,
        }
    }
}

/// Where a probe job's probes run.
#[derive(Debug, Clone, Serialize)]
pub struct BlackboxProbe {
    /// The Blackbox exporter, `address:port`.
    pub exporter: String,
    /// Its module (`http_2xx`).
    pub module: String,
}

/// Where the node exporter's (and Alloy's) textfile collector reads `*.prom` files: Debian's
/// default for `prometheus-node-exporter`, where the backup jobs write their last success.
pub const TEXTFILE_DIR: &str = "/var/lib/prometheus/node-exporter";

#[derive(Debug, Clone, Serialize)]
pub struct AlertRule {
    pub name: String,
    pub expr: String,
    #[serde(rename = "for")]
    pub for_: String,
    pub severity: String,
    pub summary: String,
}

/// A notification channel; secret values are references.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Channel {
    Telegram { chat: String, token: String },
    Ntfy { url: String, topic: String, token: Option<String> },
    Gotify { url: String, token: String },
    Email { to: String, from: Option<String>, smarthost: String, username: Option<String>, password: Option<String> },
    Webhook { url: String },
}
