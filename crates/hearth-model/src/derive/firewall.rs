//! Inbound firewall openings per machine Hearth manages (managed guests, hosts with a runtime).
//! Everything not opened here is dropped by the rendered rulesets.
//!
//! The openings are the model's flows (`derive::flows`), each from exactly its sources: a
//! data service's ports, an exposed port and a metrics port open to nothing else. Besides them:
//! SSH from the management zone, the proxy's own ports from anywhere, and every other port of a
//! service (not exposed, no metrics, no data) to the homelab's networks that are not isolated,
//! which keeps IoT and guest networks out by default (the seeds: "IoT devices isolated from main
//! network") while household clients keep reaching what the spec did not put behind the proxy
//! (Plex's discovery, a Tdarr server for its nodes). The zone policy narrows that last group:
//! under `default: deny` such a port opens only to the networks of the zones the service listens
//! in, and an `allow` entry opens a zone's ports (data ports included) or a service's (its data
//! ports only when the entry names them) to another zone, isolated ones included. A flow's
//! source is the address its machine's connection leaves from (`Model::address_toward`): on a
//! machine with several networks, the interface on the destination's network.

use std::collections::{BTreeMap, BTreeSet};

use hearth_catalog::{Catalog, Provides};
use hearth_spec::ast::{L4, Protocol};

use crate::model::{FlowSource, Model, Opening, Placement};

/// A grouped flow's source addresses and CIDRs, and whether it also comes from anywhere.
type Sources = (BTreeSet<String>, bool);

/// Zone names treated as the management zone (SSH comes from there).
const MANAGEMENT: &[&str] = &["management", "mgmt", "admin"];

/// The machines whose firewall Hearth renders: managed guests and hosts with a runtime. Other
/// machines (Proxmox hosts, appliances) are never given a ruleset: a drop policy without their
/// own services' openings would lock them out.
pub(crate) fn firewalled(model: &Model) -> BTreeSet<String> {
    model
        .guests
        .iter()
        .filter(|(_, g)| g.managed)
        .map(|(n, _)| n.clone())
        .chain(model.hosts.iter().filter(|(_, h)| h.runtime.is_some()).map(|(n, _)| n.clone()))
        .collect()
}

