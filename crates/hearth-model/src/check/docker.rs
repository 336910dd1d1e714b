//! Docker settings that cannot work as written: a network mode beside what it excludes, Docker-only
//! fields where no Docker container runs, static container addresses outside or twice in their
//! Docker network, a network two stacks would each create, ports with no number, a dropped volume
//! the service has not got, a `docker:` block on a machine without Docker, GPUs on a guest that was
//! given none, and `{{ service.NAME.… }}` references in `env` to what does not exist.

use std::collections::BTreeMap;
use std::net::IpAddr;

use hearth_catalog::Catalog;
use hearth_spec::ast::{self, Form, NetworkMode, Runtime};
use hearth_spec::reference::Value;
use hearth_spec::{Code, Diagnostic, Span, Spec, suggest};

use crate::diagnostics::unknown_reference;
use crate::model::{GuestKind, Model, Placement};
use crate::template::{placeholders, service_ref};

pub fn docker(spec: &Spec, catalog: &Catalog, model: &Model, out: &mut Vec<Diagnostic>) {
    daemons(spec, out);
    for e in &spec.services.entries {
        let (name, svc) = (e.name.as_str(), &e.value);
        ports(name, svc, catalog, out);
        dropped_volumes(name, svc, out);
        env_references(spec, name, svc, model, out);
        let Some(s) = model.services.get(name) else { continue };
        network_mode(name, svc, s, out);
        docker_only(name, svc, s, model, out);
        networks(name, svc, s, model, out);
        gpus(name, svc, s, model, out);
    }
    shared_networks(spec, model, out);
}

/// The Docker-only fields a service writes, with their key spans.
fn docker_fields(svc: &ast::Service) -> Vec<(&'static str, Span)> {
    let written = [
        ("network_mode", svc.network_mode.is_some()),
        ("user", svc.user.is_some()),
        ("docker_networks", !svc.docker_networks.entries.is_empty()),
        ("gpus", svc.gpus.is_some()),
        ("shm_size", svc.shm_size.is_some()),
        ("sysctls", !svc.sysctls.entries.is_empty()),
        ("init", svc.init.is_some()),
        ("group_add", !svc.group_add.is_empty()),
    ];
    written.into_iter().filter(|(_, w)| *w).filter_map(|(f, _)| Some((f, svc.spans.key(f)?))).collect()
}

/// `docker:` on a machine whose services do not run in Docker (E809).
fn daemons(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let hosts = spec.hosts.iter().map(|(n, h)| (n, "host", h.docker.is_some(), h.runtime.as_ref(), &h.spans));
    let guests = spec.guests.iter().map(|(n, g)| (n, "guest", g.docker.is_some(), g.runtime.as_ref(), &g.spans));
    for (name, kind, has, runtime, spans) in hosts.chain(guests) {
        if !has || runtime.is_some_and(|r| r.value == Runtime::Docker) {
            continue;
        }
        let Some(span) = spans.key("docker") else { continue };
        let runtime = runtime.map_or("native", |r| r.value.as_str());
        out.push(
            Diagnostic::new(
                Code::DockerWithoutRuntime,
                span,
                format!("{kind} `{name}` has Docker settings but its runtime is `{runtime}`"),
            )
            .label("no Docker daemon runs here to read them")
            .help(format!("give `{name}` `runtime: docker`, or remove its `docker:` block")),
        );
    }
}

