//! The connections the homelab makes (`Model::flows`) against what the spec closes: a flow that
//! starts on an isolated network and leaves it (E601) or crosses zones `policy: { default: deny }`
//! keeps apart (E824), either without an `allow` entry for it, and a flow whose source has no
//! address, which no firewall rule can name (E602). Each would be dropped once deployed, so the
//! spec is refused before anything is.

use std::collections::BTreeSet;
use std::net::IpAddr;

use hearth_spec::{Code, Diagnostic, Span, Spec};

use crate::model::{FlowSource, Model};

/// The network a machine is on: the one it names, else the one holding its address.
fn network_of(model: &Model, machine: &str) -> Option<String> {
    let named = model
        .guests
        .get(machine)
        .and_then(|g| g.network.clone())
        .or_else(|| model.hosts.get(machine).and_then(|h| h.network.clone()));
    named.or_else(|| {
        let address: IpAddr = model.machine_address(machine)?;
        model
            .networks
            .iter()
            .find(|(_, n)| n.cidr.parse::<ipnet::IpNet>().is_ok_and(|c| c.contains(&address)))
            .map(|(name, _)| name.clone())
    })
}

/// Where a flow comes from in the spec: the `uses` entry for a consumer, else the entry or
/// section that makes the connection.
fn origin_span(spec: &Spec, origin: &str, service: Option<&str>) -> Option<Span> {
    if let Some(name) = origin.strip_prefix("service/") {
        let e = spec.services.entry(name)?;
        let used = e.value.uses.iter().find(|u| Some(u.service.value.as_str()) == service).map(|u| u.service.span);
        return Some(used.unwrap_or(e.key_span));
    }
    if let Some(name) = origin.strip_prefix("notification/") {
        return spec.notifications.entry(name).map(|e| e.key_span);
    }
    let monitoring = spec.monitoring.as_ref();
    if let Some(job) = origin.strip_prefix("monitoring/scrape/") {
        return monitoring?.scrape.iter().find(|e| e.job.value == job).map(|e| e.job.span);
    }
    if let Some(name) = origin.strip_prefix("monitoring/probes/") {
        return monitoring?.probes.iter().find(|p| p.name.value == name).map(|p| p.name.span);
    }
    spec.spans.key(origin)
}

/// The span of a machine's entry, for a secondary label or a fallback primary span.
fn machine_span(spec: &Spec, machine: &str) -> Option<Span> {
    spec.guests.entry(machine).map(|e| e.key_span).or_else(|| spec.hosts.entry(machine).map(|e| e.key_span))
}

/// E824: the flow `f` from zone `zs` into zone `zd`, which `default: deny` drops, with the
/// `allow` entry that lets it through.
fn denied(spec: &Spec, span: Span, from: &str, what: &str, f: &crate::model::Flow, zs: &str, zd: &str) -> Diagnostic {
    // A service's entry without `ports:` lets every connection the homelab makes to it through,
    // each from exactly its sources, and opens no data port to the whole zone; a zone's entry
    // opens what it names to the whole zone, so it is narrowed to the port.
    let entry = match f.service.as_deref() {
        Some(service) => format!("{{ from: {zs}, to: {service} }}"),
        None => format!("{{ from: {zs}, to: {zd}, ports: [{}] }}", f.port),
    };
    let mut d = Diagnostic::new(
        Code::FlowDeniedByPolicy,
        span,
        format!(
            "`{from}` in zone `{zs}` must reach {what} in zone `{zd}` (port {}, {}), which the policy denies",
            f.port, f.reason
        ),
    )
    .label("a connection the homelab makes")
    .help(format!("add `{entry}` to `policy.allow`"));
    if let Some(p) = &spec.policy {
        if let Some(default) = p.spans.value("default") {
            d = d.with(default, "zones are kept apart here");
        }
        let edit = match p.spans.value("allow") {
            Some(list) => hearth_spec::Edit::append(list, entry),
            None => hearth_spec::Edit::append(p.span, format!("allow: [{entry}]")),
        };
        d = d.suggest_edit(edit);
    }
    d
}

pub(super) fn flows(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    let firewalled = crate::derive::firewalled(model);
    let mut seen = BTreeSet::new();
    for f in &model.flows {
        let FlowSource::Machine(from) = &f.from else { continue };
        let Some(span) = origin_span(spec, &f.origin, f.service.as_deref()).or_else(|| machine_span(spec, from)) else {
            continue;
        };
        let what = f.service.as_ref().map_or_else(|| format!("`{}`", f.to), |s| format!("`{s}` on `{}`", f.to));
        // The zones the connection leaves and enters, as its addresses sit.
        let to = model.destination(&f.to, f.service.as_deref().and_then(|s| model.services.get(s)));
        let zones = to
            .zip(model.address_toward(from, to))
            .and_then(|(to, src)| Some((model.zone_of(src)?, model.zone_of(to)?)));
        let allowed = zones.is_some_and(|(zs, zd)| {
            zs == zd || model.policy.allow.iter().any(|a| a.admits(zs, zd, f.service.as_deref(), f.port))
        });
        if let Some((zs, zd)) = zones
            && !allowed
            && model.policy.deny
            && !model.zone_isolated(zs)
            // One diagnostic per `allow` entry the spec lacks: several flows needing the same
            // entry (two machines of a zone reaching one service, on any of its ports) are one
            // fix, and flows needing different entries (a proxy reaching several services on one
            // machine) are each reported, so a single run lists every entry to add.
            && seen.insert((
                Code::FlowDeniedByPolicy,
                zs.to_string(),
                f.service.clone().unwrap_or_else(|| zd.to_string()),
                if f.service.is_some() { String::new() } else { f.port.to_string() },
            ))
        {
            out.push(denied(spec, span, from, &what, f, zs, zd));
        }
        if let Some(net) = network_of(model, from)
            && !allowed
            && model.networks.get(&net).is_some_and(|n| n.isolated)
            && network_of(model, &f.to).as_ref() != Some(&net)
            && seen.insert((Code::FlowFromIsolatedNetwork, from.clone(), f.to.clone(), f.origin.clone()))
        {
            let mut d = Diagnostic::new(
                Code::FlowFromIsolatedNetwork,
                span,
                format!(
                    "`{from}` is on isolated network `{net}` but must reach {what} (port {}, {})",
                    f.port, f.reason
                ),
            )
            .label("needs a connection out of an isolated network")
            .help(format!(
                "add `isolated: false` to network `{net}` if its machines may reach the homelab, or move `{from}` to a network that is not isolated"
            ));
            if let Some(e) = spec.networks.entry(&net) {
                d = d.with(e.key_span, "isolated");
            }
            out.push(d);
        }
        if firewalled.contains(&f.to)
            && model.machine_address(from).is_none()
            && seen.insert((Code::FlowFromNoAddress, from.clone(), f.to.clone(), f.origin.clone()))
        {
            let kind = if model.guests.contains_key(from) { "guest" } else { "host" };
            let mut d = Diagnostic::new(
                Code::FlowFromNoAddress,
                span,
                format!(
                    "`{from}` has no address, so the firewall of `{}` cannot let it reach {what} (port {}, {})",
                    f.to, f.port, f.reason
                ),
            )
            .label("needs a source address")
            .help(format!("give {kind} `{from}` an `address:` (and a `network:` holding it)"));
            if let Some(s) = machine_span(spec, from) {
                d = d.with(s, "no address");
            }
            out.push(d);
        }
    }
}
