//! Machines on several networks and the zone policy: an interface's address inside its network
//! (E820), one interface per network (E821), a primary `network:` beside `interfaces:` (E822),
//! policy entries naming zones and services that exist (E823) and opening something (W820), a
//! network's `router:` an unmanaged guest on it (E825), and a service's `network:` one of its
//! machine's (E826). The flows a policy denies are `flows`'s (E824).

use std::collections::BTreeMap;

use hearth_spec::ast::Interface;
use hearth_spec::{Code, Diagnostic, NamedMap, Sp, Span, Spec, suggest};

use crate::model::Model;

pub(super) fn zones(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.guests.entries {
        let g = &e.value;
        machine(spec, &e.name, "guest", e.key_span, g.network.as_ref(), &g.interfaces, g.spans.key("interfaces"), out);
    }
    for e in &spec.hosts.entries {
        let h = &e.value;
        machine(spec, &e.name, "host", e.key_span, h.network.as_ref(), &h.interfaces, h.spans.key("interfaces"), out);
    }
    routers(spec, model, out);
    policy(spec, model, out);
    service_networks(spec, model, out);
}

/// The interfaces of one guest or host.
#[allow(clippy::too_many_arguments)]
fn machine(
    spec: &Spec,
    name: &str,
    kind: &str,
    key: Span,
    primary: Option<&Sp<String>>,
    interfaces: &[Interface],
    interfaces_key: Option<Span>,
    out: &mut Vec<Diagnostic>,
) {
    if primary.is_none() && !interfaces.is_empty() {
        out.push(
            Diagnostic::new(
                Code::PrimaryInterfaceMissing,
                interfaces_key.unwrap_or(key),
                format!("{kind} `{name}` lists `interfaces:` but has no primary `network:`"),
            )
            .label("further interfaces need a primary one")
            .help(format!(
                "give {kind} `{name}` a `network:` (and `address:`) for SSH and the default route; `interfaces:` lists the networks beside it"
            )),
        );
    }
    let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
    if let Some(p) = primary {
        seen.insert(&p.value, p.span);
    }
    for i in interfaces {
        let net = i.network.value.as_str();
        if let Some(first) = seen.get(net) {
            out.push(
                Diagnostic::new(
                    Code::TwoInterfacesOneNetwork,
                    i.network.span,
                    format!("{kind} `{name}` has two interfaces on network `{net}`"),
                )
                .label("second interface")
                .with(*first, "first interface")
                .help("remove this interface: one address per network is enough, the firewall and DNS name one")
                .suggest_removal(i.span),
            );
            continue;
        }
        seen.insert(net, i.network.span);
        let (Some(a), Some(n)) = (&i.address, spec.networks.get(net)) else { continue };
        let cidr = n.cidr.value.0;
        let gateway = n.gateway.as_ref().is_some_and(|g| g.value.0 == a.value.0)
            && n.router.as_ref().is_none_or(|r| r.value != name);
        if !cidr.contains(&a.value.0) {
            out.push(
                Diagnostic::new(
                    Code::InterfaceOutsideNetwork,
                    a.span,
                    format!("address {} of `{name}`'s interface on `{net}` is outside {cidr}", a.value),
                )
                .label(format!("not in {cidr}"))
                .with(n.cidr.span, "the network's subnet")
                .help(format!("pick an address inside {cidr}, or leave `address:` out to have one allocated")),
            );
        } else if gateway {
            out.push(
                Diagnostic::new(
                    Code::InterfaceOutsideNetwork,
                    a.span,
                    format!("address {} of `{name}`'s interface on `{net}` is the network's gateway", a.value),
                )
                .label("this is the gateway")
                .help(format!(
                    "pick another address; if `{name}` routes `{net}`, write `router: {name}` on network `{net}`"
                )),
            );
        }
    }
}

/// A network's `router:`: a guest with an interface on the network, unmanaged.
fn routers(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.networks.entries {
        let Some(r) = &e.value.router else { continue };
        let net = &e.name;
        let Some(g) = model.guests.get(&r.value) else {
            if !spec.guests.is_declared(&r.value) {
                let names: Vec<&str> = spec.guests.names().collect();
                out.push(crate::diagnostics::unknown_reference(r.span, "guest", &r.value, &names));
            }
            continue;
        };
        if !g.interfaces.iter().any(|i| &i.network == net) {
            out.push(
                Diagnostic::new(
                    Code::RouterGuestInvalid,
                    r.span,
                    format!("router `{}` of network `{net}` has no interface on it", r.value),
                )
                .help(format!("add `{{ network: {net} }}` to the `interfaces:` of guest `{}`", r.value)),
            );
        }
        if g.managed {
            let mut d = Diagnostic::new(
                Code::RouterGuestInvalid,
                r.span,
                format!("router `{}` of network `{net}` is managed by Hearth", r.value),
            )
            .label("a router appliance is configured in its own interface")
            .help(format!(
                "write `managed: false` on guest `{}`: Hearth never logs into a pfSense or OPNsense router",
                r.value
            ));
            if let Some(ge) = spec.guests.entry(&r.value) {
                d = match ge.value.spans.value("managed") {
                    Some(v) => d.suggest(v, "false"),
                    None => d.suggest_edit(hearth_spec::Edit::append(ge.value.span, "managed: false")),
                };
            }
            out.push(d);
        }
    }
}