/// A port with no number at all, or one both published on a host port and `publish: false` (E807);
/// an exposed port with `publish: false` (E920).
fn ports(name: &str, svc: &ast::Service, catalog: &Catalog, out: &mut Vec<Diagnostic>) {
    let app = svc.app.as_ref().and_then(|a| catalog.get(&a.value));
    for e in &svc.ports.entries {
        let p = &e.value;
        let unpublished = p.publish.as_ref().filter(|v| !v.value);
        if let (Some(off), Some(host)) = (unpublished, &p.host) {
            out.push(
                Diagnostic::new(
                    Code::PortWithoutNumber,
                    host.span,
                    format!("port `{}` of `{name}` has a `host:` port but `publish: false`", e.name),
                )
                .label("an unpublished port has no port on the machine")
                .with(off.span, "not published")
                .help("remove `host:` to keep the port inside the stack, or remove `publish: false` to publish it"),
            );
        }
        let exposed = svc.expose.as_ref().is_some_and(|x| {
            x.0.iter().any(|ex| match &ex.port {
                Some(port) => port.value == e.name,
                None => app.and_then(|a| a.primary_port()).is_some_and(|(n, _)| n == e.name),
            })
        });
        if let (Some(off), None, true) = (unpublished, &p.host, exposed) {
            out.push(
                Diagnostic::new(
                    Code::ExposedPortUnpublished,
                    off.span,
                    format!("port `{}` of `{name}` is exposed through the proxy but `publish: false`", e.name),
                )
                .label("the proxy reaches its upstreams at their machine's address")
                .help("remove `publish: false`: the firewall opens an exposed port to the proxy alone")
                .suggest_removal(p.spans.key("publish").map_or(off.span, |k| k.to(off.span))),
            );
        }
        let in_catalog = app.is_some_and(|a| a.ports.contains(&e.name));
        if !in_catalog && p.host.is_none() && p.container.is_none() {
            out.push(
                Diagnostic::new(
                    Code::PortWithoutNumber,
                    e.key_span,
                    format!("port `{}` of `{name}` has no number", e.name),
                )
                .label("neither `host:` nor `container:` is given")
                .help(if unpublished.is_some() {
                    "give the port the container listens on: `container: 8080`"
                } else {
                    "give the port: `host: 8080`, and `container:` when the container listens on another"
                }),
            );
        }
    }
}

/// `volumes: { NAME: false }` on a service with no catalog app, which has no volume to drop (E808).
fn dropped_volumes(name: &str, svc: &ast::Service, out: &mut Vec<Diagnostic>) {
    if svc.app.is_some() {
        return;
    }
    for e in svc.volumes.entries.iter().filter(|e| e.value.value == crate::docker::DROP_VOLUME) {
        out.push(
            Diagnostic::new(
                Code::DropsNoVolume,
                e.value.span,
                format!("volume `{}` of `{name}` is dropped, but `{name}` has no catalog app", e.name),
            )
            .label("only a catalog app's volumes can be dropped")
            .help("remove the entry: a service given by `image:` has only the volumes it lists")
            .suggest_removal(e.key_span.to(e.value.span)),
        );
    }
}

