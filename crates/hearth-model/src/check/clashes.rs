//! What two parts of the spec claim at once: two networks over the same addresses, one WAN port
//! forwarded twice, a DHCP pool over addresses given to machines.
//!
//! A guest or host that names its network is held to the network's DHCP pool by `addresses`;
//! this module covers every other static address: machines whose network the resolver chose,
//! hosts found by their address, the networks' resolvers and DNS records.

use std::collections::BTreeMap;
use std::net::IpAddr;

use hearth_spec::ast::L4;
use hearth_spec::net::Cidr;
use hearth_spec::{Code, Diagnostic, Span, Spec};
use ipnet::IpNet;

pub(super) fn clashes(spec: &Spec, out: &mut Vec<Diagnostic>) {
    networks(spec, out);
    vlans(spec, out);
    forwards(spec, out);
    dhcp(spec, out);
}

fn overlap(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// Whether anything in the spec sits at an address of `net`, so that moving the network would
/// move it out.
fn pinned(spec: &Spec, name: &str, net: &hearth_spec::Network) -> bool {
    let cidr = net.cidr.value.0;
    net.gateway.is_some()
        || !net.reserved.is_empty()
        || net.dhcp.is_some()
        || net.allocate.is_some()
        || !net.dns.is_empty()
        || spec.guests.iter().any(|(_, g)| {
            g.network.as_ref().is_some_and(|n| n.value == name)
                || g.address.as_ref().is_some_and(|a| cidr.contains(&a.value.0))
        })
        || spec.hosts.iter().any(|(_, h)| {
            h.network.as_ref().is_some_and(|n| n.value == name)
                || h.address.as_ref().is_some_and(|a| cidr.contains(&a.value.0))
        })
}

/// The lowest subnet of `net`'s size that overlaps none of `taken`, within the same /16 (IPv4)
/// or /48 (IPv6) as `net`, so the proposal stays in the homelab's own address plan.
fn free_subnet(net: &IpNet, taken: &[IpNet]) -> Option<IpNet> {
    let prefix = if net.addr().is_ipv4() { 16 } else { 48 };
    if net.prefix_len() <= prefix {
        return None;
    }
    let parent = IpNet::new(net.addr(), prefix).ok()?.trunc();
    let mut subnets = parent.subnets(net.prefix_len()).ok()?;
    subnets.find(|s| !taken.iter().any(|t| overlap(s, t)))
}

fn networks(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let all: Vec<(&str, &hearth_spec::Network)> = spec.networks.iter().collect();
    let taken: Vec<IpNet> = all.iter().map(|(_, n)| n.cidr.value.0).collect();
    for (i, (name, net)) in all.iter().enumerate() {
        let cidr: &Cidr = &net.cidr.value;
        let Some((first, first_net)) = all[..i].iter().find(|(_, o)| overlap(&o.cidr.value.0, &cidr.0)) else {
            continue;
        };
        let d = Diagnostic::new(
            Code::OverlappingNetworks,
            net.cidr.span,
            format!("network `{name}` ({cidr}) overlaps network `{first}` ({})", first_net.cidr.value),
        )
        .label("these addresses belong to two networks")
        .with(first_net.cidr.span, format!("`{first}` is here"));
        let free = free_subnet(&cidr.0, &taken).filter(|_| !pinned(spec, name, net));
        out.push(match free {
            Some(free) => d
                .help(format!("give `{name}` a subnet of its own, e.g. `{free}`"))
                .suggest(net.cidr.span, free.to_string()),
            None => d.help(format!(
                "give `{name}` a subnet of its own that no other network covers, and move its addresses there"
            )),
        });
    }
}

/// Two networks on one VLAN tag and bridge share one Ethernet segment: their zones and isolation
/// are then only addresses. A warning, since two subnets on one segment can be meant.
fn vlans(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<(u16, &str), (&str, Span)> = BTreeMap::new();
    for e in &spec.networks.entries {
        let Some(vlan) = &e.value.vlan else { continue };
        let bridge = e.value.bridge.as_deref().unwrap_or("vmbr0");
        match seen.get(&(vlan.value, bridge)) {
            Some((other, span)) => out.push(
                Diagnostic::new(
                    Code::DuplicateVlan,
                    vlan.span,
                    format!("VLAN {} is given to network `{}` and to network `{other}`", vlan.value, e.name),
                )
                .label("both networks would share one Ethernet segment")
                .with(*span, format!("`{other}` is on it"))
                .help(format!("give `{}` a VLAN tag of its own, or make the two one network", e.name)),
            ),
            None => {
                seen.insert((vlan.value, bridge), (e.name.as_str(), vlan.span));
            }
        }
    }
}

fn forwards(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let Some(router) = &spec.router else { return };
    let mut seen: BTreeMap<(u16, L4), (&str, Span)> = BTreeMap::new();
    for f in &router.forwards {
        let protocol = f.protocol.unwrap_or(L4::Tcp);
        let key = (f.port.value, protocol);
        let Some((other, other_span)) = seen.get(&key) else {
            seen.insert(key, (f.to.value.as_str(), f.port.span));
            continue;
        };
        let target = if *other == f.to.value { "again".to_string() } else { format!("to `{}`", f.to.value) };
        out.push(
            Diagnostic::new(
                Code::DuplicateForward,
                f.port.span,
                format!("WAN port {}/{protocol} is forwarded to `{other}` and {target}", f.port.value),
            )
            .label("the router forwards a WAN port to one place only")
            .with(*other_span, format!("first forwarded to `{other}`"))
            .help(format!(
                "remove one of the forwards, or forward another WAN port with `to_port: {}`",
                f.to_port.as_ref().map_or(f.port.value, |p| p.value)
            )),
        );
    }
}

/// A static address, where it was written, and whose it is.
struct Static {
    addr: IpAddr,
    span: Span,
    owner: String,
}

fn dhcp(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let mut statics: Vec<Static> = Vec::new();
    // Guests and hosts that name their network are already held to its pool by `addresses`.
    for e in &spec.guests.entries {
        if let (Some(a), None) = (&e.value.address, &e.value.network) {
            statics.push(Static { addr: a.value.0, span: a.span, owner: format!("guest `{}`", e.name) });
        }
    }
    for e in &spec.hosts.entries {
        if let (Some(a), None) = (&e.value.address, &e.value.network) {
            statics.push(Static { addr: a.value.0, span: a.span, owner: format!("host `{}`", e.name) });
        }
    }
    // The gateway and the router are left out: they are the DHCP server, which never hands out
    // its own address.
    for e in &spec.networks.entries {
        for r in &e.value.dns {
            statics.push(Static { addr: r.value.0, span: r.span, owner: format!("a resolver of `{}`", e.name) });
        }
    }
    if let Some(dns) = &spec.dns {
        for e in &dns.records.entries {
            let owner = format!("record `{}`", e.name);
            statics.push(Static { addr: e.value.value.0, span: e.value.span, owner });
        }
    }
    for s in statics {
        let pool = spec.networks.entries.iter().find_map(|n| {
            let d = n.value.dhcp.as_ref()?;
            (n.value.cidr.value.contains(s.addr) && d.value.contains(s.addr)).then_some((n.name.as_str(), d))
        });
        let Some((net, range)) = pool else { continue };
        out.push(
            Diagnostic::new(
                Code::AddressInDhcpPool,
                s.span,
                format!("address {} of {} is inside the DHCP pool {} of `{net}`", s.addr, s.owner, range.value),
            )
            .label("the router may hand this address to another device")
            .with(range.span, "DHCP pool")
            .help("pick an address outside the pool, or shrink the pool so that it leaves this address out"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(net: &str, taken: &[&str], expected: Option<&str>) {
        let net: IpNet = net.parse().expect("test subnet");
        let taken: Vec<IpNet> = taken.iter().map(|t| t.parse().expect("test subnet")).collect();
        assert_eq!(free_subnet(&net, &taken).map(|n| n.to_string()).as_deref(), expected);
    }

    #[test]
    fn free_subnets() {
        check("192.168.1.0/24", &["192.168.0.0/16"], None);
        check("192.168.1.0/24", &["192.168.1.0/24", "192.168.0.0/24"], Some("192.168.2.0/24"));
        check("10.0.0.0/8", &["10.0.0.0/8"], None);
        check("fd00:1::/64", &["fd00:1::/64"], Some("fd00:1:0:1::/64"));
    }
}
