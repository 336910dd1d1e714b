//! Docker Compose projects: one per stack on every Docker machine.
//!
//! For each guest or host whose runtime is `docker`, the services of form `docker` placed on it
//! (by `on:` or as an `also_on:` replica) are grouped by `Service.stack`; each stack becomes
//! `/opt/hearth/stacks/<stack>/compose.yaml`, a plain file `docker compose up -d` runs as it is.
//!
//! Choices, and why:
//! - Non-secret environment is written inline under `environment:`. Compose's `.env` file feeds
//!   interpolation of the compose file, not the containers, and two services of one stack often
//!   set the same variable to different values (two WordPress sites), so a shared file cannot
//!   hold them. No `.env` is written.
//! - Secret environment goes to one mode-0600 file per container,
//!   `/opt/hearth/stacks/<stack>/<container>.secrets.env`, referenced by `env_file:`. One file per
//!   stack would mix variables of the same name from different services and hand every container
//!   the others' passwords.
//! - Every string value has `$` doubled, because Compose interpolates `$VAR` in every value.
//!   Scalars are quoted unless they are plainly safe under YAML 1.1 and 1.2 alike (`80:80` is a
//!   base-60 number to a YAML 1.1 reader, `no` a boolean).
//! - A service with `via:` joins the VPN container's network namespace: `service:<vpn>` when the
//!   VPN is in the same stack (Compose then orders them), `container:<vpn>` otherwise. Such a
//!   service has no ports, hostname or networks of its own; its published ports move to the VPN
//!   container, which is the one listening on the machine.
//! - The model's companions become services `<service>-<companion>` (environment, ports, volumes
//!   and image as resolved) with the service's network placement (so
//!   `http://<service>-<companion>` resolves where the entry expects it).
//! - `resources:` become `cpus` and `mem_limit`, which Compose applies outside Swarm, rather
//!   than `deploy.resources`.
//! - Health probes run inside the container, so they use container ports on `127.0.0.1`; HTTP
//!   probes try `wget` then `curl` and TCP probes `nc` then bash's `/dev/tcp`, because images
//!   ship one or the other.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use hearth_model::model::{Companion, Healthcheck, Placement, Port, Probe as ModelProbe, Service, Template};
use hearth_spec::ast::{Form, Protocol};
use hearth_spec::units::Duration;

use crate::reader::stack_dir;
use crate::{Activation, Context, File, Kind, Output, fill};

/// Renders every stack of every Docker machine.
pub fn render(cx: &Context, out: &mut Output) {
    for_each_stack(cx.model, |on, members| render_stack(cx, on, members, out));
}

/// One container of a rendered stack, as something that starts it needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackContainer {
    pub machine: String,
    /// The stack's folder, as in [`Activation::ComposeUp`].
    pub dir: String,
    /// The Compose service: the spec's service, or `<service>-<companion>`.
    pub key: String,
    /// The spec's service it belongs to.
    pub service: String,
    pub image: String,
    /// The containers it cannot run without on this machine: its `depends_on`, the container
    /// whose network it joins, and for a companion the service it serves.
    pub needs: Vec<String>,
}

/// Every container of every stack, in machine, stack and key order: the lab starts only those
/// whose images (and whose needs' images) its machines have.
pub fn containers(model: &hearth_model::Model) -> Vec<StackContainer> {
    let mut out = Vec::new();
    for_each_stack(model, |on, members| {
        let dir = stack_dir(on.stack);
        let mut sources = BTreeSet::new();
        for &name in members {
            let Some(s) = on.placed.get(name) else { continue };
            let Some(main) = service_container(on, name, s, &mut sources) else { continue };
            for c in &s.companions {
                let c = companion_container(on, name, s, &main, c);
                let mut needs = vec![name.to_string()];
                needs.extend(joined(&c));
                out.push(stack_container(on, &dir, name, &c, needs));
            }
            let mut needs: Vec<String> = main.depends_on.keys().cloned().collect();
            needs.extend(joined(&main));
            out.push(stack_container(on, &dir, name, &main, needs));
        }
    });
    out.sort_by(|a, b| (&a.machine, &a.dir, &a.key).cmp(&(&b.machine, &b.dir, &b.key)));
    out
}