/// `network_mode:` beside what it excludes (E800).
fn network_mode(name: &str, svc: &ast::Service, s: &crate::model::Service, out: &mut Vec<Diagnostic>) {
    let Some(mode) = &svc.network_mode else { return };
    let conflict = |span: Span, message: String| {
        Diagnostic::new(Code::NetworkModeConflict, span, message).with(mode.span, "the network mode")
    };
    if let Some(via) = &svc.via {
        out.push(
            conflict(via.span, format!("`{name}` has both `network_mode: {}` and `via:`", mode.value.as_str()))
                .label("`via` joins the VPN container's network instead")
                .help("keep one of `network_mode:` and `via:`"),
        );
    }
    if let Some(span) = svc.spans.key("docker_networks") {
        out.push(
            conflict(span, format!("`{name}` joins Docker networks but has `network_mode: {}`", mode.value.as_str()))
                .label("a container outside Docker's networks cannot join one")
                .help("remove `docker_networks:` or `network_mode:`"),
        );
    }
    for e in &svc.ports.entries {
        let p = &e.value;
        match mode.value {
            NetworkMode::None => out.push(
                conflict(e.key_span, format!("port `{}` of `{name}` with `network_mode: none`", e.name))
                    .label("a container without a network has no ports")
                    .help("remove the port, or `network_mode: none`"),
            ),
            NetworkMode::Host => {
                let Some(model_port) = s.ports.iter().find(|x| x.name == e.name) else { continue };
                if let Some(off) = p.publish.as_ref().filter(|v| !v.value) {
                    out.push(
                        conflict(
                            off.span,
                            format!("port `{}` of `{name}` is unpublished under `network_mode: host`", e.name),
                        )
                        .label("on the host's network every port the process opens is on the machine")
                        .help("remove `publish: false`, or `network_mode: host`"),
                    );
                }
                let Some(host) = &p.host else { continue };
                if host.value != model_port.container {
                    let container = model_port.container;
                    out.push(
                        conflict(
                            host.span,
                            format!(
                                "port `{}` of `{name}` maps {} to {container}, but `network_mode: host` maps nothing",
                                e.name, host.value
                            ),
                        )
                        .label(format!("the process listens on {container} of the machine itself"))
                        .help(format!("write `{container}`, the port it listens on"))
                        .suggest(host.span, container.to_string()),
                    );
                }
            }
        }
    }
    if mode.value == NetworkMode::None
        && let Some(span) = svc.spans.key("expose")
    {
        out.push(
            conflict(span, format!("`{name}` is exposed but has `network_mode: none`"))
                .label("the proxy cannot reach a container without a network")
                .help("remove `expose:`, or `network_mode: none`"),
        );
    }
}

/// Docker-only fields on a service that is no Docker container on a Docker machine, and Docker
/// networks on NixOS, whose containers join one network that nothing would create (E801).
fn docker_only(name: &str, svc: &ast::Service, s: &crate::model::Service, model: &Model, out: &mut Vec<Diagnostic>) {
    let why = match (&s.on, s.form) {
        (Placement::Cluster(c), _) => Some(format!("it runs as a pod on cluster `{c}`")),
        (_, Form::Native) => Some("it runs natively, not in a container".to_string()),
        (_, Form::Appliance) => Some("its appliance runs it".to_string()),
        _ => None,
    };
    if let Some(why) = why {
        for (field, span) in docker_fields(svc) {
            out.push(
                Diagnostic::new(
                    Code::DockerOnlySetting,
                    span,
                    format!("`{field}` of `{name}` is a Docker setting, but {why}"),
                )
                .label("nothing would apply it")
                .help(format!("remove `{field}`, or run `{name}` in Docker (`form: docker` on a Docker machine)")),
            );
        }
        return;
    }
    if model.is_nixos(s.on.name())
        && let Some(span) = svc.spans.key("docker_networks")
    {
        out.push(
            Diagnostic::new(
                Code::DockerOnlySetting,
                span,
                format!("`docker_networks` of `{name}` cannot be rendered on NixOS guest `{}`", s.on.name()),
            )
            .label("NixOS containers join one network, and nothing there creates another")
            .help("remove `docker_networks:`, or run the service on a Docker machine that is not NixOS"),
        );
    }
}

