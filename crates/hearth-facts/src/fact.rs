//! One fact: what must hold, about which machine, checked from where, and the spec line it comes
//! from.

use std::net::IpAddr;

use hearth_spec::Span;
use serde::Serialize;

/// Something that must hold in the running homelab.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fact {
    /// Stable id: `service/postgres/running`, `uses/whoami/postgres`, `firewall/db/tcp/5432/from/apps`.
    pub id: String,
    /// The machine the fact is about (output is grouped by it).
    pub machine: String,
    /// The machine the check runs from: its commands run there and its connections leave from
    /// its address.
    pub from: String,
    /// What to check.
    pub check: Check,
    /// The model entity whose spec lines the fact comes from (`service/postgres/uses/redis`).
    pub source: String,
    /// Where in the spec: the first span of `source` in `Model::spans`.
    #[serde(skip)]
    pub span: Option<Span>,
    /// Services the fact needs running: when one of them cannot run (an image not available
    /// offline), the fact is skipped with that reason.
    pub needs: Vec<String>,
    /// Why the fact cannot be checked, when it cannot (a NixOS guest, a Kubernetes service…).
    pub skip: Option<String>,
}

impl Fact {
    pub(crate) fn new(id: String, machine: &str, from: &str, check: Check, source: String) -> Fact {
        Fact {
            id,
            machine: machine.to_string(),
            from: from.to_string(),
            check,
            source,
            span: None,
            needs: Vec::new(),
            skip: None,
        }
    }

    pub(crate) fn needs(mut self, services: &[&str]) -> Fact {
        self.needs.extend(services.iter().map(|s| s.to_string()));
        self.needs.sort();
        self.needs.dedup();
        self
    }

    pub(crate) fn skip(mut self, reason: Option<String>) -> Fact {
        if self.skip.is_none() {
            self.skip = reason;
        }
        self
    }
}

/// The HTTP answer a route must give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// Any status below 400: the service answers through the proxy.
    Success,
    /// 401, or a redirect to the login page: the proxy asks for authentication first.
    AuthChallenge,
}

impl Expect {
    /// Whether an answer with HTTP `status` is the one expected.
    pub fn admits(self, status: u16) -> bool {
        match self {
            Expect::Success => status < 400,
            Expect::AuthChallenge => matches!(status, 401 | 302 | 303 | 307),
        }
    }
}

/// Whether a DNS lookup of `name` answered exactly `expected`; else why not, as verify and
/// watch both say it.
pub fn dns_answer(name: &str, expected: std::net::IpAddr, answers: &[std::net::IpAddr]) -> Result<(), String> {
    if answers == [expected] {
        return Ok(());
    }
    let shown: Vec<String> = answers.iter().map(ToString::to_string).collect();
    Err(format!("`{name}` is [{}], the spec says {expected}", shown.join(", ")))
}

/// What a route's certificate chain must be valid against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trust {
    /// The internal CA whose root certificate is the file `ca` on the proxy's machine.
    Internal { ca: String },
    /// A public ACME CA: the system's roots.
    Public,
}