fn stack_container(on: &Machine, dir: &str, service: &str, c: &Container, mut needs: Vec<String>) -> StackContainer {
    needs.sort();
    needs.dedup();
    needs.retain(|n| *n != c.key);
    StackContainer {
        machine: on.name.to_string(),
        dir: dir.to_string(),
        key: c.key.clone(),
        service: service.to_string(),
        image: c.image.clone(),
        needs,
    }
}

/// The container whose network namespace `c` joins (`service:X` or `container:X`), if any.
fn joined(c: &Container) -> Option<String> {
    let mode = c.network_mode.as_deref()?;
    mode.strip_prefix("service:").or_else(|| mode.strip_prefix("container:")).map(str::to_string)
}

/// Calls `f` with each stack of each Docker machine and the services in it, by machine and
/// stack name.
fn for_each_stack(model: &hearth_model::Model, mut f: impl FnMut(&Machine, &[&str])) {
    let mut machines: BTreeSet<&str> = BTreeSet::new();
    machines.extend(
        model.guests.iter().filter(|(_, g)| g.runtime == hearth_spec::ast::Runtime::Docker).map(|(n, _)| n.as_str()),
    );
    machines.extend(
        model
            .hosts
            .iter()
            .filter(|(_, h)| h.runtime == Some(hearth_spec::ast::Runtime::Docker))
            .map(|(n, _)| n.as_str()),
    );
    // Docker services per machine (primary or replica), gathered in one pass over the services.
    let mut by_machine: BTreeMap<&str, BTreeMap<&str, &Service>> = BTreeMap::new();
    for (n, s) in model.services.iter().filter(|(_, s)| s.form == Form::Docker) {
        let primary = match &s.on {
            Placement::Guest(m) | Placement::Host(m) => Some(m.as_str()),
            Placement::Cluster(_) => None,
        };
        for m in primary.into_iter().chain(s.also_on.iter().map(String::as_str)) {
            by_machine.entry(m).or_default().insert(n.as_str(), s);
        }
    }
    let empty = BTreeMap::new();
    for machine in machines {
        let placed = by_machine.get(machine).unwrap_or(&empty);
        let mut stacks: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (name, s) in placed {
            stacks.entry(s.stack.as_str()).or_default().push(name);
        }
        for (stack, members) in stacks {
            let on = Machine { model, name: machine, placed, stack };
            f(&on, &members);
        }
    }
}

/// The stack being rendered and what else runs on its machine.
struct Machine<'a> {
    model: &'a hearth_model::Model,
    name: &'a str,
    placed: &'a BTreeMap<&'a str, &'a Service>,
    stack: &'a str,
}

impl Machine<'_> {
    fn in_stack(&self, service: &str) -> bool {
        self.placed.get(service).is_some_and(|s| s.stack == self.stack)
    }
}

/// One container of a stack, before it is written out.
#[derive(Default)]
struct Container {
    key: String,
    image: String,
    hostname: bool,
    command: Vec<String>,
    user: Option<String>,
    network_mode: Option<String>,
    ports: Vec<String>,
    volumes: Vec<Y>,
    env: BTreeMap<String, Template>,
    cap_add: Vec<String>,
    devices: Vec<String>,
    privileged: bool,
    /// The spec's raw compose keys, merged last.
    raw: Option<serde_json::Value>,
    /// `cpus:` as Compose reads it (a decimal number).
    cpus: Option<String>,
    /// `mem_limit:` in Compose's byte units.
    mem_limit: Option<String>,
    depends_on: BTreeMap<String, &'static str>,
    healthcheck: Option<Y>,
    labels: BTreeMap<String, String>,
    /// GPUs, `/dev/shm`, sysctls, init, groups and Docker networks (the service's own only).
    docker: hearth_model::docker::Settings,
}

