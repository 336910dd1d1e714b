//! Questions renderers ask about machines and services: a monitoring role's service, where
//! other machines reach a service (address, ports), where it listens, which folder a volume is on
//! the machine and inside the process, what its catalog app provides, and the internal DNS
//! records once each.

use hearth_catalog::Provides;
use hearth_model::model::{DnsRecord, Model, Service};
use hearth_spec::ast::Form;

use crate::Context;

/// A monitoring role's service by name, when it is set and exists.
pub(crate) fn service<'m>(m: &'m Model, name: Option<&'m str>) -> Option<(&'m str, &'m Service)> {
    let name = name?;
    m.services.get(name).map(|s| (name, s))
}

/// The address other machines reach a service at: its own, else its machine's, else the
/// machine's name (resolvable through the homelab's DNS).
pub(crate) fn address(m: &Model, svc: &Service) -> String {
    svc.address
        .or_else(|| m.guests.get(svc.on.name()).and_then(|g| g.address))
        .or_else(|| m.hosts.get(svc.on.name()).and_then(|h| h.address))
        .map_or_else(|| svc.on.name().to_string(), |a| a.to_string())
}

/// The host port of the service's `http` port (its first port otherwise), as other machines
/// reach it.
pub(crate) fn http_port(svc: &Service) -> u16 {
    svc.port_or_first(&["http"]).map_or(0, |p| p.reachable)
}

/// A volume's folder as `(path on the machine, path the process sees)`. For a container these
/// are the bind mount's source and target; natively the resolver sets both to the same path.
/// Without such a volume, `fallback` on both sides.
pub(crate) fn dirs(svc: &Service, volume: &str, fallback: &str) -> (String, String) {
    let found = svc.volumes.iter().find(|v| v.name == volume);
    match found {
        Some(v) if svc.form == Form::Docker => {
            (v.source.trim_end_matches('/').to_string(), v.target.trim_end_matches('/').to_string())
        }
        Some(v) => (v.target.trim_end_matches('/').to_string(), v.target.trim_end_matches('/').to_string()),
        None => (fallback.to_string(), fallback.to_string()),
    }
}

/// The internal DNS records, each (name, address) once: a name exposed by two services, or also
/// listed under `dns.records`, appears twice in the model.
pub(crate) fn dns_records(m: &Model) -> Vec<&DnsRecord> {
    let mut seen = std::collections::BTreeSet::new();
    m.dns_records.iter().filter(|r| seen.insert((r.name.as_str(), r.address))).collect()
}

/// Whether a service's catalog app provides `kind`.
pub(crate) fn provides(cx: &Context, s: &Service, kind: Provides) -> bool {
    s.app.as_deref().and_then(|a| cx.catalog.get(a)).is_some_and(|a| a.provides(kind))
}

/// The port a service listens on where its config is read: inside the container for Docker,
/// on the machine otherwise. `names` are tried in order, then the first port.
pub(crate) fn listen_port(s: &Service, names: &[&str]) -> Option<u16> {
    s.port_or_first(names).map(|p| p.listen)
}

/// The machine that applies a cluster's manifests: its first server. A cluster without one is
/// refused by the checks.
pub(crate) fn control_plane<'m>(model: &'m Model, cluster: &str) -> Option<&'m str> {
    model.clusters.get(cluster).and_then(|c| c.servers.first()).map(String::as_str)
}
