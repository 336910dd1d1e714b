//! What the watcher checks: one `Target` per fact of `hearth-facts` it can check again and
//! again, with the kind that sets its default interval, the machine and group it is shown
//! under, and how it is probed.
//!
//! Network checks whose source address does not matter (a route through the proxy, a DNS
//! answer, a TCP port) are probed from the watcher itself, so they cost no SSH round trip.
//! Checks that need a command on a machine or a connection from a given machine (a unit, a
//! container, a cluster's CronJob, a login that the firewall admits only from its consumer, a
//! scrape target, a backup, a copy job's timer) go through `hearth-verify` over an SSH
//! connection kept open per machine. Facts the
//! watcher leaves to `hearth verify`: firewall edges (an audit of every source, one SSH
//! round trip each), an alert rule's series, and a test alert (it would page someone on every
//! run). `Probe::Tcp` is for targets a caller builds itself.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hearth_facts::{Check, Expect, Fact};
use hearth_verify::probe::http::Request;
use serde::Serialize;

/// The kind of a check, which sets its default interval and how the page words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Http,
    Tcp,
    Dns,
    Service,
    Login,
    Scrape,
    Certificate,
    Backup,
}

impl Kind {
    /// How often a check of this kind runs unless the spec says otherwise: what changes
    /// quickly every 30 s, logins every minute (each one is a real login the server logs), and
    /// what changes over days (certificates, backups) every hour.
    pub fn default_interval(self) -> Duration {
        match self {
            Kind::Http | Kind::Tcp | Kind::Dns | Kind::Service | Kind::Scrape => Duration::from_secs(30),
            Kind::Login => Duration::from_secs(60),
            Kind::Certificate | Kind::Backup => Duration::from_secs(3600),
        }
    }

    /// The word for the page and the metrics' `kind` label.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Http => "http",
            Kind::Tcp => "tcp",
            Kind::Dns => "dns",
            Kind::Service => "service",
            Kind::Login => "login",
            Kind::Scrape => "scrape",
            Kind::Certificate => "certificate",
            Kind::Backup => "backup",
        }
    }
}

/// How a target is probed.
#[derive(Debug, Clone)]
pub enum Probe {
    /// An HTTP(S) request from the watcher; `expect` judges the status.
    Http { addr: SocketAddr, request: Request, expect: Expect },
    /// A TCP connection from the watcher.
    Tcp { addr: SocketAddr },
    /// An A/AAAA question to the DNS server at `server`, which must answer `expect` alone.
    Dns { server: SocketAddr, name: String, expect: IpAddr },
    /// A fact `hearth-verify` checks over SSH from the fact's `from` machine.
    Remote(Box<Fact>),
}

/// One thing the watcher checks on a schedule.
#[derive(Debug, Clone)]
pub struct Target {
    /// Stable id (the fact's): the key of its history in the database.
    pub id: String,
    /// The machine it is about.
    pub machine: String,
    /// The service it is about, if any.
    pub service: Option<String>,
    /// The spec's group of that service (`group:`), if any.
    pub group: Option<String>,
    pub kind: Kind,
    /// One line saying what is checked.
    pub describe: String,
    /// `file:line:col` of the spec line it comes from, or empty.
    pub location: String,
    pub probe: Probe,
    pub interval: Duration,
    pub timeout: Duration,
    /// Failures in a row before an incident opens, when the spec sets it for this target's
    /// service; otherwise the daemon's `Policy`.
    pub fail_after: Option<u32>,
}

/// A target's interval, timeout and `fail_after` from its kind and the spec's `watch:` for its
/// service (`hearth_model::Watch`, already merged over `monitoring.watch`).
///
/// The spec's interval replaces the kind's default for the checks that change quickly (routes,
/// DNS, TCP, units and containers, logins, scrapes); certificates and backups keep their hourly
/// cadence, since a service checked every 10 s still renews its certificate over weeks. The
/// timeout is the spec's, else 10 s, or half the interval when that is shorter, so a run ends
/// before the next is due (the checker refuses a timeout the spec sets at or over the interval).
pub fn settings(kind: Kind, watch: &hearth_model::model::Watch) -> (Duration, Duration, Option<u32>) {
    let watch = match kind {
        Kind::Certificate | Kind::Backup => hearth_model::model::Watch { interval: None, ..*watch },
        _ => *watch,
    };
    let default = u64::try_from(kind.default_interval().as_millis()).unwrap_or(u64::MAX);
    let (interval, timeout) = watch.schedule_ms(default);
    (Duration::from_millis(interval), Duration::from_millis(timeout), watch.fail_after)
}

