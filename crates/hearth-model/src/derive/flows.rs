//! Every connection the rendered homelab makes between its machines, derived from the same model
//! facts the renderers write: scrape targets as Prometheus scrapes them, the agents' push
//! endpoints, Grafana's data sources, Alertmanager and its notification targets, proxy upstreams
//! (consoles included) and the SSO endpoint, Homepage's status probes, `uses` edges (at the port
//! of the connection string, else the provider's main port), backup jobs to their repositories,
//! DNS clients to the DNS server, router forwards, share clients to the share's server. The firewall opens exactly these, from exactly
//! these sources; the checks refuse the ones the spec's own isolation forbids.

use std::collections::BTreeMap;
use std::net::IpAddr;

use hearth_catalog::{Catalog, Provides};
use hearth_spec::ast::{Auth, L4, Protocol};

use crate::model::{Channel, Flow, FlowSource, Model, Placement, Repository, Service, Tls};

/// `host` and `port` of a URL or `host:port` (`http://10.0.0.5:9090/api`, `s3:http://…`,
/// `smtp.example.com:587`, `postgresql://u:p@db:5432/x`); the port defaults by scheme.
pub(crate) fn endpoint(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s.rsplit(':').next().unwrap_or(s), r),
        None => ("", url),
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    let default = match scheme {
        "https" => 443,
        "http" => 80,
        _ => 0,
    };
    // `[v6]:port`, `host:port`, or a bare host.
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        (h.to_string(), after.strip_prefix(':').and_then(|p| p.parse().ok()).unwrap_or(default))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().ok()?),
            None => (authority.to_string(), default),
        }
    };
    (!host.is_empty() && port != 0).then_some((host, port))
}

/// The address and port a restic repository URL reaches, for `s3:`, `rest:` and `sftp:` URLs.
fn repository_endpoint(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once(':')?;
    match scheme {
        "s3" | "rest" => {
            let rest = rest.trim_start_matches("//");
            let (default, rest) = match rest.split_once("://") {
                Some(("https", r)) => (443, r),
                Some((_, r)) => (80, r),
                None => (if scheme == "s3" { 443 } else { 8000 }, rest),
            };
            let authority = rest.split('/').next()?;
            let authority = authority.rsplit('@').next()?;
            match authority.rsplit_once(':') {
                Some((h, p)) => Some((h.to_string(), p.parse().ok()?)),
                None => Some((authority.to_string(), default)),
            }
        }
        "sftp" => {
            let authority = rest.trim_start_matches("//").split(':').next()?;
            Some((authority.rsplit('@').next()?.to_string(), 22))
        }
        _ => None,
    }
}

/// Which machine a host name or address of a rendered URL is: a machine's address, a machine's
/// or service's name, an exposed name (then the proxy's machine, which the name resolves to), or
/// a name of `dns.records`.
struct Resolver<'m> {
    model: &'m Model,
    by_address: BTreeMap<IpAddr, String>,
}

impl<'m> Resolver<'m> {
    fn new(model: &'m Model) -> Self {
        let mut by_address = BTreeMap::new();
        // Every interface's address: a service bound to a further network is reached there.
        for (n, g) in &model.guests {
            for a in g.address.into_iter().chain(g.interfaces.iter().filter_map(|i| i.address)) {
                by_address.entry(a).or_insert_with(|| n.clone());
            }
        }
        for (n, h) in &model.hosts {
            for a in h.address.into_iter().chain(h.interfaces.iter().filter_map(|i| i.address)) {
                by_address.entry(a).or_insert_with(|| n.clone());
            }
        }
        Resolver { model, by_address }
    }

    fn machine(&self, host: &str) -> Option<String> {
        let m = self.model;
        if let Ok(a) = host.parse::<IpAddr>() {
            return self.by_address.get(&a).cloned();
        }
        if m.guests.contains_key(host) || m.hosts.contains_key(host) {
            return Some(host.to_string());
        }
        if let Some(s) = m.services.get(host) {
            return placed(s).map(str::to_string);
        }
        if m.routes.iter().any(|r| r.fqdn == host) {
            return m.ingress.proxy.as_ref().and_then(|p| m.services.get(p)).and_then(placed).map(str::to_string);
        }
        // A name the homelab's DNS answers (`dns.records`, such as a NAS's): the machine at
        // that address, so a scrape of `nas.example.com:9633` opens the NAS's firewall too.
        m.dns_records.iter().find(|r| r.name == host).and_then(|r| self.by_address.get(&r.address).cloned())
    }
}

