//! `monitoring:` and `notifications:`.

use crate::decode::{NamedMap, OrScalar, Sp};
use crate::net::Listen;
use crate::reference::SecretRef;
use crate::units::Duration;
use crate::{spec_enum, spec_struct};

spec_enum! {
    /// The agent run on every managed machine.
    pub enum Agent { Alloy = "alloy", Promtail = "promtail", NodeExporter = "node-exporter" }
}

spec_struct! {
    /// Metrics, logs, alerts and dashboards.
    pub struct Monitoring {
        opt prometheus: Sp<String>,
        opt alertmanager: Sp<String>,
        opt grafana: Sp<String>,
        opt loki: Sp<String>,
        /// Uptime checker (Uptime Kuma).
        opt uptime: Sp<String>,
        /// Start page (Homepage).
        opt dashboard: Sp<String>,
        /// `hearth watch` as a service on one of the spec's machines.
        opt watcher: Watcher,
        opt agent: Agent,
        /// Exporters: `node-exporter`, `cadvisor`, `blackbox`, and `postgres`, `redis`, `mongodb` beside each such server.
        def exporters: Vec<Sp<String>>,
        /// Prometheus's retention (and Loki's, unless `logs.retention` says).
        opt retention: Duration,
        /// Loki's retention and object store.
        opt logs: Logs,
        opt scrape_interval: Duration,
        /// Grafana dashboards to provision.
        def dashboards: Vec<String>,
        /// Scrape jobs of endpoints that are not services of the spec (a NAS's SMART exporter,
        /// a laptop's node exporter).
        def scrape: Vec<ScrapeEntry>,
        /// Blackbox exporter probes beyond the routes' certificates: HTTP, TCP and ICMP.
        def probes: Vec<ProbeEntry>,
        opt alerts: Alerts,
        /// `hearth watch`'s settings for every service that gives no `watch:` of its own.
        opt watch: super::Watch,
    }
}

spec_struct! {
    /// The watcher (`hearth watch`) run as a service on one machine, which `apply` deploys.
    pub struct Watcher {
        /// The guest or host it runs on.
        req on: Sp<String>,
        /// Where its status page listens: `ADDR:PORT`, default `127.0.0.1:9180`.
        opt listen: Sp<Listen>,
        /// The page's token, required on any address but loopback (`secret:NAME`).
        opt token: SecretRef,
        /// The networks and machines the firewall lets reach the page.
        def from: Vec<Sp<String>>,
    }
}

spec_enum! {
    /// How Prometheus connects to a scrape target.
    pub enum ScrapeScheme { Http = "http", Https = "https" }
}

spec_struct! {
    /// A Prometheus scrape job of endpoints the spec does not run as services.
    pub struct ScrapeEntry {
        /// The job's name (its `job` label).
        req job: Sp<String>,
        /// `HOST:PORT` each: a machine or service of the spec (its address), an address, or a
        /// DNS name.
        req targets: Vec<Sp<String>>,
        /// The job's own scrape interval (default `monitoring.scrape_interval`).
        opt interval: Duration,
        /// Default `/metrics`.
        opt path: String,
        /// Default `http`.
        opt scheme: ScrapeScheme,
    }
}

spec_struct! {
    /// A Blackbox exporter probe: exactly one of `http`, `tcp` and `icmp`.
    pub struct ProbeEntry {
        /// The probe's name; its job is `probe-<name>`.
        req name: Sp<String>,
        /// A URL that must answer 2xx.
        opt http: Sp<String>,
        /// `HOST:PORT` that must accept a TCP connection.
        opt tcp: Sp<String>,
        /// A host that must answer ping.
        opt icmp: Sp<String>,
    }
}

spec_struct! {
    /// Loki's storage: how long logs are kept, in which object store, and how long the index
    /// stays on local disk.
    pub struct Logs {
        /// How long Loki keeps logs (the compactor deletes older ones); default `monitoring.retention`.
        opt retention: Sp<Duration>,
        /// How long the index files of recent logs stay on Loki's local disk (`tsdb_shipper.cache_ttl`); with `store` only.
        opt local: Sp<Duration>,
        /// An S3 service of the spec (MinIO) holding the chunks and index; default: Loki's local disk.
        opt store: Sp<String>,
    }
}

spec_struct! {
    /// A Homepage widget on a service's dashboard tile: Homepage's widget `type`, the URL it
    /// reads (default: the service's own address), its credentials as secret references, which
    /// reach Homepage through `{{HOMEPAGE_VAR_…}}` substitution and never its files.
    pub struct Widget {
        /// Homepage's widget type (`sonarr`, `grafana`, `uptimekuma` ...); default: the one for the service's app.
        #[schemars(rename = "type")]
        opt r#type: Sp<String>,
        /// What the widget reads; default `http://ADDRESS:PORT` of the service.
        opt url: Sp<String>,
        /// API key (`secret:NAME`).
        opt key: SecretRef,
        opt username: String,
        /// Password (`secret:NAME`).
        opt password: SecretRef,
        /// Further settings of the widget type, as Homepage names them (`slug`, `env`, `node`).
        def fields: NamedMap<String>,
    }
}

spec_struct! {
    /// Alert rules and where they go.
    pub struct Alerts {
        #[schemars(with = "Vec<OrScalar<AlertRule>>")]
        def rules: Vec<AlertRule>,
        /// Channels under `notifications`.
        def notify: Vec<Sp<String>>,
    }
}

spec_enum! {
    /// Alert severity.
    pub enum AlertSeverity { Critical = "critical", Warning = "warning", Info = "info" }
}

spec_struct! {
    @shorthand rule;
    /// A built-in rule (`rule:`), a custom one (`name` + `expr`, PromQL) or a log-pattern one
    /// (`name` + `logql`, evaluated by Loki's ruler).
    pub struct AlertRule {
        /// Built-in: `server-down`, `high-cpu`, `disk-space-low`, `high-memory`, `certificate-expiry`, `backup-stale`, `probe-failed`.
        opt rule: Sp<String>,
        opt name: Sp<String>,
        opt expr: String,
        /// A LogQL expression: the rule goes to Loki's ruler instead of Prometheus.
        opt logql: Sp<String>,
        opt threshold: f64,
        #[schemars(rename = "for")]
        opt r#for: Duration,
        opt severity: AlertSeverity,
        opt summary: String,
    }
}

spec_struct! {
    /// A notification channel: exactly one of the kinds.
    pub struct Notification {
        opt telegram: Telegram,
        opt ntfy: Ntfy,
        opt gotify: Gotify,
        opt email: Email,
        opt webhook: Webhook,
    }
}

spec_struct! {
    pub struct Telegram {
        req chat: Sp<String>,
        req token: SecretRef,
    }
}

spec_struct! {
    pub struct Ntfy {
        req url: Sp<String>,
        req topic: String,
        opt token: SecretRef,
    }
}

spec_struct! {
    pub struct Gotify {
        req url: Sp<String>,
        req token: SecretRef,
    }
}

spec_struct! {
    pub struct Email {
        req to: String,
        opt from: String,
        /// `host:port`.
        req smarthost: String,
        opt username: String,
        opt password: SecretRef,
    }
}

spec_struct! {
    pub struct Webhook {
        req url: Sp<String>,
    }
}
