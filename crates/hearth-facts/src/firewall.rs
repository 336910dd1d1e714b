//! Facts about the firewall: each opening is reachable from a machine it admits, and for each
//! opening limited to some sources, a machine outside them is refused (dropped or rejected).
//!
//! Probes run from real machines of the homelab, since the source address is what the rules
//! match: for a source written as a network, the first machine by name with an address in it.

use std::net::IpAddr;

use hearth_model::Model;
use hearth_model::model::Opening;
use hearth_spec::ast::L4;
use ipnet::IpNet;

use crate::fact::{Check, Fact};
use crate::place;

/// Whether `a` is covered by a firewall source (an address or a CIDR).
fn covers(source: &str, a: IpAddr) -> bool {
    match source.parse::<IpNet>() {
        Ok(net) => net.contains(&a),
        Err(_) => source.parse::<IpAddr>().is_ok_and(|s| s == a),
    }
}

/// The spec entity an opening comes from: the service on the machine that publishes the port,
/// else the machine itself (SSH, the node exporter, a router forward).
fn source(model: &Model, machine: &str, o: &Opening) -> String {
    model
        .services
        .iter()
        .find(|(_, s)| {
            s.machines().contains(&machine)
                && s.ports.iter().chain(s.companions.iter().flat_map(|c| &c.ports)).any(|p| p.host == Some(o.port))
        })
        .map_or_else(|| place::machine_key(model, machine), |(n, _)| format!("service/{n}"))
}

/// The services on `machine` publishing `port`, which must run for it to answer.
pub(crate) fn listeners<'m>(model: &'m Model, machine: &str, port: u16) -> Vec<&'m str> {
    model
        .services
        .iter()
        .filter(|(_, s)| {
            // A port not published on the machine is still the service's own there when it
            // runs natively (Traefik's dashboard, opened to Prometheus alone).
            s.machines().contains(&machine) && s.ports.iter().any(|p| p.host.unwrap_or(p.container) == port)
        })
        .map(|(n, _)| n.as_str())
        .collect()
}

/// Each opening open from the machines it admits, and closed to one it does not.
pub(crate) fn edges(model: &Model, out: &mut Vec<Fact>) {
    let machines = place::machines(model);
    for (machine, openings) in &model.firewall {
        let Some(target) = model.machine_address(machine) else { continue };
        // Each other machine with the address its probe leaves from: on a machine with several
        // networks, its interface on the target's network (what the target's rules see), else
        // its primary address.
        let others: Vec<(&str, IpAddr)> = machines
            .iter()
            .copied()
            .filter(|m| m != machine)
            .filter_map(|m| model.address_toward(m, Some(target)).map(|a| (m, a)))
            .collect();
        for o in openings {
            let proto = match o.protocol {
                L4::Tcp => "tcp",
                L4::Udp => "udp",
            };
            let base = format!("firewall/{machine}/{proto}/{}", o.port);
            let entity = source(model, machine, o);
            let needs = listeners(model, machine, o.port);
            let udp = (o.protocol == L4::Udp)
                .then(|| "a UDP port has no handshake, so neither reaching it nor being refused shows".to_string());
            let push = |out: &mut Vec<Fact>, id: String, from: &str, open: bool| {
                let check = Check::Connect { address: target, port: o.port, protocol: proto.to_string(), open };
                let skip = place::machine_skip(model, from).or_else(|| place::machine_skip(model, machine));
                let fact =
                    Fact::new(id, machine, from, check, entity.clone()).needs(&needs).skip(udp.clone()).skip(skip);
                out.push(fact);
            };
            // Allowed: one probe per source the opening names (anywhere: one machine).
            let mut admitted: Vec<&str> = Vec::new();
            if o.from.is_empty() {
                admitted.extend(others.first().map(|(m, _)| *m));
            } else {
                for s in &o.from {
                    if let Some((m, _)) = others.iter().find(|(_, a)| covers(s, *a))
                        && !admitted.contains(m)
                    {
                        admitted.push(m);
                    }
                }
            }
            for m in admitted {
                push(out, format!("{base}/from/{m}"), m, true);
            }
            // Refused: the first machine outside every source of every opening of the port.
            let same: Vec<&Opening> =
                openings.iter().filter(|x| x.port == o.port && x.protocol == o.protocol).collect();
            if same.iter().all(|x| !x.from.is_empty()) {
                let admitted = |a: IpAddr| same.iter().any(|x| x.from.iter().any(|s| covers(s, a)));
                if let Some((m, _)) = others.iter().find(|(_, a)| !admitted(*a)) {
                    push(out, format!("{base}/closed-to/{m}"), m, false);
                }
            }
        }
    }
}