pub fn derive(catalog: &Catalog, model: &mut Model) {
    let trusted: Vec<String> = model.networks.values().filter(|n| !n.isolated).map(|n| n.cidr.clone()).collect();
    let management: Vec<String> =
        model.networks.values().filter(|n| MANAGEMENT.contains(&n.zone.as_str())).map(|n| n.cidr.clone()).collect();
    let ssh_from = if management.is_empty() { trusted.clone() } else { management };
    // Where a port no flow names is opened: the networks that are not isolated. A spec without
    // networks has no zones to keep apart, so such a port stays open as before; one whose
    // networks are all isolated opens it nowhere.
    let no_networks = model.networks.is_empty();
    let machines = firewalled(model);
    let mut rules: BTreeMap<String, BTreeSet<Opening>> = BTreeMap::new();
    for m in &machines {
        rules.entry(m.clone()).or_default().insert(Opening {
            port: 22,
            protocol: L4::Tcp,
            from: ssh_from.clone(),
            reason: "SSH from the management zone".into(),
        });
    }

    // The flows, grouped by (machine, port, protocol, reason) with their sources merged. A
    // source without an address cannot be named in a rule: it is left out, and the checks
    // report the flow (E602), so nothing is opened wider to make up for it.
    let mut grouped: BTreeMap<(String, u16, L4, String), Sources> = BTreeMap::new();
    for f in &model.flows {
        if !machines.contains(&f.to) {
            continue;
        }
        let entry = grouped.entry((f.to.clone(), f.port, f.protocol, f.reason.clone())).or_default();
        match &f.from {
            FlowSource::Machine(m) => {
                let to = model.destination(&f.to, f.service.as_deref().and_then(|s| model.services.get(s)));
                if let Some(a) = model.address_toward(m, to) {
                    entry.0.insert(a.to_string());
                }
            }
            FlowSource::Network(n) => {
                if let Some(net) = model.networks.get(n) {
                    entry.0.insert(net.cidr.clone());
                }
            }
            FlowSource::Anywhere => entry.1 = true,
        }
    }
    for ((machine, port, protocol, reason), (from, anywhere)) in grouped {
        if from.is_empty() && !anywhere {
            continue;
        }
        let from = if anywhere { Vec::new() } else { from.into_iter().collect() };
        rules.entry(machine).or_default().insert(Opening { port, protocol, from, reason });
    }

    // Every service port no flow covers: the proxy's from anywhere, a data service's, an exposed
    // port, a share server's or a metrics port from nowhere, the others from the networks that are not isolated.
    // Exposed ports are reached through the proxy: its flows name it. Without one, clients (and
    // a tunnel, whose flows are opened too) reach them directly, like any other port.
    let fronted = model.ingress.proxy.is_some();
    let exposed_ports: BTreeSet<(&str, u16)> = model
        .services
        .iter()
        .filter(|_| fronted)
        .flat_map(|(n, s)| s.exposes.iter().map(move |x| (n.as_str(), x.port)))
        .collect();
    for (name, s) in &model.services {
        if matches!(s.on, Placement::Cluster(_)) {
            continue;
        }
        let app = s.app.as_deref().and_then(|a| catalog.get(a));
        let provides: Vec<Provides> = app.map(|a| a.provides.clone()).unwrap_or_default();
        // Only a metrics port of its own is limited to Prometheus; when the app serves metrics on
        // its main port (Loki, Grafana) that port is for its clients too.
        let primary = app.and_then(|a| a.primary_port()).map(|(n, _)| n.to_string());
        // A port that serves nothing but metrics is Prometheus's even when it is the app's main one.
        let metrics_port = app
            .and_then(|a| a.metrics.as_ref())
            .map(|m| m.port.clone())
            .filter(|m| Some(m) != primary.as_ref() || app.and_then(|a| a.metrics_only_port()) == Some(m.as_str()));
        // Companions' published ports are opened like the service's own: they serve the same clients.
        for p in s.ports.iter().chain(s.companions.iter().flat_map(|c| &c.ports)) {
            let Some(port) = p.host else { continue };
            let protos: &[L4] = match p.protocol {
                Protocol::Udp => &[L4::Udp],
                Protocol::Dns => &[L4::Tcp, L4::Udp],
                _ => &[L4::Tcp],
            };
            // A metrics port is opened to Prometheus by the flows, the proxy's included: its
            // other ports face every client, its metrics do not.
            let metrics = Some(&p.name) == metrics_port.as_ref();
            // A port that serves shares is opened to their clients by the flows, and only to them.
            let serves_shares = model.shares.values().any(|sh| sh.service.as_deref() == Some(name) && sh.port == port);
            let closed = metrics
                || serves_shares
                || provides.iter().any(|k| k.only_to_clients())
                || exposed_ports.contains(&(name.as_str(), port))
                || (provides.contains(&Provides::Dns) && port == 53);
            for machine in s.machines().into_iter().filter(|m| machines.contains(*m)) {
                let (from, reason) = if provides.contains(&Provides::Proxy) && !metrics {
                    (Some(Vec::new()), format!("{name}: {} (reverse proxy)", p.name))
                } else if no_networks && !closed {
                    (Some(Vec::new()), format!("{name}: {} for the homelab's networks", p.name))
                } else {
                    let from = zone_sources(model, name, machine, port, closed);
                    let reason = if closed {
                        format!("{name}: {} for the zones the policy allows", p.name)
                    } else {
                        format!("{name}: {} for the homelab's networks", p.name)
                    };
                    ((!from.is_empty()).then_some(from), reason)
                };
                let Some(from) = from else { continue };
                for proto in protos {
                    let opening = Opening { port, protocol: *proto, from: from.clone(), reason: reason.clone() };
                    rules.entry(machine.to_string()).or_default().insert(opening);
                }
            }
        }
    }
    // An opening to anywhere already admits every source of the same port: the narrower ones
    // would only repeat it.
    for set in rules.values_mut() {
        let open: BTreeSet<(u16, L4)> =
            set.iter().filter(|o| o.from.is_empty()).map(|o| (o.port, o.protocol)).collect();
        set.retain(|o| o.from.is_empty() || !open.contains(&(o.port, o.protocol)));
    }
    cluster_openings(model, &mut rules);
    model.firewall = rules.into_iter().map(|(m, set)| (m, set.into_iter().collect())).collect();
}