fn render_stack(cx: &Context, on: &Machine, members: &[&str], out: &mut Output) {
    let dir = stack_dir(on.stack);
    let daemon = cx.model.docker.get(on.name);
    let mut sources: BTreeSet<String> = BTreeSet::new();
    let mut containers: Vec<Container> = Vec::new();
    // The routers of `ingress.discover.docker`'s services, which Traefik reads from labels.
    let mut routers = crate::traefik_routers::labels(cx);
    for &name in members {
        let Some(s) = on.placed.get(name) else { continue };
        sources.insert(format!("service/{name}"));
        let Some(mut main) = service_container(on, name, s, &mut sources) else { continue };
        if let Some(labels) = routers.remove(name) {
            sources.insert("ingress".to_string());
            main.labels.extend(labels);
        }
        for c in &s.companions {
            containers.push(companion_container(on, name, s, &main, c));
        }
        containers.push(main);
    }
    containers.sort_by(|a, b| a.key.cmp(&b.key));

    let network = format!("hearth-{}", on.stack);
    let mut services = Vec::new();
    for c in &containers {
        let secret: BTreeMap<&String, &Template> = c.env.iter().filter(|(_, v)| v.is_secret()).collect();
        let env_file = (!secret.is_empty()).then(|| format!("{}.secrets.env", c.key));
        if let Some(file) = &env_file {
            let mut text = format!(
                "# Written by Hearth: secret environment of `{}` in stack `{}`. Keep mode 0600.\n",
                c.key, on.stack
            );
            for (k, v) in &secret {
                text.push_str(&format!("{k}={}\n", env_value(&fill(v, cx.secrets))));
            }
            let owner = c.labels.get("hearth.service").unwrap_or(&c.key);
            out.push(
                File::new(on.name, format!("{dir}/{file}"), Kind::EnvSecret, text)
                    .activate(Activation::ComposeUp { dir: dir.clone(), services: None })
                    .from(format!("service/{owner}")),
            );
        }
        services.push((c.key.clone(), container_yaml(c, &network, env_file)));
    }

    let mut doc = vec![("name".to_string(), Y::s(on.stack)), ("services".to_string(), Y::Map(services))];
    let mut networks = Vec::new();
    if containers.iter().any(|c| c.network_mode.is_none()) {
        networks.push((network.clone(), Y::Map(vec![("name".into(), Y::s(&network))])));
    }
    // The machine's Docker networks this stack's containers join: an external one is referred
    // to by name, any other is created by this stack (the checks keep it to one stack, E806).
    let joined: BTreeSet<&str> = containers
        .iter()
        .filter(|c| c.network_mode.is_none())
        .flat_map(|c| c.docker.networks.iter().map(|a| a.network.as_str()))
        .collect();
    for key in joined {
        let Some(n) = daemon.and_then(|d| d.networks.get(key)) else { continue };
        networks.push((key.to_string(), docker_network(n)));
    }
    if !networks.is_empty() {
        doc.push(("networks".into(), Y::Map(networks)));
    }
    let mut text = format!(
        "# Written by Hearth: Compose project `{}` on `{}`. Run `docker compose up -d` in this folder.\n",
        on.stack, on.name
    );
    text.push_str(&Y::Map(doc).to_block(&compose_scalar));
    let mut file = File::new(on.name, format!("{dir}/compose.yaml"), Kind::Compose, text)
        .activate(Activation::ComposeUp { dir: dir.clone(), services: None });
    for src in sources {
        file = file.from(src);
    }
    out.push(file);
}

/// The network mode a service runs with on this machine, and the service it must start after.
fn network_mode(on: &Machine, s: &Service) -> (Option<String>, Option<String>) {
    match (&s.via, &s.network_mode) {
        (Some(vpn), mode) if mode.as_deref().is_none_or(|m| m.starts_with("service:")) => {
            if on.in_stack(vpn) {
                (Some(format!("service:{vpn}")), Some(vpn.clone()))
            } else {
                (Some(format!("container:{vpn}")), None)
            }
        }
        (_, mode) => (mode.clone(), None),
    }
}