/// The machine a service runs on, unless it runs in a cluster (reached through its ingress).
fn placed(s: &Service) -> Option<&str> {
    (!matches!(s.on, Placement::Cluster(_))).then(|| s.on.name())
}

/// The port a service is reached at by HTTP clients: its `http` port, else its first.
fn http_port(s: &Service) -> Option<u16> {
    s.port_or_first(&["http"]).map(|p| p.reachable)
}

fn l4(p: Protocol) -> &'static [L4] {
    match p {
        Protocol::Udp => &[L4::Udp],
        Protocol::Dns => &[L4::Tcp, L4::Udp],
        _ => &[L4::Tcp],
    }
}

struct Flows<'m> {
    model: &'m Model,
    /// The service behind each (machine, port), built once: looking it up per flow would scan
    /// every service for every flow.
    ports: BTreeMap<(String, u16), String>,
    out: Vec<Flow>,
}

impl Flows<'_> {
    fn add(&mut self, from: FlowSource, to: &str, port: u16, protocol: L4, reason: String, origin: &str) {
        if from == FlowSource::Machine(to.to_string()) {
            // A machine reaching its own address goes over loopback, which is always open.
            return;
        }
        let service = self.ports.get(&(to.to_string(), port)).cloned();
        self.out.push(Flow { from, to: to.to_string(), service, port, protocol, reason, origin: origin.to_string() });
    }

    /// Every machine of `service` as a source.
    fn sources_of(&self, name: &str) -> Vec<FlowSource> {
        self.model
            .services
            .get(name)
            .map(|s| self.model.source_machines(s).into_iter().map(|m| FlowSource::Machine(m.to_string())).collect())
            .unwrap_or_default()
    }
}

pub fn derive(catalog: &Catalog, model: &mut Model) {
    let flows = {
        let resolver = Resolver::new(model);
        let mut ports = BTreeMap::new();
        for (name, s) in &model.services {
            for machine in s.machines() {
                for p in s.ports.iter().chain(s.companions.iter().flat_map(|c| &c.ports)) {
                    ports.entry((machine.to_string(), p.reachable())).or_insert_with(|| name.clone());
                }
            }
        }
        let mut f = Flows { model, ports, out: Vec::new() };
        uses(catalog, &resolver, &mut f);
        monitoring(&resolver, &mut f);
        ingress(&resolver, &mut f);
        backups(&resolver, &mut f);
        dns(catalog, &mut f);
        forwards(&mut f);
        watcher(&mut f);
        shares(&mut f);
        f.out.sort();
        f.out.dedup();
        f.out
    };
    model.flows = flows;
}

/// Consumers to what they use: the port of the connection string, else the provider's main port
/// (its catalog primary port), else every port it publishes.
fn uses(catalog: &Catalog, resolver: &Resolver, f: &mut Flows) {
    let m = f.model;
    for (cname, c) in &m.services {
        for u in &c.uses {
            let Some(p) = m.services.get(&u.service) else { continue };
            let from = f.sources_of(cname);
            let origin = format!("service/{cname}");
            if let Placement::Cluster(cluster) = &p.on {
                cluster_uses(f, cluster, p, &u.service, c, &from, &origin);
                continue;
            }
            let by_url = u.url.as_ref().and_then(|t| endpoint(&t.to_string()));
            let targets: Vec<(String, u16, Protocol, String)> = match by_url {
                Some((host, port)) => {
                    let Some(machine) = resolver.machine(&host) else { continue };
                    let name = p.ports.iter().find(|x| x.reachable() == port).map_or("port", |x| x.name.as_str());
                    vec![(machine, port, Protocol::Tcp, name.to_string())]
                }
                None => {
                    let app = p.app.as_deref().and_then(|a| catalog.get(a));
                    let primary = app.and_then(|a| a.primary_port()).and_then(|(n, _)| p.port(n).map(|e| (n, e)));
                    let ports: Vec<(String, u16, Protocol)> = match primary {
                        Some((n, e)) => vec![(n.to_string(), e.reachable, e.protocol)],
                        None => p.ports.iter().map(|x| (x.name.clone(), x.reachable(), x.protocol)).collect(),
                    };
                    p.machines()
                        .into_iter()
                        .flat_map(|machine| {
                            ports.iter().map(move |(n, port, proto)| (machine.to_string(), *port, *proto, n.clone()))
                        })
                        .collect()
                }
            };
            for (machine, port, proto, pname) in targets {
                for l in l4(proto) {
                    for src in &from {
                        let reason = format!("{}: {pname} for its consumers", u.service);
                        f.add(src.clone(), &machine, port, *l, reason, &origin);
                    }
                }
            }
        }
    }
}

