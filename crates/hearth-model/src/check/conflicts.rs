//! Things two services cannot share: an exposed name, a Redis DB number, a host port.

use std::collections::BTreeMap;

use hearth_spec::ast::Protocol;
use hearth_spec::{Code, Diagnostic, Span};

use crate::origins::Origins;

pub(super) fn subdomains_and_redis(origins: &Origins, out: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<&str, (&str, Span)> = BTreeMap::new();
    // In file order, so "first" is the one read first.
    let mut exposures: Vec<&(String, String, Span)> = origins.exposures.iter().collect();
    exposures.sort_by_key(|(_, _, span)| *span);
    for (fqdn, service, span) in exposures {
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
    let mut redis: Vec<&(String, u32, String, Span)> = origins.redis.iter().collect();
    redis.sort_by_key(|(_, _, _, span)| *span);
    for (server, db, consumer, span) in redis {
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

pub(super) fn ports(origins: &Origins, out: &mut Vec<Diagnostic>) {
    let mut claimed: BTreeMap<(&str, u16, bool), (&str, Span)> = BTreeMap::new();
    // Ports a help line already proposed, so two conflicts on one machine never propose the same
    // port, and one port's TCP and UDP conflicts propose one.
    let mut proposed: Vec<(&str, &str, &str, u16)> = Vec::new();
    for (machine, port, protocol, service, port_name, span) in &origins.ports {
        // DNS listens on both TCP and UDP.
        let layers: &[bool] = match protocol {
            Protocol::Udp => &[true],
            Protocol::Dns => &[false, true],
            _ => &[false],
        };
        for &udp in layers {
            match claimed.get(&(machine.as_str(), *port, udp)) {
                Some((other, other_span)) if other != service => {
                    // Free among every port the machine's services claim, not only those seen so far.
                    let earlier = proposed
                        .iter()
                        .find(|(m, s, n, _)| m == machine && s == service && n == port_name)
                        .map(|(.., p)| *p);
                    let free = earlier.unwrap_or_else(|| {
                        (port.saturating_add(1)..u16::MAX)
                            .find(|p| {
                                !origins.ports.iter().any(|(m, q, ..)| m == machine && q == p)
                                    && !proposed.iter().any(|(m, .., q)| m == machine && q == p)
                            })
                            .unwrap_or(*port)
                    });
                    proposed.push((machine, service, port_name, free));
                    let help = if origins.companions.contains(service) {
                        let name = origins
                            .ports
                            .iter()
                            .find(|(m, q, _, s, ..)| m == machine && q == port && s == other)
                            .map_or("<name>", |(_, _, _, _, n, _)| n.as_str());
                        format!(
                            "`{service}` runs beside its service with the port its app gives it: publish `{other}` on another port, e.g. `ports: {{ {name}: {free} }}`, or move one of them to another machine"
                        )
                    } else {
                        format!(
                            "publish `{service}` on another port, `ports: {{ {port_name}: {free} }}`, or move it to another machine"
                        )
                    };
                    out.push(
                        Diagnostic::new(
                            Code::PortConflict,
                            *span,
                            format!(
                                "port {port}/{} on `{machine}` is taken by `{other}` and `{service}`",
                                if udp { "udp" } else { "tcp" }
                            ),
                        )
                        .label(format!("`{service}` wants {port}"))
                        .with(*other_span, format!("`{other}` has it"))
                        .help(help),
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