/// Each Docker network a service joins: declared on its machine (E201), its static address
/// inside the network's subnet (E805, E803).
fn networks(name: &str, svc: &ast::Service, s: &crate::model::Service, model: &Model, out: &mut Vec<Diagnostic>) {
    let declared = model.docker.get(s.on.name()).map(|d| &d.networks);
    for e in &svc.docker_networks.entries {
        let Some(n) = declared.and_then(|d| d.get(&e.name)) else {
            // A network the service already joins is no fix: the edit would write its key twice.
            let names: Vec<&str> = declared
                .map(|d| d.keys().map(String::as_str).filter(|n| !svc.docker_networks.contains(n)).collect())
                .unwrap_or_default();
            let mut d = unknown_reference(e.key_span, "Docker network", &e.name, &names);
            if names.is_empty() {
                d = d.help(format!(
                    "declare it under `docker: {{ networks: {{ {}: {{}} }} }}` of `{}`",
                    e.name,
                    s.on.name()
                ));
            }
            out.push(d);
            continue;
        };
        let Some(address) = &e.value.address else { continue };
        let addr = address.value.0;
        let Some(subnet) = n.subnet else {
            out.push(
                Diagnostic::new(
                    Code::DockerAddressWithoutSubnet,
                    address.span,
                    format!("`{name}` has a static address on Docker network `{}`, which has no `subnet:`", e.name),
                )
                .label("Docker assigns a static address only inside a subnet it was told")
                .help(format!("give network `{}` its `subnet:` under the machine's `docker.networks`", e.name)),
            );
            continue;
        };
        let reserved = match (subnet.0.network(), addr) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                a == net || IpAddr::V4(a) == subnet.0.broadcast() || u32::from(a) == u32::from(net).wrapping_add(1)
            }
            (net, a) => a == net,
        };
        if !subnet.contains(addr) || reserved {
            let label = if reserved {
                "Docker keeps this address for the network itself or its gateway".to_string()
            } else {
                format!("outside {subnet}")
            };
            out.push(
                Diagnostic::new(
                    Code::DockerAddressOutsideSubnet,
                    address.span,
                    format!("address {addr} of `{name}` is not usable on Docker network `{}`", e.name),
                )
                .label(label)
                .help(format!("pick an address of {subnet} past its first (the gateway)")),
            );
        }
    }
}

/// Static addresses given twice on one machine's Docker network (E804), and a network that is
/// not `external` joined from two stacks, each of which would try to create it (E806).
fn shared_networks(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    let mut addresses: BTreeMap<(String, String, IpAddr), (String, Span)> = BTreeMap::new();
    let mut stacks: BTreeMap<(String, String), (String, String)> = BTreeMap::new();
    for e in &spec.services.entries {
        let Some(s) = model.services.get(&e.name) else { continue };
        for machine in s.machines() {
            let Some(daemon) = model.docker.get(machine) else { continue };
            for a in &e.value.docker_networks.entries {
                let Some(n) = daemon.networks.get(&a.name) else { continue };
                if let Some(address) = &a.value.address {
                    let key = (machine.to_string(), a.name.clone(), address.value.0);
                    match addresses.get(&key) {
                        Some((other, first)) => out.push(
                            Diagnostic::new(
                                Code::DuplicateDockerAddress,
                                address.span,
                                format!(
                                    "`{}` and `{other}` both have address {} on Docker network `{}` of `{machine}`",
                                    e.name, address.value, a.name
                                ),
                            )
                            .with(*first, "first given here")
                            .help("give each container its own address, or leave one out to let Docker pick"),
                        ),
                        None => {
                            addresses.insert(key, (e.name.clone(), address.span));
                        }
                    }
                }
                if n.external {
                    continue;
                }
                let key = (machine.to_string(), a.name.clone());
                match stacks.get(&key) {
                    Some((stack, other)) if *stack != s.stack => out.push(
                        Diagnostic::new(
                            Code::DockerNetworkInTwoStacks,
                            a.key_span,
                            format!(
                                "Docker network `{}` of `{machine}` is joined from stacks `{stack}` (`{other}`) and `{}` (`{}`)",
                                a.name, s.stack, e.name
                            ),
                        )
                        .label("each stack would create the network, and the second finds it taken")
                        .help(format!(
                            "mark it `external: true` and create it once (`docker network create {}`), or put both services in one `stack:`",
                            n.name
                        )),
                    ),
                    Some(_) => {}
                    None => {
                        stacks.insert(key, (s.stack.clone(), e.name.clone()));
                    }
                }
            }
        }
    }
}

