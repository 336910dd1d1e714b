//! Every rule a careful operator would check by hand, and the ones they never do.
//!
//! Each rule reads the spec (for spans) and the resolved model (for derived facts) and returns
//! diagnostics; none stops the others, so one run reports everything.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use hearth_catalog::{Catalog, Provides, image_tag};
use hearth_spec::ast::{Access, Auth, BackupChoice, Form, Protocol};
use hearth_spec::reference::{SecretRef, Value, looks_secret};
use hearth_spec::{Code, Diagnostic, Span, Spec, suggest};

use crate::model::{Model, Placement};
use crate::resolve::Origins;

/// Runs every rule.
pub fn check(spec: &Spec, catalog: &Catalog, model: &Model, origins: &Origins) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    names(spec, &mut out);
    addresses(spec, origins, &mut out);
    ids_and_hostnames(spec, model, origins, &mut out);
    subdomains_and_redis(origins, &mut out);
    ports(origins, &mut out);
    references(spec, catalog, &mut out);
    cycles(spec, &mut out);
    budgets(spec, model, &mut out);
    runtimes(spec, catalog, model, &mut out);
    routes_to_nowhere(spec, model, origins, &mut out);
    acme_reachability(spec, &mut out);
    backups(spec, catalog, model, &mut out);
    exposure(spec, catalog, &mut out);
    databases(spec, catalog, model, &mut out);
    images(spec, &mut out);
    secrets(spec, model, &mut out);
    out
}

/// "unknown WHAT `name`", with the closest declared name as help, else the valid names, else
/// `declare the WHAT first`.
pub(crate) fn unknown_reference(span: Span, what: &str, name: &str, candidates: &[&str]) -> Diagnostic {
    let plural = match what.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{what}s"),
    };
    let help = suggest::help_for(name, candidates.iter().copied(), &plural)
        .unwrap_or_else(|| format!("declare the {what} first"));
    Diagnostic::new(Code::UnknownReference, span, format!("unknown {what} `{name}`"))
        .label(format!("no {what} has this name"))
        .help(help)
}

fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && !name.ends_with('-')
}

fn names(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let sections: [(&str, Vec<(&str, Span)>); 4] = [
        ("guest", spec.guests.entries.iter().map(|e| (e.name.as_str(), e.key_span)).collect()),
        ("service", spec.services.entries.iter().map(|e| (e.name.as_str(), e.key_span)).collect()),
        ("host", spec.hosts.entries.iter().map(|e| (e.name.as_str(), e.key_span)).collect()),
        ("network", spec.networks.entries.iter().map(|e| (e.name.as_str(), e.key_span)).collect()),
    ];
    for (what, entries) in sections {
        for (name, span) in entries {
            if !valid_name(name) {
                let fixed: String = name
                    .to_ascii_lowercase()
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                    .collect();
                out.push(
                    Diagnostic::new(Code::InvalidValue, span, format!("`{name}` is not a valid {what} name"))
                        .label("names become hostnames and DNS labels")
                        .help(format!(
                            "use lowercase letters, digits and `-`, starting with a letter, e.g. `{}`",
                            fixed.trim_matches('-')
                        )),
                );
            }
        }
    }
}

fn addresses(spec: &Spec, origins: &Origins, out: &mut Vec<Diagnostic>) {
    let mut first: HashMap<IpAddr, (&str, Span)> = HashMap::new();
    for (addr, owner, span) in &origins.addresses {
        if let Some((other, other_span)) = first.get(addr) {
            out.push(
                Diagnostic::new(
                    Code::DuplicateAddress,
                    *span,
                    format!("address {addr} is given to {owner} and to {other}"),
                )
                .label("second use")
                .with(*other_span, "first use")
                .help("give each machine its own address, or leave `address:` out to have one allocated"),
            );
        } else {
            first.insert(*addr, (owner, *span));
        }
    }
    // Guests: inside their network, not on its gateway or network/broadcast address.
    for e in &spec.guests.entries {
        let (Some(a), Some(n)) = (&e.value.address, &e.value.network) else { continue };
        let Some(net) = spec.networks.get(&n.value) else { continue };
        check_in_network(a.value.0, a.span, &e.name, &n.value, net, out);
    }
    for e in &spec.hosts.entries {
        let (Some(a), Some(n)) = (&e.value.address, &e.value.network) else { continue };
        let Some(net) = spec.networks.get(&n.value) else { continue };
        check_in_network(a.value.0, a.span, &e.name, &n.value, net, out);
    }
    for e in &spec.networks.entries {
        let n = &e.value;
        if let Some(g) = &n.gateway
            && !n.cidr.value.contains(g.value.0)
        {
            out.push(
                Diagnostic::new(
                    Code::AddressOutsideSubnet,
                    g.span,
                    format!("gateway {} is outside {}", g.value, n.cidr.value),
                )
                .with(n.cidr.span, "the network's subnet")
                .help("the gateway must be an address inside the subnet"),
            );
        }
        if let Some(v) = &n.vlan
            && (v.value == 0 || v.value > 4094)
        {
            out.push(
                Diagnostic::new(Code::InvalidValue, v.span, format!("VLAN {} is outside 1-4094", v.value))
                    .help("802.1Q tags run from 1 to 4094"),
            );
        }
    }
}

