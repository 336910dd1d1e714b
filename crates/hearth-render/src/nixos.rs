//! NixOS: one flake for every guest whose `os` starts with `nixos`, with a
//! `hosts/<name>/configuration.nix` per guest in standard NixOS options.
//!
//! Layout: every NixOS guest gets the whole flake, `/etc/nixos/flake.nix` plus the
//! `configuration.nix` of *every* NixOS guest, identical on each. `nixos-rebuild switch --flake
//! /etc/nixos#<name>` then works on each machine from its own copy, any machine can build
//! (`--target-host`) or inspect another's system, and `/etc/nixos` is the same repository
//! everywhere, which is how NixOS homelabs keep their configuration in one git repository.
//! Putting the flake on one chosen machine would make that machine a single point of failure
//! for every rebuild.
//!
//! Choices, and why:
//! - No `hardware-configuration.nix`: a Proxmox VM imports nixpkgs'
//!   `virtualisation/proxmox-image.nix` (root file system by label, boot loader, QEMU guest
//!   agent) and an LXC container `virtualisation/proxmox-lxc.nix` with `manageNetwork` and
//!   `manageHostName`, so the configuration evaluates without anything generated on the machine.
//! - The interface is `ens18` in a VM (virtio's predictable name on Proxmox's q35/i440fx slot)
//!   and `eth0` in an LXC container: the model has no interface names.
//! - Firewall: NixOS's own `networking.firewall` on the nftables backend
//!   (`networking.nftables.enable = true`). Openings from anywhere go to `allowedTCPPorts` /
//!   `allowedUDPPorts`; openings restricted to sources go to `networking.firewall.extraInputRules`
//!   as nftables rules (`ip saddr { ... } tcp dport N accept`), which the plain port lists cannot
//!   express. NixOS keeps handling loopback, established traffic and ICMP.
//! - Secrets never enter a `.nix` file (it is world-readable in the Nix store): every secret is a
//!   mode-0600 file under `/etc/hearth/nixos/` rendered here as [`Kind::EnvSecret`], and the
//!   configuration names only its path (`requirePassFile`, `passwordFile`, `environmentFiles`).
//!   Services running as their own user (Grafana, Alertmanager) receive it through systemd's
//!   `LoadCredential`, so the file can stay root-only.
//! - PostgreSQL: `ensureDatabases` / `ensureUsers` with `ensureDBOwnership` for databases named
//!   like their user (NixOS asserts that), password authentication per consumer machine in
//!   `authentication`. Role passwords are not NixOS options; the postgres renderer's
//!   `/etc/hearth/postgres/apply.sh` sets them from its 0600 file, as the comment says.
//! - Backups: one `services.restic.backups.<service>-<repository>` per backup job and restic
//!   repository of its policy (the module takes one repository each), with the policy's calendar
//!   and `keep`, database dumps in `backupPrepareCommand`.
//! - Docker services on a NixOS guest become `virtualisation.oci-containers.containers` (Docker
//!   backend): non-secret environment inline, secret environment in an `environmentFiles` entry.
//! - Native services whose catalog `native.nixos` module has no dedicated mapping here are
//!   enabled with `<module>.enable = true`; a service without a NixOS module gets a comment.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;

use hearth_catalog::{App, Provides};
use hearth_model::Model;
use hearth_model::model::{Channel, Guest, GuestKind, Opening, Placement, Repository, Service, Template, Tls};
use hearth_spec::ast::{Auth, Form};

use crate::shell::sh_quote;
use crate::sites::{self, Proxy};
use crate::{Activation, Context, File, Kind, Output, fill};

const NIXPKGS: &str = "github:NixOS/nixpkgs/nixos-24.11";
const STATE_VERSION: &str = "24.11";
/// Where the 0600 secret files the configurations point at live.
const SECRETS: &str = "/etc/hearth/nixos";

/// `nixos-rebuild` on a NixOS system.
const NIXOS_REBUILD: &str = "/run/current-system/sw/bin/nixos-rebuild";

pub fn render(cx: &Context, out: &mut Output) {
    let model = cx.model;
    let guests: Vec<(&str, &Guest)> =
        model.guests.iter().filter(|(n, _)| model.is_nixos(n)).map(|(n, g)| (n.as_str(), g)).collect();
    if guests.is_empty() {
        return;
    }
    let flake = flake(model, &guests);
    let mut configs = Vec::new();
    for (name, guest) in &guests {
        let mut host = HostConfig::new(cx, name, guest);
        host.build();
        for secret in &host.secrets {
            let mut file = File::new(name, format!("{SECRETS}/{}", secret.file), Kind::EnvSecret, &secret.content);
            for src in &secret.sources {
                file = file.from(src.clone());
            }
            out.push(file);
        }
        configs.push((name.to_string(), host.text(), host.sources));
    }
    for (machine, _) in &guests {
        // Every file of the flake takes effect through one rebuild of this machine's system.
        let rebuild = Activation::Run {
            argv: [NIXOS_REBUILD, "switch", "--flake", &format!("/etc/nixos#{machine}")].map(String::from).to_vec(),
        };
        let mut f = File::new(machine, "/etc/nixos/flake.nix", Kind::Nixos, &flake).activate(rebuild.clone());
        for (name, _) in &guests {
            f = f.from(format!("guest/{name}"));
        }
        out.push(f);
        for (name, text, sources) in &configs {
            let mut f = File::new(machine, format!("/etc/nixos/hosts/{name}/configuration.nix"), Kind::Nixos, text)
                .activate(rebuild.clone());
            for src in sources {
                f = f.from(src.clone());
            }
            out.push(f);
        }
    }
}

fn flake(model: &Model, guests: &[(&str, &Guest)]) -> String {
    let mut s = format!(
        "# NixOS flake of homelab `{}`, rendered by Hearth. The same flake is on every NixOS guest:\n\
         #   nixos-rebuild switch --flake /etc/nixos#<name>\n\
         {{\n  description = {};\n\n  inputs.nixpkgs.url = {};\n\n  outputs = {{ self, nixpkgs }}: {{\n    nixosConfigurations = {{\n",
        model.homelab,
        nix_str(&format!("Homelab {}", model.homelab)),
        nix_str(NIXPKGS)
    );
    for (name, _) in guests {
        let _ = write!(
            s,
            "      {} = nixpkgs.lib.nixosSystem {{\n        system = \"x86_64-linux\";\n        modules = [ ./hosts/{name}/configuration.nix ];\n      }};\n",
            attr(name)
        );
    }
    s.push_str("    };\n  };\n}\n");
    s
}

/// A Nix value, written with two-space indentation.
enum N {
    Str(String),
    /// An expression written as is (`true`, `3000`, `pkgs.postgresql_16`).
    Raw(String),
    /// An indented string (`'' ... ''`); its text is escaped.
    Lines(String),
    List(Vec<N>),
    Attrs(Vec<(String, N)>),
}

