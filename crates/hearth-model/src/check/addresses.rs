//! Addresses: each given once and inside its network (a reserved range only keeps the allocator
//! out, so a static address may sit in one); DNS records pointing at addresses that exist.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use hearth_spec::{Code, Diagnostic, Span, Spec};

use crate::model::Model;
use crate::origins::Origins;

pub(super) fn addresses(spec: &Spec, origins: &Origins, out: &mut Vec<Diagnostic>) {
    let mut first: HashMap<IpAddr, (&str, Span)> = HashMap::new();
    // In file order, so "first use" is the one read first.
    let mut claims: Vec<&(IpAddr, String, Span)> = origins.addresses.iter().collect();
    claims.sort_by_key(|(_, _, span)| *span);
    for (addr, owner, span) in claims {
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
    // The network's own router (a pfSense or OPNsense guest) is what holds the gateway address.
    let router = net.router.as_ref().is_some_and(|r| r.value == owner);
    if net.gateway.as_ref().is_some_and(|g| g.value.0 == addr) && !router {
        out.push(
            Diagnostic::new(
                Code::ReservedAddress,
                span,
                format!("address {addr} of `{owner}` is the gateway of `{net_name}`"),
            )
            .label("this is the gateway")
            .help(format!(
                "pick another address, or leave `address:` out to have one allocated; if `{owner}` routes `{net_name}`, write `router: {owner}` on the network"
            )),
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

pub(super) fn routes_to_nowhere(spec: &Spec, model: &Model, origins: &Origins, out: &mut Vec<Diagnostic>) {
    let known: BTreeSet<IpAddr> =
        origins.addresses.iter().map(|a| a.0).chain(model.guests.values().filter_map(|g| g.address)).collect();
    let Some(dns) = &spec.dns else { return };
    let zone = dns.zone.as_ref().map(|z| z.value.clone()).or_else(|| model.domain.clone()).unwrap_or_default();
    // The first record of each name, which the resolver serves.
    let mut first: BTreeMap<String, (&str, IpAddr)> = BTreeMap::new();
    for e in &dns.records.entries {
        let a = e.value.value.0;
        let fqdn = if e.name.contains('.') { e.name.clone() } else { format!("{}.{zone}", e.name) };
        match first.get(&fqdn) {
            Some((other, b)) if *b != a => out.push(
                Diagnostic::new(
                    Code::DuplicateRecord,
                    e.key_span,
                    format!(
                        "record `{}` gives `{fqdn}` a second address; record `{other}` already answers {b}",
                        e.name
                    ),
                )
                .help(format!("remove one of the records `{other}` and `{}`: only `{other}` is served", e.name))
                .suggest_removal(e.key_span.to(e.value.span)),
            ),
            Some(_) => {}
            None => {
                first.insert(fqdn.clone(), (e.name.as_str(), a));
            }
        }
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
        // Whether the exposure's answer (the proxy's address) is served instead of the record's.
        let not_served = model.dns_records.iter().any(|r| r.name == fqdn && r.address != a);
        if let Some((svc, _)) = model.services.iter().find(|(_, s)| s.exposes.iter().any(|x| x.fqdn == fqdn)) {
            let note =
                if not_served { ", which answers with the proxy's address, so the record is not served" } else { "" };
            out.push(
                Diagnostic::new(
                    Code::RecordShadowsExposure,
                    e.key_span,
                    format!(
                        "record `{}` gives `{fqdn}` a second address; `{svc}` already exposes that name{note}",
                        e.name
                    ),
                )
                .help("remove the record: exposed names get their record (pointing at the proxy) automatically")
                .suggest_removal(e.key_span.to(e.value.span)),
            );
        }
    }
}