/// The kind and probe of a fact, or `None` when the watcher leaves it to `hearth verify`.
pub fn probe_of(fact: &Fact) -> Option<(Kind, Probe)> {
    let remote = |kind| Some((kind, Probe::Remote(Box::new(fact.clone()))));
    match &fact.check {
        Check::Route { address, port, tls, host, path, expect } => Some((
            Kind::Http,
            Probe::Http {
                addr: SocketAddr::new(*address, *port),
                request: Request { https: *tls, host: host.clone(), path: path.clone(), ca_pem: None },
                expect: *expect,
            },
        )),
        Check::Dns { server, port, name, expect } => Some((
            Kind::Dns,
            Probe::Dns { server: SocketAddr::new(*server, *port), name: name.clone(), expect: *expect },
        )),
        // A cluster's job is its service's presence between runs, like a unit or a container.
        Check::Unit { .. } | Check::Container { .. } | Check::CronJob { .. } => remote(Kind::Service),
        Check::Postgres { .. }
        | Check::Mysql { .. }
        | Check::Mongodb { .. }
        | Check::Redis { .. }
        | Check::S3 { .. } => remote(Kind::Login),
        Check::ScrapeUp { .. } => remote(Kind::Scrape),
        Check::Certificate { .. } => remote(Kind::Certificate),
        // A copy job's timer and last run change over days, as a backup's do.
        Check::Backup { .. } | Check::Timer { .. } => remote(Kind::Backup),
        Check::Connect { .. } | Check::Series { .. } | Check::Notify { .. } => None,
    }
}

/// The service a fact's source names (`service/n8n/uses/postgres` → `n8n`).
pub fn service_of(source: &str) -> Option<String> {
    let mut parts = source.split('/');
    match (parts.next(), parts.next()) {
        (Some("service"), Some(name)) if !name.is_empty() => Some(name.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_names_its_service() {
        let check =
            |source: &str, expected: Option<&str>| assert_eq!(service_of(source).as_deref(), expected, "{source}");
        check("service/n8n/uses/postgres", Some("n8n"));
        check("service/n8n", Some("n8n"));
        check("alert/HostDown", None);
        check("service/", None);
        check("", None);
    }

    /// A copy job's timer is watched hourly like a backup, a cluster's CronJob like a service's
    /// unit; both over SSH from the fact's machine.
    #[test]
    fn timers_and_cron_jobs_are_checked_over_ssh() {
        let fact = |check: Check| Fact {
            id: "id".into(),
            machine: "m".into(),
            from: "m".into(),
            check,
            source: String::new(),
            span: None,
            needs: Vec::new(),
            skip: None,
        };
        let timer = Check::Timer { timer: "hearth-copy-sync.timer".into(), unit: "hearth-copy-sync.service".into() };
        let cron = Check::CronJob { name: "photos-sync".into(), namespace: "default".into() };
        for (check, kind) in [(timer, Kind::Backup), (cron, Kind::Service)] {
            match probe_of(&fact(check.clone())) {
                Some((k, Probe::Remote(f))) => assert_eq!((k, &f.check), (kind, &check)),
                other => panic!("{check:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_spec_sets_quick_checks_and_leaves_slow_ones_hourly() {
        let d = hearth_spec::units::Duration::parse;
        let watch =
            |interval: Option<&str>, timeout: Option<&str>, fail_after: Option<u32>| hearth_model::model::Watch {
                interval: interval.map(|i| d(i).unwrap()),
                timeout: timeout.map(|t| d(t).unwrap()),
                fail_after,
            };
        let check = |kind: Kind, w: hearth_model::model::Watch, expected: (u64, u64, Option<u32>)| {
            let (i, t, f) = settings(kind, &w);
            assert_eq!((i.as_millis() as u64, t.as_millis() as u64, f), expected, "{kind:?} {w:?}");
        };
        check(Kind::Http, watch(None, None, None), (30_000, 10_000, None));
        check(Kind::Login, watch(None, None, None), (60_000, 10_000, None));
        check(Kind::Service, watch(Some("2s"), None, Some(2)), (2_000, 1_000, Some(2)));
        check(Kind::Login, watch(Some("5m"), Some("3s"), None), (300_000, 3_000, None));
        check(Kind::Backup, watch(Some("2s"), None, Some(2)), (3_600_000, 10_000, Some(2)));
        check(Kind::Certificate, watch(Some("2s"), Some("5s"), None), (3_600_000, 5_000, None));
    }

    #[test]
    fn quick_checks_run_more_often_than_slow_ones() {
        assert!(Kind::Http.default_interval() < Kind::Login.default_interval());
        assert!(Kind::Login.default_interval() < Kind::Backup.default_interval());
        assert_eq!(Kind::Certificate.default_interval(), Duration::from_secs(3600));
    }
}
