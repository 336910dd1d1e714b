//! IP plan: per network, every address in use (gateway, hosts, guests, extra DNS records, router
//! forward targets) with its machine, role and VLAN, then the free ranges.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use hearth_model::Model;
use ipnet::{IpNet, Ipv4Net};

use crate::machines::kind_label;
use crate::md::Table;

struct Entry {
    machine: String,
    role: String,
}

pub fn write(model: &Model, out: &mut String) {
    out.push_str("## IP plan\n\n");
    if model.networks.is_empty() {
        out.push_str("The spec declares no networks.\n\n");
        return;
    }
    let nets: Vec<(&String, Option<IpNet>)> =
        model.networks.iter().map(|(n, net)| (n, net.cidr.parse::<IpNet>().ok())).collect();
    let entries = entries(model);
    let mut placed: BTreeSet<IpAddr> = BTreeSet::new();
    for (name, parsed) in &nets {
        let Some(net) = model.networks.get(*name) else { continue };
        let vlan = net.vlan.map(|v| v.to_string()).unwrap_or_else(|| "untagged".to_string());
        out.push_str(&format!("### {name}: {}\n\n", net.cidr));
        out.push_str(&format!("VLAN {vlan}, zone `{}`, bridge `{}`.\n\n", net.zone, net.bridge));
        let mut table = Table::new(&["Address", "Machine", "Role", "VLAN"]);
        let mut used: BTreeSet<IpAddr> = BTreeSet::new();
        for (addr, list) in &entries {
            if !parsed.is_some_and(|p| p.contains(addr)) {
                continue;
            }
            used.insert(*addr);
            placed.insert(*addr);
            for e in list {
                table.row(&[addr.to_string(), e.machine.clone(), e.role.clone(), vlan.clone()]);
            }
        }
        if table.is_empty() {
            out.push_str("No address in use.\n\n");
        } else {
            table.write(out);
        }
        match parsed {
            Some(IpNet::V4(v4)) => free_ranges(v4, &used, out),
            _ => out.push_str("Free ranges: not listed for IPv6 networks.\n\n"),
        }
    }
    let mut rest = Table::new(&["Address", "Machine", "Role"]);
    for (addr, list) in &entries {
        if !placed.contains(addr) {
            for e in list {
                rest.row(&[addr.to_string(), e.machine.clone(), e.role.clone()]);
            }
        }
    }
    if !rest.is_empty() {
        out.push_str("### Outside every declared network\n\n");
        rest.write(out);
    }
}

/// Every address the model uses, with what uses it.
fn entries(model: &Model) -> BTreeMap<IpAddr, Vec<Entry>> {
    let mut map: BTreeMap<IpAddr, Vec<Entry>> = BTreeMap::new();
    for (name, n) in &model.networks {
        if let Some(gw) = n.gateway {
            map.entry(gw).or_default().push(Entry { machine: "router".into(), role: format!("gateway of {name}") });
        }
    }
    for (name, h) in &model.hosts {
        if let Some(a) = h.address {
            let role = match h.kind {
                hearth_model::model::HostKind::Proxmox => "Proxmox host".to_string(),
                hearth_model::model::HostKind::BareMetal => "bare-metal host".to_string(),
            };
            map.entry(a).or_default().push(Entry { machine: name.clone(), role: with_services(model, name, role) });
        }
        further(model, name, &h.interfaces, &mut map);
    }
    for (name, g) in &model.guests {
        if let Some(a) = g.address {
            let mut role = format!("{} on {}", kind_label(g), g.host);
            // A router of several networks is named the router of the one this address is on;
            // its other networks' rows are its interfaces there.
            if let Some((net, _)) = model.network_holding(a).filter(|(_, n)| n.router.as_deref() == Some(name.as_str()))
            {
                role = format!("router of {net}, {role}");
            }
            map.entry(a).or_default().push(Entry { machine: name.clone(), role: with_services(model, name, role) });
        }
        further(model, name, &g.interfaces, &mut map);
    }
    for (name, s) in &model.services {
        if let Some(a) = s.address
            && !map.contains_key(&a)
        {
            map.entry(a).or_default().push(Entry { machine: s.on.name().to_string(), role: format!("service {name}") });
        }
    }
    let routed: BTreeSet<&str> = model.routes.iter().map(|r| r.fqdn.as_str()).collect();
    for r in &model.dns_records {
        if routed.contains(r.name.as_str()) {
            continue;
        }
        let list = map.entry(r.address).or_default();
        if list.is_empty() {
            list.push(Entry { machine: "-".into(), role: format!("DNS record {}", r.name) });
        } else if let Some(first) = list.first_mut() {
            first.role.push_str(&format!("; DNS {}", r.name));
        }
    }
    map
}

