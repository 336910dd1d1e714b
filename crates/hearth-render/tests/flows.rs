//! The rendered homelab as a whole, in network namespaces: every connection its own rendered
//! files make must pass the rendered firewalls, and what no flow names must be refused.
//!
//! The connections are read from the rendered files, not from the model's flows the firewall
//! was derived from: every `address:port` of a homelab machine written in a file of another
//! machine (Prometheus's targets and Alertmanager, Alloy's and Promtail's push URLs, Grafana's
//! data sources, Alertmanager's webhook, the proxy's upstreams, Homepage's status probes,
//! connection strings, restic repository URLs), plus each consumer's `uses` connection string
//! and each network's `dns:` resolvers on port 53. One namespace per machine on one bridge, a
//! listener on every port connected to, the rulesets loaded, then: every connection connects; a
//! client on a trusted network is refused on every proxied upstream and every data service port;
//! a device on an isolated network is refused everywhere except its own DNS resolver; and a
//! client on each network reaches a service port the firewall opens to "the homelab's networks"
//! exactly when the zone policy lets its zone in (`zone_admits`, written from docs/SPEC.md, not
//! from the firewall's derivation). A machine on several networks has each of its addresses, with
//! its network's prefix, so its connections leave from the address on the destination's network.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::process::Command;

use common::netns::{Lab, can_use_namespaces, ip, listen, probe_all};
use hearth_model::Model;
use hearth_render::{File, Kind};

/// `address:port` occurrences in a text, IPv4 only.
fn endpoints(text: &str) -> Vec<(Ipv4Addr, u16)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let at_start =
            bytes[i].is_ascii_digit() && (i == 0 || !(bytes[i - 1].is_ascii_digit() || bytes[i - 1] == b'.'));
        if !at_start {
            i += 1;
            continue;
        }
        let end = text[i..].find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':')).map_or(text.len(), |e| i + e);
        let token = text[i..end].trim_end_matches([':', '.']);
        if let Some((addr, port)) = token.split_once(':')
            && let (Ok(a), Ok(p)) = (addr.parse::<Ipv4Addr>(), port.parse::<u16>())
        {
            out.push((a, p));
        }
        i = end.max(i + 1);
    }
    out
}

/// A free address in a network for a client that is no machine of the spec: `.250` of a /24 or
/// wider.
fn client_address(cidr: &str, taken: &BTreeSet<String>) -> String {
    let (base, prefix) = cidr.split_once('/').unwrap();
    assert!(prefix.parse::<u8>().unwrap() <= 24, "{cidr}");
    let o = base.parse::<Ipv4Addr>().unwrap().octets();
    let addr = Ipv4Addr::new(o[0], o[1], o[2], 250).to_string();
    assert!(!taken.contains(&addr), "{addr} is a machine's");
    addr
}

struct Wiring {
    /// machine -> address, the two clients included.
    machines: BTreeMap<String, String>,
    /// machine -> its further interfaces' addresses with their network's prefix.
    further: BTreeMap<String, Vec<String>>,
    /// (from machine, `address:port`) every connection the rendered files make.
    connections: BTreeSet<(String, String)>,
    /// `address:port` of every proxied upstream and every data service port consumers use.
    guarded: BTreeSet<String>,
    /// `address:port` of DNS resolvers the isolated network's own `dns:` names.
    isolated_dns: BTreeSet<String>,
}