impl N {
    fn s(v: impl Into<String>) -> N {
        N::Str(v.into())
    }

    fn b(v: bool) -> N {
        N::Raw(v.to_string())
    }

    fn num(v: impl std::fmt::Display) -> N {
        N::Raw(v.to_string())
    }

    fn strs<S: AsRef<str>>(v: &[S]) -> N {
        N::List(v.iter().map(|s| N::s(s.as_ref())).collect())
    }

    fn attrs(entries: Vec<(&str, N)>) -> N {
        N::Attrs(entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    fn write(&self, out: &mut String, indent: usize) {
        let pad = "  ".repeat(indent);
        match self {
            N::Str(s) => out.push_str(&nix_str(s)),
            N::Raw(s) => out.push_str(s),
            N::Lines(text) => {
                out.push_str("''\n");
                for line in text.lines() {
                    if line.is_empty() {
                        out.push('\n');
                    } else {
                        let _ = writeln!(out, "{pad}  {}", line.replace("''", "'''").replace("${", "''${"));
                    }
                }
                let _ = write!(out, "{pad}''");
            }
            N::List(items) if items.is_empty() => out.push_str("[ ]"),
            N::List(items) if items.iter().all(|i| matches!(i, N::Str(_) | N::Raw(_))) => {
                out.push_str("[ ");
                for i in items {
                    i.write(out, indent);
                    out.push(' ');
                }
                out.push(']');
            }
            N::List(items) => {
                out.push_str("[\n");
                for i in items {
                    out.push_str(&pad);
                    out.push_str("  ");
                    i.write(out, indent + 1);
                    out.push('\n');
                }
                let _ = write!(out, "{pad}]");
            }
            N::Attrs(entries) if entries.is_empty() => out.push_str("{ }"),
            N::Attrs(entries) => {
                out.push_str("{\n");
                for (k, v) in entries {
                    let _ = write!(out, "{pad}  {k} = ");
                    v.write(out, indent + 1);
                    out.push_str(";\n");
                }
                let _ = write!(out, "{pad}}}");
            }
        }
    }
}

/// A Nix string literal.
fn nix_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '$' => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An attribute name, quoted unless it is a plain identifier.
fn attr(s: &str) -> String {
    let plain = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-'".contains(c))
        && !matches!(s, "if" | "then" | "else" | "let" | "in" | "with" | "rec" | "inherit" | "assert" | "or");
    if plain { s.to_string() } else { nix_str(s) }
}

/// An attribute path from segments: `services.redis.servers."my.cache"`.
fn path(segments: &[&str]) -> String {
    segments.iter().map(|s| attr(s)).collect::<Vec<_>>().join(".")
}

/// A 0600 file this renderer writes beside the configuration.
struct Secret {
    file: String,
    content: String,
    sources: BTreeSet<String>,
}

/// One guest's `configuration.nix`, built as commented sections of attribute assignments.
struct HostConfig<'a> {
    cx: &'a Context<'a>,
    name: &'a str,
    guest: &'a Guest,
    sections: Vec<(String, Vec<(String, N)>)>,
    secrets: Vec<Secret>,
    sources: BTreeSet<String>,
}

impl<'a> HostConfig<'a> {
    fn new(cx: &'a Context<'a>, name: &'a str, guest: &'a Guest) -> HostConfig<'a> {
        let mut sources = BTreeSet::new();
        sources.insert(format!("guest/{name}"));
        HostConfig { cx, name, guest, sections: Vec::new(), secrets: Vec::new(), sources }
    }

    fn section(&mut self, comment: impl Into<String>, entries: Vec<(String, N)>) {
        if !entries.is_empty() {
            self.sections.push((comment.into(), entries));
        }
    }

    /// A secret file from a template; returns its path.
    fn secret(&mut self, file: &str, content: String, source: &str) -> String {
        if let Some(s) = self.secrets.iter_mut().find(|s| s.file == file) {
            s.sources.insert(source.to_string());
        } else {
            let mut sources = BTreeSet::new();
            sources.insert(source.to_string());
            self.secrets.push(Secret { file: file.to_string(), content, sources });
        }
        format!("{SECRETS}/{file}")
    }

