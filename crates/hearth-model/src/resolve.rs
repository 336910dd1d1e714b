//! The resolver: spec + catalog + previous allocations -> the resolved [`Model`].
//!
//! It fills defaults, expands catalog apps, allocates what the spec leaves out (guest ids and
//! addresses, Redis DB numbers, database names and users), names the secrets to generate and
//! computes connection strings. Problems met on the way (unknown references, exhausted pools)
//! are reported as diagnostics; the rest of the checks live in `check`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

use hearth_catalog::{App, Catalog, Provides};
use hearth_spec::ast::{self, Access, Auth, BackupChoice, Form, Protocol, Runtime};
use hearth_spec::units::Size;
use hearth_spec::{Code, Diagnostic, Span, Spec, suggest};

use crate::lock::Allocations;
use crate::model::*;
use crate::template::Vars;

/// Where things were written, for the checks that follow resolution.
#[derive(Debug, Default)]
pub struct Origins {
    /// Every address claimed by something: (address, owner, span).
    pub addresses: Vec<(IpAddr, String, Span)>,
    /// Guest id spans.
    pub guest_ids: BTreeMap<String, Span>,
    /// Exposure spans: fqdn -> (service, span).
    pub exposures: Vec<(String, String, Span)>,
    /// Redis DB spans: (server, db, consumer, span).
    pub redis: Vec<(String, u32, String, Span)>,
    /// Host port claims: (machine, port, protocol, service, span).
    pub ports: Vec<(String, u16, Protocol, String, Span)>,
}

/// A host port a service wants, before conflicts are settled.
struct Claim {
    machine: String,
    service: String,
    port_name: String,
    port: u16,
    protocol: Protocol,
    span: Span,
    /// A catalog default for an HTTP port only the proxy talks to: moved when taken.
    movable: bool,
}

/// Everything resolution produced.
pub struct Resolution {
    pub model: Model,
    pub allocations: Allocations,
    pub origins: Origins,
    pub diagnostics: Vec<Diagnostic>,
}

/// Resolves a spec. Pure: reads nothing but its arguments.
pub fn resolve(spec: &Spec, catalog: &Catalog, previous: &Allocations) -> Resolution {
    let mut r = Resolver {
        spec,
        catalog,
        previous,
        allocations: Allocations::default(),
        origins: Origins::default(),
        diags: Vec::new(),
        secrets: BTreeMap::new(),
        claims: Vec::new(),
        redis: BTreeMap::new(),
        database_index: HashMap::new(),
        bucket_index: HashMap::new(),
    };
    let networks = r.networks();
    let hosts = r.hosts();
    let guests = r.guests(&networks);
    let mut model = Model {
        homelab: spec.homelab.as_ref().map(|h| h.value.clone()).unwrap_or_default(),
        domain: spec.domain.as_ref().map(|d| d.value.clone()),
        timezone: spec.timezone.as_ref().map_or_else(|| "UTC".to_string(), |t| t.value.clone()),
        networks,
        hosts,
        guests,
        services: BTreeMap::new(),
        clusters: spec
            .clusters
            .iter()
            .map(|(name, c)| {
                let names = |v: &Vec<hearth_spec::Sp<String>>| v.iter().map(|g| g.value.clone()).collect();
                (
                    name.to_string(),
                    Cluster { kind: c.kind.as_str().to_string(), servers: names(&c.servers), agents: names(&c.agents) },
                )
            })
            .collect(),
        routes: Vec::new(),
        dns_records: Vec::new(),
        databases: Vec::new(),
        redis_dbs: Vec::new(),
        buckets: Vec::new(),
        generated_secrets: Vec::new(),
        external_secrets: Vec::new(),
        ingress: Default::default(),
        dns: Default::default(),
        monitoring: Default::default(),
        notifications: BTreeMap::new(),
        backups: Default::default(),
        firewall: BTreeMap::new(),
        forwards: Vec::new(),
        router_address: spec.router.as_ref().and_then(|r| r.address.as_ref()).map(|a| a.value.0),
        admin: Admin {
            user: spec.admin.as_ref().and_then(|a| a.user.clone()).unwrap_or_else(|| "hearth".into()),
            ssh_keys: spec.admin.as_ref().map(|a| a.ssh_keys.clone()).unwrap_or_default(),
        },
        declared_secrets: spec
            .secrets
            .iter()
            .map(|(name, s)| DeclaredSecret {
                name: name.to_string(),
                source: s.source().map_or_else(|| "generated".to_string(), |r| r.to_string()),
            })
            .collect(),
        spans: BTreeMap::new(),
    };
    r.services(&mut model);
    r.routes_and_dns(&mut model);
    r.proxy_environment(&mut model);
    // Every restic repository needs a password; generated once unless the spec declares it.
    if let Some(b) = &spec.backups {
        for e in &b.repositories.entries {
            if e.value.restic.is_some() {
                r.need_secret(&crate::derive::backups::restic_password_secret(&e.name), 32, "backups");
            } else if e.value.pbs.is_some() {
                // A PBS user's password is set on the server; only the operator has it.
                r.external_secret(&format!("pbs-{}-password", e.name), "backups", &mut model);
            }
        }
    }
    crate::derive::derive(spec, catalog, &mut model);
    model.generated_secrets = r
        .secrets
        .iter()
        .map(|(name, (length, used_by))| GeneratedSecret {
            name: name.clone(),
            length: *length,
            used_by: used_by.iter().cloned().collect(),
        })
        .collect();
    Resolution { model, allocations: r.allocations, origins: r.origins, diagnostics: r.diags }
}

struct Resolver<'a> {
    spec: &'a Spec,
    catalog: &'a Catalog,
    previous: &'a Allocations,
    allocations: Allocations,
    origins: Origins,
    diags: Vec<Diagnostic>,
    /// Generated secret name -> (length, users).
    secrets: BTreeMap<String, (usize, BTreeSet<String>)>,
    claims: Vec<Claim>,
    /// Per Redis server: numbers pinned in the spec, remembered per consumer, and handed out.
    redis: BTreeMap<String, RedisState>,
    /// (server, name) -> index in `model.databases` / `model.buckets`.
    database_index: HashMap<(String, String), usize>,
    bucket_index: HashMap<(String, String), usize>,
}

#[derive(Default)]
struct RedisState {
    pinned: BTreeSet<u32>,
    remembered: BTreeMap<String, u32>,
    used: BTreeSet<u32>,
}

