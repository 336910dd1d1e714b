//! Where each lab machine goes: its lab network, its address, and each network's gateway.
//!
//! Pure. Addresses come from the re-addressed model; a machine without one gets the lowest free
//! address of its network, and a network whose spec names no gateway gets the highest address
//! no machine uses (Docker puts its bridge there, and it must not take a machine's address).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use ipnet::Ipv4Net;

use crate::error::Error;
use crate::machines::Machine;

/// The lab networks in use and where every machine sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Every network: name → (lab subnet, gateway).
    pub networks: BTreeMap<String, (Ipv4Net, Ipv4Addr)>,
    /// Per machine, in the order given: network name and address.
    pub machines: Vec<(String, Ipv4Addr)>,
}

/// Places `machines` on the lab subnets (`subnets`, by network name) with the gateways the spec
/// gives (`gateways`, already lab addresses). A machine without a network goes on the only
/// network when there is one.
pub fn place(
    subnets: &BTreeMap<String, Ipv4Net>,
    gateways: &BTreeMap<String, Ipv4Addr>,
    machines: &[Machine],
) -> Result<Placement, Error> {
    let only = if subnets.len() == 1 { subnets.keys().next().cloned() } else { None };
    let mut chosen = Vec::new();
    let mut used: BTreeMap<String, BTreeSet<Ipv4Addr>> = BTreeMap::new();
    for m in machines {
        let net = m
            .network
            .clone()
            .or_else(|| only.clone())
            .ok_or_else(|| Error::UnknownNetwork { machine: m.name.clone(), network: "(none)".to_string() })?;
        let Some(&subnet) = subnets.get(&net) else {
            return Err(Error::UnknownNetwork { machine: m.name.clone(), network: net });
        };
        let address = match m.address {
            Some(IpAddr::V4(a)) => Some(a),
            _ => None,
        };
        if let Some(a) = address {
            used.entry(net.clone()).or_default().insert(a);
        }
        chosen.push((m.name.clone(), net, subnet, address));
    }
    // Every spec network gets its lab network, machines or not, as the homelab has them all.
    let mut networks = BTreeMap::new();
    for (net, &subnet) in subnets {
        let taken = used.entry(net.clone()).or_default();
        let gateway = match gateways.get(net) {
            Some(g) => *g,
            None => subnet.hosts().rev().find(|a| !taken.contains(a)).unwrap_or(subnet.network()),
        };
        networks.insert(net.clone(), (subnet, gateway));
    }
    let mut out = Vec::new();
    for (name, net, subnet, address) in chosen {
        let gateway = networks.get(&net).map_or(subnet.network(), |(_, g)| *g);
        let taken = used.entry(net.clone()).or_default();
        let address = match address {
            Some(a) if a == gateway => {
                return Err(Error::GatewayAddress { machine: name, address: a.to_string() });
            }
            Some(a) => a,
            None => {
                let free = subnet
                    .hosts()
                    .find(|a| *a != gateway && !taken.contains(a))
                    .ok_or_else(|| Error::NoFreeAddress { machine: name.clone(), subnet: subnet.to_string() })?;
                taken.insert(free);
                free
            }
        };
        out.push((net, address));
    }
    Ok(Placement { networks, machines: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Machines as `name[@network][=address]`; the result as `name net address` lines plus
    /// `gateway net address` lines, or the error message.
    fn check(gateways: &[(&str, &str)], machines: &[&str], expected: &str) {
        let subnets: BTreeMap<String, Ipv4Net> = [("lan", "10.200.0.0/24"), ("data", "10.200.1.0/29")]
            .iter()
            .map(|(n, s)| (n.to_string(), s.parse().unwrap()))
            .collect();
        let gateways = gateways.iter().map(|(n, g)| (n.to_string(), g.parse().unwrap())).collect();
        let machines: Vec<Machine> = machines
            .iter()
            .map(|m| {
                let (rest, address) = m.split_once('=').map_or((*m, None), |(r, a)| (r, Some(a.parse().unwrap())));
                let (name, network) = rest.split_once('@').map_or((rest, None), |(n, net)| (n, Some(net.to_string())));
                Machine {
                    name: name.to_string(),
                    network,
                    address,
                    docker: false,
                    interfaces: Vec::new(),
                    proxmox: None,
                }
            })
            .collect();
        let got = match place(&subnets, &gateways, &machines) {
            Ok(p) => {
                let mut lines: Vec<String> =
                    machines.iter().zip(&p.machines).map(|(m, (net, a))| format!("{} {net} {a}", m.name)).collect();
                lines.extend(p.networks.iter().map(|(net, (_, g))| format!("gateway {net} {g}")));
                lines.join("\n")
            }
            Err(e) => e.to_string(),
        };
        assert_eq!(got, expected);
    }

    #[test]
    fn addresses_and_gateways() {
        check(
            &[("lan", "10.200.0.1")],
            &["a@lan=10.200.0.10", "b@lan"],
            "a lan 10.200.0.10\nb lan 10.200.0.2\ngateway data 10.200.1.6\ngateway lan 10.200.0.1",
        );
        // Without a spec gateway the bridge takes the highest address no machine holds.
        check(
            &[],
            &["a@data=10.200.1.6", "b@data"],
            "a data 10.200.1.6\nb data 10.200.1.1\ngateway data 10.200.1.5\ngateway lan 10.200.0.254",
        );
        check(
            &[("lan", "10.200.0.1")],
            &["a@lan=10.200.0.1"],
            "machine `a` has the address `10.200.0.1`, which is its network's gateway in the lab",
        );
        check(&[], &["a@dmz"], "machine `a` is on network `dmz`, which the spec does not define");
        check(&[], &["a"], "machine `a` is on network `(none)`, which the spec does not define");
        check(
            &[],
            &["a@data", "b@data", "c@data", "d@data", "e@data", "f@data"],
            "no free address is left in `10.200.1.0/29` for machine `f`",
        );
    }
}