fn check_in_network(
    addr: IpAddr,
    span: Span,
    owner: &str,
    net_name: &str,
    net: &hearth_spec::Network,
    out: &mut Vec<Diagnostic>,
) {
    let cidr = net.cidr.value.0;
    if !cidr.contains(&addr) {
        out.push(
            Diagnostic::new(
                Code::AddressOutsideSubnet,
                span,
                format!("address {addr} of `{owner}` is outside network `{net_name}` ({cidr})"),
            )
            .label(format!("not in {cidr}"))
            .with(net.cidr.span, "the network's subnet")
            .help(format!("pick an address inside {cidr}, or put `{owner}` on the network that holds {addr}")),
        );
        return;
    }
    if net.gateway.as_ref().is_some_and(|g| g.value.0 == addr) {
        out.push(
            Diagnostic::new(
                Code::ReservedAddress,
                span,
                format!("address {addr} of `{owner}` is the gateway of `{net_name}`"),
            )
            .label("this is the gateway")
            .help("pick another address, or leave `address:` out to have one allocated"),
        );
    } else if cidr.prefix_len() < cidr.max_prefix_len() - 1 && (addr == cidr.network() || addr == cidr.broadcast()) {
        out.push(
            Diagnostic::new(
                Code::ReservedAddress,
                span,
                format!("address {addr} of `{owner}` is the network or broadcast address of {cidr}"),
            )
            .help("pick an address between the first and the last of the subnet"),
        );
    } else if let Some(r) = net.reserved.iter().find(|r| r.value.contains(addr)) {
        out.push(
            Diagnostic::new(
                Code::ReservedAddress,
                span,
                format!("address {addr} of `{owner}` is in a reserved range of `{net_name}`"),
            )
            .with(r.span, "reserved here")
            .help("pick an address outside `reserved:`"),
        );
    } else if let Some(d) = net.dhcp.as_ref().filter(|d| d.value.contains(addr)) {
        out.push(
            Diagnostic::new(
                Code::AddressInDhcpPool,
                span,
                format!("address {addr} of `{owner}` is inside the DHCP pool {}", d.value),
            )
            .with(d.span, "DHCP pool")
            .help("the router may hand the same address to another device; pick one outside the pool"),
        );
    }
}

fn ids_and_hostnames(spec: &Spec, model: &Model, origins: &Origins, out: &mut Vec<Diagnostic>) {
    let mut by_id: BTreeMap<u32, (&str, Span)> = BTreeMap::new();
    for (name, span) in &origins.guest_ids {
        let Some(g) = model.guests.get(name) else { continue };
        if g.id < 100 {
            out.push(
                Diagnostic::new(Code::InvalidValue, *span, format!("id {} of guest `{name}` is below 100", g.id))
                    .help("Proxmox reserves ids below 100; use 100 or more"),
            );
        }
        if let Some((other, other_span)) = by_id.get(&g.id) {
            out.push(
                Diagnostic::new(
                    Code::DuplicateVmId,
                    *span,
                    format!("id {} is used by guest `{name}` and guest `{other}`", g.id),
                )
                .label("second use")
                .with(*other_span, "first use")
                .help("give each guest its own id, or leave `id:` out to have one allocated"),
            );
        } else {
            by_id.insert(g.id, (name, *span));
        }
    }
    let mut by_hostname: BTreeMap<String, (String, Span)> = BTreeMap::new();
    let guest_spans =
        spec.guests.entries.iter().map(|e| (e.name.as_str(), e.value.hostname.as_ref().map_or(e.key_span, |h| h.span)));
    let host_spans =
        spec.hosts.entries.iter().map(|e| (e.name.as_str(), e.value.hostname.as_ref().map_or(e.key_span, |h| h.span)));
    for (name, span) in guest_spans.chain(host_spans) {
        let hostname = model
            .guests
            .get(name)
            .map(|g| g.hostname.clone())
            .or_else(|| {
                spec.hosts.get(name).map(|h| h.hostname.as_ref().map_or_else(|| name.to_string(), |x| x.value.clone()))
            })
            .unwrap_or_else(|| name.to_string())
            .to_ascii_lowercase();
        if let Some((other, other_span)) = by_hostname.get(&hostname) {
            out.push(
                Diagnostic::new(
                    Code::DuplicateHostname,
                    span,
                    format!("hostname `{hostname}` is used by `{name}` and `{other}`"),
                )
                .with(*other_span, "first use")
                .help("set a distinct `hostname:`"),
            );
        } else {
            by_hostname.insert(hostname, (name.to_string(), span));
        }
    }
}