/// A consumer of a cluster service reaches it at the NodePorts of its ports on every node (any
/// node forwards a NodePort to the pod); pods of the same cluster go through the cluster network
/// and need no opening.
fn cluster_uses(
    f: &mut Flows,
    cluster: &str,
    p: &Service,
    provider: &str,
    consumer: &Service,
    from: &[FlowSource],
    origin: &str,
) {
    if consumer.on == Placement::Cluster(cluster.to_string()) {
        return;
    }
    let nodes: Vec<String> = f.model.cluster_nodes(cluster).into_iter().map(str::to_string).collect();
    for x in &p.ports {
        let Some(&node_port) = p.node_ports.get(&x.name) else { continue };
        for node in &nodes {
            for l in l4(x.protocol) {
                for src in from {
                    let reason = format!("{provider}: {} (NodePort) for its consumers", x.name);
                    f.add(src.clone(), node, node_port, *l, reason, origin);
                }
            }
        }
    }
}

/// Prometheus to its scrape targets and Alertmanager; the agents to Prometheus (Alloy's
/// `remote_write`) and Loki; Grafana to its data sources; Alertmanager to notification targets
/// inside the homelab.
fn monitoring(resolver: &Resolver, f: &mut Flows) {
    let m = f.model;
    let mon = &m.monitoring;
    fn role<'a>(m: &'a Model, n: &'a Option<String>) -> Option<(&'a str, &'a Service)> {
        n.as_ref().and_then(|n| m.services.get(n).map(|s| (n.as_str(), s)))
    }

    let prometheus = role(m, &mon.prometheus).filter(|(_, s)| placed(s).is_some());
    if let Some((pname, _)) = prometheus {
        for job in &mon.scrape {
            let origin = job.origin.as_deref().unwrap_or("monitoring");
            // A probe job's targets are reached by the Blackbox exporter, which Prometheus asks;
            // an ICMP probe's target (no port) needs no opening: every ruleset admits ping.
            let (sources, reason) = match &job.probe {
                Some(probe) => {
                    let Some(exporter) = endpoint(&probe.exporter).and_then(|(h, p)| Some((resolver.machine(&h)?, p)))
                    else {
                        continue;
                    };
                    for src in f.sources_of(pname) {
                        let reason = format!("{}: probes for Prometheus", job.job);
                        f.add(src, &exporter.0, exporter.1, L4::Tcp, reason, origin);
                    }
                    (vec![FlowSource::Machine(exporter.0)], format!("{}: probed by the Blackbox exporter", job.job))
                }
                None => (f.sources_of(pname), format!("{}: metrics for Prometheus", job.job)),
            };
            for t in &job.targets {
                let Some((host, port)) = endpoint(t) else { continue };
                let Some(machine) = resolver.machine(&host) else { continue };
                for src in &sources {
                    f.add(src.clone(), &machine, port, L4::Tcp, reason.clone(), origin);
                }
            }
        }
        if let Some((aname, am)) = role(m, &mon.alertmanager)
            && let (Some(machine), Some(port)) = (placed(am), http_port(am))
        {
            for src in f.sources_of(pname) {
                f.add(src, machine, port, L4::Tcp, format!("{aname}: alerts from Prometheus"), "monitoring");
            }
        }
    }
    // Loki's ruler sends the log-pattern alerts to the same Alertmanager.
    if let Some((lname, _)) = role(m, &mon.loki).filter(|_| !mon.log_rules.is_empty())
        && let Some((aname, am)) = role(m, &mon.alertmanager)
        && let (Some(machine), Some(port)) = (placed(am), http_port(am))
    {
        for src in f.sources_of(lname) {
            f.add(src, machine, port, L4::Tcp, format!("{aname}: log alerts from Loki"), "monitoring");
        }
    }
    let agents: Vec<String> = m.agent_machines().into_iter().map(|(n, _)| n.to_string()).collect();
    let mut pushes = Vec::new();
    if mon.agent.as_deref() == Some("alloy") {
        pushes.push((prometheus, "remote_write from the agents"));
    }
    if matches!(mon.agent.as_deref(), Some("alloy" | "promtail")) {
        pushes.push((role(m, &mon.loki), "logs from the agents"));
    }
    for (target, why) in pushes {
        let Some((tname, t)) = target else { continue };
        let (Some(machine), Some(port)) = (placed(t), http_port(t)) else { continue };
        for a in &agents {
            f.add(FlowSource::Machine(a.clone()), machine, port, L4::Tcp, format!("{tname}: {why}"), "monitoring");
        }
    }
    if let Some((gname, _)) = role(m, &mon.grafana) {
        for source in [role(m, &mon.prometheus), role(m, &mon.loki)].into_iter().flatten() {
            let (sname, s) = source;
            let (Some(machine), Some(port)) = (placed(s), http_port(s)) else { continue };
            for src in f.sources_of(gname) {
                f.add(src, machine, port, L4::Tcp, format!("{sname}: data source of Grafana"), "monitoring");
            }
        }
    }
    if let Some((aname, _)) = role(m, &mon.alertmanager) {
        for (cname, ch) in &m.notifications {
            let url = match ch {
                Channel::Webhook { url } | Channel::Ntfy { url, .. } | Channel::Gotify { url, .. } => url.as_str(),
                Channel::Email { smarthost, .. } => smarthost.as_str(),
                Channel::Telegram { .. } => continue,
            };
            let Some((host, port)) = endpoint(url) else { continue };
            let Some(machine) = resolver.machine(&host) else { continue };
            for src in f.sources_of(aname) {
                let reason = format!("notification `{cname}` from Alertmanager");
                f.add(src, &machine, port, L4::Tcp, reason, &format!("notification/{cname}"));
            }
        }
    }
}