/// The networks whose machines may reach `port` of service `name` on `machine` beyond the
/// flows: under `default: allow` every network that is not isolated, under `deny` those of the
/// zones the service listens in; and the zones of the `allow` entries naming the service or a
/// zone it listens in, isolated or not. A data, exposed, DNS or metrics port (`closed`) opens
/// only to such entries: a zone's, or a service's that names the port (`Allow::opens`).
fn zone_sources(model: &Model, name: &str, machine: &str, port: u16, closed: bool) -> Vec<String> {
    let service = model.services.get(name);
    let listens: Vec<&str> = match service.and_then(|s| s.network.as_ref()) {
        Some(net) => model.networks.get(net).map(|n| vec![n.zone.as_str()]).unwrap_or_default(),
        None => model.zones_of(machine),
    };
    let mut from: Vec<String> = Vec::new();
    for n in model.networks.values() {
        let allowed = model.policy.allow.iter().any(|a| a.opens(&n.zone, name, &listens, port, closed));
        let default = !closed && !n.isolated && (!model.policy.deny || listens.contains(&n.zone.as_str()));
        if (allowed || default) && !from.contains(&n.cidr) {
            from.push(n.cidr.clone());
        }
    }
    from
}

/// k3s's pod network (its default `--cluster-cidr`): pods reach the API server and kubelets
/// through the node's own addresses from there.
const K3S_POD_CIDR: &str = "10.42.0.0/16";

/// What the nodes of a cluster need from each other: the API server (6443) on the servers, the
/// kubelet (10250) on every node, embedded etcd (2379, 2380) between servers, and on k3s
/// flannel's VXLAN (8472/udp) between all nodes; on k3s the API server and kubelets also from
/// the pod network. Without these an agent never joins and in-cluster DNS has no API.
fn cluster_openings(model: &Model, rules: &mut BTreeMap<String, BTreeSet<Opening>>) {
    for (cluster, c) in &model.clusters {
        let nodes = model.cluster_nodes(cluster);
        let k3s = c.kind == hearth_spec::ast::ClusterKind::K3s;
        let mut node_addresses: Vec<String> =
            nodes.iter().filter_map(|n| model.machine_address(n).map(|a| a.to_string())).collect();
        node_addresses.sort();
        let mut with_pods = node_addresses.clone();
        if k3s {
            with_pods.push(K3S_POD_CIDR.to_string());
        }
        let mut server_addresses: Vec<String> =
            c.servers.iter().filter_map(|n| model.machine_address(n).map(|a| a.to_string())).collect();
        server_addresses.sort();
        let mut open = |machine: &str, port: u16, protocol: L4, from: &[String], what: &str| {
            if !from.is_empty() {
                rules.entry(machine.to_string()).or_default().insert(Opening {
                    port,
                    protocol,
                    from: from.to_vec(),
                    reason: format!("cluster `{cluster}`: {what}"),
                });
            }
        };
        for server in &c.servers {
            open(server, 6443, L4::Tcp, &with_pods, "API server");
            if c.servers.len() > 1 {
                open(server, 2379, L4::Tcp, &server_addresses, "etcd clients");
                open(server, 2380, L4::Tcp, &server_addresses, "etcd peers");
            }
        }
        for node in &nodes {
            open(node, 10250, L4::Tcp, &with_pods, "kubelet");
            if k3s {
                open(node, 8472, L4::Udp, &node_addresses, "flannel VXLAN");
            }
        }
    }
}