/// Whether a service's traffic goes through a VPN container (and so its ports belong there).
fn joins_vpn(s: &Service, vpn: &str) -> bool {
    s.via.as_deref() == Some(vpn) && s.network_mode.as_deref().is_none_or(|m| m.starts_with("service:"))
}

fn service_container(on: &Machine, name: &str, s: &Service, sources: &mut BTreeSet<String>) -> Option<Container> {
    let image = s.image.clone()?;
    let (mode, after) = network_mode(on, s);
    if let Some(vpn) = &s.via {
        sources.insert(format!("service/{vpn}"));
    }
    let mut ports = Vec::new();
    if mode.is_none() {
        push_ports(&mut ports, on, s, &s.ports);
        for (client, cs) in on.placed.iter() {
            if *client != name && joins_vpn(cs, name) {
                sources.insert(format!("service/{client}"));
                push_ports(&mut ports, on, s, &cs.ports);
            }
        }
    }
    let mut depends_on = BTreeMap::new();
    for dep in
        s.uses.iter().map(|u| u.service.as_str()).chain(after.as_deref()).chain(s.after.iter().map(String::as_str))
    {
        if dep != name
            && on.in_stack(dep)
            && let Some(d) = on.placed.get(dep)
        {
            let healthy = service_probe(d).is_some();
            depends_on.insert(dep.to_string(), if healthy { "service_healthy" } else { "service_started" });
        }
    }
    let volumes = s.volumes.iter().map(|v| bind(&v.source, &v.target, v.readonly)).collect();
    Some(Container {
        key: name.to_string(),
        image,
        hostname: mode.is_none(),
        command: s.command.clone().unwrap_or_default(),
        user: s.user.clone(),
        network_mode: mode,
        ports,
        volumes,
        env: s.env.clone(),
        cap_add: s.cap_add.clone(),
        devices: s.devices.clone(),
        privileged: s.privileged,
        raw: s.compose.clone(),
        cpus: s.resources.as_ref().and_then(|r| r.cpus).filter(|c| c.is_finite() && *c > 0.0).map(|c| c.to_string()),
        mem_limit: s.resources.as_ref().and_then(|r| r.memory).map(|m| compose_bytes(m.bytes)),
        depends_on,
        healthcheck: service_probe(s).map(|p| p.to_yaml()),
        labels: labels(name, s, None),
        docker: s.docker.clone(),
    })
}

fn companion_container(on: &Machine, name: &str, s: &Service, main: &Container, c: &Companion) -> Container {
    let mut ports = Vec::new();
    if main.network_mode.is_none() {
        push_ports(&mut ports, on, s, &c.ports);
    }
    let healthcheck = c.healthcheck.as_ref().and_then(|h| {
        Check::new(h, |port| {
            c.ports.iter().find(|p| p.name == port).map(|p| (p.container, p.protocol == Protocol::Https))
        })
    });
    Container {
        key: format!("{name}-{}", c.name),
        image: c.image.clone(),
        hostname: main.hostname,
        command: c.command.clone().unwrap_or_default(),
        user: c.user.clone(),
        network_mode: main.network_mode.clone(),
        ports,
        volumes: c.volumes.iter().map(|v| bind(&v.source, &v.target, v.readonly)).collect(),
        env: c.env.clone(),
        depends_on: BTreeMap::new(),
        healthcheck: healthcheck.map(|p| p.to_yaml()),
        labels: labels(name, s, Some(&c.name)),
        ..Container::default()
    }
}

fn labels(name: &str, s: &Service, companion: Option<&str>) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    if let Some(c) = companion {
        labels.insert("hearth.companion".to_string(), c.to_string());
    }
    labels.insert("hearth.group".to_string(), s.group.clone());
    labels.insert("hearth.service".to_string(), name.to_string());
    labels.insert("hearth.stack".to_string(), s.stack.clone());
    labels
}

