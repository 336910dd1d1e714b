//! Native services as NixOS modules: the catalog's `native.nixos` mapping, PostgreSQL, Redis,
//! the nginx proxy, NFS, Samba and fail2ban.

use super::*;

impl<'a> HostConfig<'a> {
    pub(super) fn app(&self, s: &Service) -> Option<&'a App> {
        s.app.as_deref().and_then(|a| self.cx.catalog.get(a))
    }

    pub(super) fn native(&mut self, name: &str, s: &'a Service) {
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
                Some("services.prometheus.exporters.postgres") => self.postgres_exporter(name, s),
                Some("services.prometheus.exporters.redis") => self.redis_exporter(name, s),
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

    pub(super) fn postgres(&mut self, name: &str, s: &Service) {
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
        let port = s.port("postgres").map_or(5432, |p| p.reachable);
        let dbs: Vec<_> = model
            .databases
            .iter()
            .filter(|d| d.server == name && d.engine == hearth_model::model::Engine::Postgres)
            .collect();
        // A monitoring login reads the maintenance database `postgres`, which it neither makes
        // nor owns: only its user is ensured.
        let mut databases: Vec<String> = dbs.iter().filter(|d| !d.monitor).map(|d| d.name.clone()).collect();
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
                for m in model.source_machines(cs) {
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
        }
        if !users.is_empty() {
            entries.push(("ensureUsers", ensure_users));
        }
        if !auth.is_empty() {
            entries.push(("authentication", N::Lines(auth)));
        }
        let mut comment = format!(
            "PostgreSQL `{name}`. Role passwords are set by /etc/hearth/postgres/apply.sh from its 0600 passwords file"
        );
        let foreign: Vec<String> = dbs
            .iter()
            .filter(|d| d.name != d.user && !d.monitor)
            .map(|d| format!("{} (owner {})", d.name, d.user))
            .collect();
        if !foreign.is_empty() {
            let _ = write!(comment, "; it also sets the owner of {}", foreign.join(", "));
        }
        self.section(comment, vec![(path(&["services", "postgresql"]), N::attrs(entries))]);
    }

    pub(super) fn redis(&mut self, name: &str, s: &Service) {
        let port = s.port("redis").map_or(6379, |p| p.reachable);
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

    pub(super) fn nginx(&mut self, name: &str) {
        let cx = self.cx;
        let Some(proxy) = Proxy::find(cx, "nginx") else { return };
        let sites = sites::sites(cx, &proxy);
        let tls = &cx.model.ingress.tls;
        let mut upstreams = Vec::new();
        let mut vhosts = Vec::new();
        let mut notes = Vec::new();
        let mut ca_files = Vec::new();
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
                if let Some(r) = &loc.rate {
                    let _ = writeln!(
                        extra,
                        "limit_req zone=hearth_{} burst={} nodelay;",
                        r.name.replace('-', "_"),
                        r.value.burst
                    );
                    extra.push_str("limit_req_status 429;\n");
                }
                if let Some(h) = &loc.headers {
                    for (k, v) in &h.value {
                        let _ = writeln!(extra, "proxy_hide_header {k};\nadd_header {k} \"{v}\" always;");
                    }
                }
                if loc.https() && !loc.skip_verify() {
                    let roots = match loc.ca() {
                        Some(pem) => {
                            let file = format!("hearth/ca/{}.pem", loc.key);
                            ca_files.push((path(&["environment", "etc", &file, "text"]), N::Lines(sites::pem(pem))));
                            format!("/etc/{file}")
                        }
                        None => "/etc/ssl/certs/ca-certificates.crt".to_string(),
                    };
                    let _ = writeln!(extra, "proxy_ssl_verify on;\nproxy_ssl_trusted_certificate {roots};");
                    if let Some(name) = loc.server_name() {
                        let _ = writeln!(extra, "proxy_ssl_name {name};\nproxy_ssl_server_name on;");
                    }
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
        let mut zones = String::new();
        for r in sites::distinct(&sites, |l| l.rate.as_ref()) {
            let _ = writeln!(
                zones,
                "limit_req_zone $binary_remote_addr zone=hearth_{}:10m rate={};",
                r.name.replace('-', "_"),
                crate::nginx::rate(&r.value)
            );
        }
        if !zones.is_empty() {
            nginx.push(("appendHttpConfig", N::Lines(zones)));
        }
        nginx.push(("virtualHosts", N::Attrs(vhosts)));
        let mut entries = vec![(path(&["services", "nginx"]), N::attrs(nginx))];
        entries.extend(ca_files);
        if let Tls::Acme { email, challenge, provider, token, server } = tls {
            self.sources.insert("ingress".into());
            let mut defaults = vec![("email", N::s(email))];
            if let Some(server) = server {
                defaults.push(("server", N::s(server)));
            }
            if *challenge == hearth_spec::ast::Challenge::Dns
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

    pub(super) fn nfs(&mut self, name: &str, s: &Service) {
        let port = s.port("nfs").map_or(2049, |p| p.reachable);
        let clients = self.clients(port);
        let mut exports = String::new();
        // Shares name their folders and clients; without any, every data folder is exported to
        // the sources the firewall admits.
        let shares = self.shares_of(name);
        for (share, sh) in &shares {
            let clients = crate::shares::client_sources(self.model(), sh);
            let opts = format!("({},sync,no_subtree_check,root_squash)", if sh.readonly { "ro" } else { "rw" });
            let list: Vec<String> = clients.iter().map(|c| format!("{c}{opts}")).collect();
            if !list.is_empty() {
                let _ = writeln!(exports, "# share `{share}`\n{} {}", sh.path, list.join(" "));
            }
        }
        for v in s.volumes.iter().filter(|v| v.name != "exports" && shares.is_empty()) {
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

    pub(super) fn samba(&mut self, name: &str, s: &Service) {
        let port = s.port("smb").map_or(445, |p| p.reachable);
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
        if self.shares_of(name).iter().any(|(_, sh)| sh.time_machine.is_some()) {
            global.extend(crate::shares::FRUIT_GLOBAL.iter().map(|(k, v)| (attr(k), N::s(*v))));
        }
        let mut settings = vec![("global".to_string(), N::Attrs(global))];
        for (_, sh) in self.shares_of(name) {
            settings.push((
                attr(&sh.name),
                N::Attrs(
                    vec![
                        ("path".into(), N::s(&sh.path)),
                        (attr("read only"), N::s(if sh.readonly { "yes" } else { "no" })),
                        (attr("browseable"), N::s("yes")),
                        (attr("guest ok"), N::s("no")),
                        (attr("valid users"), N::s(sh.user.clone().unwrap_or_default())),
                    ]
                    .into_iter()
                    .chain(crate::shares::time_machine(sh).into_iter().map(|(k, v)| (attr(k), N::s(v))))
                    .collect(),
                ),
            ));
        }
        for v in s.volumes.iter().filter(|v| v.name == "shares" && self.shares_of(name).is_empty()) {
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

    pub(super) fn fail2ban(&mut self, name: &str) {
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

    /// The shares service `name` serves, by name.
    fn shares_of(&self, name: &str) -> Vec<(&'a str, &'a hearth_model::shares::Share)> {
        self.model()
            .shares
            .iter()
            .filter(|(_, s)| s.service.as_deref() == Some(name))
            .map(|(n, s)| (n.as_str(), s))
            .collect()
    }
}
