//! The endpoints the spec writes under `monitoring.scrape` and `monitoring.probes`, as Prometheus
//! and the Blackbox exporter are given them: a machine's or service's name becomes its address,
//! an address or a DNS name (one with a dot) stays as written. The derive step and the checks
//! read the same answers, so a target the checks accept is one the jobs carry.

use std::net::IpAddr;

use hearth_spec::ast::{ProbeEntry, ScrapeEntry, ScrapeScheme};

use crate::model::{Model, Placement};

/// What a host written in a target stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Host {
    /// A machine or service of the spec, at this address.
    Spec(IpAddr),
    /// An address or DNS name outside the spec's names, kept as written.
    Outside(String),
    /// A bare name (no dot) that names no machine or service.
    Unknown,
    /// A service on a cluster, or a machine or service without an address: nothing to connect to.
    Unplaced,
}

/// The meaning of `host` (`nas`, `192.168.1.50`, `nas.lan`).
pub(crate) fn host(model: &Model, host: &str) -> Host {
    if host.parse::<IpAddr>().is_ok() || host.contains('.') {
        return Host::Outside(host.to_string());
    }
    if model.guests.contains_key(host) || model.hosts.contains_key(host) {
        return model.machine_address(host).map_or(Host::Unplaced, Host::Spec);
    }
    match model.services.get(host) {
        Some(s) if matches!(s.on, Placement::Cluster(_)) => Host::Unplaced,
        Some(s) => s.address.map_or(Host::Unplaced, Host::Spec),
        None => Host::Unknown,
    }
}

/// `address` written as a target's host: IPv6 in brackets.
fn host_text(address: IpAddr) -> String {
    match address {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    }
}

/// A `HOST:PORT` target with the host resolved, or `None` when it has no port or names nothing.
pub(crate) fn host_port(model: &Model, target: &str) -> Option<String> {
    let (h, port) = super::flows::endpoint(target)?;
    match host(model, &h) {
        Host::Spec(a) => Some(format!("{}:{port}", host_text(a))),
        Host::Outside(h) => Some(if h.contains(':') { format!("[{h}]:{port}") } else { format!("{h}:{port}") }),
        Host::Unknown | Host::Unplaced => None,
    }
}

/// The targets of one `monitoring.scrape` entry that resolve.
pub(crate) fn scrape_targets(model: &Model, entry: &ScrapeEntry) -> Vec<String> {
    entry.targets.iter().filter_map(|t| host_port(model, &t.value)).collect()
}

/// The scheme Prometheus scrapes an entry with, when it is not the default `http`.
pub(crate) fn scheme(entry: &ScrapeEntry) -> Option<String> {
    entry.scheme.filter(|s| *s == ScrapeScheme::Https).map(|s| s.as_str().to_string())
}

/// The kind of check a probe makes, with what it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProbeKind {
    Http,
    Tcp,
    Icmp,
}

impl ProbeKind {
    /// The Blackbox exporter module that makes this check (`render/blackbox.rs` writes each).
    pub(crate) fn module(self) -> &'static str {
        match self {
            ProbeKind::Http => "http_2xx",
            ProbeKind::Tcp => "tcp_connect",
            ProbeKind::Icmp => "icmp",
        }
    }

    pub(crate) fn key(self) -> &'static str {
        match self {
            ProbeKind::Http => "http",
            ProbeKind::Tcp => "tcp",
            ProbeKind::Icmp => "icmp",
        }
    }
}

/// The kinds a probe entry gives (a valid one gives exactly one).
pub(crate) fn probe_kinds(p: &ProbeEntry) -> Vec<(ProbeKind, &hearth_spec::Sp<String>)> {
    [(ProbeKind::Http, &p.http), (ProbeKind::Tcp, &p.tcp), (ProbeKind::Icmp, &p.icmp)]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect()
}

/// The job name of a probe.
pub(crate) fn probe_job(name: &str) -> String {
    format!("probe-{name}")
}

/// A probe's target as the Blackbox exporter takes it (`?target=`): an HTTP probe's URL as
/// written (its host name is what the request and the certificate are checked against), a TCP
/// probe's `HOST:PORT` and an ICMP probe's host with a spec name resolved.
pub(crate) fn probe_target(model: &Model, kind: ProbeKind, value: &str) -> Option<String> {
    match kind {
        ProbeKind::Http => (value.starts_with("http://") || value.starts_with("https://")).then(|| value.to_string()),
        ProbeKind::Tcp => host_port(model, value),
        ProbeKind::Icmp => match host(model, value) {
            Host::Spec(a) => Some(a.to_string()),
            Host::Outside(h) => Some(h),
            Host::Unknown | Host::Unplaced => None,
        },
    }
}
