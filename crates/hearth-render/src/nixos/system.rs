//! The machine itself: imports and base settings, network, firewall and the monitoring agent.

use super::*;

impl<'a> HostConfig<'a> {
    pub(super) fn base(&mut self) {
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

    /// The admin account Hearth and the operator deploy through (see the module comment).
    pub(super) fn admin(&mut self) {
        let admin = &self.model().admin;
        let mut user = vec![("isNormalUser", N::b(true)), ("extraGroups", N::strs(&["wheel"]))];
        if !admin.ssh_keys.is_empty() {
            user.push(("openssh.authorizedKeys.keys", N::strs(&admin.ssh_keys)));
        }
        self.section(
            format!("Admin account `{}`: deploys log in as it and use sudo", admin.user),
            vec![
                (path(&["users", "users", &admin.user]), N::attrs(user)),
                ("security.sudo.wheelNeedsPassword".into(), N::b(false)),
            ],
        );
    }

    /// The guest's own garbage collection and upgrades (`nixos:`).
    pub(super) fn maintenance(&mut self) {
        let Some(n) = &self.guest.nixos else { return };
        let mut entries = Vec::new();
        if let Some(gc) = &n.gc {
            let mut a = vec![("automatic", N::b(true)), ("dates", N::s(&gc.on_calendar))];
            if let Some(days) = gc.older_than_days {
                a.push(("options", N::s(format!("--delete-older-than {days}d"))));
            }
            entries.push(("nix.gc".to_string(), N::attrs(a)));
        }
        if let Some(u) = &n.upgrade {
            entries.push((
                "system.autoUpgrade".to_string(),
                N::attrs(vec![
                    ("enable", N::b(true)),
                    ("flake", N::s(format!("/etc/nixos#{}", self.guest.hostname))),
                    ("flags", N::strs(&["--update-input", "nixpkgs", "--no-write-lock-file"])),
                    ("dates", N::s(&u.on_calendar)),
                    ("allowReboot", N::b(u.reboot)),
                ]),
            ));
        }
        self.sources.insert(format!("guest/{}", self.name));
        self.section("Maintenance: garbage collection and upgrades (`nixos:`)", entries);
    }

    pub(super) fn network(&mut self) {
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
        // Further interfaces in Proxmox's order: `net1` is `ens19` in a VM (PCI slot 0x13 after
        // `net0`'s 0x12) and `eth1` in a container. None carries the default route.
        for (n, i) in g.interfaces.iter().enumerate().filter(|(_, i)| !i.primary) {
            let (Some(address), Some(net)) = (i.address, model.networks.get(&i.network)) else { continue };
            let Some(prefix) = net.cidr.rsplit_once('/').and_then(|(_, p)| p.parse::<u8>().ok()) else { continue };
            self.sources.insert(format!("network/{}", i.network));
            let iface = match g.kind {
                GuestKind::Vm => format!("ens{}", 18 + n),
                GuestKind::Lxc => format!("eth{n}"),
            };
            let family = if address.is_ipv4() { "ipv4" } else { "ipv6" };
            entries.push((
                path(&["networking", "interfaces", &iface, family, "addresses"]),
                N::List(vec![N::attrs(vec![("address", N::s(address.to_string())), ("prefixLength", N::num(prefix))])]),
            ));
        }
        self.section("Network", entries);
    }

    pub(super) fn firewall(&mut self) {
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
    pub(super) fn agents(&mut self) {
        let model = self.model();
        let mon = &model.monitoring;
        let mut entries = Vec::new();
        if mon.node_exporter.iter().any(|m| m == self.name) {
            entries.push((
                "services.prometheus.exporters.node".to_string(),
                N::attrs(vec![
                    ("enable", N::b(true)),
                    ("port", N::num(9100)),
                    ("enabledCollectors", N::strs(&["systemd", "textfile"])),
                    (
                        "extraFlags",
                        N::strs(&[&format!("--collector.textfile.directory={}", hearth_model::model::TEXTFILE_DIR)]),
                    ),
                ]),
            ));
        }
        let loki = mon.loki.as_deref().and_then(|l| model.services.get(l).map(|s| (l, s)));
        if mon.agent.as_deref() == Some("promtail")
            && let Some((_, ls)) = loki
            && let Some(address) = ls.address
        {
            let port = ls.port("http").map_or(3100, |p| p.reachable);
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
}