fn subdomains_and_redis(origins: &Origins, out: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<&str, (&str, Span)> = BTreeMap::new();
    for (fqdn, service, span) in &origins.exposures {
        if let Some((other, other_span)) = seen.get(fqdn.as_str()).filter(|(o, _)| *o != service) {
            out.push(
                Diagnostic::new(
                    Code::DuplicateSubdomain,
                    *span,
                    format!("`{fqdn}` is exposed by `{service}` and by `{other}`"),
                )
                .with(*other_span, "first exposed here")
                .help("give one of them another name"),
            );
        } else {
            seen.insert(fqdn, (service, *span));
        }
    }
    let mut dbs: BTreeMap<(&str, u32), (&str, Span)> = BTreeMap::new();
    for (server, db, consumer, span) in &origins.redis {
        if *db > 15 {
            out.push(
                Diagnostic::new(
                    Code::RedisDbOutOfRange,
                    *span,
                    format!("Redis DB {db} is beyond the 16 databases Redis has by default"),
                )
                .help("use 0 to 15, or leave `db:` out to have one allocated"),
            );
        }
        if let Some((other, other_span)) = dbs.get(&(server.as_str(), *db)) {
            if other != consumer {
                out.push(
                    Diagnostic::new(
                        Code::DuplicateRedisDb,
                        *span,
                        format!("Redis DB {db} on `{server}` is used by `{consumer}` and by `{other}`"),
                    )
                    .with(*other_span, "first use")
                    .help("give each consumer its own DB number, or leave `db:` out"),
                );
            }
        } else {
            dbs.insert((server, *db), (consumer, *span));
        }
    }
}

fn ports(origins: &Origins, out: &mut Vec<Diagnostic>) {
    let mut claimed: BTreeMap<(&str, u16, bool), (&str, Span)> = BTreeMap::new();
    for (machine, port, protocol, service, span) in &origins.ports {
        // DNS listens on both TCP and UDP.
        let layers: &[bool] = match protocol {
            Protocol::Udp => &[true],
            Protocol::Dns => &[false, true],
            _ => &[false],
        };
        for &udp in layers {
            match claimed.get(&(machine.as_str(), *port, udp)) {
                Some((other, other_span)) if other != service => {
                    let free = (*port + 1..u16::MAX)
                        .find(|p| !claimed.keys().any(|(m, q, _)| m == machine && q == p))
                        .unwrap_or(*port);
                    out.push(
                        Diagnostic::new(Code::PortConflict, *span, format!("port {port}/{} on `{machine}` is taken by `{other}` and `{service}`", if udp { "udp" } else { "tcp" }))
                            .label(format!("`{service}` wants {port}"))
                            .with(*other_span, format!("`{other}` has it"))
                            .help(format!("publish one of them on another port, e.g. `ports: {{ <name>: {free} }}`, or move it to another machine")),
                    );
                }
                Some(_) => {}
                None => {
                    claimed.insert((machine, *port, udp), (service, *span));
                }
            }
        }
    }
}