/// The proxy (and the tunnel, which hands everything to the proxy) to every route's upstreams,
/// to the SSO provider's endpoint (a cluster service's upstreams are its NodePorts on every node); Homepage to what its status dots
/// probe (each tile's first upstream).
fn ingress(resolver: &Resolver, f: &mut Flows) {
    let m = f.model;
    let proxy = m.ingress.proxy.clone().filter(|p| m.services.contains_key(p));
    // Without a proxy, the tunnel sends each of its names straight to the route's first
    // upstream (as cloudflared's config is rendered).
    if proxy.is_none()
        && let Some(tunnel) = m.ingress.tunnel.clone()
    {
        for r in m.routes.iter().filter(|r| r.access == hearth_spec::ast::Access::Tunnel) {
            let Some((host, port)) = r.upstreams.first().and_then(|u| endpoint(u)) else { continue };
            let Some(machine) = resolver.machine(&host) else { continue };
            for src in f.sources_of(&tunnel) {
                let reason = format!("{}: {} behind the tunnel", r.service, port_name(m, &r.service, port));
                f.add(src, &machine, port, L4::Tcp, reason, "ingress");
            }
        }
    }
    let Some(proxy) = proxy else { return };
    let proxies = f.sources_of(&proxy);
    for r in &m.routes {
        for u in &r.upstreams {
            let Some((host, port)) = endpoint(u) else { continue };
            let Some(machine) = resolver.machine(&host) else { continue };
            for src in &proxies {
                let reason = format!("{}: {} behind the proxy", r.service, port_name(m, &r.service, port));
                f.add(src.clone(), &machine, port, L4::Tcp, reason, "ingress");
            }
        }
    }
    if m.routes.iter().any(|r| r.auth == Auth::Sso)
        && let Some(sso) = m.ingress.sso.as_ref().and_then(|s| m.services.get(s).map(|x| (s, x)))
        && let (Some(machine), Some(port)) = (placed(sso.1), http_port(sso.1))
    {
        for src in &proxies {
            f.add(src.clone(), machine, port, L4::Tcp, format!("{}: forward auth for the proxy", sso.0), "ingress");
        }
    }
    // Traefik's Docker provider reads the discovered machine's containers through its socket
    // proxy, whose port is opened to the proxy's machines and nothing else.
    if let Some(d) = &m.ingress.discover
        && let Some(sp) = m.services.get(&d.socket_proxy)
        && let (Some(machine), Some(port)) = (placed(sp), sp.ports.first().and_then(|p| p.host))
    {
        for src in &proxies {
            let reason = format!("{}: Docker API for {proxy}'s discovery", d.socket_proxy);
            f.add(src.clone(), machine, port, L4::Tcp, reason, "ingress");
        }
    }
    // The tunnel reaches the proxy on its HTTPS port, or its HTTP port without TLS.
    if let Some(tunnel) = &m.ingress.tunnel
        && let Some(p) = m.services.get(&proxy)
    {
        let (names, default): (&[&str], u16) =
            if m.ingress.tls == Tls::None { (&["web", "http"], 80) } else { (&["websecure", "https"], 443) };
        let port = names.iter().find_map(|n| p.port(n).filter(|e| e.published)).map_or(default, |e| e.reachable);
        for machine in p.machines() {
            for src in f.sources_of(tunnel) {
                f.add(src, machine, port, L4::Tcp, format!("{proxy}: the tunnel's upstream"), "ingress");
            }
        }
    }
    let dashboard = m.monitoring.dashboard.as_ref().and_then(|d| m.services.get(d).map(|s| (d, s)));
    if let Some((dname, d)) = dashboard
        && d.app.as_deref() == Some("homepage")
    {
        for (sname, s) in &m.services {
            let Some(x) = s.exposes.first() else { continue };
            let Some(up) = m.routes.iter().find(|r| r.fqdn == x.fqdn).and_then(|r| r.upstreams.first()) else {
                continue;
            };
            let Some((host, port)) = endpoint(up) else { continue };
            let Some(machine) = resolver.machine(&host) else { continue };
            for src in f.sources_of(dname) {
                f.add(src, &machine, port, L4::Tcp, format!("{sname}: status probe of {dname}"), "monitoring");
            }
        }
    }
}