fn wiring(model: &Model, files: &[File]) -> Wiring {
    let mut machines: BTreeMap<String, String> = BTreeMap::new();
    for (n, g) in model.guests.iter().filter(|(_, g)| g.managed) {
        if let Some(a) = g.address.filter(|a| a.is_ipv4()) {
            machines.insert(n.clone(), a.to_string());
        }
    }
    for (n, h) in &model.hosts {
        if let Some(a) = h.address.filter(|a| a.is_ipv4()) {
            machines.insert(n.clone(), a.to_string());
        }
    }
    let mut further: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for name in machines.keys() {
        for i in model.interfaces(name).iter().filter(|i| !i.primary) {
            let (Some(a), Some(net)) = (i.address.filter(|a| a.is_ipv4()), model.networks.get(&i.network)) else {
                continue;
            };
            let prefix = net.cidr.split_once('/').unwrap().1;
            further.entry(name.clone()).or_default().push(format!("{a}/{prefix}"));
        }
    }
    let mut by_address: BTreeMap<String, String> = machines.iter().map(|(m, a)| (a.clone(), m.clone())).collect();
    for (m, list) in &further {
        for a in list {
            by_address.insert(a.split_once('/').unwrap().0.to_string(), m.clone());
        }
    }
    let taken: BTreeSet<String> = by_address.keys().cloned().collect();

    let mut connections = BTreeSet::new();
    for f in files.iter().filter(|f| f.kind != Kind::Nftables) {
        if !machines.contains_key(&f.machine) {
            continue;
        }
        for (a, p) in endpoints(&f.content) {
            let a = a.to_string();
            if by_address.get(&a).is_some_and(|m| *m != f.machine) {
                connections.insert((f.machine.clone(), format!("{a}:{p}")));
            }
        }
    }
    let mut guarded = BTreeSet::new();
    for s in model.services.values() {
        for u in &s.uses {
            let Some(url) = &u.url else { continue };
            let text = url.to_string();
            let Some(&(a, p)) = endpoints(text.rsplit('@').next().unwrap()).first() else { continue };
            let target = format!("{a}:{p}");
            if !by_address.contains_key(&a.to_string()) {
                continue;
            }
            guarded.insert(target.clone());
            for m in s.machines() {
                if machines.contains_key(m) && by_address[&a.to_string()] != m {
                    connections.insert((m.to_string(), target.clone()));
                }
            }
        }
    }
    for r in &model.routes {
        for u in &r.upstreams {
            guarded.extend(endpoints(u).into_iter().map(|(a, p)| format!("{a}:{p}")));
        }
    }
    let mut isolated_dns = BTreeSet::new();
    for net in model.networks.values() {
        let members: Vec<&String> = machines.iter().filter(|(_, a)| in_cidr(a, &net.cidr)).map(|(m, _)| m).collect();
        for resolver in &net.dns {
            let target = format!("{resolver}:53");
            if !by_address.contains_key(&resolver.to_string()) {
                continue;
            }
            if net.isolated {
                isolated_dns.insert(target.clone());
            }
            for m in &members {
                if machines[*m] != resolver.to_string() {
                    connections.insert(((*m).clone(), target.clone()));
                }
            }
        }
    }
    let trusted = trusted_network(model);
    let isolated = model.networks.values().find(|n| n.isolated).expect("an isolated network");
    machines.insert("trusted-client".into(), client_address(&trusted.cidr, &taken));
    machines.insert("isolated-device".into(), client_address(&isolated.cidr, &taken));
    Wiring { machines, further, connections, guarded, isolated_dns }
}

/// The network the trusted client sits on: the first one that is not isolated.
fn trusted_network(model: &Model) -> &hearth_model::model::Network {
    model.networks.values().find(|n| !n.isolated).expect("a trusted network")
}

/// Whether an `allow` entry lets zone `zone` reach `target` (`address:port`), a guarded port
/// (a data port or a route's upstream) that opens to nothing else: the entry names the zone
/// the service listens in (and the port if it lists ports), or names the service and the port.
fn allowed_by_entry(model: &Model, zone: &str, target: &str) -> bool {
    let (address, port) = target.rsplit_once(':').unwrap();
    let port: u16 = port.parse().unwrap();
    model.services.iter().any(|(name, s)| {
        let on = s.on.name();
        let here = s.address.or_else(|| model.machine_address(on)).is_some_and(|a| a.to_string() == address)
            && s.ports.iter().any(|p| p.reachable() == port);
        here && {
            let zones = model.zones_of(on);
            model.policy.allow.iter().any(|a| {
                a.from == zone
                    && ((zones.contains(&a.to.as_str()) && (a.ports.is_empty() || a.ports.contains(&port)))
                        || (a.to == *name && a.ports.contains(&port)))
            })
        }
    })
}

/// Whether a client of network `from` may reach port `port` of `service` listening in `zones`
/// beyond the flows, as docs/SPEC.md words the policy: an `allow` entry from its zone naming
/// the service or one of those zones (and the port, if it lists ports); else, under
/// `default: deny`, its network not isolated and its zone one of those; under `allow`, its
/// network not isolated.
fn zone_admits(model: &Model, from: &hearth_model::model::Network, service: &str, zones: &[&str], port: u16) -> bool {
    let allowed = model.policy.allow.iter().any(|a| {
        a.from == from.zone
            && (a.to == service || zones.contains(&a.to.as_str()))
            && (a.ports.is_empty() || a.ports.contains(&port))
    });
    allowed || (!from.isolated && (!model.policy.deny || zones.contains(&from.zone.as_str())))
}