fn references(spec: &Spec, catalog: &Catalog, out: &mut Vec<Diagnostic>) {
    let services = &spec.services;
    let unknown = |out: &mut Vec<Diagnostic>, span: Span, what: &str, name: &str, candidates: Vec<&str>| {
        out.push(unknown_reference(span, what, name, &candidates));
    };
    let svc_ref = |out: &mut Vec<Diagnostic>, r: &hearth_spec::Sp<String>| {
        if !services.is_declared(&r.value) {
            unknown(out, r.span, "service", &r.value, services.names().collect());
        }
    };
    for e in &services.entries {
        let s = &e.value;
        for a in s.after.iter().chain(s.via.iter()) {
            svc_ref(out, a);
        }
        for g in &s.also_on {
            if !spec.guests.is_declared(&g.value) {
                unknown(out, g.span, "guest", &g.value, spec.guests.names().collect());
            }
        }
        if let Some(BackupChoice::Policy(p)) = &s.backup {
            policy_ref(spec, &p.policy, out);
        }
    }
    for e in &spec.guests.entries {
        if let Some(BackupChoice::Policy(p)) = &e.value.backup {
            policy_ref(spec, &p.policy, out);
        }
    }
    if let Some(i) = &spec.ingress {
        let roles: [(&Option<hearth_spec::Sp<String>>, Provides); 4] = [
            (&i.proxy, Provides::Proxy),
            (&i.sso, Provides::Sso),
            (&i.tunnel, Provides::Tunnel),
            (&i.vpn, Provides::Vpn),
        ];
        for (r, kind) in roles {
            let Some(r) = r else { continue };
            svc_ref(out, r);
            let app = services.get(&r.value).and_then(|s| s.app.as_ref()).and_then(|a| catalog.get(&a.value));
            if let Some(app) = app
                && !app.provides(kind)
            {
                out.push(
                    Diagnostic::new(
                        Code::WrongKind,
                        r.span,
                        format!(
                            "service `{}` runs `{}`, which is not a {} provider",
                            r.value,
                            app.name.value,
                            kind.as_str()
                        ),
                    )
                    .help(format!("point this at a service whose app provides `{}`", kind.as_str())),
                );
            }
        }
        if let Some(c) = &i.crowdsec {
            svc_ref(out, c);
        }
    }
    if let Some(d) = &spec.dns
        && let Some(s) = &d.server
    {
        svc_ref(out, s);
    }
    if let Some(m) = &spec.monitoring {
        for r in [&m.prometheus, &m.alertmanager, &m.grafana, &m.loki, &m.uptime, &m.dashboard].into_iter().flatten() {
            svc_ref(out, r);
        }
        if let Some(a) = &m.alerts {
            for n in &a.notify {
                if !spec.notifications.is_declared(&n.value) {
                    unknown(out, n.span, "notification channel", &n.value, spec.notifications.names().collect());
                }
            }
            for r in &a.rules {
                const BUILTIN: &[&str] =
                    &["server-down", "high-cpu", "disk-space-low", "high-memory", "certificate-expiry", "backup-stale"];
                match (&r.rule, &r.name, &r.expr) {
                    (Some(rule), _, _) if !BUILTIN.contains(&rule.value.as_str()) => {
                        unknown(out, rule.span, "built-in alert rule", &rule.value, BUILTIN.to_vec());
                    }
                    (None, Some(_), Some(_)) | (Some(_), _, _) => {}
                    _ => out.push(
                        Diagnostic::new(
                            Code::MissingKey,
                            r.span,
                            "an alert rule needs `rule:` (a built-in) or both `name:` and `expr:`",
                        )
                        .help("write `- server-down`, or `- { name: MyAlert, expr: \"up == 0\" }`"),
                    ),
                }
            }
        }
    }
    for e in &spec.notifications.entries {
        let n = &e.value;
        let kinds =
            [n.telegram.is_some(), n.ntfy.is_some(), n.gotify.is_some(), n.email.is_some(), n.webhook.is_some()]
                .iter()
                .filter(|k| **k)
                .count();
        if kinds != 1 {
            out.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    e.key_span,
                    format!("notification `{}` must have exactly one kind, it has {kinds}", e.name),
                )
                .help("use one of `telegram`, `ntfy`, `gotify`, `email`, `webhook` per channel"),
            );
        }
    }
    if let Some(b) = &spec.backups {
        for e in &b.policies.entries {
            for r in &e.value.to {
                if !b.repositories.is_declared(&r.value) {
                    unknown(out, r.span, "backup repository", &r.value, b.repositories.names().collect());
                }
            }
        }
        for e in &b.repositories.entries {
            let r = &e.value;
            if r.restic.is_some() == r.pbs.is_some() {
                out.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        e.key_span,
                        format!("repository `{}` must be either `restic:` or `pbs:`", e.name),
                    )
                    .help("give exactly one of them"),
                );
            }
        }
    }
    if let Some(r) = &spec.router {
        for f in &r.forwards {
            let known = spec.guests.is_declared(&f.to.value)
                || spec.hosts.is_declared(&f.to.value)
                || services.is_declared(&f.to.value);
            if !known {
                let mut c: Vec<&str> = spec.guests.names().collect();
                c.extend(spec.hosts.names());
                c.extend(services.names());
                unknown(out, f.to.span, "guest, host or service", &f.to.value, c);
            }
        }
    }
    for e in &spec.clusters.entries {
        for g in e.value.servers.iter().chain(&e.value.agents) {
            if !spec.guests.is_declared(&g.value) {
                unknown(out, g.span, "guest", &g.value, spec.guests.names().collect());
            }
        }
    }
    for e in &spec.hosts.entries {
        let disks: Vec<&str> = e
            .value
            .hardware
            .as_ref()
            .map(|h| h.disks.iter().map(|d| d.name.value.as_str()).collect())
            .unwrap_or_default();
        for (_, pool) in e.value.storage.iter() {
            for d in &pool.disks {
                if !disks.contains(&d.value.as_str()) {
                    unknown(out, d.span, "disk", &d.value, disks.clone());
                }
            }
        }
    }
}

fn policy_ref(spec: &Spec, policy: &hearth_spec::Sp<String>, out: &mut Vec<Diagnostic>) {
    let policies = spec.backups.as_ref().map(|b| &b.policies);
    if policies.is_none_or(|p| !p.is_declared(&policy.value)) {
        let names: Vec<&str> = policies.map(|p| p.names().collect()).unwrap_or_default();
        let mut d = unknown_reference(policy.span, "backup policy", &policy.value, &names);
        if names.is_empty() {
            d = d.help("declare it under `backups: { policies: ... }`");
        }
        out.push(d);
    }
}