/// The catalog's entries followed by the spec's, each once.
fn union(catalog: &[String], spec: &[String]) -> Vec<String> {
    let mut out = catalog.to_vec();
    for s in spec {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// A compose project name from a group: lowercase letters and digits, other runs to one `-`
/// (`AI & Automation` -> `ai-automation`).
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() { "apps".to_string() } else { out }
}

/// Turns a name into an SQL identifier: `my-app` -> `my_app`.
pub fn sql_ident(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}

impl Resolver<'_> {
    fn unknown(&mut self, span: Span, what: &str, name: &str, candidates: Vec<&str>) {
        self.diags.push(crate::check::unknown_reference(span, what, name, &candidates));
    }

    /// A secret Hearth needs. Declared under `secrets:` with an outside source, it comes from
    /// there; otherwise it is generated into the store (with the declared `length`, if any).
    fn need_secret(&mut self, name: &str, length: usize, user: &str) -> Template {
        if let Some(source) = self.spec.secrets.get(name).and_then(|d| d.source()) {
            return Template::secret(source.to_string());
        }
        let length = self.spec.secrets.get(name).and_then(|d| d.length).map_or(length, |l| l as usize);
        let entry = self.secrets.entry(name.to_string()).or_insert_with(|| (length, BTreeSet::new()));
        entry.1.insert(user.to_string());
        Template::secret(format!("secret:{name}"))
    }

    /// A secret only the operator can supply (a provider token): from its declaration, or from the
    /// store where `hearth secrets set` puts it.
    fn external_secret(&mut self, name: &str, user: &str, model: &mut Model) -> Template {
        if let Some(source) = self.spec.secrets.get(name).and_then(|d| d.source()) {
            return Template::secret(source.to_string());
        }
        match model.external_secrets.iter_mut().find(|s| s.name == name) {
            Some(s) => s.used_by.push(user.to_string()),
            None => {
                model.external_secrets.push(ExternalSecret { name: name.to_string(), used_by: vec![user.to_string()] })
            }
        }
        Template::secret(format!("secret:{name}"))
    }

    fn networks(&mut self) -> BTreeMap<String, Network> {
        self.spec
            .networks
            .iter()
            .map(|(name, n)| {
                let net = Network {
                    cidr: n.cidr.value.to_string(),
                    gateway: n.gateway.as_ref().map(|g| g.value.0),
                    vlan: n.vlan.as_ref().map(|v| v.value),
                    zone: n.zone.as_ref().map_or_else(|| name.to_string(), |z| z.value.clone()),
                    bridge: n.bridge.clone().unwrap_or_else(|| "vmbr0".into()),
                    reserved: n.reserved.iter().map(|r| r.value.to_string()).collect(),
                    dhcp: n.dhcp.as_ref().map(|d| d.value.to_string()),
                    allocate: n.allocate.as_ref().map(|a| a.value.to_string()),
                    dns: n.dns.iter().map(|d| d.value.0).collect(),
                };
                (name.to_string(), net)
            })
            .collect()
    }

    fn hosts(&mut self) -> BTreeMap<String, Host> {
        let mut out = BTreeMap::new();
        for e in &self.spec.hosts.entries {
            let h = &e.value;
            if let Some(net) = &h.network
                && !self.spec.networks.is_declared(&net.value)
            {
                self.unknown(net.span, "network", &net.value, self.spec.networks.names().collect());
            }
            if let Some(a) = &h.address {
                self.origins.addresses.push((a.value.0, format!("host `{}`", e.name), a.span));
            }
            let pools = h
                .storage
                .iter()
                .map(|(pname, p)| {
                    let pool = Pool {
                        kind: p.kind.as_str().to_string(),
                        size: p.size.as_ref().map(|s| s.value),
                        tier: p.tier.clone(),
                        path: p.path.clone().unwrap_or_else(|| format!("/{pname}")),
                        datasets: p.datasets.names().map(str::to_string).collect(),
                        dataset_properties: p
                            .datasets
                            .iter()
                            .filter(|(_, props)| !props.is_empty())
                            .map(|(d, props)| (d.to_string(), props.clone()))
                            .collect(),
                        content: p.content.clone(),
                    };
                    (pname.to_string(), pool)
                })
                .collect();
            let hw = h.hardware.as_ref();
            out.insert(
                e.name.clone(),
                Host {
                    kind: if h.proxmox.is_some() { HostKind::Proxmox } else { HostKind::BareMetal },
                    node: h.proxmox.as_ref().map(|p| p.node.clone().unwrap_or_else(|| e.name.clone())),
                    api: h.proxmox.as_ref().map(|p| {
                        p.api.clone().unwrap_or_else(|| {
                            let at = h.address.as_ref().map_or_else(|| e.name.clone(), |a| a.value.to_string());
                            format!("https://{at}:8006")
                        })
                    }),
                    address: h.address.as_ref().map(|a| a.value.0),
                    network: h.network.as_ref().map(|n| n.value.clone()),
                    runtime: h.runtime.as_ref().map(|r| r.value.as_str().to_string()),
                    cores: hw.and_then(|h| h.cores.as_ref()).map(|c| c.value),
                    threads: hw.and_then(|h| h.threads.as_ref()).map(|c| c.value),
                    memory: hw.and_then(|h| h.memory.as_ref()).map(|m| m.value),
                    pools,
                },
            );
        }
        if let Some(router) = &self.spec.router
            && let Some(a) = &router.address
        {
            self.origins.addresses.push((a.value.0, "the router".into(), a.span));
        }
        out
    }

    /// The host path of `pool/dataset` (or an absolute path) on a host, if the pool exists there.
    fn host_path(&self, host: &str, source: &str) -> Result<String, String> {
        if source.starts_with('/') {
            return Ok(source.to_string());
        }
        let (pool_name, rest) = source.split_once('/').unwrap_or((source, ""));
        let Some(h) = self.spec.hosts.get(host) else {
            return Err(format!("host `{host}` is not declared"));
        };
        let Some(pool) = h.storage.get(pool_name) else {
            let pools: Vec<&str> = h.storage.names().collect();
            let hint = suggest::help_for(pool_name, pools.iter().copied(), "pools").unwrap_or_default();
            return Err(sentence(format!("host `{host}` has no storage pool `{pool_name}`"), &hint));
        };
        if !rest.is_empty() && !pool.datasets.is_empty() {
            let declared = pool
                .datasets
                .names()
                .any(|d| d == rest || rest.starts_with(&format!("{d}/")) || d.starts_with(&format!("{rest}/")));
            if !declared {
                let hint = suggest::help_for(rest, pool.datasets.names(), "datasets").unwrap_or_default();
                return Err(sentence(format!("pool `{pool_name}` on host `{host}` has no dataset `{rest}`"), &hint));
            }
        }
        let base = pool.path.clone().unwrap_or_else(|| format!("/{pool_name}"));
        Ok(if rest.is_empty() { base } else { format!("{base}/{rest}") })
    }

    fn guests(&mut self, networks: &BTreeMap<String, Network>) -> BTreeMap<String, Guest> {
        let spec = self.spec;
        // Ids: explicit ones first, then remembered ones, then the lowest free from 100, by name.
        let mut used_ids: BTreeSet<u32> = BTreeSet::new();
        let mut ids: BTreeMap<String, u32> = BTreeMap::new();
        for e in &spec.guests.entries {
            if let Some(id) =
                e.value.lxc.as_ref().and_then(|l| l.id.as_ref()).or(e.value.vm.as_ref().and_then(|v| v.id.as_ref()))
            {
                self.origins.guest_ids.insert(e.name.clone(), id.span);
                used_ids.insert(id.value);
                ids.insert(e.name.clone(), id.value);
            }
        }
        let mut names: Vec<&str> = spec.guests.names().collect();
        names.sort_unstable();
        // Remembered ids are claimed before any fresh allocation, so a new guest whose name sorts
        // first cannot take an id another guest already had.
        for name in &names {
            let key = format!("guest/{name}/id");
            let prev = self.previous.get(&key).and_then(|v| v.parse::<u32>().ok());
            if let Some(id) = prev.filter(|v| *v >= 100 && !used_ids.contains(v) && !ids.contains_key(*name)) {
                used_ids.insert(id);
                ids.insert(name.to_string(), id);
                self.allocations.set(key, id.to_string());
            }
        }
        for name in &names {
            if ids.contains_key(*name) {
                continue;
            }
            let id = (100..).find(|i| !used_ids.contains(i)).unwrap_or(100);
            used_ids.insert(id);
            ids.insert(name.to_string(), id);
            self.allocations.set(format!("guest/{name}/id"), id.to_string());
        }

        // Addresses: explicit ones are claimed first so allocation never hands them out.
        let mut taken: HashSet<IpAddr> = self.origins.addresses.iter().map(|a| a.0).collect();
        for e in &spec.guests.entries {
            if let Some(a) = &e.value.address {
                taken.insert(a.value.0);
                self.origins.addresses.push((a.value.0, format!("guest `{}`", e.name), a.span));
            }
        }
        if let Some(dns) = &spec.dns {
            for e in &dns.records.entries {
                taken.insert(e.value.value.0);
            }
        }
        // Remembered addresses are claimed first, for the same reason as ids.
        let mut remembered: BTreeMap<String, IpAddr> = BTreeMap::new();
        for e in &spec.guests.entries {
            if e.value.address.is_some() {
                continue;
            }
            let prev = self.previous.get(&format!("guest/{}/address", e.name)).and_then(|v| v.parse::<IpAddr>().ok());
            if let (Some(a), Some(net)) = (prev, e.value.network.as_ref().and_then(|n| spec.networks.get(&n.value)))
                && address_usable(net, a, &taken)
            {
                taken.insert(a);
                remembered.insert(e.name.clone(), a);
            }
        }
        let mut cursors: BTreeMap<String, u128> = BTreeMap::new();
        let mut out = BTreeMap::new();
        for name in &names {
            let Some(g) = spec.guests.get(name) else { continue };
            let (kind, host) = match (&g.lxc, &g.vm) {
                (Some(l), None) => (GuestKind::Lxc, &l.on),
                (None, Some(v)) => (GuestKind::Vm, &v.on),
                (Some(_), Some(v)) => {
                    self.diags.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            v.span,
                            format!("guest `{name}` is both an LXC container and a VM"),
                        )
                        .help("keep either `lxc:` or `vm:`"),
                    );
                    continue;
                }
                (None, None) => {
                    let span = spec.guests.entry(name).map_or(g.span, |e| e.key_span);
                    self.diags.push(
                        Diagnostic::new(
                            Code::MissingKey,
                            span,
                            format!("guest `{name}` says neither `lxc:` nor `vm:`"),
                        )
                        .help("add `lxc: { on: <host> }` or `vm: { on: <host> }`"),
                    );
                    continue;
                }
            };
            match spec.hosts.get(&host.value) {
                None if !spec.hosts.is_declared(&host.value) => {
                    self.unknown(host.span, "host", &host.value, spec.hosts.names().collect());
                }
                Some(h) if h.proxmox.is_none() => {
                    self.diags.push(
                        Diagnostic::new(
                            Code::WrongKind,
                            host.span,
                            format!("host `{}` is not a Proxmox node", host.value),
                        )
                        .label("guests need a Proxmox host")
                        .help(format!(
                            "add `proxmox: {{}}` to host `{}`, or run the services on it directly",
                            host.value
                        )),
                    );
                }
                _ => {}
            }
            let net_name = g.network.as_ref().map(|n| n.value.clone());
            if let Some(n) = &g.network
                && !spec.networks.is_declared(&n.value)
            {
                self.unknown(n.span, "network", &n.value, spec.networks.names().collect());
            }
            let address = match (&g.address, &net_name) {
                (Some(a), _) => Some(a.value.0),
                (None, Some(_)) if remembered.contains_key(*name) => {
                    let a = remembered[*name];
                    self.allocations.set(format!("guest/{name}/address"), a.to_string());
                    Some(a)
                }
                (None, Some(net)) => match spec.networks.get(net) {
                    Some(n) => self.allocate_address(name, net, n, &mut taken, &mut cursors),
                    None => None,
                },
                (None, None) => None,
            };
            let storage = match kind {
                GuestKind::Lxc => g.lxc.as_ref().and_then(|l| l.storage.as_ref()),
                GuestKind::Vm => g.vm.as_ref().and_then(|v| v.storage.as_ref()),
            };
            if let (Some(st), Some(h)) = (storage, spec.hosts.get(&host.value))
                && !h.storage.is_declared(&st.value)
            {
                self.unknown(st.span, "storage pool", &st.value, h.storage.names().collect());
            }
            let os = g.os.as_ref().map_or_else(|| "debian-12".to_string(), |o| o.value.clone());
            let runtime = g.runtime.as_ref().map_or(Runtime::Native, |r| r.value);
            let mut mounts = BTreeMap::new();
            for e in &g.mounts.entries {
                match self.host_path(&host.value, &e.value.from.value) {
                    Ok(p) => {
                        mounts.insert(e.name.clone(), p);
                    }
                    Err(msg) => self.diags.push(
                        Diagnostic::new(
                            Code::UnknownReference,
                            e.value.from.span,
                            format!("cannot mount `{}`: {msg}", e.value.from.value),
                        )
                        .help("name a pool and dataset declared under the host's `storage:`, or an absolute path"),
                    ),
                }
            }
            let mut features = Vec::new();
            if kind == GuestKind::Lxc {
                let lxc = g.lxc.as_ref();
                if runtime == Runtime::Docker || lxc.and_then(|l| l.nesting) == Some(true) {
                    features.push("nesting=1".to_string());
                }
                if runtime == Runtime::Docker {
                    features.push("keyctl=1".to_string());
                }
            }
            let size = g.size.as_ref();
            let backup = match &g.backup {
                Some(BackupChoice::Policy(p)) => Some(p.policy.value.clone()),
                _ => None,
            };
            out.insert(
                name.to_string(),
                Guest {
                    kind,
                    host: host.value.clone(),
                    id: ids.get(*name).copied().unwrap_or(0),
                    hostname: g.hostname.as_ref().map_or_else(|| name.to_string(), |h| h.value.clone()),
                    os,
                    network: net_name.clone(),
                    address,
                    zone: net_name.as_ref().and_then(|n| networks.get(n)).map(|n| n.zone.clone()),
                    cores: size.and_then(|s| s.cores.as_ref()).map_or(1, |c| c.value),
                    memory: size.and_then(|s| s.memory.as_ref()).map_or(Size::new(512 << 20, true), |m| m.value),
                    disk: size.and_then(|s| s.disk.as_ref()).map_or(Size::gib(8), |d| d.value),
                    storage: storage.map(|s| s.value.clone()),
                    swap: size.and_then(|s| s.swap.as_ref()).map(|s| s.value),
                    runtime: runtime.as_str().to_string(),
                    managed: g.managed.unwrap_or(runtime != Runtime::None),
                    unprivileged: g.lxc.as_ref().and_then(|l| l.unprivileged).unwrap_or(true),
                    onboot: g.onboot.unwrap_or(true),
                    tags: g.tags.clone(),
                    description: g.description.clone(),
                    bios: g.vm.as_ref().and_then(|v| v.bios.clone()),
                    machine: g.vm.as_ref().and_then(|v| v.machine.clone()),
                    cpu: g.vm.as_ref().and_then(|v| v.cpu.clone()),
                    mounts,
                    devices: g.devices.iter().map(|d| d.value.clone()).collect(),
                    features,
                    backup,
                },
            );
        }
        out
    }

    fn allocate_address(
        &mut self,
        guest: &str,
        net_name: &str,
        net: &ast::Network,
        taken: &mut HashSet<IpAddr>,
        cursors: &mut BTreeMap<String, u128>,
    ) -> Option<IpAddr> {
        let cidr = net.cidr.value.0;
        let key = format!("guest/{guest}/address");
        let to_u128 = |a: IpAddr| match a {
            IpAddr::V4(v) => u32::from(v) as u128,
            IpAddr::V6(v) => u128::from(v),
        };
        let from_u128 = |n: u128| -> IpAddr {
            if cidr.network().is_ipv4() {
                IpAddr::V4(std::net::Ipv4Addr::from(n as u32))
            } else {
                IpAddr::V6(std::net::Ipv6Addr::from(n))
            }
        };
        let (lo, hi) = match &net.allocate {
            Some(r) => (to_u128(r.value.first), to_u128(r.value.last)),
            None => (to_u128(cidr.network()) + 1, to_u128(cidr.broadcast())),
        };
        let start = cursors.get(net_name).copied().unwrap_or(lo).max(lo);
        // Bounded: a /8 must not make allocation scan sixteen million addresses per guest.
        let end = hi.min(start.saturating_add(1 << 20));
        for n in start..=end {
            let a = from_u128(n);
            if address_usable(net, a, taken) {
                taken.insert(a);
                cursors.insert(net_name.to_string(), n + 1);
                self.allocations.set(key, a.to_string());
                return Some(a);
            }
        }
        let span = net.allocate.as_ref().map_or(net.cidr.span, |r| r.span);
        self.diags.push(
            Diagnostic::new(
                Code::AllocationExhausted,
                span,
                format!("no free address left in network `{net_name}` for guest `{guest}`"),
            )
            .help("give the guest an `address:`, widen `allocate:`, or free addresses from `reserved:`"),
        );
        None
    }

    fn machine_of(&mut self, svc: &ast::Service, model: &Model) -> Option<(Placement, Option<IpAddr>)> {
        let on = &svc.on;
        if let Some(g) = model.guests.get(&on.value) {
            return Some((Placement::Guest(on.value.clone()), g.address));
        }
        if let Some(h) = model.hosts.get(&on.value) {
            return Some((Placement::Host(on.value.clone()), h.address));
        }
        if self.spec.clusters.contains(&on.value) {
            return Some((Placement::Cluster(on.value.clone()), None));
        }
        if !self.spec.guests.is_declared(&on.value) && !self.spec.hosts.is_declared(&on.value) {
            let mut candidates: Vec<&str> = self.spec.guests.names().collect();
            candidates.extend(self.spec.hosts.names());
            candidates.extend(self.spec.clusters.names());
            self.unknown(on.span, "guest, host or cluster", &on.value, candidates);
        }
        None
    }

    fn services(&mut self, model: &mut Model) {
        let spec = self.spec;
        // First pass: placement, app, image, ports and volumes of every service, so `uses` can
        // look up what it connects to.
        for e in &spec.services.entries {
            let name = e.name.as_str();
            let svc = &e.value;
            let Some((on, address)) = self.machine_of(svc, model) else { continue };
            let app = match &svc.app {
                Some(a) => match self.catalog.get(&a.value) {
                    Some(app) => Some(app),
                    None => {
                        self.unknown(a.span, "app", &a.value, self.catalog.names().collect());
                        continue;
                    }
                },
                None => None,
            };
            if app.is_none() && svc.image.is_none() {
                let span = spec.services.entry(name).map_or(svc.span, |e| e.key_span);
                self.diags.push(
                    Diagnostic::new(
                        Code::MissingKey,
                        span,
                        format!("service `{name}` has neither `app:` nor `image:`"),
                    )
                    .help("name a catalog app (`app: jellyfin`) or give an image (`image: repo/name:1.2.3`)"),
                );
                continue;
            }
            let image = match (&svc.image, app) {
                (Some(i), _) => Some(i.value.clone()),
                (None, Some(app)) => Some(match &svc.version {
                    Some(v) => replace_tag(&app.image.value, &v.value),
                    None => app.image.value.clone(),
                }),
                (None, None) => None,
            };
            let runtime = match &on {
                Placement::Guest(g) => model.guests.get(g).map(|g| g.runtime.clone()),
                Placement::Host(h) => model.hosts.get(h).and_then(|h| h.runtime.clone()),
                Placement::Cluster(_) => Some("docker".into()),
            };
            let form = match &svc.form {
                Some(f) => f.value,
                None => match runtime.as_deref() {
                    Some("docker") => Form::Docker,
                    _ if app.is_some_and(|a| a.native.is_some()) => Form::Native,
                    _ => Form::Docker,
                },
            };
            let machine = on.name().to_string();
            let network_mode = app
                .and_then(|a| a.network_mode.clone())
                .or_else(|| svc.via.as_ref().map(|v| format!("service:{}", v.value)));
            // Pods on a cluster do not share a machine's ports, so they claim none.
            let ports = self.ports(name, svc, app, &machine, !matches!(on, Placement::Cluster(_)));
            let volumes = self.volumes(name, svc, app, &on, form);
            let stack = svc.stack.as_ref().map(|s| s.value.clone());
            let group = svc
                .group
                .clone()
                .unwrap_or_else(|| app.map_or_else(|| "apps".to_string(), |a| a.category.as_str().to_string()));
            let healthcheck = svc.healthcheck.as_ref().or(app.map(|a| &a.healthcheck)).and_then(Healthcheck::from_spec);
            let metrics = app
                .and_then(|a| a.metrics.as_ref())
                .map(|m| format!("{}{}", m.port, m.path.clone().unwrap_or_else(|| "/metrics".into())));
            let backup = match &svc.backup {
                Some(BackupChoice::Policy(p)) => Some(p.policy.value.clone()),
                _ => None,
            };
            model.services.insert(
                name.to_string(),
                Service {
                    app: app.map(|a| a.name.value.clone()),
                    image,
                    form,
                    on,
                    also_on: svc.also_on.iter().map(|a| a.value.clone()).collect(),
                    address,
                    ports,
                    env: BTreeMap::new(),
                    volumes,
                    uses: Vec::new(),
                    exposes: Vec::new(),
                    backup,
                    after: svc.after.iter().map(|a| a.value.clone()).collect(),
                    command: svc.command.clone().or_else(|| app.and_then(|a| a.command.clone())),
                    privileged: svc.privileged.or_else(|| app.and_then(|a| a.privileged)).unwrap_or(false),
                    devices: union(app.map(|a| a.devices.as_slice()).unwrap_or_default(), &svc.devices),
                    cap_add: union(app.map(|a| a.cap_add.as_slice()).unwrap_or_default(), &svc.cap_add),
                    compose: svc.compose.as_ref().map(|c| c.0.clone()),
                    backup_disabled: matches!(svc.backup, Some(BackupChoice::Disabled(_))),
                    resources: svc
                        .resources
                        .as_ref()
                        .map(|r| Resources { cpus: r.cpus, memory: r.memory.as_ref().map(|m| m.value) }),
                    via: svc.via.as_ref().map(|v| v.value.clone()),
                    stack: stack.unwrap_or_else(|| slug(&group)),
                    group,
                    healthcheck,
                    metrics,
                    network_mode,
                },
            );
        }
        // Host ports are settled before anything connects to them, so routes and connection
        // strings use the port a service really got.
        self.settle_ports(model);
        // Second pass: connections and environment.
        for e in &spec.services.entries {
            if model.services.contains_key(&e.name) {
                self.wire(&e.name, &e.value, model);
            }
        }
    }

    fn ports(&mut self, name: &str, svc: &ast::Service, app: Option<&App>, machine: &str, claim: bool) -> Vec<Port> {
        let mut out = Vec::new();
        if let Some(app) = app {
            for (pname, p) in app.ports.iter() {
                let over = svc.ports.get(pname);
                let protocol = over.and_then(|o| o.protocol).or(p.protocol).unwrap_or(Protocol::Tcp);
                let host = match over {
                    Some(o) => Some(o.host.value),
                    None if p.publish == Some(false) => None,
                    None => Some(p.port),
                };
                let container = over.and_then(|o| o.container.as_ref()).map_or(p.port, |c| c.value);
                let span = over.map_or_else(|| svc.app.as_ref().map_or(svc.span, |a| a.span), |o| o.host.span);
                if let Some(h) = host.filter(|_| claim) {
                    let movable = over.is_none()
                        && matches!(protocol, Protocol::Http | Protocol::Https)
                        && app.network_mode.as_deref() != Some("host")
                        && !app.provides(Provides::Proxy);
                    self.claims.push(Claim {
                        machine: machine.to_string(),
                        service: name.to_string(),
                        port_name: pname.to_string(),
                        port: h,
                        protocol,
                        span,
                        movable,
                    });
                }
                out.push(Port { name: pname.to_string(), host, container, protocol });
            }
        }
        for e in &svc.ports.entries {
            if app.is_some_and(|a| a.ports.contains(&e.name)) {
                continue;
            }
            let p = &e.value;
            let protocol = p.protocol.unwrap_or(Protocol::Tcp);
            if claim {
                self.claims.push(Claim {
                    machine: machine.to_string(),
                    service: name.to_string(),
                    port_name: e.name.clone(),
                    port: p.host.value,
                    protocol,
                    span: p.host.span,
                    movable: false,
                });
            }
            out.push(Port {
                name: e.name.clone(),
                host: Some(p.host.value),
                container: p.container.as_ref().map_or(p.host.value, |c| c.value),
                protocol,
            });
        }
        out
    }

    fn volumes(
        &mut self,
        name: &str,
        svc: &ast::Service,
        app: Option<&App>,
        on: &Placement,
        form: Form,
    ) -> Vec<Volume> {
        let mut out = Vec::new();
        let base = if form == Form::Docker { format!("/opt/hearth/{name}") } else { String::new() };
        let translate = |r: &mut Self, src: &str, span: Span| -> Option<String> {
            if src.starts_with('/') {
                return Some(src.to_string());
            }
            let result = match on {
                Placement::Host(h) => r.host_path(h, src),
                Placement::Guest(g) => r.guest_path(g, src),
                Placement::Cluster(_) => Ok(src.to_string()),
            };
            match result {
                Ok(p) => Some(p),
                Err(msg) => {
                    r.diags.push(
                        Diagnostic::new(
                            Code::UnknownReference,
                            span,
                            format!("cannot use `{src}` for service `{name}`: {msg}"),
                        )
                        .help("mount the dataset into the guest (`mounts:` on the guest) or give an absolute path"),
                    );
                    None
                }
            }
        };
        if let Some(app) = app {
            for (vname, v) in app.volumes.iter() {
                let source = if let Some(over) = svc.volumes.get(vname) {
                    match translate(self, &over.value, over.span) {
                        Some(p) => p,
                        None => continue,
                    }
                } else if v.socket == Some(true) {
                    v.host.clone().unwrap_or_else(|| v.path.clone())
                } else if form == Form::Docker {
                    format!("{base}/{vname}")
                } else {
                    // Container paths mean nothing to a native service; its data lives where its
                    // package keeps it (added below), so catalog volumes are skipped.
                    continue;
                };
                out.push(Volume {
                    name: vname.to_string(),
                    source,
                    target: v.path.clone(),
                    stateful: v.stateful == Some(true),
                    readonly: v.readonly == Some(true),
                    dataset: None,
                });
            }
            if let Some(native) = app.native.as_ref().and_then(|n| n.data.as_ref())
                && form == Form::Native
            {
                out.push(Volume {
                    name: "data".into(),
                    source: native.clone(),
                    target: native.clone(),
                    stateful: true,
                    readonly: false,
                    dataset: None,
                });
            }
        }
        for e in &svc.volumes.entries {
            if app.is_some_and(|a| a.volumes.contains(&e.name)) {
                continue;
            }
            if app.is_some() {
                let known: Vec<&str> = app.map(|a| a.volumes.names().collect()).unwrap_or_default();
                let mut d = Diagnostic::new(
                    Code::UnknownReference,
                    e.key_span,
                    format!("app of service `{name}` has no volume `{}`", e.name),
                );
                if let Some(h) = suggest::help_for(&e.name, known.iter().copied(), "volumes") {
                    d = d.help(h);
                }
                self.diags.push(d);
                continue;
            }
            if let Some(source) = translate(self, &e.value.value, e.value.span) {
                out.push(Volume {
                    name: e.name.clone(),
                    source,
                    target: format!("/data/{}", e.name),
                    stateful: true,
                    readonly: false,
                    dataset: None,
                });
            }
        }
        for e in &svc.mounts.entries {
            if let Some(source) = translate(self, &e.value.from.value, e.value.from.span) {
                out.push(Volume {
                    name: sql_ident(e.name.trim_start_matches('/')),
                    source,
                    target: e.name.clone(),
                    stateful: false,
                    readonly: e.value.readonly == Some(true),
                    dataset: None,
                });
            }
        }
        for v in &mut out {
            v.dataset = self.dataset_of(on, &v.source);
        }
        out
    }

    /// The `pool/dataset` holding a path on the machine a service runs on: through the guest's
    /// bind mounts back to its host, then the host's pool mount points.
    fn dataset_of(&self, on: &Placement, path: &str) -> Option<String> {
        let under = |path: &str, base: &str| -> Option<String> {
            let base = base.trim_end_matches('/');
            if path == base {
                Some(String::new())
            } else {
                path.strip_prefix(base).and_then(|r| r.strip_prefix('/')).map(|r| format!("/{r}"))
            }
        };
        let (host, host_path) = match on {
            Placement::Guest(g) => {
                let guest = self.spec.guests.get(g)?;
                let host = guest.lxc.as_ref().map(|l| &l.on).or(guest.vm.as_ref().map(|v| &v.on))?.value.clone();
                let (rest, from) = guest
                    .mounts
                    .entries
                    .iter()
                    .find_map(|m| under(path, &m.name).map(|r| (r, m.value.from.value.clone())))?;
                if !from.starts_with('/') {
                    return Some(format!("{from}{rest}"));
                }
                (host, format!("{from}{rest}"))
            }
            Placement::Host(h) => (h.clone(), path.to_string()),
            Placement::Cluster(_) => return None,
        };
        let h = self.spec.hosts.get(&host)?;
        h.storage.entries.iter().find_map(|p| {
            let base = p.value.path.clone().unwrap_or_else(|| format!("/{}", p.name));
            under(&host_path, &base).map(|r| format!("{}{r}", p.name))
        })
    }

    /// Settles host ports per machine: fixed claims keep their port (conflicts among them are
    /// reported by the checker); movable ones take the remembered or next free port when theirs
    /// is taken, so adding a service never moves another.
    fn settle_ports(&mut self, model: &mut Model) {
        let claims = std::mem::take(&mut self.claims);
        let mut taken: HashSet<(String, u16)> =
            claims.iter().filter(|c| !c.movable).map(|c| (c.machine.clone(), c.port)).collect();
        let mut order: Vec<&Claim> = claims.iter().filter(|c| c.movable).collect();
        order.sort_by(|a, b| (&a.machine, &a.service, &a.port_name).cmp(&(&b.machine, &b.service, &b.port_name)));
        let mut moved: BTreeMap<(String, String), u16> = BTreeMap::new();
        // A port a movable claim was moved to before stays reserved for it.
        for c in &order {
            let key = format!("service/{}/port/{}", c.service, c.port_name);
            if let Some(p) = self.previous.get(&key).and_then(|v| v.parse::<u16>().ok())
                && !taken.contains(&(c.machine.clone(), p))
            {
                taken.insert((c.machine.clone(), p));
                moved.insert((c.service.clone(), c.port_name.clone()), p);
                self.allocations.set(key, p.to_string());
            }
        }
        for c in order {
            if moved.contains_key(&(c.service.clone(), c.port_name.clone())) {
                continue;
            }
            let key = format!("service/{}/port/{}", c.service, c.port_name);
            let port = if !taken.contains(&(c.machine.clone(), c.port)) {
                c.port
            } else {
                let p = (c.port.saturating_add(1)..u16::MAX)
                    .find(|p| !taken.contains(&(c.machine.clone(), *p)))
                    .unwrap_or(c.port);
                self.allocations.set(key, p.to_string());
                moved.insert((c.service.clone(), c.port_name.clone()), p);
                p
            };
            taken.insert((c.machine.clone(), port));
        }
        for c in &claims {
            let port = moved.get(&(c.service.clone(), c.port_name.clone())).copied().unwrap_or(c.port);
            self.origins.ports.push((c.machine.clone(), port, c.protocol, c.service.clone(), c.span));
        }
        for ((service, port_name), port) in moved {
            if let Some(p) =
                model.services.get_mut(&service).and_then(|s| s.ports.iter_mut().find(|p| p.name == port_name))
            {
                p.host = Some(port);
            }
        }
    }

    /// The path inside a guest where a dataset is mounted.
    fn guest_path(&self, guest: &str, source: &str) -> Result<String, String> {
        let Some(g) = self.spec.guests.get(guest) else { return Err(format!("guest `{guest}` is not declared")) };
        for e in &g.mounts.entries {
            let from = e.value.from.value.as_str();
            if source == from {
                return Ok(e.name.clone());
            }
            if let Some(rest) = source.strip_prefix(from).and_then(|r| r.strip_prefix('/')) {
                return Ok(format!("{}/{rest}", e.name.trim_end_matches('/')));
            }
        }
        Err(format!("`{source}` is not mounted into guest `{guest}`"))
    }

    fn wire(&mut self, name: &str, svc: &ast::Service, model: &mut Model) {
        let app = model.services.get(name).and_then(|s| s.app.clone()).and_then(|a| self.catalog.get(&a));
        let fqdn = svc.expose.as_ref().and_then(|x| x.0.first()).map(|x| self.fqdn(&x.name.value, model));
        let mut vars = Vars::default();
        vars.text("tz", model.timezone.clone());
        vars.text("domain", model.domain.clone().unwrap_or_default());
        vars.text("service", name);
        vars.text("version", svc.version.as_ref().map_or_else(String::new, |v| v.value.clone()));
        vars.text("fqdn", fqdn.clone().unwrap_or_default());
        vars.text("url", fqdn.as_ref().map_or_else(String::new, |f| format!("https://{f}")));
        let mut env: BTreeMap<String, Template> = BTreeMap::new();
        if let Some(app) = app {
            for (sname, s) in app.secrets.iter() {
                // The spec setting the variable itself makes the catalog's secret unnecessary.
                if s.env.as_ref().is_some_and(|v| svc.env.contains(v)) {
                    continue;
                }
                let secret = if s.external == Some(true) {
                    self.external_secret(&format!("{name}-{sname}"), name, model)
                } else {
                    self.need_secret(&format!("{name}-{sname}"), s.length.unwrap_or(32) as usize, name)
                };
                vars.set(&format!("secret.{sname}"), secret.clone());
                if let Some(var) = &s.env {
                    env.insert(var.clone(), secret);
                }
            }
            for (k, v) in app.env.iter() {
                if let Ok(t) = vars.expand(v) {
                    env.insert(k.to_string(), t);
                }
            }
        }
        let mut uses = Vec::new();
        for u in &svc.uses {
            let target = u.service.value.as_str();
            if target == name {
                self.diags.push(
                    Diagnostic::new(Code::DependencyCycle, u.service.span, format!("service `{name}` uses itself"))
                        .help("remove it from `uses:`"),
                );
                continue;
            }
            let Some(t) = model.services.get(target).cloned() else {
                if !self.spec.services.is_declared(target) {
                    self.unknown(u.service.span, "service", target, self.spec.services.names().collect());
                }
                continue;
            };
            let tapp = t.app.as_deref().and_then(|a| self.catalog.get(a));
            let provides: Vec<Provides> = tapp.map(|a| a.provides.clone()).unwrap_or_default();
            let kind = provides
                .iter()
                .find(|k| app.is_some_and(|a| a.uses.contains(k.as_str())))
                .or_else(|| provides.first())
                .copied();
            let host = t.address.map_or_else(|| t.on.name().to_string(), |a| a.to_string());
            // Consumers talk to the protocol port (MinIO's S3 `api`, not its web console): the
            // port named after the kind or `api`, else the primary one.
            let kind_name = kind.map(|k| k.as_str());
            let port = t
                .ports
                .iter()
                .find(|p| Some(p.name.as_str()) == kind_name || p.name == "api")
                .or_else(|| {
                    tapp.and_then(|a| a.primary_port()).and_then(|(pn, _)| t.ports.iter().find(|p| p.name == pn))
                })
                .or_else(|| t.ports.first())
                .map(|p| p.host.unwrap_or(p.container));
            let mut uvars = Vars::default();
            uvars.text("host", host.clone());
            uvars.text("port", port.map_or_else(String::new, |p| p.to_string()));
            let mut record = Use {
                service: target.to_string(),
                kind: kind.map_or_else(|| "service".into(), |k| k.as_str().to_string()),
                database: None,
                user: None,
                db: None,
                bucket: None,
                url: None,
            };
            match kind {
                Some(k @ (Provides::Postgres | Provides::Mysql | Provides::Mongodb)) => {
                    let database = u.database.as_ref().map_or_else(|| sql_ident(name), |d| d.value.clone());
                    let user = u.user.as_ref().map_or_else(|| database.clone(), |d| d.value.clone());
                    let secret_name = format!("{target}-{}-password", user.replace('_', "-"));
                    let password = self.need_secret(&secret_name, 32, name);
                    uvars.text("database", database.clone());
                    uvars.text("user", user.clone());
                    uvars.set("password", password);
                    let scheme = match k {
                        Provides::Postgres => "postgresql",
                        Provides::Mysql => "mysql",
                        _ => "mongodb",
                    };
                    let url = uvars.expand(&format!("{scheme}://{{{{ user }}}}:{{{{ password }}}}@{{{{ host }}}}:{{{{ port }}}}/{{{{ database }}}}")).ok();
                    if let Some(url) = &url {
                        uvars.set("url", url.clone());
                    }
                    let engine = k.as_str().to_string();
                    let key = (target.to_string(), database.clone());
                    match self.database_index.get(&key) {
                        Some(&i) => model.databases[i].consumers.push(name.to_string()),
                        None => {
                            self.database_index.insert(key, model.databases.len());
                            model.databases.push(Database {
                                server: target.to_string(),
                                engine,
                                name: database.clone(),
                                user: user.clone(),
                                password_secret: secret_name,
                                consumers: vec![name.to_string()],
                            });
                        }
                    }
                    record.database = Some(database);
                    record.user = Some(user);
                    record.url = url;
                }
                Some(Provides::Redis) => {
                    let db = self.redis_db(name, target, u, model);
                    let password = self.need_secret(&format!("{target}-password"), 32, name);
                    uvars.text("db", db.to_string());
                    uvars.set("password", password);
                    let url = uvars.expand("redis://:{{ password }}@{{ host }}:{{ port }}/{{ db }}").ok();
                    if let Some(url) = &url {
                        uvars.set("url", url.clone());
                    }
                    record.db = Some(db);
                    record.url = url;
                }
                Some(Provides::S3) => {
                    let bucket = u.bucket.as_ref().map_or_else(|| name.to_string(), |b| b.value.clone());
                    let secret = self.need_secret(&format!("{target}-{name}-secret-key"), 40, name);
                    uvars.text("bucket", bucket.clone());
                    uvars.text("access_key", name);
                    uvars.set("secret_key", secret);
                    let endpoint = format!("http://{host}:{}", port.unwrap_or(9000));
                    uvars.text("endpoint", endpoint.clone());
                    uvars.text("url", endpoint.clone());
                    let key = (target.to_string(), bucket.clone());
                    match self.bucket_index.get(&key) {
                        Some(&i) => model.buckets[i].consumers.push(name.to_string()),
                        None => {
                            self.bucket_index.insert(key, model.buckets.len());
                            model.buckets.push(Bucket {
                                server: target.to_string(),
                                name: bucket.clone(),
                                consumers: vec![name.to_string()],
                            });
                        }
                    }
                    record.bucket = Some(bucket);
                    record.url = Some(Template::text(endpoint));
                }
                _ => {
                    uvars.text("url", format!("http://{host}:{}", port.unwrap_or(80)));
                }
            }
            // The consumer's catalog wiring, or generic variables for an image without one.
            let wiring = kind.and_then(|k| app.and_then(|a| a.uses.get(k.as_str())));
            match wiring {
                Some(w) => {
                    for (k, v) in w.env.iter() {
                        if let Ok(t) = uvars.expand(v) {
                            env.insert(k.to_string(), t);
                        }
                    }
                }
                None if app.is_none() => {
                    let var = match kind {
                        Some(Provides::Postgres | Provides::Mysql) => Some("DATABASE_URL"),
                        Some(Provides::Redis) => Some("REDIS_URL"),
                        Some(Provides::Mongodb) => Some("MONGODB_URL"),
                        Some(Provides::S3) => Some("S3_ENDPOINT"),
                        _ => None,
                    };
                    if let (Some(var), Some(url)) = (var, record.url.clone()) {
                        // A second connection of the same kind gets a numbered variable instead
                        // of replacing the first: REDIS_URL, REDIS_URL_2, ...
                        let name = (1..)
                            .map(|i| if i == 1 { var.to_string() } else { format!("{var}_{i}") })
                            .find(|n| !env.contains_key(n))
                            .unwrap_or_else(|| var.to_string());
                        env.insert(name, url);
                    }
                }
                None => {}
            }
            uses.push(record);
        }
        for e in &svc.env.entries {
            let t = match &e.value.value {
                hearth_spec::reference::Value::Text(t) => Template::text(t.clone()),
                hearth_spec::reference::Value::Secret(r) => Template::secret(crate::derive::reference(self.spec, r)),
            };
            env.insert(e.name.clone(), t);
        }
        // Database servers get the databases nobody `uses` but the spec lists.
        for d in &svc.databases {
            let key = (name.to_string(), d.value.clone());
            if let std::collections::hash_map::Entry::Vacant(slot) = self.database_index.entry(key) {
                slot.insert(model.databases.len());
                let secret_name = format!("{name}-{}-password", d.value.replace('_', "-"));
                self.need_secret(&secret_name, 32, name);
                let engine =
                    app.and_then(|a| a.provides.iter().find(|p| p.is_database())).map_or("postgres", |p| p.as_str());
                model.databases.push(Database {
                    server: name.to_string(),
                    engine: engine.to_string(),
                    name: d.value.clone(),
                    user: d.value.clone(),
                    password_secret: secret_name,
                    consumers: Vec::new(),
                });
            }
        }
        for b in &svc.buckets {
            let key = (name.to_string(), b.value.clone());
            if let std::collections::hash_map::Entry::Vacant(slot) = self.bucket_index.entry(key) {
                slot.insert(model.buckets.len());
                model.buckets.push(Bucket { server: name.to_string(), name: b.value.clone(), consumers: Vec::new() });
            }
        }
        if app.is_some_and(|a| a.provides(Provides::Redis)) {
            self.need_secret(&format!("{name}-password"), 32, name);
        }
        let mut exposes = Vec::new();
        if let Some(x) = &svc.expose {
            for ex in &x.0 {
                let fqdn = self.fqdn(&ex.name.value, model);
                let ports = model.services.get(name).map(|s| s.ports.clone()).unwrap_or_default();
                let port = match &ex.port {
                    Some(p) => match ports.iter().find(|q| q.name == p.value) {
                        Some(q) => Some(q.host.unwrap_or(q.container)),
                        None => {
                            let names: Vec<&str> = ports.iter().map(|q| q.name.as_str()).collect();
                            self.unknown(p.span, "port", &p.value, names);
                            None
                        }
                    },
                    None => app
                        .and_then(|a| a.primary_port())
                        .and_then(|(pn, _)| ports.iter().find(|q| q.name == pn))
                        .or_else(|| ports.first())
                        .map(|q| q.host.unwrap_or(q.container)),
                };
                let Some(port) = port else {
                    self.diags.push(
                        Diagnostic::new(
                            Code::MissingKey,
                            ex.name.span,
                            format!("service `{name}` has no port to expose"),
                        )
                        .help("declare one under `ports:` (e.g. `ports: { http: 8080 }`)"),
                    );
                    continue;
                };
                // Two services may share a name on different paths; only the same name and path
                // conflict.
                let routed = format!("{fqdn}{}", ex.path.as_deref().unwrap_or(""));
                self.origins.exposures.push((routed, name.to_string(), ex.name.span));
                exposes.push(Exposure {
                    fqdn,
                    path: ex.path.clone(),
                    port,
                    access: ex.access.as_ref().map_or(Access::Internal, |a| a.value),
                    auth: ex.auth.as_ref().map_or(Auth::None, |a| a.value),
                });
            }
        }
        if let Some(s) = model.services.get_mut(name) {
            s.env = env;
            s.uses = uses;
            s.exposes = exposes;
        }
    }

    /// What allocation needs to know about one Redis server, gathered once per server so that
    /// allocating for many consumers stays linear.
    fn redis_state(&mut self, server: &str) -> &mut RedisState {
        if !self.redis.contains_key(server) {
            let mut state = RedisState::default();
            for (consumer, s) in self.spec.services.iter() {
                for x in s.uses.iter().filter(|x| x.service.value == server) {
                    match &x.db {
                        Some(d) => {
                            state.pinned.insert(d.value);
                        }
                        None => {
                            let key = format!("service/{consumer}/redis-db/{server}");
                            if let Some(d) = self.previous.get(&key).and_then(|v| v.parse::<u32>().ok()) {
                                state.remembered.insert(consumer.to_string(), d);
                            }
                        }
                    }
                }
            }
            self.redis.insert(server.to_string(), state);
        }
        self.redis.entry(server.to_string()).or_default()
    }

    fn redis_db(&mut self, consumer: &str, server: &str, u: &ast::Use, model: &mut Model) -> u32 {
        if let Some(db) = &u.db {
            self.origins.redis.push((server.to_string(), db.value, consumer.to_string(), db.span));
            model.redis_dbs.push(RedisDb { server: server.to_string(), db: db.value, consumer: consumer.to_string() });
            return db.value;
        }
        let state = self.redis_state(server);
        let used: BTreeSet<u32> = state.used.iter().copied().chain(state.pinned.iter().copied()).collect();
        // Numbers that other unpinned consumers of this server had in the lock stay theirs.
        let others: BTreeSet<u32> =
            state.remembered.iter().filter(|(c, _)| c.as_str() != consumer).map(|(_, d)| *d).collect();
        let key = format!("service/{consumer}/redis-db/{server}");
        let remembered = self.previous.get(&key).and_then(|v| v.parse::<u32>().ok()).filter(|d| !used.contains(d));
        let db = remembered.unwrap_or_else(|| (0..).find(|d| !used.contains(d) && !others.contains(d)).unwrap_or(0));
        self.allocations.set(key, db.to_string());
        self.redis_state(server).used.insert(db);
        self.origins.redis.push((server.to_string(), db, consumer.to_string(), u.service.span));
        model.redis_dbs.push(RedisDb { server: server.to_string(), db, consumer: consumer.to_string() });
        db
    }

    /// The proxy process's own secrets, as environment: the ACME DNS provider's token and the
    /// basic-auth credentials. Put on the proxy service, they reach its container through the
    /// same 0600 secret file as any other secret variable.
    fn proxy_environment(&mut self, model: &mut Model) {
        let Some(ingress) = &self.spec.ingress else { return };
        let Some(proxy) = ingress.proxy.as_ref().map(|p| p.value.clone()) else { return };
        let Some(app) = model.services.get(&proxy).and_then(|s| s.app.clone()) else { return };
        let mut env: Vec<(String, Template)> = Vec::new();
        if let Some(acme) = ingress.tls.as_ref().and_then(|t| t.acme.as_ref())
            && acme.challenge == Some(hearth_spec::ast::Challenge::Dns)
            && let (Some(provider), Some(token)) = (&acme.provider, &acme.token)
            && let Some(var) = crate::derive::ingress::dns_token_var(&app, provider)
        {
            env.push((var, Template::secret(crate::derive::reference(self.spec, token))));
        }
        let basic = model.services.values().any(|s| s.exposes.iter().any(|x| x.auth == Auth::Basic));
        if basic {
            use crate::derive::ingress::{
                BASIC_AUTH_HASH, BASIC_AUTH_USER, CADDY_BASIC_HASH_VAR, CADDY_BASIC_USER_VAR,
            };
            for (var, name) in [(CADDY_BASIC_USER_VAR, BASIC_AUTH_USER), (CADDY_BASIC_HASH_VAR, BASIC_AUTH_HASH)] {
                let secret = self.external_secret(name, &proxy, model);
                if app == "caddy" {
                    env.push((var.to_string(), secret));
                }
            }
        }
        if let Some(s) = model.services.get_mut(&proxy) {
            s.env.extend(env);
        }
    }

    fn fqdn(&self, name: &str, model: &Model) -> String {
        if name.contains('.') {
            name.to_string()
        } else {
            format!("{name}.{}", model.domain.as_deref().unwrap_or("home.arpa"))
        }
    }

    fn routes_and_dns(&mut self, model: &mut Model) {
        let proxy_addr = self
            .spec
            .ingress
            .as_ref()
            .and_then(|i| i.proxy.as_ref())
            .and_then(|p| model.services.get(&p.value))
            .and_then(|s| s.address);
        let mut routes = Vec::new();
        for (name, s) in &model.services {
            for x in &s.exposes {
                let mut upstreams = Vec::new();
                // Each machine by address, or by name when it has none (resolved through DNS).
                let machines = s
                    .machines()
                    .into_iter()
                    .map(|m| model.machine_address(m).map_or_else(|| m.to_string(), |a| a.to_string()));
                // A port the catalog says speaks HTTPS (Portainer's 9443) is reached over HTTPS.
                let scheme =
                    if s.ports.iter().any(|p| p.host.unwrap_or(p.container) == x.port && p.protocol == Protocol::Https)
                    {
                        "https"
                    } else {
                        "http"
                    };
                if let Placement::Cluster(cluster) = &s.on {
                    // A service on a cluster is reached through the cluster's ingress controller
                    // (port 80 on its server nodes), which routes by host name to the pods.
                    let servers = model.clusters.get(cluster).map(|c| c.servers.clone()).unwrap_or_default();
                    for g in servers {
                        let at = model.machine_address(&g).map_or(g, |a| a.to_string());
                        upstreams.push(format!("http://{at}:80"));
                    }
                } else {
                    for m in machines {
                        upstreams.push(format!("{scheme}://{m}:{}", x.port));
                    }
                }
                routes.push(Route {
                    fqdn: x.fqdn.clone(),
                    path: x.path.clone(),
                    service: name.clone(),
                    upstreams,
                    access: x.access,
                    auth: x.auth,
                });
                if let Some(addr) = proxy_addr {
                    model.dns_records.push(DnsRecord { name: x.fqdn.clone(), address: addr });
                }
            }
        }
        routes.sort_by(|a, b| (&a.fqdn, &a.path).cmp(&(&b.fqdn, &b.path)));
        model.routes = routes;
        if let Some(dns) = &self.spec.dns {
            let zone = dns
                .zone
                .as_ref()
                .map(|z| z.value.clone())
                .or_else(|| model.domain.clone())
                .unwrap_or_else(|| "home.arpa".into());
            for e in &dns.records.entries {
                let name = if e.name.contains('.') { e.name.clone() } else { format!("{}.{zone}", e.name) };
                model.dns_records.push(DnsRecord { name, address: e.value.value.0 });
            }
        }
        model.dns_records.sort_by(|a, b| (&a.name, a.address).cmp(&(&b.name, b.address)));
        // A service exposing one name on two paths gets one record, not two.
        model.dns_records.dedup_by(|a, b| a.name == b.name && a.address == b.address);
    }
}

/// Joins a message and an optional hint with `; `.
fn sentence(message: String, hint: &str) -> String {
    if hint.is_empty() { message } else { format!("{message}; {hint}") }
}

/// Whether an allocator may hand out `a` in `net`.
fn address_usable(net: &ast::Network, a: IpAddr, taken: &HashSet<IpAddr>) -> bool {
    let cidr = net.cidr.value.0;
    cidr.contains(&a)
        && a != cidr.network()
        && a != cidr.broadcast()
        && net.gateway.as_ref().is_none_or(|g| g.value.0 != a)
        && !net.reserved.iter().any(|r| r.value.contains(a))
        && net.dhcp.as_ref().is_none_or(|d| !d.value.contains(a))
        && net.allocate.as_ref().is_none_or(|r| r.value.contains(a))
        && !taken.contains(&a)
}

/// `repo/name:tag` with another tag.
pub fn replace_tag(image: &str, tag: &str) -> String {
    let (without_digest, _) = image.split_once('@').unwrap_or((image, ""));
    let slash = without_digest.rfind('/').map_or(0, |i| i + 1);
    let base = match without_digest[slash..].find(':') {
        Some(i) => &without_digest[..slash + i],
        None => without_digest,
    };
    format!("{base}:{tag}")
}