/// The zones and services policy entries name.
fn policy(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    let Some(p) = &spec.policy else { return };
    let zones = model.zones();
    for a in &p.allow {
        if !zones.contains(&a.from.value.as_str()) {
            out.push(unknown_zone(&a.from, &zones, &spec.services, false));
        }
        let service = model.services.get(&a.to.value);
        if !zones.contains(&a.to.value.as_str()) && service.is_none() && !spec.services.is_declared(&a.to.value) {
            out.push(unknown_zone(&a.to, &zones, &spec.services, true));
            continue;
        }
        // Ports the entry names that nothing it reaches listens on open nothing. What listens is
        // a service's published ports, or a port a connection of the homelab arrives at there
        // (a share on an appliance Hearth does not manage has no service, only its flows).
        let arriving = model.flows.iter().filter(|f| match service {
            Some(_) => f.service.as_deref() == Some(a.to.value.as_str()),
            None => model.zones_of(&f.to).contains(&a.to.value.as_str()),
        });
        let mut listening: Vec<u16> = arriving.map(|f| f.port).collect();
        listening.extend(match service {
            Some(s) => s.ports.iter().filter_map(|p| p.host).collect::<Vec<u16>>(),
            None => model
                .services
                .values()
                .filter(|s| {
                    s.machines().iter().any(|m| model.zones_of(m).contains(&a.to.value.as_str()))
                        || s.network.as_ref().and_then(|n| model.networks.get(n)).is_some_and(|n| n.zone == a.to.value)
                })
                .flat_map(|s| s.ports.iter().filter_map(|p| p.host))
                .collect::<Vec<u16>>(),
        });
        for port in a.ports.iter().filter(|p| !listening.contains(&p.value)) {
            let d = Diagnostic::new(
                Code::AllowOpensNothing,
                port.span,
                format!("nothing in `{}` listens on port {}, so this opens nothing", a.to.value, port.value),
            );
            // Removing the only port would leave `ports: []`, which opens every port.
            out.push(if a.ports.len() > 1 {
                d.help("remove this port, or name one a service there publishes").suggest_removal(port.span)
            } else {
                d.help("name a port a service there publishes")
            });
        }
    }
}

fn unknown_zone(
    name: &Sp<String>,
    zones: &[&str],
    services: &NamedMap<hearth_spec::ast::Service>,
    to: bool,
) -> Diagnostic {
    let mut candidates: Vec<&str> = zones.to_vec();
    if to {
        candidates.extend(services.names());
    }
    let what = if to { "zone or service" } else { "zone" };
    let mut d = Diagnostic::new(Code::UnknownZone, name.span, format!("no {what} is called `{}`", name.value))
        .label(format!("not a {what}"));
    let known = if zones.is_empty() { "none: declare `networks:` first".to_string() } else { zones.join(", ") };
    match suggest::did_you_mean(&name.value, candidates.iter().copied()) {
        Some(meant) => d = d.help(format!("did you mean `{meant}`?")).suggest(name.span, meant),
        None => d = d.help(format!("a zone is a network's `zone:` (by default its name); the zones are {known}")),
    }
    d
}

/// A service's `network:`: one of the networks its machine, and each machine of its `also_on`,
/// has an interface on.
fn service_networks(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.services.entries {
        let Some(net) = &e.value.network else { continue };
        if !spec.networks.is_declared(&net.value) {
            let names: Vec<&str> = spec.networks.names().collect();
            out.push(crate::diagnostics::unknown_reference(net.span, "network", &net.value, &names));
            continue;
        }
        if !model.services.contains_key(&e.name) {
            continue;
        }
        // A replica listens on its own machine's interface on the same network.
        for replica in &e.value.also_on {
            if model.interfaces(&replica.value).iter().all(|i| i.network != net.value) {
                out.push(
                    Diagnostic::new(
                        Code::ServiceNetworkNotOnMachine,
                        replica.span,
                        format!(
                            "`{}` has no interface on network `{}`, so the replica of `{}` cannot listen there",
                            replica.value, net.value, e.name
                        ),
                    )
                    .label(format!("`{}` listens on `{}`", e.name, net.value))
                    .help(format!(
                        "add `{}` to the `interfaces:` of `{}`, or run the replica elsewhere",
                        net.value, replica.value
                    )),
                );
            }
        }
        let machine = e.value.on.value.as_str();
        let on: Vec<&str> = model.interfaces(machine).iter().map(|i| i.network.as_str()).collect();
        if on.contains(&net.value.as_str()) {
            continue;
        }
        let mut d = Diagnostic::new(
            Code::ServiceNetworkNotOnMachine,
            net.span,
            format!("`{machine}` has no interface on network `{}`, so `{}` cannot listen there", net.value, e.name),
        );
        d = match on.as_slice() {
            [] => d.help(format!("give `{machine}` an interface on `{}`, or remove `network:`", net.value)),
            [only] => d
                .help(format!(
                    "`{machine}` is only on `{only}`: name it, or give `{machine}` an interface on `{}`",
                    net.value
                ))
                .suggest(net.span, *only),
            many => d.help(format!(
                "`{machine}` is on {}; name one of them, or add `{}` to its `interfaces:`",
                many.join(", "),
                net.value
            )),
        };
        out.push(d);
    }
}