fn port_name(m: &Model, service: &str, port: u16) -> String {
    m.services
        .get(service)
        .and_then(|s| s.ports.iter().find(|p| p.reachable() == port))
        .map_or_else(|| port.to_string(), |p| p.name.clone())
}

/// Backup jobs to restic repositories served inside the homelab (MinIO's S3 API, a REST server,
/// SFTP on a storage machine); Proxmox hosts to a Proxmox Backup Server guest for guest backups.
fn backups(resolver: &Resolver, f: &mut Flows) {
    let m = f.model;
    for (repo_name, repo) in &m.backups.repositories {
        let (target, sources): (Option<(String, u16)>, Vec<String>) = match repo {
            Repository::Restic { url, .. } => (
                repository_endpoint(url),
                m.backups
                    .jobs
                    .iter()
                    .filter(|j| m.backups.policies.get(&j.policy).is_some_and(|p| p.to.contains(repo_name)))
                    .map(|j| j.machine.clone())
                    .collect(),
            ),
            Repository::Pbs { server, .. } => (
                Some((server.clone(), 8007)),
                m.backups
                    .guests
                    .iter()
                    .filter(|g| m.backups.policies.get(&g.policy).is_some_and(|p| p.to.contains(repo_name)))
                    .filter_map(|g| m.guests.get(&g.guest).map(|x| x.host.clone()))
                    .collect(),
            ),
            // A folder on the job's own machine: no connection.
            Repository::Dir { .. } => continue,
            // SSH to the machine the target names, from every machine the policy copies from.
            Repository::Rsync { target, port, .. } => (
                crate::remotes::rsync_target(target).map(|t| (t.host.to_string(), port.unwrap_or(22))),
                copy_sources(m, repo_name),
            ),
            Repository::Git { url, .. } => (
                crate::remotes::git_host(url).and_then(|(h, port)| Some((h.to_string(), port?))),
                copy_sources(m, repo_name),
            ),
        };
        let Some((host, port)) = target else { continue };
        let Some(machine) = resolver.machine(&host) else { continue };
        for src in sources {
            let reason = format!("backups to repository `{repo_name}`");
            f.add(FlowSource::Machine(src), &machine, port, L4::Tcp, reason, "backups");
        }
    }
}

/// The machines whose copy jobs write to a repository.
fn copy_sources(m: &Model, repo: &str) -> Vec<String> {
    m.backups.copies.iter().filter(|j| j.repositories.iter().any(|r| r == repo)).map(|j| j.machine.clone()).collect()
}