/// What to check. Secret values are never here: credentials are secret references
/// (`secret:NAME`), which the runner resolves.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Check {
    /// A systemd unit is active.
    Unit { unit: String },
    /// A container is running, healthy when it has a healthcheck, on the rendered image.
    Container { name: String, image: String, healthcheck: bool },
    /// A connection to `address:port` succeeds (`open`) or is refused or dropped; `protocol` is
    /// `tcp` (`udp` openings are listed, skipped).
    Connect { address: IpAddr, port: u16, protocol: String, open: bool },
    /// A PostgreSQL login.
    Postgres { address: IpAddr, port: u16, user: String, database: String, password: String },
    /// A MariaDB/MySQL login.
    Mysql { address: IpAddr, port: u16, user: String, database: String, password: String },
    /// A MongoDB login.
    Mongodb { address: IpAddr, port: u16, user: String, database: String, password: String },
    /// Redis `AUTH` and `SELECT db`.
    Redis { address: IpAddr, port: u16, password: Option<String>, db: u32 },
    /// S3 access to a bucket with the consumer's keys.
    S3 { address: IpAddr, port: u16, access_key: String, secret_key: String, bucket: String },
    /// `name` resolves to `expect` on the DNS server at `server:port`.
    Dns { server: IpAddr, port: u16, name: String, expect: IpAddr },
    /// A request for `host` + `path` to the proxy at `address:port` (HTTPS with SNI when `tls`).
    Route { address: IpAddr, port: u16, tls: bool, host: String, path: String, expect: Expect },
    /// The certificate the proxy presents for `host` is valid for it against `trust`.
    Certificate { address: IpAddr, port: u16, host: String, trust: Trust },
    /// Prometheus at `address:port` reports the target `instance` of `job` up.
    ScrapeUp { address: IpAddr, port: u16, job: String, instance: String },
    /// Every series selector of an alert rule's expression has series in Prometheus.
    Series { address: IpAddr, port: u16, alert: String, selectors: Vec<String> },
    /// A test alert sent to Alertmanager at `address:port` is delivered to `channel` through its
    /// Alertmanager integration (`webhook`, `email`, `telegram`; ntfy and Gotify go by webhook).
    Notify { address: IpAddr, port: u16, channel: String, integration: String },
    /// The backup unit has succeeded (or runs now), each repository has a snapshot of the job,
    /// and its latest snapshot restores to a scratch folder with every path in it.
    Backup { unit: String, job: String, host: String, environments: Vec<String>, paths: Vec<String> },
    /// A systemd timer is loaded, enabled and active, and the last run of the unit it starts, if
    /// it has run, did not fail.
    Timer { timer: String, unit: String },
    /// A Kubernetes CronJob exists in the cluster, as `kubectl` on the machine answers.
    CronJob { name: String, namespace: String },
}

impl Check {
    /// A one-line description of the check, for the text output.
    pub fn describe(&self) -> String {
        match self {
            Check::Unit { unit } => format!("unit `{unit}` active"),
            Check::Container { name, image, healthcheck } => {
                format!("container `{name}` running{} on `{image}`", if *healthcheck { " and healthy" } else { "" })
            }
            Check::Connect { address, port, protocol, open: true } => format!("{address}:{port}/{protocol} reachable"),
            Check::Connect { address, port, protocol, open: false } => {
                format!("{address}:{port}/{protocol} not reachable")
            }
            Check::Postgres { address, port, user, database, .. } => {
                format!("PostgreSQL login as `{user}` to `{database}` at {address}:{port}")
            }
            Check::Mysql { address, port, user, database, .. } => {
                format!("MySQL login as `{user}` to `{database}` at {address}:{port}")
            }
            Check::Mongodb { address, port, user, database, .. } => {
                format!("MongoDB login as `{user}` to `{database}` at {address}:{port}")
            }
            Check::Redis { address, port, db, .. } => format!("Redis AUTH and SELECT {db} at {address}:{port}"),
            Check::S3 { address, port, bucket, .. } => format!("S3 bucket `{bucket}` at {address}:{port}"),
            Check::Dns { server, port, name, expect } => format!("`{name}` is {expect} on {server}:{port}"),
            Check::Route { address, port, tls, host, path, expect } => format!(
                "{}://{host}{path} through {address}:{port} answers {}",
                if *tls { "https" } else { "http" },
                match expect {
                    Expect::Success => "below 400",
                    Expect::AuthChallenge => "with an authentication challenge",
                }
            ),
            Check::Certificate { host, trust, .. } => match trust {
                Trust::Internal { .. } => format!("certificate of `{host}` valid against the internal CA"),
                Trust::Public => format!("certificate of `{host}` valid against public roots"),
            },
            Check::ScrapeUp { job, instance, .. } => format!("Prometheus job `{job}` target `{instance}` up"),
            Check::Series { alert, .. } => format!("alert `{alert}` has series"),
            Check::Notify { channel, .. } => format!("test alert reaches channel `{channel}`"),
            Check::Backup { unit, .. } => format!("`{unit}` succeeded and its latest snapshot restores"),
            Check::Timer { timer, unit } => format!("timer `{timer}` enabled and active, `{unit}` not failed"),
            Check::CronJob { name, namespace } => format!("CronJob `{namespace}/{name}` in the cluster"),
        }
    }
}