/// GPUs on a guest that was given no GPU (W800): a VM needs a `pci:` device, an LXC the NVIDIA
/// device nodes. A host's GPU is not something the spec records, so hosts are trusted.
fn gpus(name: &str, svc: &ast::Service, s: &crate::model::Service, model: &Model, out: &mut Vec<Diagnostic>) {
    let Some(gpus) = &svc.gpus else { return };
    for machine in s.machines() {
        let Some(g) = model.guests.get(machine) else { continue };
        let (has, wanted) = match g.kind {
            GuestKind::Vm => {
                (g.devices.iter().any(|d| d.device.starts_with("pci:")), "a `pci:` device (the GPU passed through)")
            }
            GuestKind::Lxc => {
                (g.devices.iter().any(|d| d.device.starts_with("/dev/nvidia")), "the `/dev/nvidia*` device nodes")
            }
        };
        if !has {
            out.push(
                Diagnostic::new(
                    Code::GpuWithoutDevice,
                    gpus.span,
                    format!("`{name}` reserves GPUs, but guest `{machine}` was given none"),
                )
                .label("the container would find no GPU")
                .help(format!("give `{machine}` {wanted} under its `devices:`")),
            );
        }
    }
}

/// `{{ service.NAME.address }}` and `{{ service.NAME.port[.PORT] }}` in `env` naming a service or
/// port that does not exist, or a form that is not one of those (E802).
fn env_references(spec: &Spec, name: &str, svc: &ast::Service, model: &Model, out: &mut Vec<Diagnostic>) {
    for v in &svc.env.entries {
        let Value::Text(text) = &v.value.value else { continue };
        for (_, inner) in placeholders(text) {
            let Some(parsed) = service_ref(inner) else { continue };
            let d = |message: String| Diagnostic::new(Code::UnknownEnvReference, v.value.span, message);
            let r = match parsed {
                Ok(r) => r,
                Err(why) => {
                    out.push(d(format!("`env.{}` of `{name}`: {why}", v.name)).label("not a service reference"));
                    continue;
                }
            };
            let Some(t) = model.services.get(r.service) else {
                // A service the spec declares but the model lacks (planned, or failed to resolve)
                // is reported where it is declared.
                if spec.services.is_declared(r.service) {
                    continue;
                }
                let names: Vec<&str> = model.services.keys().map(String::as_str).collect();
                let mut d = d(format!("`env.{}` of `{name}` refers to unknown service `{}`", v.name, r.service))
                    .label("no service has this name");
                if let Some(best) = suggest::did_you_mean(r.service, names.iter().copied()) {
                    d = d.help(format!("did you mean `{best}`?")).suggest_part(
                        v.value.span,
                        format!("service.{}.", r.service),
                        format!("service.{best}."),
                    );
                } else {
                    d = d.help("name a service declared under `services:`");
                }
                out.push(d);
                continue;
            };
            let port = match r.port {
                Some(Some(p)) => p,
                Some(None) if t.ports.is_empty() => {
                    out.push(
                        d(format!(
                            "`env.{}` of `{name}` refers to the port of `{}`, which has none",
                            v.name, r.service
                        ))
                        .label("no port to name")
                        .help(format!("give `{}` a port under `ports:`", r.service)),
                    );
                    continue;
                }
                _ => continue,
            };
            if t.ports.iter().any(|p| p.name == port) {
                continue;
            }
            let names: Vec<&str> = t.ports.iter().map(|p| p.name.as_str()).collect();
            let mut d = d(format!(
                "`env.{}` of `{name}` refers to port `{port}` of `{}`, which has none of that name",
                v.name, r.service
            ))
            .label("no such port");
            if let Some(best) = suggest::did_you_mean(port, names.iter().copied()) {
                d = d.help(format!("`{}` has port `{best}`", r.service)).suggest_part(
                    v.value.span,
                    format!("port.{port}"),
                    format!("port.{best}"),
                );
            } else {
                d = d.help(format!("`{}` has ports: {}", r.service, names.join(", ")));
            }
            out.push(d);
        }
    }
}