/// A machine's interfaces beside its primary one, each named by its network, with the services
/// bound to it (`network:`).
fn further(
    model: &Model,
    machine: &str,
    interfaces: &[hearth_model::zones::Interface],
    map: &mut BTreeMap<IpAddr, Vec<Entry>>,
) {
    for i in interfaces.iter().filter(|i| !i.primary) {
        let Some(a) = i.address else { continue };
        let bound: Vec<&str> = model
            .services
            .iter()
            .filter(|(_, s)| s.on.name() == machine && s.network.as_deref() == Some(i.network.as_str()))
            .map(|(n, _)| n.as_str())
            .collect();
        let routes = model.networks.get(&i.network).is_some_and(|n| n.router.as_deref() == Some(machine));
        let mut role = format!("{} on {}", if routes { "router interface" } else { "interface" }, i.network);
        if !bound.is_empty() {
            role.push_str(&format!(" ({})", bound.join(", ")));
        }
        map.entry(a).or_default().push(Entry { machine: machine.to_string(), role });
    }
}

fn with_services(model: &Model, machine: &str, role: String) -> String {
    let names: Vec<&str> = model
        .services
        .iter()
        .filter(|(_, s)| s.on.name() == machine || s.also_on.iter().any(|m| m == machine))
        .map(|(n, _)| n.as_str())
        .collect();
    if names.is_empty() { role } else { format!("{role}: {}", names.join(", ")) }
}

fn free_ranges(net: &Ipv4Net, used: &BTreeSet<IpAddr>, out: &mut String) {
    if net.prefix_len() < 16 {
        out.push_str("Free ranges: not listed for networks larger than a /16.\n\n");
        return;
    }
    let (first, last) = if net.prefix_len() >= 31 {
        (u32::from(net.network()), u32::from(net.broadcast()))
    } else {
        (u32::from(net.network()) + 1, u32::from(net.broadcast()) - 1)
    };
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    let mut start: Option<u32> = None;
    for a in first..=last {
        let free = !used.contains(&IpAddr::V4(Ipv4Addr::from(a)));
        match (free, start) {
            (true, None) => start = Some(a),
            (false, Some(s)) => {
                ranges.push((s, a - 1));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        ranges.push((s, last));
    }
    let total: u32 = ranges.iter().map(|(a, b)| b - a + 1).sum();
    if ranges.is_empty() {
        out.push_str("Free ranges: none.\n\n");
        return;
    }
    let list: Vec<String> = ranges
        .iter()
        .map(|&(a, b)| {
            if a == b {
                format!("`{}`", Ipv4Addr::from(a))
            } else {
                format!("`{}-{}` ({})", Ipv4Addr::from(a), Ipv4Addr::from(b), b - a + 1)
            }
        })
        .collect();
    out.push_str(&format!(
        "Free ranges ({total} addresses not used by any machine, gateway or DNS record; DHCP pools and \
         reserved ranges are not part of the resolved model and are not subtracted): {}.\n\n",
        list.join(", ")
    ));
}