/// One client per network (`.251`) against every service port the firewall opens to the
/// homelab's networks: `(client, address:port)` and whether it must connect.
fn zone_cases(model: &Model, w: &mut Wiring) -> BTreeMap<(String, String), bool> {
    let mut cases = BTreeMap::new();
    let mut clients = Vec::new();
    for (name, net) in &model.networks {
        let (base, _) = net.cidr.split_once('/').unwrap();
        let o = base.parse::<Ipv4Addr>().unwrap().octets();
        let client = format!("zone-client-{name}");
        w.machines.insert(client.clone(), Ipv4Addr::new(o[0], o[1], o[2], 251).to_string());
        clients.push((client, net));
    }
    for (machine, openings) in &model.firewall {
        for o in openings.iter().filter(|o| o.reason.ends_with("for the homelab's networks")) {
            let Some(service) = o.reason.split(':').next() else { continue };
            let Some(s) = model.services.get(service) else { continue };
            if o.protocol != hearth_spec::ast::L4::Tcp || s.on.name() != machine {
                continue;
            }
            let zones: Vec<&str> = match s.network.as_ref().and_then(|n| model.networks.get(n)) {
                Some(n) => vec![n.zone.as_str()],
                None => model.zones_of(machine),
            };
            let Some(address) = s.address.or_else(|| model.machine_address(machine)) else { continue };
            for (client, net) in &clients {
                let admitted = zone_admits(model, net, service, &zones, o.port);
                cases.insert((client.clone(), format!("{address}:{}", o.port)), admitted);
            }
        }
    }
    cases
}

fn in_cidr(addr: &str, cidr: &str) -> bool {
    let (base, prefix) = cidr.split_once('/').unwrap();
    let (Ok(a), Ok(b), Ok(p)) = (addr.parse::<Ipv4Addr>(), base.parse::<Ipv4Addr>(), prefix.parse::<u32>()) else {
        return false;
    };
    let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
    u32::from(a) & mask == u32::from(b) & mask
}