/// Adds `host:container/proto` for every published port; DNS is both TCP and UDP.
/// A service bound to one network (`network:`) publishes on its machine's address there only;
/// a replica (`also_on`) on its own machine's address on that network (E826 holds each replica's
/// machine to having one).
fn push_ports(out: &mut Vec<String>, on: &Machine, s: &Service, ports: &[Port]) {
    let address = s.network.as_ref().and_then(|net| {
        if s.on.name() == on.name {
            s.address
        } else {
            on.model.interfaces(on.name).iter().find(|i| &i.network == net).and_then(|i| i.address)
        }
    });
    let bind = match address {
        Some(IpAddr::V4(a)) => format!("{a}:"),
        Some(IpAddr::V6(a)) => format!("[{a}]:"),
        None => String::new(),
    };
    for p in ports {
        let Some(host) = p.host else { continue };
        let protocols: &[&str] = match p.protocol {
            Protocol::Udp => &["udp"],
            Protocol::Dns => &["tcp", "udp"],
            Protocol::Http | Protocol::Https | Protocol::Tcp | Protocol::Grpc => &["tcp"],
        };
        for proto in protocols {
            let entry = format!("{bind}{host}:{}/{proto}", p.container);
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
    }
}

/// A bind mount: the short form, or the long one when a path holds a `:` the short form
/// would split on.
fn bind(source: &str, target: &str, readonly: bool) -> Y {
    if source.contains(':') || target.contains(':') {
        let mut m = vec![
            ("type".to_string(), Y::s("bind")),
            ("source".to_string(), Y::s(source)),
            ("target".to_string(), Y::s(target)),
        ];
        if readonly {
            m.push(("read_only".to_string(), Y::Bool(true)));
        }
        Y::Map(m)
    } else if readonly {
        Y::Str(format!("{source}:{target}:ro"))
    } else {
        Y::Str(format!("{source}:{target}"))
    }
}

/// A top-level `networks:` entry for one of the machine's Docker networks.
fn docker_network(n: &hearth_model::docker::Network) -> Y {
    let mut m = vec![("name".to_string(), Y::s(&n.name))];
    if n.external {
        m.push(("external".into(), Y::Bool(true)));
    } else if let Some(subnet) = &n.subnet {
        if subnet.0.addr().is_ipv6() {
            m.push(("enable_ipv6".into(), Y::Bool(true)));
        }
        let config = Y::Seq(vec![Y::Map(vec![("subnet".into(), Y::Str(subnet.to_string()))])]);
        m.push(("ipam".into(), Y::Map(vec![("config".into(), config)])));
    }
    Y::Map(m)
}

/// A container's `networks:`: its stack's network, then the machine's Docker networks it joins
/// with their static addresses and aliases (the long form only when one of those is given).
fn container_networks(c: &Container, network: &str) -> Y {
    if c.docker.networks.is_empty() {
        return Y::Seq(vec![Y::s(network)]);
    }
    let mut m = vec![(network.to_string(), Y::Map(Vec::new()))];
    for a in &c.docker.networks {
        let mut n = Vec::new();
        match a.address {
            Some(std::net::IpAddr::V4(v4)) => n.push(("ipv4_address".to_string(), Y::Str(v4.to_string()))),
            Some(std::net::IpAddr::V6(v6)) => n.push(("ipv6_address".to_string(), Y::Str(v6.to_string()))),
            None => {}
        }
        if !a.aliases.is_empty() {
            n.push(("aliases".into(), Y::strs(&a.aliases)));
        }
        m.push((a.network.clone(), Y::Map(n)));
    }
    Y::Map(m)
}

/// The Docker-only keys of a container: GPUs as a device reservation (what Compose hands the
/// NVIDIA runtime), `shm_size`, `sysctls`, `init` and `group_add`.
fn push_docker_settings(m: &mut Vec<(String, Y)>, d: &hearth_model::docker::Settings) {
    if let Some(gpus) = d.gpus {
        let count = match gpus {
            hearth_spec::ast::Gpus::All => Y::s("all"),
            hearth_spec::ast::Gpus::Count(n) => Y::Int(u64::from(n)),
        };
        let device = Y::Map(vec![
            ("driver".into(), Y::s("nvidia")),
            ("count".into(), count),
            ("capabilities".into(), Y::strs(&["gpu".to_string()])),
        ]);
        let reservations = Y::Map(vec![("devices".into(), Y::Seq(vec![device]))]);
        let resources = Y::Map(vec![("reservations".into(), reservations)]);
        m.push(("deploy".into(), Y::Map(vec![("resources".into(), resources)])));
    }
    if let Some(size) = d.shm_size {
        m.push(("shm_size".into(), Y::s(&compose_bytes(size.bytes))));
    }
    if !d.sysctls.is_empty() {
        m.push(("sysctls".into(), Y::Map(d.sysctls.iter().map(|(k, v)| (k.clone(), Y::s(v))).collect())));
    }
    if d.init {
        m.push(("init".into(), Y::Bool(true)));
    }
    if !d.group_add.is_empty() {
        m.push(("group_add".into(), Y::strs(&d.group_add)));
    }
}

fn container_yaml(c: &Container, network: &str, env_file: Option<String>) -> Y {
    let mut m: Vec<(String, Y)> = vec![("image".into(), Y::s(&c.image)), ("container_name".into(), Y::s(&c.key))];
    if c.hostname {
        m.push(("hostname".into(), Y::s(&c.key)));
    }
    m.push(("restart".into(), Y::s("unless-stopped")));
    if !c.command.is_empty() {
        m.push(("command".into(), Y::strs(&c.command)));
    }
    if let Some(user) = &c.user {
        m.push(("user".into(), Y::s(user)));
    }
    match &c.network_mode {
        Some(mode) => m.push(("network_mode".into(), Y::s(mode))),
        None => m.push(("networks".into(), container_networks(c, network))),
    }
    if !c.ports.is_empty() {
        m.push(("ports".into(), Y::strs(&c.ports)));
    }
    if !c.volumes.is_empty() {
        m.push(("volumes".into(), Y::Seq(c.volumes.clone())));
    }
    if let Some(file) = env_file {
        m.push(("env_file".into(), Y::Seq(vec![Y::Str(file)])));
    }
    let plain: Vec<(String, Y)> =
        c.env.iter().filter(|(_, v)| !v.is_secret()).map(|(k, v)| (k.clone(), Y::Str(v.to_string()))).collect();
    if !plain.is_empty() {
        m.push(("environment".into(), Y::Map(plain)));
    }
    if !c.cap_add.is_empty() {
        m.push(("cap_add".into(), Y::strs(&c.cap_add)));
    }
    if !c.devices.is_empty() {
        m.push(("devices".into(), Y::strs(&c.devices)));
    }
    if c.privileged {
        m.push(("privileged".into(), Y::Bool(true)));
    }
    if let Some(cpus) = &c.cpus {
        m.push(("cpus".into(), Y::Num(cpus.clone())));
    }
    if let Some(mem) = &c.mem_limit {
        m.push(("mem_limit".into(), Y::s(mem)));
    }
    push_docker_settings(&mut m, &c.docker);
    if !c.depends_on.is_empty() {
        let deps =
            c.depends_on.iter().map(|(d, cond)| (d.clone(), Y::Map(vec![("condition".into(), Y::s(cond))]))).collect();
        m.push(("depends_on".into(), Y::Map(deps)));
    }
    if let Some(h) = &c.healthcheck {
        m.push(("healthcheck".into(), h.clone()));
    }
    m.push(("labels".into(), Y::Map(c.labels.iter().map(|(k, v)| (k.clone(), Y::s(v))).collect())));
    // The spec's escape hatch: raw keys replace what Hearth wrote under the same name, except
    // `labels`, which are added to Hearth's (deploy and verify find containers by them).
    if let Some(serde_json::Value::Object(raw)) = &c.raw {
        for (k, v) in raw {
            if k == "labels" {
                let mut labels = raw_labels(v);
                labels.extend(c.labels.clone());
                let node = Y::Map(labels.into_iter().map(|(k, v)| (k, Y::s(&v))).collect());
                if let Some(slot) = m.iter_mut().find(|(key, _)| key == "labels") {
                    slot.1 = node;
                }
                continue;
            }
            let node = Y::from_json(v);
            match m.iter_mut().find(|(key, _)| key == k) {
                Some(slot) => slot.1 = node,
                None => m.push((k.clone(), node)),
            }
        }
    }
    Y::Map(m)
}

/// The spec's raw `labels:`, in either of Compose's forms (a map, or a list of `key=value`).
fn raw_labels(v: &serde_json::Value) -> BTreeMap<String, String> {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    match v {
        serde_json::Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| {
                let s = text(i);
                match s.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (s, String::new()),
                }
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// What a health probe runs.
enum Test {
    Http {
        port: u16,
        https: bool,
        path: String,
    },
    Tcp(u16),
    /// An argument vector, run without a shell.
    Exec(Vec<String>),
}

/// A compose `healthcheck:` block.
struct Check {
    test: Test,
    interval: String,
    timeout: String,
    retries: u32,
    start_period: Option<String>,
}

impl Check {
    /// The compose form of a model healthcheck; `port_of` resolves a port name to the container
    /// port and whether it speaks HTTPS.
    fn new(hc: &Healthcheck, port_of: impl Fn(&str) -> Option<(u16, bool)>) -> Option<Check> {
        let by_ref = |r: &str| r.parse::<u16>().ok().map(|n| (n, false)).or_else(|| port_of(r));
        let test = match &hc.probe {
            ModelProbe::Http { port, path } => {
                let (port, https) = by_ref(port)?;
                Test::Http { port, https, path: path.clone() }
            }
            ModelProbe::Tcp { port } => Test::Tcp(by_ref(port)?.0),
            ModelProbe::Command { argv } => Test::Exec(argv.clone()),
        };
        Some(Check {
            test,
            interval: compose_duration(hc.interval),
            timeout: compose_duration(hc.timeout),
            retries: hc.retries,
            start_period: hc.start_period.map(compose_duration),
        })
    }

    fn to_yaml(&self) -> Y {
        let test = match &self.test {
            Test::Http { port, https, path } => {
                let url = format!("{}://127.0.0.1:{port}{path}", if *https { "https" } else { "http" });
                // A spec's probe path may hold any character; single quotes keep the shell out.
                let url = url.replace('\'', "'\\''");
                let (wget, curl) = if *https { ("--no-check-certificate ", "k") } else { ("", "") };
                vec![
                    "CMD-SHELL".to_string(),
                    format!("wget -q {wget}-O /dev/null '{url}' || curl -fsS{curl} -o /dev/null '{url}' || exit 1"),
                ]
            }
            Test::Tcp(port) => vec![
                "CMD-SHELL".to_string(),
                format!("nc -z 127.0.0.1 {port} || bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}' || exit 1"),
            ],
            Test::Exec(argv) => std::iter::once("CMD".to_string()).chain(argv.iter().cloned()).collect(),
        };
        let mut m = vec![
            ("test".to_string(), Y::strs(&test)),
            ("interval".to_string(), Y::s(&self.interval)),
            ("timeout".to_string(), Y::s(&self.timeout)),
            ("retries".to_string(), Y::Int(u64::from(self.retries))),
        ];
        if let Some(v) = &self.start_period {
            m.push(("start_period".to_string(), Y::s(v)));
        }
        Y::Map(m)
    }
}

/// A service's health probe, from the model's healthcheck (the spec's or the catalog's).
fn service_probe(s: &Service) -> Option<Check> {
    Check::new(s.healthcheck.as_ref()?, |port| {
        s.ports.iter().find(|p| p.name == port).map(|p| (p.container, p.protocol == Protocol::Https))
    })
}

/// A duration in the units Compose reads (`h`, `m`, `s`, `ms`; not days or weeks).
fn compose_duration(d: Duration) -> String {
    let ms = d.millis;
    if ms == 0 {
        "0s".to_string()
    } else if ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// A byte count in Compose's units (`k`, `m`, `g` are powers of 1024), exact.
fn compose_bytes(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "g"), (1 << 20, "m"), (1 << 10, "k")];
    UNITS
        .iter()
        .find(|(size, _)| bytes > 0 && bytes.is_multiple_of(*size))
        .map_or_else(|| format!("{bytes}b"), |(size, unit)| format!("{}{unit}", bytes / size))
}

/// A value for a Compose `env_file`: bare when it holds only harmless characters, otherwise
/// double-quoted with `\`, `"`, `$` and line breaks escaped (Compose expands `$` in unquoted and
/// double-quoted values, and `#` after a space starts a comment).
fn env_value(v: &str) -> String {
    let bare = |c: char| c.is_ascii_alphanumeric() || "_-./:@+,%{}=".contains(c);
    if v.chars().all(bare) {
        return v.to_string();
    }
    let mut out = String::from("\"");
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The YAML a compose file is made of, with keys in the order they are pushed.
type Y = crate::yaml::Node;

/// Compose interpolates `$` in every value; a literal `$` is written `$$`.
fn compose_scalar(s: &str) -> String {
    quote(&s.replace('$', "$$"))
}

use crate::yaml::scalar as quote;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values() {
        assert_eq!(env_value("{{secret:x}}"), "{{secret:x}}");
        assert_eq!(env_value("a$b \"c\" \\ #d"), "\"a\\$b \\\"c\\\" \\\\ #d\"");
    }

    #[test]
    fn byte_units() {
        assert_eq!(compose_bytes(512 << 20), "512m");
        assert_eq!(compose_bytes(2 << 30), "2g");
        assert_eq!(compose_bytes(500_000_000), "500000000b");
        assert_eq!(compose_bytes(1536), "1536b");
        assert_eq!(compose_bytes(2048), "2k");
    }

    #[test]
    fn durations() {
        let d = |t: &str| compose_duration(Duration::parse(t).unwrap());
        assert_eq!(d("30s"), "30s");
        assert_eq!(d("90s"), "90s");
        assert_eq!(d("2m"), "2m");
        assert_eq!(d("1d"), "24h");
        assert_eq!(d("1500ms"), "1500ms");
    }

    #[test]
    fn http_probe_quotes_its_url() {
        let probe = Check {
            test: Test::Http { port: 8080, https: true, path: "/it's".into() },
            interval: "30s".into(),
            timeout: "5s".into(),
            retries: 3,
            start_period: None,
        };
        let out = probe.to_yaml().to_block(&compose_scalar);
        // The shell sees `'…/it'\''s'`; YAML's double quotes escape the backslash.
        assert!(
            out.contains(r#"wget -q --no-check-certificate -O /dev/null 'https://127.0.0.1:8080/it'\\''s'"#),
            "{out}"
        );
        assert!(out.contains("curl -fsSk -o /dev/null"), "{out}");
    }

    #[test]
    fn yaml_shape() {
        let y = Y::Map(vec![
            ("a".into(), Y::Seq(vec![Y::s("x"), Y::Map(vec![("k".into(), Y::s("v")), ("l".into(), Y::Int(1))])])),
            ("b".into(), Y::Map(vec![("c".into(), Y::s("$HOME"))])),
        ]);
        assert_eq!(y.to_block(&compose_scalar), "a:\n  - x\n  - k: v\n    l: 1\nb:\n  c: \"$$HOME\"\n");
    }
}