fn cycles(spec: &Spec, out: &mut Vec<Diagnostic>) {
    // Edges: uses, after and via, all meaning "starts after".
    let mut edges: BTreeMap<&str, Vec<(&str, Span)>> = BTreeMap::new();
    for e in &spec.services.entries {
        let list = edges.entry(e.name.as_str()).or_default();
        for u in &e.value.uses {
            list.push((u.service.value.as_str(), u.service.span));
        }
        for a in e.value.after.iter().chain(e.value.via.iter()) {
            list.push((a.value.as_str(), a.span));
        }
    }
    // Iterative DFS with colours; each cycle is reported once, at the edge that closes it.
    let mut colour: BTreeMap<&str, u8> = BTreeMap::new();
    for &start in edges.keys() {
        if colour.get(start).copied().unwrap_or(0) != 0 {
            continue;
        }
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        let mut path: Vec<&str> = vec![start];
        colour.insert(start, 1);
        while let Some((node, i)) = stack.pop() {
            let next = edges.get(node).and_then(|l| l.get(i)).copied();
            match next {
                None => {
                    colour.insert(node, 2);
                    path.pop();
                }
                Some((to, span)) => {
                    stack.push((node, i + 1));
                    match colour.get(to).copied().unwrap_or(0) {
                        0 if edges.contains_key(to) => {
                            colour.insert(to, 1);
                            stack.push((to, 0));
                            path.push(to);
                        }
                        1 if to != node => {
                            let pos = path.iter().position(|p| *p == to).unwrap_or(0);
                            let mut cycle: Vec<&str> = path[pos..].to_vec();
                            cycle.push(to);
                            out.push(
                                Diagnostic::new(Code::DependencyCycle, span, format!("dependency cycle: {}", cycle.join(" -> ")))
                                    .label("this edge closes the cycle")
                                    .help("services cannot start in order; remove one of these `uses`, `after` or `via` entries"),
                            );
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

fn budgets(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.hosts.entries {
        let Some(hw) = &e.value.hardware else { continue };
        let guests: Vec<(&String, &crate::model::Guest)> =
            model.guests.iter().filter(|(_, g)| g.host == e.name).collect();
        if guests.is_empty() {
            continue;
        }
        if let Some(mem) = &hw.memory {
            let total: u64 = guests.iter().map(|(_, g)| g.memory.bytes).sum();
            if total > mem.value.bytes {
                let shown = hearth_spec::units::Size::new(total, mem.value.binary);
                out.push(
                    Diagnostic::new(
                        Code::MemoryOverCapacity,
                        mem.span,
                        format!("guests on `{}` are given {shown} of memory, the host has {}", e.name, mem.value),
                    )
                    .label(if guests.len() == 1 {
                        "its guest asks for more than this".to_string()
                    } else {
                        format!("its {} guests ask for more than this", guests.len())
                    })
                    .help("shrink guests' `size.memory`, move guests to another host, or add memory"),
                );
            }
        }
        let total_storage: u64 =
            e.value.storage.iter().filter_map(|(_, p)| p.size.as_ref()).map(|s| s.value.bytes).sum();
        let total_disk: u64 = guests.iter().map(|(_, g)| g.disk.bytes).sum();
        if total_storage > 0 && total_disk > total_storage {
            let span = e.value.storage.entries.first().map_or(e.key_span, |p| p.key_span);
            out.push(
                Diagnostic::new(
                    Code::DiskOverCapacity,
                    span,
                    format!(
                        "guests on `{}` are given {} of disk, its storage holds {}",
                        e.name,
                        hearth_spec::units::Size::new(total_disk, false),
                        hearth_spec::units::Size::new(total_storage, false)
                    ),
                )
                .help("shrink guests' `size.disk` or add storage"),
            );
        }
        for pe in &e.value.storage.entries {
            let Some(size) = &pe.value.size else { continue };
            let used: u64 = guests
                .iter()
                .filter(|(_, g)| g.storage.as_deref() == Some(pe.name.as_str()))
                .map(|(_, g)| g.disk.bytes)
                .sum();
            if used > size.value.bytes {
                out.push(
                    Diagnostic::new(
                        Code::StorageOverCapacity,
                        size.span,
                        format!(
                            "guest disks on pool `{}` add up to {}, the pool holds {}",
                            pe.name,
                            hearth_spec::units::Size::new(used, size.value.binary),
                            size.value
                        ),
                    )
                    .help("thin provisioning may allow this, but the pool fills up if guests use their disks"),
                );
            }
        }
        let cores: u32 = guests.iter().map(|(_, g)| g.cores).sum();
        let physical = hw.cores.as_ref().map(|c| c.value);
        let threads = hw.threads.as_ref().map(|t| t.value).or(physical);
        if let (Some(t), Some(span)) =
            (threads, hw.threads.as_ref().map(|t| t.span).or(hw.cores.as_ref().map(|c| c.span)))
            && t > 0
            && cores > t
        {
            let ratio_threads = cores as f64 / t as f64;
            let against_cores =
                physical.map_or(String::new(), |c| format!(", {:.1}:1 against its {c} cores", cores as f64 / c as f64));
            out.push(
                    Diagnostic::new(
                        Code::CpuOversubscribed,
                        span,
                        format!("guests on `{}` have {cores} vCPUs: {ratio_threads:.1}:1 against its {t} threads{against_cores}", e.name),
                    )
                    .label("oversubscribed")
                    .help("fine while guests are mostly idle; lower `size.cores` if they compete for CPU"),
                );
        }
    }
}

fn runtimes(spec: &Spec, catalog: &Catalog, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.services.entries {
        let Some(s) = model.services.get(&e.name) else { continue };
        let (runtime, machine) = match &s.on {
            Placement::Guest(g) => (model.guests.get(g).map(|g| g.runtime.clone()), g),
            Placement::Host(h) => (model.hosts.get(h).and_then(|h| h.runtime.clone()), h),
            Placement::Cluster(_) => continue,
        };
        let runtime = runtime.unwrap_or_else(|| "none".into());
        let needed = match s.form {
            Form::Docker => "docker",
            Form::Native => "native",
            Form::Appliance => "an appliance",
        };
        let ok = match s.form {
            Form::Docker => runtime == "docker",
            // A Docker machine still runs systemd units.
            Form::Native => runtime == "native" || runtime == "docker",
            Form::Appliance => runtime == "none",
        };
        let no_native =
            s.form == Form::Native && s.app.as_deref().and_then(|a| catalog.get(a)).is_some_and(|a| a.native.is_none());
        if no_native {
            out.push(
                Diagnostic::new(
                    Code::MissingRuntime,
                    e.value.form.as_ref().map_or(e.value.on.span, |f| f.span),
                    format!("app `{}` has no native form", s.app.as_deref().unwrap_or_default()),
                )
                .help(format!("run it with Docker: `form: docker` and `runtime: docker` on `{machine}`")),
            );
        } else if !ok {
            let span = e.value.on.span;
            let help = if s.form == Form::Appliance {
                format!(
                    "`form: appliance` is for software an appliance runs itself; `{machine}` has runtime `{runtime}`"
                )
            } else if runtime == "none" {
                format!(
                    "`{machine}` is an appliance (runtime `none`): place the service elsewhere, or say `form: appliance` if the appliance itself runs it"
                )
            } else if s.form == Form::Native {
                format!("set `form: docker` and `runtime: docker` on `{machine}`; this app has no native form")
            } else {
                format!("add `runtime: docker` to `{machine}`, or set `form: native` on the service")
            };
            out.push(
                Diagnostic::new(
                    Code::MissingRuntime,
                    span,
                    format!("service `{}` needs {needed}, but `{machine}` has runtime `{runtime}`", e.name),
                )
                .help(help),
            );
        }
    }
}

fn routes_to_nowhere(spec: &Spec, model: &Model, origins: &Origins, out: &mut Vec<Diagnostic>) {
    let known: BTreeSet<IpAddr> =
        origins.addresses.iter().map(|a| a.0).chain(model.guests.values().filter_map(|g| g.address)).collect();
    let Some(dns) = &spec.dns else { return };
    let zone = dns.zone.as_ref().map(|z| z.value.clone()).or_else(|| model.domain.clone()).unwrap_or_default();
    for e in &dns.records.entries {
        let a = e.value.value.0;
        let fqdn = if e.name.contains('.') { e.name.clone() } else { format!("{}.{zone}", e.name) };
        // The machine the operator most likely meant: the one running a service of that name.
        let label = e.name.split('.').next().unwrap_or(&e.name);
        let meant = model
            .services
            .iter()
            .find(|(n, s)| *n == label || s.app.as_deref() == Some(label))
            .and_then(|(n, s)| s.address.map(|addr| (n, s.on.name(), addr)));
        if !known.contains(&a) {
            let help = match meant {
                Some((svc, machine, addr)) => {
                    format!("`{svc}` runs on `{machine}` at {addr}; point the record there, or remove it")
                }
                None => "point it at the address of the machine that serves this name".to_string(),
            };
            out.push(
                Diagnostic::new(
                    Code::RouteToUnknownAddress,
                    e.value.span,
                    format!("record `{}` points at {a}, an address no guest or host has", e.name),
                )
                .label("nothing here")
                .help(help),
            );
        }
        if let Some((svc, _)) = model.services.iter().find(|(_, s)| s.exposes.iter().any(|x| x.fqdn == fqdn)) {
            out.push(
                Diagnostic::new(
                    Code::RecordShadowsExposure,
                    e.key_span,
                    format!("record `{}` gives `{fqdn}` a second address; `{svc}` already exposes that name", e.name),
                )
                .help("remove the record: exposed names get their record (pointing at the proxy) automatically"),
            );
        }
    }
}

/// ACME's HTTP challenge needs port 80 reachable from the internet. When the spec forwards ports
/// from the router but not 80, certificates for public names cannot be issued.
fn acme_reachability(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let Some(acme) = spec.ingress.as_ref().and_then(|i| i.tls.as_ref()).and_then(|t| t.acme.as_ref()) else {
        return;
    };
    if acme.challenge.is_some_and(|c| c != hearth_spec::ast::Challenge::Http) {
        return;
    }
    let Some(router) = &spec.router else { return };
    let public = spec.services.iter().any(|(_, s)| {
        s.expose
            .as_ref()
            .is_some_and(|x| x.0.iter().any(|e| e.access.as_ref().is_some_and(|a| a.value == Access::Public)))
    });
    if public && !router.forwards.is_empty() && !router.forwards.iter().any(|f| f.port.value == 80) {
        out.push(
            Diagnostic::new(
                Code::AcmeHttpUnreachable,
                acme.challenge.map_or(acme.span, |_| acme.spans.value("challenge").unwrap_or(acme.span)),
                "the ACME HTTP challenge needs port 80, but the router does not forward it",
            )
            .help("forward port 80 to the proxy (`router.forwards`), or use `challenge: dns` with a DNS provider"),
        );
    }
}

fn backups(spec: &Spec, catalog: &Catalog, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.services.entries {
        let Some(s) = model.services.get(&e.name) else { continue };
        if e.value.backup.is_some() {
            continue;
        }
        let guest_backup = match &s.on {
            Placement::Guest(g) => model.guests.get(g).and_then(|g| g.backup.clone()),
            _ => None,
        };
        if guest_backup.is_some() {
            continue;
        }
        let stateful: Vec<&str> = s
            .volumes
            .iter()
            .filter(|v| v.stateful && !crate::derive::backups::covered_by_snapshots(spec, v.dataset.as_deref()))
            .map(|v| v.target.as_str())
            .collect();
        let is_db =
            s.app.as_deref().and_then(|a| catalog.get(a)).is_some_and(|a| a.provides.iter().any(|p| p.is_database()));
        if !stateful.is_empty() {
            out.push(
                Diagnostic::new(
                    Code::NoBackup,
                    e.key_span,
                    format!("service `{}` keeps data in {} with no backup", e.name, stateful.join(", ")),
                )
                .label(if is_db { "a database without a backup" } else { "stateful data" })
                .help("add `backup: <policy>` (see `backups.policies`), or `backup: false` if losing it is fine"),
            );
        }
    }
}

fn exposure(spec: &Spec, catalog: &Catalog, out: &mut Vec<Diagnostic>) {
    let tls_off = spec
        .ingress
        .as_ref()
        .and_then(|i| i.tls.as_ref())
        .is_none_or(|t| t.none == Some(true) || (t.acme.is_none() && t.internal != Some(true)));
    let has_proxy = spec.ingress.as_ref().and_then(|i| i.proxy.as_ref()).is_some();
    for e in &spec.services.entries {
        let Some(x) = &e.value.expose else { continue };
        for ex in &x.0 {
            let access = ex.access.as_ref().map_or(Access::Internal, |a| a.value);
            if !has_proxy {
                out.push(
                    Diagnostic::new(
                        Code::MissingKey,
                        ex.name.span,
                        format!("service `{}` is exposed but the spec has no proxy", e.name),
                    )
                    .help("set `ingress: { proxy: <service> }` to a service running traefik, caddy or nginx"),
                );
            }
            if matches!(access, Access::Public) && tls_off {
                out.push(
                    Diagnostic::new(Code::PublicWithoutTls, ex.name.span, format!("`{}` is public without TLS", ex.name.value))
                        .label("reachable from the internet over plain HTTP")
                        .help("configure `ingress: { tls: { acme: { email: ... } } }`, or make the exposure `access: internal` or `tunnel`"),
                );
            }
            if matches!(access, Access::Public | Access::Tunnel) && ex.auth.is_none() {
                let has_own =
                    e.value.app.as_ref().and_then(|a| catalog.get(&a.value)).is_some_and(|a| a.provides(Provides::Sso));
                if !has_own {
                    out.push(
                        Diagnostic::new(Code::PublicWithoutAuth, ex.name.span, format!("`{}` is reachable from the internet with no auth in front", ex.name.value))
                            .help("add `auth: sso` (forward auth through `ingress.sso`), or `auth: none` to say the app's own login is enough"),
                    );
                }
            }
            if ex.auth.as_ref().is_some_and(|a| a.value == Auth::Sso)
                && spec.ingress.as_ref().and_then(|i| i.sso.as_ref()).is_none()
            {
                out.push(
                    Diagnostic::new(
                        Code::MissingKey,
                        ex.auth.as_ref().map_or(ex.name.span, |a| a.span),
                        "`auth: sso` needs an SSO provider",
                    )
                    .help("set `ingress: { sso: <service> }` to a service running authentik or authelia"),
                );
            }
        }
    }
}

fn databases(spec: &Spec, catalog: &Catalog, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.services.entries {
        let app = e.value.app.as_ref().and_then(|a| catalog.get(&a.value));
        let Some(kind) = app.and_then(|a| a.provides.iter().find(|p| p.is_database() && **p != Provides::S3)) else {
            continue;
        };
        if let Some(x) = &e.value.expose
            && let Some(ex) = x.0.first()
        {
            out.push(
                Diagnostic::new(
                    Code::DatabaseExposed,
                    ex.name.span,
                    format!("database `{}` ({}) is exposed through the proxy", e.name, kind.as_str()),
                )
                .help("databases are reached by their consumers through `uses:`; remove `expose:`"),
            );
        }
        if let Some(r) = &spec.router {
            for f in r.forwards.iter().filter(|f| f.to.value == e.name) {
                out.push(
                    Diagnostic::new(
                        Code::DatabaseExposed,
                        f.to.span,
                        format!("the router forwards port {} to database `{}`", f.port.value, e.name),
                    )
                    .help("never forward a database port from the internet; use the VPN"),
                );
            }
        }
        // Hearth's firewall opens a database port only to its consumers, but only on machines
        // it manages. On an unmanaged machine, every other machine of its zone reaches it.
        let Some(s) = model.services.get(&e.name) else { continue };
        let Placement::Guest(dbg) = &s.on else { continue };
        let Some(guest) = model.guests.get(dbg) else { continue };
        if guest.managed {
            continue;
        }
        let Some(zone) = guest.zone.clone() else { continue };
        let consumers: BTreeSet<String> = model
            .services
            .iter()
            .filter(|(_, c)| c.uses.iter().any(|u| u.service == e.name))
            .map(|(_, c)| c.on.name().to_string())
            .collect();
        let strangers: Vec<&String> = model
            .guests
            .iter()
            .filter(|(n, g)| g.zone.as_ref() == Some(&zone) && *n != dbg && !consumers.contains(*n))
            .map(|(n, _)| n)
            .collect();
        if !strangers.is_empty() {
            let list: Vec<String> = strangers.iter().take(5).map(|s| format!("`{s}`")).collect();
            out.push(
                Diagnostic::new(
                    Code::DatabaseReachable,
                    e.key_span,
                    format!(
                        "database `{}` is on `{dbg}`, which Hearth does not manage, so {} in zone `{zone}` {} it too",
                        e.name,
                        list.join(", "),
                        if strangers.len() == 1 { "reaches" } else { "reach" }
                    ),
                )
                .help("let Hearth manage the guest (its firewall then admits only consumers), or give the database a zone of its own"),
            );
        }
    }
}

fn images(spec: &Spec, out: &mut Vec<Diagnostic>) {
    for e in &spec.services.entries {
        if let Some(img) = &e.value.image {
            match image_tag(&img.value) {
                None => out.push(
                    Diagnostic::new(Code::UnpinnedImage, img.span, format!("image `{}` has no tag", img.value))
                        .help("pin a version: `name:1.2.3`; an untagged image means `latest`, which changes under you"),
                ),
                Some("latest") => out.push(
                    Diagnostic::new(
                        Code::UnpinnedImage,
                        img.span,
                        format!("image `{}` uses the `latest` tag", img.value),
                    )
                    .help("pin a version: `name:1.2.3`, so a redeploy gives the same software"),
                ),
                _ => {}
            }
        }
        if let Some(v) = &e.value.version
            && v.value == "latest"
        {
            out.push(
                Diagnostic::new(Code::UnpinnedImage, v.span, "`version: latest` is not a version")
                    .help("write the version to run, e.g. `version: \"16\"`"),
            );
        }
        if e.value.app.is_none() && e.value.image.is_some() && e.value.healthcheck.is_none() {
            out.push(
                Diagnostic::new(Code::NoHealthcheck, e.key_span, format!("service `{}` has no healthcheck", e.name))
                    .help("add `healthcheck: { http: { port: http, path: /health } }` or `{ tcp: http }`"),
            );
        }
    }
}

fn secrets(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.services.entries {
        for env in &e.value.env.entries {
            if let Value::Text(t) = &env.value.value
                && looks_secret(&env.name)
                && !t.is_empty()
            {
                out.push(
                        Diagnostic::new(Code::PlaintextSecret, env.value.span, format!("`{}` holds a secret written in plain text", env.name))
                            .label("this value will end up in git")
                            .help(format!("write `secret:{}-{}` (generated or set with `hearth secrets set`), `env:VAR` or an `op://` reference", e.name, env.name.to_ascii_lowercase().replace('_', "-"))),
                    );
            }
        }
    }
    for e in &spec.secrets.entries {
        let s = &e.value;
        if s.env.is_some() && s.op.is_some() {
            out.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    e.key_span,
                    format!("secret `{}` names both `env` and `op`", e.name),
                )
                .help("keep one source"),
            );
        }
        if let Some(op) = &s.op
            && !matches!(SecretRef::parse(&op.value), Some(Ok(SecretRef::Op(_))))
        {
            out.push(
                Diagnostic::new(Code::InvalidValue, op.span, format!("`{}` is not a 1Password reference", op.value))
                    .help("write `op://vault/item/field`"),
            );
        }
    }
    // Every `secret:NAME` used must be declared or generated.
    let generated: BTreeSet<&str> = model.generated_secrets.iter().map(|g| g.name.as_str()).collect();
    let declared = |n: &str| spec.secrets.is_declared(n) || generated.contains(n);
    let mut check_ref = |r: &SecretRef, span: Span| {
        if let SecretRef::Named(n) = r
            && !declared(n)
        {
            let mut names: Vec<&str> = spec.secrets.names().collect();
            names.extend(generated.iter().copied());
            let mut d = unknown_reference(span, "secret", n, &names).label("not declared and not generated");
            if suggest::did_you_mean(n, names.iter().copied()).is_none() {
                d = d.help(format!(
                    "declare it under `secrets:` (`{n}: {{ env: VAR }}`), or set it with `hearth secrets set {n}`"
                ));
            }
            out.push(d);
        }
    };
    for e in &spec.services.entries {
        for env in &e.value.env.entries {
            if let Value::Secret(r) = &env.value.value {
                check_ref(r, env.value.span);
            }
        }
    }
    for e in &spec.notifications.entries {
        let n = &e.value;
        let refs = [
            n.telegram.as_ref().map(|t| (&t.token, t.spans.value("token"))),
            n.gotify.as_ref().map(|t| (&t.token, t.spans.value("token"))),
        ];
        for (r, span) in refs.into_iter().flatten() {
            check_ref(r, span.unwrap_or(e.key_span));
        }
        if let Some(em) = &n.email
            && let Some(p) = &em.password
        {
            check_ref(p, em.spans.value("password").unwrap_or(e.key_span));
        }
        if let Some(nt) = &n.ntfy
            && let Some(p) = &nt.token
        {
            check_ref(p, nt.spans.value("token").unwrap_or(e.key_span));
        }
    }
    if let Some(b) = &spec.backups {
        for e in &b.repositories.entries {
            if let Some(c) = &e.value.credentials {
                check_ref(c, e.value.spans.value("credentials").unwrap_or(e.key_span));
            }
        }
    }
    if let Some(acme) = spec.ingress.as_ref().and_then(|i| i.tls.as_ref()).and_then(|t| t.acme.as_ref())
        && let Some(t) = &acme.token
    {
        check_ref(t, acme.spans.value("token").unwrap_or(acme.span));
    }
    for e in &spec.hosts.entries {
        if let Some(t) = e.value.proxmox.as_ref().and_then(|p| p.token.as_ref()) {
            check_ref(t, e.key_span);
        }
    }
}