#[test]
fn the_rendered_homelab_passes_its_own_firewall_and_nothing_else_does() {
    if !can_use_namespaces() {
        return;
    }
    for name in ["ryzen-tiered-lxc-platform", "two-node-docker-pbs"] {
        let model = common::examples().into_iter().find(|(n, _)| n == name).map(|(_, m)| m).unwrap();
        let files = common::render(&model);
        let dir = common::write_tree(&files, &common::temp_dir(&format!("flows-netns-{name}")));
        let mut w = wiring(&model, &files);
        assert!(w.connections.len() > 10, "{name}: {} connections", w.connections.len());
        let zone_cases = zone_cases(&model, &mut w);

        // What must connect, and what must be refused: refusals only where Hearth renders a
        // ruleset (a Proxmox host keeps its own firewall).
        let firewalled: BTreeSet<&String> =
            common::of_kind(&files, Kind::Nftables).into_iter().filter_map(|f| w.machines.get(&f.machine)).collect();
        let owner = |t: &String| {
            let a = t.rsplit_once(':').unwrap().0;
            w.machines.iter().find(|(_, x)| *x == a).map(|(m, _)| m.clone()).or_else(|| {
                w.further
                    .iter()
                    .find(|(_, l)| l.iter().any(|x| x.split_once('/').unwrap().0 == a))
                    .map(|(m, _)| m.clone())
            })
        };
        let guarded_here =
            |t: &String| owner(t).and_then(|m| w.machines.get(&m)).is_some_and(|a| firewalled.contains(a));
        let mut cases: BTreeMap<(String, String), bool> = BTreeMap::new();
        for c in &w.connections {
            cases.insert(c.clone(), true);
        }
        let trusted_zone = trusted_network(&model).zone.clone();
        for t in w.guarded.iter().filter(|t| guarded_here(t)) {
            cases.insert(("trusted-client".into(), t.clone()), allowed_by_entry(&model, &trusted_zone, t));
        }
        let targets: BTreeSet<&String> = w.connections.iter().map(|(_, t)| t).chain(&w.guarded).collect();
        for t in targets.iter().filter(|t| guarded_here(t)) {
            cases.insert(("isolated-device".into(), (*t).clone()), w.isolated_dns.contains(*t));
        }
        for (case, admitted) in zone_cases.iter().filter(|((_, t), _)| guarded_here(t)) {
            cases.insert(case.clone(), *admitted);
        }
        let targets: BTreeSet<&String> = targets.into_iter().chain(zone_cases.keys().map(|(_, t)| t)).collect();
        let mut lab = Lab::new();
        let bridge = lab.ns("br");
        ip(&["-n", &bridge, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &bridge, "link", "set", "br0", "up"]);
        let mut ns_of = BTreeMap::new();
        for (i, (machine, addr)) in w.machines.iter().enumerate() {
            let ns = lab.ns(&i.to_string());
            let port = format!("v{i}");
            ip(&["-n", &bridge, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns]);
            ip(&["-n", &bridge, "link", "set", &port, "master", "br0", "up"]);
            // A /8 puts every subnet of the example on-link: no routes, nothing on the host.
            ip(&["-n", &ns, "addr", "add", &format!("{addr}/8"), "dev", "eth0"]);
            // A further interface's address with its own prefix: the more specific route makes
            // it the source of connections into its network, as on the machine.
            for a in w.further.get(machine).into_iter().flatten() {
                ip(&["-n", &ns, "addr", "add", a, "dev", "eth0"]);
            }
            ip(&["-n", &ns, "link", "set", "eth0", "up"]);
            ns_of.insert(machine.clone(), ns);
        }
        let mut by_address: BTreeMap<String, &String> = w.machines.iter().map(|(m, a)| (a.clone(), m)).collect();
        for (m, list) in &w.further {
            for a in list {
                by_address.insert(a.split_once('/').unwrap().0.to_string(), m);
            }
        }
        let mut ports: BTreeMap<&String, BTreeSet<u16>> = BTreeMap::new();
        for t in &targets {
            let (a, p) = t.rsplit_once(':').unwrap();
            ports.entry(by_address[a]).or_default().insert(p.parse().unwrap());
        }
        for (machine, ps) in &ports {
            listen(&mut lab, &ns_of[*machine], &ps.iter().copied().collect::<Vec<_>>());
        }
        let pairs: Vec<(String, String)> = cases.keys().cloned().collect();
        let open = probe_all(&ns_of, &pairs);
        let broken: Vec<_> = open.iter().filter(|(_, o)| *o != "ok").collect();
        assert!(broken.is_empty(), "{name}: the wiring is broken before any firewall: {broken:?}");

        let mut loaded = 0;
        for f in common::of_kind(&files, Kind::Nftables) {
            if let Some(ns) = ns_of.get(&f.machine) {
                let path = dir.join(&f.machine).join(f.path.trim_start_matches('/'));
                common::run_ok(
                    Command::new("ip").args(["netns", "exec", ns, "nft", "-f"]).arg(path),
                    &format!("nft -f {}", f.machine),
                );
                loaded += 1;
            }
        }
        assert!(loaded >= 3, "{name}: rulesets loaded: {loaded}");

        let results = probe_all(&ns_of, &pairs);
        let wrong: Vec<String> = cases
            .iter()
            .filter(|(k, allowed)| (results[*k] == "ok") != **allowed)
            .map(|((from, to), allowed)| {
                format!(
                    "{from} -> {to}: {}, expected {}",
                    results[&(from.clone(), to.clone())],
                    if *allowed { "connect" } else { "refused" }
                )
            })
            .collect();
        let allowed = cases.values().filter(|a| **a).count();
        eprintln!("{name}: {allowed} connections of the homelab pass, {} others refused", cases.len() - allowed);
        assert!(wrong.is_empty(), "{name}: the firewall disagrees with the rendered homelab:\n{}", wrong.join("\n"));
    }
}

#[test]
fn endpoints_are_found_in_any_text() {
    let text = "url = \"http://10.0.30.14:9090/api/v1/write\"\ntargets: [\"10.0.30.15:3100\", 1.2.3:4]\nv1.10.0.0.1:5";
    let got: Vec<String> = endpoints(text).into_iter().map(|(a, p)| format!("{a}:{p}")).collect();
    assert_eq!(got, ["10.0.30.14:9090", "10.0.30.15:3100"]);
}