    fn model(&self) -> &'a Model {
        self.cx.model
    }

    /// Services placed on this guest (primary or replica), by name.
    fn placed(&self) -> Vec<(&'a str, &'a Service)> {
        let name = self.name;
        self.model()
            .services
            .iter()
            .filter(|(_, s)| matches!(&s.on, Placement::Guest(g) if g == name) || s.also_on.iter().any(|a| a == name))
            .map(|(n, s)| (n.as_str(), s))
            .collect()
    }

    fn build(&mut self) {
        self.base();
        self.network();
        self.firewall();
        self.agents();
        let placed = self.placed();
        for (name, s) in &placed {
            if s.form == Form::Native {
                self.sources.insert(format!("service/{name}"));
                self.native(name, s);
            }
        }
        let docker: Vec<(&str, &Service)> = placed.iter().filter(|(_, s)| s.form == Form::Docker).copied().collect();
        if self.guest.runtime == "docker" || !docker.is_empty() {
            self.containers(&docker);
        }
        self.backups();
    }

    fn base(&mut self) {
        let module = match self.guest.kind {
            GuestKind::Vm => "/virtualisation/proxmox-image.nix",
            GuestKind::Lxc => "/virtualisation/proxmox-lxc.nix",
        };
        let mut entries = vec![
            ("imports".to_string(), N::List(vec![N::Raw(format!("(modulesPath + {})", nix_str(module)))])),
            ("system.stateVersion".to_string(), N::s(STATE_VERSION)),
        ];
        if self.guest.kind == GuestKind::Lxc {
            entries.push(("proxmoxLXC.manageNetwork".into(), N::b(true)));
            entries.push(("proxmoxLXC.manageHostName".into(), N::b(true)));
        }
        entries.push(("time.timeZone".into(), N::s(&self.model().timezone)));
        entries.push((
            "services.openssh".into(),
            N::attrs(vec![
                ("enable", N::b(true)),
                // The firewall below decides who reaches port 22.
                ("openFirewall", N::b(false)),
                (
                    "settings",
                    N::attrs(vec![
                        ("PasswordAuthentication", N::b(false)),
                        ("PermitRootLogin", N::s("prohibit-password")),
                    ]),
                ),
            ]),
        ));
        self.section(
            format!("Proxmox {} `{}` on host `{}`", kind_name(self.guest.kind), self.name, self.guest.host),
            entries,
        );
    }

    fn network(&mut self) {
        let model = self.model();
        let g = self.guest;
        let mut entries =
            vec![("networking.hostName".to_string(), N::s(&g.hostname)), ("networking.useDHCP".into(), N::b(false))];
        let network = g.network.as_deref().and_then(|n| model.networks.get(n).map(|net| (n, net)));
        if let Some((net_name, net)) = network {
            self.sources.insert(format!("network/{net_name}"));
            let iface = match g.kind {
                GuestKind::Vm => "ens18",
                GuestKind::Lxc => "eth0",
            };
            let prefix = net.cidr.rsplit_once('/').and_then(|(_, p)| p.parse::<u8>().ok());
            if let (Some(address), Some(prefix)) = (g.address, prefix) {
                let family = if address.is_ipv4() { "ipv4" } else { "ipv6" };
                entries.push((
                    path(&["networking", "interfaces", iface, family, "addresses"]),
                    N::List(vec![N::attrs(vec![
                        ("address", N::s(address.to_string())),
                        ("prefixLength", N::num(prefix)),
                    ])]),
                ));
            }
            if let Some(gw) = net.gateway {
                entries.push(("networking.defaultGateway".into(), N::s(gw.to_string())));
            }
            let mut dns: Vec<String> = net.dns.iter().map(IpAddr::to_string).collect();
            if dns.is_empty() {
                // The homelab's own DNS server, else the gateway (what DHCP would hand out).
                let server = model.dns.server.as_deref().and_then(|s| model.services.get(s)).and_then(|s| s.address);
                dns.extend(server.or(net.gateway).map(|a| a.to_string()));
            }
            if !dns.is_empty() {
                entries.push(("networking.nameservers".into(), N::strs(&dns)));
            }
        }
        self.section("Network", entries);
    }

    fn firewall(&mut self) {
        let openings: Vec<Opening> = self.model().firewall.get(self.name).cloned().unwrap_or_default();
        let mut tcp: BTreeSet<u16> = BTreeSet::new();
        let mut udp: BTreeSet<u16> = BTreeSet::new();
        let mut rules = String::new();
        let mut seen = BTreeSet::new();
        for o in &openings {
            let proto = o.protocol.as_str();
            if o.from.is_empty() {
                match proto {
                    "udp" => udp.insert(o.port),
                    _ => tcp.insert(o.port),
                };
                continue;
            }
            if !seen.insert((o.port, proto.to_string(), o.from.clone())) {
                continue;
            }
            let (v4, v6): (Vec<&String>, Vec<&String>) = o.from.iter().partition(|f| !f.contains(':'));
            let _ = writeln!(rules, "# {}", o.reason);
            for (family, set) in [("ip", v4), ("ip6", v6)] {
                if !set.is_empty() {
                    let set: Vec<&str> = set.iter().map(|s| s.as_str()).collect();
                    let _ = writeln!(rules, "{family} saddr {{ {} }} {proto} dport {} accept", set.join(", "), o.port);
                }
            }
        }
        // Ports open to everyone need no restricted rule as well.
        let mut entries = vec![
            ("networking.nftables.enable".to_string(), N::b(true)),
            ("networking.firewall.enable".into(), N::b(true)),
        ];
        if !tcp.is_empty() {
            entries.push(("networking.firewall.allowedTCPPorts".into(), N::List(tcp.iter().map(N::num).collect())));
        }
        if !udp.is_empty() {
            entries.push(("networking.firewall.allowedUDPPorts".into(), N::List(udp.iter().map(N::num).collect())));
        }
        if !rules.is_empty() {
            entries.push(("networking.firewall.extraInputRules".into(), N::Lines(rules)));
        }
        if !openings.is_empty() {
            self.sources.insert("firewall".into());
        }
        self.section(
            "Firewall: nftables; ports open to anyone as port lists, source-restricted ones as rules",
            entries,
        );
    }

    /// Node exporter and the log agent the monitoring section puts on every managed machine.
    fn agents(&mut self) {
        let model = self.model();
        let mon = &model.monitoring;
        let mut entries = Vec::new();
        if mon.exporters.iter().any(|e| e == "node-exporter") {
            entries.push((
                "services.prometheus.exporters.node".to_string(),
                N::attrs(vec![
                    ("enable", N::b(true)),
                    ("port", N::num(9100)),
                    ("enabledCollectors", N::strs(&["systemd", "textfile"])),
                    ("extraFlags", N::strs(&["--collector.textfile.directory=/var/lib/prometheus/node-exporter"])),
                ]),
            ));
        }
        let loki = mon.loki.as_deref().and_then(|l| model.services.get(l).map(|s| (l, s)));
        if mon.agent.as_deref() == Some("promtail")
            && let Some((_, ls)) = loki
            && let Some(address) = ls.address
        {
            let port = ls.ports.iter().find(|p| p.name == "http").map_or(3100, |p| p.host.unwrap_or(p.container));
            entries.push((
                "services.promtail".into(),
                N::attrs(vec![
                    ("enable", N::b(true)),
                    (
                        "configuration",
                        N::attrs(vec![
                            (
                                "server",
                                N::attrs(vec![("http_listen_port", N::num(9080)), ("grpc_listen_port", N::num(0))]),
                            ),
                            ("positions", N::attrs(vec![("filename", N::s("/var/lib/promtail/positions.yaml"))])),
                            (
                                "clients",
                                N::List(vec![N::attrs(vec![(
                                    "url",
                                    N::s(format!("http://{}/loki/api/v1/push", host_port(address, port))),
                                )])]),
                            ),
                            (
                                "scrape_configs",
                                N::List(vec![N::attrs(vec![
                                    ("job_name", N::s("journal")),
                                    (
                                        "journal",
                                        N::attrs(vec![
                                            ("max_age", N::s("12h")),
                                            (
                                                "labels",
                                                N::attrs(vec![
                                                    ("job", N::s("systemd-journal")),
                                                    ("host", N::s(self.name)),
                                                ]),
                                            ),
                                        ]),
                                    ),
                                    (
                                        "relabel_configs",
                                        N::List(vec![N::attrs(vec![
                                            ("source_labels", N::strs(&["__journal__systemd_unit"])),
                                            ("target_label", N::s("unit")),
                                        ])]),
                                    ),
                                ])]),
                            ),
                        ]),
                    ),
                ]),
            ));
        } else if mon.agent.as_deref() == Some("alloy") {
            entries.push(("services.alloy.enable".into(), N::b(true)));
        }
        if !entries.is_empty() {
            self.sources.insert("monitoring".into());
        }
        self.section("Monitoring agents", entries);
    }

    fn app(&self, s: &Service) -> Option<&'a App> {
        s.app.as_deref().and_then(|a| self.cx.catalog.get(a))
    }

    fn native(&mut self, name: &str, s: &'a Service) {
        let app = self.app(s);
        let module = app.and_then(|a| a.native.as_ref()).and_then(|n| n.nixos.clone());
        let provides = |k: Provides| app.is_some_and(|a| a.provides(k));
        let model = self.model();
        if provides(Provides::Postgres) {
            self.postgres(name, s);
        } else if provides(Provides::Redis) {
            self.redis(name, s);
        } else if model.ingress.proxy.as_deref() == Some(name) && app.is_some_and(|a| a.name.value == "nginx") {
            self.nginx(name);
        } else if model.monitoring.prometheus.as_deref() == Some(name) {
            self.prometheus(name, s);
        } else if model.monitoring.alertmanager.as_deref() == Some(name) {
            self.alertmanager(name, s);
        } else if model.monitoring.grafana.as_deref() == Some(name) {
            self.grafana(name, s);
        } else if model.monitoring.loki.as_deref() == Some(name) {
            self.loki(name, s);
        } else {
            match module.as_deref() {
                Some("services.nfs.server") => self.nfs(name, s),
                Some("services.samba") => self.samba(name, s),
                Some("services.fail2ban") => self.fail2ban(name),
                // Backup tools run from the backup jobs below.
                Some("services.restic.backups") => {}
                Some(m) if m.split('.').all(|seg| !seg.is_empty() && !seg.contains(char::is_whitespace)) => {
                    let key = format!("{}.enable", m.split_whitespace().next().unwrap_or(m));
                    self.section(format!("Service `{name}` ({})", app_name(s)), vec![(key, N::b(true))]);
                }
                _ => {
                    let package = app.and_then(|a| a.native.as_ref()).and_then(|n| n.package.clone());
                    self.sections.push((
                        format!(
                            "Service `{name}` ({}): the catalog names no NixOS module{}; configure it by hand",
                            app_name(s),
                            package.map(|p| format!(" (Debian package `{p}`)")).unwrap_or_default()
                        ),
                        Vec::new(),
                    ));
                }
            }
        }
    }

    fn postgres(&mut self, name: &str, s: &Service) {
        let model = self.model();
        let major: String = s
            .image
            .as_deref()
            .and_then(hearth_catalog::image_tag)
            .unwrap_or("16")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let major = if major.is_empty() { "16".to_string() } else { major };
        let port = s.ports.iter().find(|p| p.name == "postgres").map_or(5432, |p| p.host.unwrap_or(p.container));
        let dbs: Vec<_> = model.databases.iter().filter(|d| d.server == name && d.engine == "postgres").collect();
        let mut databases: Vec<String> = dbs.iter().map(|d| d.name.clone()).collect();
        databases.sort();
        databases.dedup();
        let mut users: BTreeMap<&str, bool> = BTreeMap::new();
        for d in &dbs {
            *users.entry(d.user.as_str()).or_default() |= d.name == d.user;
        }
        let mut auth = String::new();
        for d in &dbs {
            for c in &d.consumers {
                self.sources.insert(format!("service/{c}"));
                let Some(cs) = model.services.get(c) else { continue };
                for m in cs.machines() {
                    if let Some(a) = model.machine_address(m) {
                        let mask = if a.is_ipv4() { 32 } else { 128 };
                        let line = format!("host {} {} {a}/{mask} scram-sha-256\n", d.name, d.user);
                        if !auth.contains(&line) {
                            auth.push_str(&line);
                        }
                    }
                }
            }
        }
        let ensure_users = N::List(
            users
                .iter()
                .map(|(u, owns)| {
                    let mut e = vec![("name", N::s(*u))];
                    if *owns {
                        e.push(("ensureDBOwnership", N::b(true)));
                    }
                    N::attrs(e)
                })
                .collect(),
        );
        let mut entries = vec![
            ("enable", N::b(true)),
            ("package", N::Raw(format!("pkgs.postgresql_{major}"))),
            ("enableTCPIP", N::b(true)),
            ("settings", N::attrs(vec![("port", N::num(port)), ("password_encryption", N::s("scram-sha-256"))])),
        ];
        if !databases.is_empty() {
            entries.push(("ensureDatabases", N::strs(&databases)));
            entries.push(("ensureUsers", ensure_users));
        }
        if !auth.is_empty() {
            entries.push(("authentication", N::Lines(auth)));
        }
        let mut comment = format!(
            "PostgreSQL `{name}`. Role passwords are set by /etc/hearth/postgres/apply.sh from its 0600 passwords file"
        );
        let foreign: Vec<String> =
            dbs.iter().filter(|d| d.name != d.user).map(|d| format!("{} (owner {})", d.name, d.user)).collect();
        if !foreign.is_empty() {
            let _ = write!(comment, "; it also sets the owner of {}", foreign.join(", "));
        }
        self.section(comment, vec![(path(&["services", "postgresql"]), N::attrs(entries))]);
    }

    fn redis(&mut self, name: &str, s: &Service) {
        let port = s.ports.iter().find(|p| p.name == "redis").map_or(6379, |p| p.host.unwrap_or(p.container));
        let dbs =
            self.model().redis_dbs.iter().filter(|d| d.server == name).map(|d| d.db + 1).max().unwrap_or(0).max(16);
        let password = fill(&Template::secret(format!("secret:{name}-password")), self.cx.secrets);
        let file = self.secret(&format!("{name}-password"), format!("{password}\n"), &format!("service/{name}"));
        self.section(
            format!("Redis `{name}`: password from a 0600 file, never in the store"),
            vec![(
                path(&["services", "redis", "servers", name]),
                N::attrs(vec![
                    ("enable", N::b(true)),
                    ("bind", N::s("0.0.0.0")),
                    ("port", N::num(port)),
                    ("databases", N::num(dbs)),
                    ("appendOnly", N::b(true)),
                    ("requirePassFile", N::s(file)),
                ]),
            )],
        );
    }

    fn nginx(&mut self, name: &str) {
        let cx = self.cx;
        let Some(proxy) = Proxy::find(cx, "nginx") else { return };
        let sites = sites::sites(cx, &proxy);
        let tls = &cx.model.ingress.tls;
        let mut upstreams = Vec::new();
        let mut vhosts = Vec::new();
        let mut notes = Vec::new();
        for site in &sites {
            for src in &site.sources {
                self.sources.insert(src.clone());
            }
            let mut locations = Vec::new();
            for loc in &site.locations {
                let (scheme, hosts) = loc.hosts();
                let target = if hosts.len() > 1 {
                    upstreams.push((
                        attr(&loc.key),
                        N::attrs(vec![(
                            "servers",
                            N::Attrs(hosts.iter().map(|h| (attr(h), N::Attrs(Vec::new()))).collect()),
                        )]),
                    ));
                    format!("{scheme}://{}", loc.key)
                } else {
                    format!("{scheme}://{}", hosts.first().cloned().unwrap_or_default())
                };
                let mut extra = String::new();
                if let Some(allow) = &loc.allow {
                    for r in &allow.ranges {
                        let _ = writeln!(extra, "allow {r};");
                    }
                    extra.push_str("deny all;\n");
                }
                let mut location = vec![("proxyPass", N::s(target)), ("proxyWebsockets", N::b(true))];
                match loc.auth {
                    Auth::Basic => location.push(("basicAuthFile", N::s("/etc/nginx/hearth.htpasswd"))),
                    Auth::Sso => {
                        // Forward auth needs the SSO provider's snippets; refuse rather than
                        // serve the name without authentication.
                        notes.push(format!(
                            "{}{}: `auth: sso` is not rendered for NixOS yet; it answers 403",
                            site.fqdn,
                            loc.path.as_deref().unwrap_or("")
                        ));
                        extra.push_str("return 403;\n");
                    }
                    Auth::None => {}
                }
                if !extra.is_empty() {
                    location.push(("extraConfig", N::Lines(extra)));
                }
                locations.push((nix_str(loc.path.as_deref().unwrap_or("/")), N::attrs(location)));
            }
            let mut vhost = Vec::new();
            match tls {
                Tls::Acme { .. } => {
                    vhost.push(("enableACME", N::b(true)));
                    vhost.push(("forceSSL", N::b(true)));
                }
                Tls::Internal => {
                    vhost.push(("forceSSL", N::b(true)));
                    vhost.push(("sslCertificate", N::s(format!("/etc/hearth/tls/{}.crt", site.fqdn))));
                    vhost.push(("sslCertificateKey", N::s(format!("/etc/hearth/tls/{}.key", site.fqdn))));
                }
                Tls::None => {}
            }
            vhost.push(("locations", N::Attrs(locations)));
            vhosts.push((attr(&site.fqdn), N::attrs(vhost)));
        }
        let mut nginx = vec![
            ("enable", N::b(true)),
            ("recommendedProxySettings", N::b(true)),
            ("recommendedTlsSettings", N::b(true)),
            ("recommendedOptimisation", N::b(true)),
            ("recommendedGzipSettings", N::b(true)),
        ];
        if !upstreams.is_empty() {
            nginx.push(("upstreams", N::Attrs(upstreams)));
        }
        nginx.push(("virtualHosts", N::Attrs(vhosts)));
        let mut entries = vec![(path(&["services", "nginx"]), N::attrs(nginx))];
        if let Tls::Acme { email, challenge, provider, token, server } = tls {
            self.sources.insert("ingress".into());
            let mut defaults = vec![("email", N::s(email))];
            if let Some(server) = server {
                defaults.push(("server", N::s(server)));
            }
            if challenge == "dns"
                && let Some(provider) = provider
            {
                defaults.push(("dnsProvider", N::s(provider)));
                if let Some(token) = token {
                    let value = fill(&Template::secret(token.clone()), cx.secrets);
                    // NixOS's security.acme runs lego, which names each provider's variable itself.
                    let var = hearth_model::derive::ingress::dns_token_var("lego", provider).unwrap_or_default();
                    let file = self.secret("acme-dns.env", format!("{var}={value}\n"), "ingress");
                    defaults.push(("environmentFile", N::s(file)));
                }
            }
            entries.push((
                "security.acme".into(),
                N::attrs(vec![("acceptTerms", N::b(true)), ("defaults", N::attrs(defaults))]),
            ));
        }
        let mut comment = format!("Reverse proxy `{name}`: one virtual host per exposed name");
        for n in notes {
            let _ = write!(comment, "\n{n}");
        }
        self.section(comment, entries);
    }

    fn prometheus(&mut self, name: &str, s: &Service) {
        let model = self.model();
        let mon = &model.monitoring;
        self.sources.insert("monitoring".into());
        let port = s.ports.iter().find(|p| p.name == "http").map_or(9090, |p| p.host.unwrap_or(p.container));
        let scrape = N::List(
            mon.scrape
                .iter()
                .map(|j| {
                    N::attrs(vec![
                        ("job_name", N::s(&j.job)),
                        ("metrics_path", N::s(&j.path)),
                        ("static_configs", N::List(vec![N::attrs(vec![("targets", N::strs(&j.targets))])])),
                    ])
                })
                .collect(),
        );
        let mut entries = vec![
            ("enable", N::b(true)),
            ("port", N::num(port)),
            ("retentionTime", N::s(&mon.retention)),
            ("globalConfig", N::attrs(vec![("scrape_interval", N::s(&mon.scrape_interval))])),
            ("scrapeConfigs", scrape),
        ];
        if !mon.rules.is_empty() {
            let mut yaml = String::from("groups:\n  - name: hearth\n    rules:\n");
            for r in &mon.rules {
                let _ = write!(
                    yaml,
                    "      - alert: {}\n        expr: {}\n        for: {}\n        labels:\n          severity: {}\n        annotations:\n          summary: {}\n",
                    json(&r.name),
                    json(&r.expr),
                    json(&r.for_),
                    json(&r.severity),
                    json(&r.summary)
                );
            }
            entries.push(("rules", N::List(vec![N::Lines(yaml)])));
        }
        if let Some(am) = mon.alertmanager.as_deref().and_then(|a| model.services.get(a))
            && let Some(address) = am.address
        {
            let port = am.ports.iter().find(|p| p.name == "http").map_or(9093, |p| p.host.unwrap_or(p.container));
            entries.push((
                "alertmanagers",
                N::List(vec![N::attrs(vec![(
                    "static_configs",
                    N::List(vec![N::attrs(vec![("targets", N::strs(&[host_port(address, port)]))])]),
                )])]),
            ));
        }
        self.section(format!("Prometheus `{name}`"), vec![(path(&["services", "prometheus"]), N::attrs(entries))]);
    }

    fn alertmanager(&mut self, name: &str, s: &Service) {
        let model = self.model();
        self.sources.insert("monitoring".into());
        let port = s.ports.iter().find(|p| p.name == "http").map_or(9093, |p| p.host.unwrap_or(p.container));
        let cred_dir = "/run/credentials/alertmanager.service";
        let mut receiver = vec![("name", N::s("default"))];
        let mut credentials = Vec::new();
        let mut by_kind: BTreeMap<&str, Vec<N>> = BTreeMap::new();
        for ch_name in &model.monitoring.notify {
            let Some(ch) = model.notifications.get(ch_name) else { continue };
            let source = format!("notification/{ch_name}");
            self.sources.insert(source.clone());
            let mut cred = |this: &mut Self, field: &str, reference: &str| -> String {
                let id = format!("{ch_name}-{field}");
                let value = fill(&Template::secret(reference), this.cx.secrets);
                let file = this.secret(&format!("alertmanager-{id}"), value, &source);
                credentials.push(format!("{id}:{file}"));
                format!("{cred_dir}/{id}")
            };
            match ch {
                Channel::Telegram { chat, token } => {
                    let token_file = cred(self, "token", token);
                    let chat_id = chat.parse::<i64>().map_or_else(|_| N::s(chat), N::num);
                    by_kind.entry("telegram_configs").or_default().push(N::attrs(vec![
                        ("bot_token_file", N::s(token_file)),
                        ("chat_id", chat_id),
                        ("send_resolved", N::b(true)),
                    ]));
                }
                Channel::Ntfy { url, topic, token } => {
                    let mut hook = vec![("url", N::s(format!("{}/{topic}", url.trim_end_matches('/'))))];
                    if let Some(t) = token {
                        let f = cred(self, "token", t);
                        hook.push((
                            "http_config",
                            N::attrs(vec![("authorization", N::attrs(vec![("credentials_file", N::s(f))]))]),
                        ));
                    }
                    by_kind.entry("webhook_configs").or_default().push(N::attrs(hook));
                }
                Channel::Gotify { url, token } => {
                    let f = cred(self, "token", token);
                    by_kind.entry("webhook_configs").or_default().push(N::attrs(vec![
                        ("url", N::s(format!("{}/message", url.trim_end_matches('/')))),
                        (
                            "http_config",
                            N::attrs(vec![("authorization", N::attrs(vec![("credentials_file", N::s(f))]))]),
                        ),
                    ]));
                }
                Channel::Email { to, from, smarthost, username, password } => {
                    let mut e = vec![("to", N::s(to)), ("smarthost", N::s(smarthost))];
                    if let Some(f) = from {
                        e.push(("from", N::s(f)));
                    }
                    if let Some(u) = username {
                        e.push(("auth_username", N::s(u)));
                    }
                    if let Some(p) = password {
                        let f = cred(self, "password", p);
                        e.push(("auth_password_file", N::s(f)));
                    }
                    by_kind.entry("email_configs").or_default().push(N::attrs(e));
                }
                Channel::Webhook { url } => {
                    by_kind.entry("webhook_configs").or_default().push(N::attrs(vec![("url", N::s(url))]));
                }
            }
        }
        for (k, v) in by_kind {
            receiver.push((k, N::List(v)));
        }
        let mut entries = vec![(
            path(&["services", "prometheus", "alertmanager"]),
            N::attrs(vec![
                ("enable", N::b(true)),
                ("port", N::num(port)),
                // amtool would run in the build sandbox, where the credential files do not exist.
                ("checkConfig", N::b(false)),
                (
                    "configuration",
                    N::attrs(vec![
                        (
                            "route",
                            N::attrs(vec![
                                ("receiver", N::s("default")),
                                ("group_by", N::strs(&["alertname", "instance"])),
                                ("group_wait", N::s("30s")),
                                ("repeat_interval", N::s("4h")),
                            ]),
                        ),
                        ("receivers", N::List(vec![N::attrs(receiver)])),
                    ]),
                ),
            ]),
        )];
        if !credentials.is_empty() {
            entries.push(("systemd.services.alertmanager.serviceConfig.LoadCredential".into(), N::strs(&credentials)));
        }
        self.section(format!("Alertmanager `{name}`: receiver secrets as systemd credentials"), entries);
    }

    fn grafana(&mut self, name: &str, s: &Service) {
        let model = self.model();
        let port = s.ports.iter().find(|p| p.name == "http").map_or(3000, |p| p.host.unwrap_or(p.container));
        let mut server = vec![("http_addr", N::s("0.0.0.0")), ("http_port", N::num(port))];
        if let Some(e) = s.exposes.first() {
            server.push(("domain", N::s(&e.fqdn)));
            server.push(("root_url", N::s(format!("https://{}/", e.fqdn))));
        }
        let mut settings =
            vec![("server", N::attrs(server)), ("analytics", N::attrs(vec![("reporting_enabled", N::b(false))]))];
        let mut entries = Vec::new();
        if let Some(pw) = s.env.get("GF_SECURITY_ADMIN_PASSWORD").filter(|t| t.is_secret()) {
            let value = fill(pw, self.cx.secrets);
            let file = self.secret(&format!("{name}-admin-password"), value, &format!("service/{name}"));
            let user = s.env.get("GF_SECURITY_ADMIN_USER").map_or_else(|| "admin".to_string(), ToString::to_string);
            settings.push((
                "security",
                N::attrs(vec![
                    ("admin_user", N::s(user)),
                    ("admin_password", N::s("$__file{/run/credentials/grafana.service/admin-password}")),
                ]),
            ));
            entries.push((
                "systemd.services.grafana.serviceConfig.LoadCredential".to_string(),
                N::strs(&[format!("admin-password:{file}")]),
            ));
        }
        let mut datasources = Vec::new();
        let mon = &model.monitoring;
        for (kind, svc, default_port) in [("prometheus", &mon.prometheus, 9090), ("loki", &mon.loki, 3100)] {
            if let Some(svc_name) = svc
                && let Some(ds) = model.services.get(svc_name)
                && let Some(address) = ds.address
            {
                let port =
                    ds.ports.iter().find(|p| p.name == "http").map_or(default_port, |p| p.host.unwrap_or(p.container));
                let title = if kind == "prometheus" { "Prometheus" } else { "Loki" };
                datasources.push(N::attrs(vec![
                    ("name", N::s(title)),
                    ("type", N::s(kind)),
                    ("url", N::s(format!("http://{}", host_port(address, port)))),
                    ("isDefault", N::b(kind == "prometheus")),
                ]));
            }
        }
        let mut grafana = vec![("enable", N::b(true)), ("settings", N::attrs(settings))];
        if !datasources.is_empty() {
            self.sources.insert("monitoring".into());
            grafana.push((
                "provision",
                N::attrs(vec![("enable", N::b(true)), ("datasources.settings.datasources", N::List(datasources))]),
            ));
        }
        entries.insert(0, (path(&["services", "grafana"]), N::attrs(grafana)));
        self.section(format!("Grafana `{name}`"), entries);
    }

    fn loki(&mut self, name: &str, s: &Service) {
        let port = s.ports.iter().find(|p| p.name == "http").map_or(3100, |p| p.host.unwrap_or(p.container));
        let grpc = s.ports.iter().find(|p| p.name == "grpc").map_or(9096, |p| p.host.unwrap_or(p.container));
        let dir =
            s.volumes.iter().find(|v| v.name == "data").map_or("/var/lib/loki", |v| v.source.as_str()).to_string();
        let retention = self.model().monitoring.retention.clone();
        let config = N::attrs(vec![
            ("auth_enabled", N::b(false)),
            ("server", N::attrs(vec![("http_listen_port", N::num(port)), ("grpc_listen_port", N::num(grpc))])),
            (
                "common",
                N::attrs(vec![
                    ("path_prefix", N::s(&dir)),
                    ("replication_factor", N::num(1)),
                    ("ring", N::attrs(vec![("kvstore.store", N::s("inmemory"))])),
                    (
                        "storage.filesystem",
                        N::attrs(vec![
                            ("chunks_directory", N::s(format!("{dir}/chunks"))),
                            ("rules_directory", N::s(format!("{dir}/rules"))),
                        ]),
                    ),
                ]),
            ),
            (
                "schema_config.configs",
                N::List(vec![N::attrs(vec![
                    ("from", N::s("2024-01-01")),
                    ("store", N::s("tsdb")),
                    ("object_store", N::s("filesystem")),
                    ("schema", N::s("v13")),
                    ("index", N::attrs(vec![("prefix", N::s("index_")), ("period", N::s("24h"))])),
                ])]),
            ),
            ("limits_config.retention_period", N::s(retention)),
            (
                "compactor",
                N::attrs(vec![
                    ("working_directory", N::s(format!("{dir}/compactor"))),
                    ("retention_enabled", N::b(true)),
                    ("delete_request_store", N::s("filesystem")),
                ]),
            ),
        ]);
        self.sources.insert("monitoring".into());
        self.section(
            format!("Loki `{name}`: single binary, filesystem storage"),
            vec![(
                path(&["services", "loki"]),
                N::attrs(vec![("enable", N::b(true)), ("dataDir", N::s(&dir)), ("configuration", config)]),
            )],
        );
    }

    /// Source ranges the firewall admits to a port on this guest, for exports and share ACLs.
    fn clients(&self, port: u16) -> Vec<String> {
        let mut from: Vec<String> = self
            .model()
            .firewall
            .get(self.name)
            .into_iter()
            .flatten()
            .filter(|o| o.port == port)
            .flat_map(|o| if o.from.is_empty() { vec!["*".to_string()] } else { o.from.clone() })
            .collect();
        from.sort();
        from.dedup();
        from
    }

    fn nfs(&mut self, name: &str, s: &Service) {
        let port = s.ports.iter().find(|p| p.name == "nfs").map_or(2049, |p| p.host.unwrap_or(p.container));
        let clients = self.clients(port);
        let mut exports = String::new();
        for v in s.volumes.iter().filter(|v| v.name != "exports") {
            let opts: Vec<String> = clients.iter().map(|c| format!("{c}(rw,sync,no_subtree_check)")).collect();
            if !opts.is_empty() {
                let _ = writeln!(exports, "{} {}", v.source, opts.join(" "));
            }
        }
        let mut nfs = vec![("enable", N::b(true))];
        if !exports.is_empty() {
            nfs.push(("exports", N::Lines(exports)));
        }
        self.section(
            format!("NFS server `{name}`: exports to the sources the firewall admits"),
            vec![(path(&["services", "nfs", "server"]), N::attrs(nfs))],
        );
    }

    fn samba(&mut self, name: &str, s: &Service) {
        let port = s.ports.iter().find(|p| p.name == "smb").map_or(445, |p| p.host.unwrap_or(p.container));
        let clients: Vec<String> = self.clients(port).into_iter().filter(|c| c != "*").collect();
        let mut global = vec![
            (attr("server string"), N::s(&self.guest.hostname)),
            (attr("server min protocol"), N::s("SMB3")),
            (attr("map to guest"), N::s("never")),
        ];
        if !clients.is_empty() {
            global.push((attr("hosts allow"), N::s(format!("{} 127.0.0.1", clients.join(" ")))));
            global.push((attr("hosts deny"), N::s("0.0.0.0/0")));
        }
        let mut settings = vec![("global".to_string(), N::Attrs(global))];
        for v in s.volumes.iter().filter(|v| v.name == "shares") {
            let share = v.source.trim_end_matches('/').rsplit('/').next().filter(|n| !n.is_empty()).unwrap_or("share");
            settings.push((
                attr(share),
                N::Attrs(vec![
                    ("path".into(), N::s(&v.source)),
                    (attr("read only"), N::s(if v.readonly { "yes" } else { "no" })),
                    (attr("browseable"), N::s("yes")),
                    (attr("guest ok"), N::s("no")),
                ]),
            ));
        }
        self.section(
            format!("Samba `{name}`: users are added with `smbpasswd -a`"),
            vec![(
                path(&["services", "samba"]),
                N::attrs(vec![("enable", N::b(true)), ("openFirewall", N::b(false)), ("settings", N::Attrs(settings))]),
            )],
        );
    }

    fn fail2ban(&mut self, name: &str) {
        let mut ignore: Vec<String> = self.model().networks.values().map(|n| n.cidr.clone()).collect();
        ignore.sort();
        ignore.dedup();
        ignore.insert(0, "127.0.0.0/8".into());
        self.section(
            format!("fail2ban `{name}`: the SSH jail is on by default"),
            vec![(
                path(&["services", "fail2ban"]),
                N::attrs(vec![
                    ("enable", N::b(true)),
                    ("maxretry", N::num(5)),
                    ("bantime", N::s("1h")),
                    ("ignoreIP", N::strs(&ignore)),
                ]),
            )],
        );
    }

    fn containers(&mut self, docker: &[(&str, &'a Service)]) {
        let mut containers = Vec::new();
        for (name, s) in docker {
            self.sources.insert(format!("service/{name}"));
            let Some(image) = &s.image else { continue };
            let app = self.app(s);
            let mut c = vec![("image", N::s(image))];
            let ports: Vec<String> = s
                .ports
                .iter()
                .filter_map(|p| {
                    let host = p.host?;
                    let proto = if p.protocol == hearth_spec::ast::Protocol::Udp { "/udp" } else { "" };
                    Some(format!("{host}:{}{proto}", p.container))
                })
                .collect();
            if !ports.is_empty() && s.network_mode.is_none() {
                c.push(("ports", N::strs(&ports)));
            }
            let volumes: Vec<String> = s
                .volumes
                .iter()
                .map(|v| format!("{}:{}{}", v.source, v.target, if v.readonly { ":ro" } else { "" }))
                .collect();
            if !volumes.is_empty() {
                c.push(("volumes", N::strs(&volumes)));
            }
            let plain: Vec<(String, N)> =
                s.env.iter().filter(|(_, v)| !v.is_secret()).map(|(k, v)| (attr(k), N::s(v.to_string()))).collect();
            if !plain.is_empty() {
                c.push(("environment", N::Attrs(plain)));
            }
            let secret: Vec<(&String, &Template)> = s.env.iter().filter(|(_, v)| v.is_secret()).collect();
            if !secret.is_empty() {
                let mut text =
                    format!("# Secret environment of container `{name}`, rendered by Hearth. Keep mode 0600.\n");
                for (k, v) in secret {
                    let _ = writeln!(text, "{k}={}", fill(v, self.cx.secrets));
                }
                let file = self.secret(&format!("{name}.env"), text, &format!("service/{name}"));
                c.push(("environmentFiles", N::strs(&[file])));
            }
            if let Some(cmd) = &s.command {
                c.push(("cmd", N::strs(cmd)));
            }
            if let Some(user) = app.and_then(|a| a.user.clone()) {
                c.push(("user", N::s(user)));
            }
            let mut options = Vec::new();
            if let Some(mode) = &s.network_mode {
                options.push(format!("--network={mode}"));
            }
            options.extend(s.cap_add.iter().map(|c| format!("--cap-add={c}")));
            options.extend(s.devices.iter().map(|d| format!("--device={d}")));
            if s.privileged {
                options.push("--privileged".into());
            }
            if let Some(mem) = s.resources.as_ref().and_then(|r| r.memory) {
                options.push(format!("--memory={}m", mem.mib()));
            }
            if let Some(cpus) = s.resources.as_ref().and_then(|r| r.cpus) {
                options.push(format!("--cpus={cpus}"));
            }
            if !options.is_empty() {
                c.push(("extraOptions", N::strs(&options)));
            }
            containers.push((attr(name), N::attrs(c)));
        }
        let mut entries = vec![(
            "virtualisation.docker".to_string(),
            N::attrs(vec![
                ("enable", N::b(true)),
                ("autoPrune", N::attrs(vec![("enable", N::b(true)), ("dates", N::s("weekly"))])),
            ]),
        )];
        if !containers.is_empty() {
            entries.push(("virtualisation.oci-containers.backend".into(), N::s("docker")));
            entries.push(("virtualisation.oci-containers.containers".into(), N::Attrs(containers)));
        }
        self.section("Docker and the containers placed on this guest", entries);
    }

    fn backups(&mut self) {
        let model = self.model();
        let mut backups = Vec::new();
        let me = self.name;
        for job in model.backups.jobs.iter().filter(|j| j.machine == me) {
            let Some(policy) = model.backups.policies.get(&job.policy) else { continue };
            let svc = model.services.get(&job.service);
            let dump_dir = format!("/var/backups/hearth/{}", job.service);
            let mut prepare = String::new();
            if !job.dumps.is_empty() {
                let _ = writeln!(prepare, "rm -rf {0}\nmkdir -p -m 0700 {0}", sh_quote(&dump_dir));
                for d in &job.dumps {
                    match d.engine.as_str() {
                        "postgres" if svc.is_some_and(|s| s.form == Form::Native) => {
                            let _ = writeln!(
                                prepare,
                                "${{pkgs.util-linux}}/bin/runuser -u postgres -- ${{config.services.postgresql.package}}/bin/pg_dump --format=custom --dbname={} > {}",
                                sh_quote(&d.database),
                                sh_quote(&format!("{dump_dir}/postgres-{}.dump", d.database))
                            );
                        }
                        other => {
                            let _ = writeln!(
                                prepare,
                                "echo {} >&2",
                                sh_quote(&format!("no dump for `{other}` database `{}` here", d.database))
                            );
                        }
                    }
                }
            }
            let mut paths = job.paths.clone();
            if !job.dumps.is_empty() {
                paths.push(dump_dir.clone());
            }
            let prune: Vec<String> = policy.keep.iter().map(|(k, v)| format!("--keep-{k} {v}")).collect();
            for repo in &policy.to {
                let Some(Repository::Restic { url, password, credentials }) = model.backups.repositories.get(repo)
                else {
                    continue;
                };
                let password = fill(&Template::secret(password.clone()), self.cx.secrets);
                let pw_file = self.secret(&format!("restic-{repo}-password"), format!("{password}\n"), "backups");
                let mut b =
                    vec![("initialize", N::b(true)), ("repository", N::s(url)), ("passwordFile", N::s(pw_file))];
                if let Some(reference) = credentials {
                    let value = fill(&Template::secret(reference.clone()), self.cx.secrets);
                    let file = self.secret(&format!("restic-{repo}.env"), format!("{}\n", value.trim_end()), "backups");
                    b.push(("environmentFile", N::s(file)));
                }
                b.push(("paths", N::strs(&paths)));
                b.push(("extraBackupArgs", N::strs(&["--tag hearth".to_string(), format!("--tag {}", job.service)])));
                b.push((
                    "timerConfig",
                    N::attrs(vec![("OnCalendar", N::s(&policy.on_calendar)), ("Persistent", N::b(true))]),
                ));
                if !prune.is_empty() {
                    b.push(("pruneOpts", N::strs(&prune)));
                }
                if !prepare.is_empty() {
                    b.push(("backupPrepareCommand", N::Raw(raw_lines(&prepare, 3))));
                }
                backups.push((attr(&format!("{}-{repo}", job.service)), N::attrs(b)));
            }
            self.sources.insert(format!("service/{}", job.service));
            self.sources.insert("backups".into());
        }
        if !backups.is_empty() {
            self.section(
                "Backups: one restic job per backed-up service and repository of its policy",
                vec![("services.restic.backups".into(), N::Attrs(backups))],
            );
        }
    }

    fn text(&self) -> String {
        let mut s = format!(
            "# NixOS configuration of `{}`, rendered by Hearth. Secrets are files under {SECRETS} (mode 0600).\n\
             {{ config, lib, pkgs, modulesPath, ... }}:\n\n{{\n",
            self.name
        );
        for (i, (comment, entries)) in self.sections.iter().enumerate() {
            if i > 0 {
                s.push('\n');
            }
            for line in comment.lines() {
                let _ = writeln!(s, "  # {line}");
            }
            for (k, v) in entries {
                let _ = write!(s, "  {k} = ");
                v.write(&mut s, 1);
                s.push_str(";\n");
            }
        }
        s.push_str("}\n");
        s
    }
}

/// An indented string whose `${...}` are Nix interpolations (written by this module only);
/// `indent` is the nesting level of the attribute it is assigned to.
fn raw_lines(text: &str, indent: usize) -> String {
    let pad = "  ".repeat(indent);
    let mut s = String::from("''\n");
    for line in text.lines() {
        let _ = writeln!(s, "{pad}  {}", line.replace("''", "'''"));
    }
    let _ = write!(s, "{pad}''");
    s
}

fn kind_name(k: GuestKind) -> &'static str {
    match k {
        GuestKind::Vm => "VM",
        GuestKind::Lxc => "LXC container",
    }
}

fn app_name(s: &Service) -> String {
    s.app.clone().or_else(|| s.image.clone()).unwrap_or_default()
}

fn host_port(a: IpAddr, port: u16) -> String {
    match a {
        IpAddr::V4(v) => format!("{v}:{port}"),
        IpAddr::V6(v) => format!("[{v}]:{port}"),
    }
}

/// A YAML scalar as a JSON string (valid YAML, and no quoting surprises).
fn json(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_names() {
        assert_eq!(nix_str("a\"b${c}\\"), "\"a\\\"b\\${c}\\\\\"");
        assert_eq!(attr("web-server"), "web-server");
        assert_eq!(attr("192.168.1.1:80"), "\"192.168.1.1:80\"");
        assert_eq!(attr("in"), "\"in\"");
        assert_eq!(path(&["services", "redis", "servers", "my.cache"]), "services.redis.servers.\"my.cache\"");
    }

    #[test]
    fn indented_strings_escape() {
        let mut s = String::new();
        N::Lines("a ${b} ''c''\n".into()).write(&mut s, 0);
        assert_eq!(s, "''\n  a ''${b} '''c'''\n''");
    }
}