/// Share clients to the share's server: every machine that mounts it (an LXC container's host)
/// or that its `clients:` names, and every network `clients:` names.
fn shares(f: &mut Flows) {
    let m = f.model;
    for (name, s) in &m.shares {
        let kind = match s.kind {
            hearth_spec::ast::ShareKind::Nfs => "NFS",
            hearth_spec::ast::ShareKind::Smb => "SMB",
        };
        // One reason per kind, so a server's shares with the same clients make one opening.
        let reason = format!("{kind} shares for their clients");
        let origin = format!("share/{name}");
        let sources = s
            .machines
            .iter()
            .map(|c| FlowSource::Machine(c.clone()))
            .chain(s.networks.iter().map(|n| FlowSource::Network(n.clone())));
        for src in sources.collect::<Vec<_>>() {
            f.add(src, &s.machine, s.port, L4::Tcp, reason.clone(), &origin);
        }
    }
}

/// DNS clients to the DNS server's port 53: every network whose `dns:` names one of the server's
/// machines; when no network names any resolver, every network that is not isolated (their
/// clients get the server from the router's DHCP).
fn dns(catalog: &Catalog, f: &mut Flows) {
    let m = f.model;
    let servers: Vec<(&String, &Service)> = m
        .services
        .iter()
        .filter(|(n, s)| {
            m.dns.server.as_ref() == Some(*n)
                || s.app.as_deref().and_then(|a| catalog.get(a)).is_some_and(|a| a.provides(Provides::Dns))
        })
        .filter(|(_, s)| placed(s).is_some())
        .collect();
    let any_listed = m.networks.values().any(|n| !n.dns.is_empty());
    for (name, s) in servers {
        // A resolver kept inside its stack (an Unbound only its Pi-hole asks) has no clients on
        // the network.
        let Some(port) = s.ports.iter().find(|p| p.reachable() == 53 && s.endpoint(p).published) else { continue };
        for machine in s.machines() {
            let address = m.machine_address(machine);
            let clients: Vec<&String> = m
                .networks
                .iter()
                .filter(|(_, n)| if any_listed { address.is_some_and(|a| n.dns.contains(&a)) } else { !n.isolated })
                .map(|(n, _)| n)
                .collect();
            for net in clients {
                for l in l4(if port.protocol == Protocol::Udp { Protocol::Udp } else { Protocol::Dns }) {
                    let reason = format!("{name}: DNS for the homelab");
                    f.add(FlowSource::Network(net.clone()), machine, 53, *l, reason, "dns");
                }
            }
        }
    }
}

/// Router forwards: from anywhere.
fn forwards(f: &mut Flows) {
    let m = f.model;
    for fw in &m.forwards {
        let machine = m.services.get(&fw.to).and_then(placed).map_or_else(|| fw.to.clone(), str::to_string);
        let reason = format!("router forward of WAN port {}", fw.port);
        f.add(FlowSource::Anywhere, &machine, fw.to_port, fw.protocol, reason, "router");
    }
}

/// The watcher's status page, from exactly the networks and machines `monitoring.watcher.from`
/// names: nothing else is let in, and a page on loopback is let in from nowhere.
fn watcher(f: &mut Flows) {
    let Some(w) = f.model.monitoring.watcher.clone() else { return };
    if !w.beyond_loopback() {
        return;
    }
    for from in w.from {
        let reason = format!("{}: status page", crate::model::Watcher::UNIT);
        f.add(from, &w.machine, w.listen.port(), L4::Tcp, reason, "monitoring/watcher");
    }
}

#[cfg(test)]
mod tests {
    use super::endpoint;

    #[test]
    fn endpoints_of_urls() {
        let cases = [
            ("http://10.0.0.5:9090/api/v1/write", Some(("10.0.0.5", 9090))),
            ("https://n8n.example.com/webhook", Some(("n8n.example.com", 443))),
            ("postgresql://u:p@10.0.20.10:5432/x", Some(("10.0.20.10", 5432))),
            ("10.0.30.14:9093", Some(("10.0.30.14", 9093))),
            ("smtp.example.com:587", Some(("smtp.example.com", 587))),
            ("http://[fd00::5]:80/", Some(("fd00::5", 80))),
            ("smtp.example.com", None),
        ];
        for (url, want) in cases {
            assert_eq!(endpoint(url), want.map(|(h, p)| (h.to_string(), p)), "{url}");
        }
    }
}
