//! Monitoring services as NixOS modules: Prometheus, Alertmanager, Grafana and Loki, and the
//! PostgreSQL and Redis exporters `monitoring.exporters` places beside database servers.

use super::*;
use crate::alerting;
use crate::yaml::quoted;

impl<'a> HostConfig<'a> {
    pub(super) fn prometheus(&mut self, name: &str, s: &Service) {
        let model = self.model();
        let mon = &model.monitoring;
        self.sources.insert("monitoring".into());
        let port = s.port("http").map_or(9090, |p| p.reachable);
        // The same jobs as `prometheus.yml`, probe relabelling and per-job settings included.
        let scrape = N::List(mon.scrape.iter().map(|j| N::from_yaml(&crate::scrape::job(j))).collect());
        let mut entries = vec![
            ("enable", N::b(true)),
            ("port", N::num(port)),
            ("retentionTime", N::s(&mon.retention)),
            ("globalConfig", N::attrs(vec![("scrape_interval", N::s(&mon.scrape_interval))])),
            ("scrapeConfigs", scrape),
        ];
        if let Some(rules) = alerting::rules(model) {
            // The same rules as the standalone rules file, as the YAML text NixOS takes.
            entries.push(("rules", N::List(vec![N::Lines(rules.to_block(&quoted))])));
        }
        if let Some(am) = mon.alertmanager.as_deref().and_then(|a| model.services.get(a))
            && let Some(address) = am.address
        {
            let port = am.port("http").map_or(9093, |p| p.reachable);
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

    pub(super) fn alertmanager(&mut self, name: &str, s: &Service) {
        let model = self.model();
        self.sources.insert("monitoring".into());
        let port = s.port("http").map_or(9093, |p| p.reachable);
        let cred_dir = "/run/credentials/alertmanager.service";
        let mut credentials = Vec::new();
        // The standalone configuration (alertmanager.rs), with each secret as a systemd credential.
        let config = alerting::alertmanager(model, &mut |ch, field, reference| {
            let id = format!("{ch}-{field}");
            let value = fill(&Template::secret(reference), self.cx.secrets);
            let file = self.secret(&format!("alertmanager-{id}"), value, &format!("notification/{ch}"));
            credentials.push(format!("{id}:{file}"));
            format!("{cred_dir}/{id}")
        });
        self.sources.extend(config.sources);
        let mut entries = vec![(
            path(&["services", "prometheus", "alertmanager"]),
            N::attrs(vec![
                ("enable", N::b(true)),
                ("port", N::num(port)),
                // amtool would run in the build sandbox, where the credential files do not exist.
                ("checkConfig", N::b(false)),
                ("configuration", N::from_yaml(&config.doc)),
            ]),
        )];
        if !credentials.is_empty() {
            entries.push(("systemd.services.alertmanager.serviceConfig.LoadCredential".into(), N::strs(&credentials)));
        }
        self.section(format!("Alertmanager `{name}`: receiver secrets as systemd credentials"), entries);
    }

    pub(super) fn grafana(&mut self, name: &str, s: &Service) {
        let model = self.model();
        let port = s.port("http").map_or(3000, |p| p.reachable);
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
                let port = ds.port("http").map_or(default_port, |p| p.reachable);
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

    pub(super) fn loki(&mut self, name: &str, s: &Service) {
        let port = s.port("http").map_or(3100, |p| p.reachable);
        let grpc = s.port("grpc").map_or(9096, |p| p.reachable);
        let dir =
            s.volumes.iter().find(|v| v.name == "data").map_or("/var/lib/loki", |v| v.source.as_str()).to_string();
        let retention = self.model().monitoring.logs.retention.clone();
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
    pub(super) fn clients(&self, port: u16) -> Vec<String> {
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
}

impl HostConfig<'_> {
    /// The value of one of the service's environment variables, secrets filled in.
    fn env_value(&self, s: &Service, key: &str) -> String {
        s.env.get(key).map(|t| fill(t, self.cx.secrets)).unwrap_or_default()
    }

    /// `monitoring.exporters: [postgres]` beside a PostgreSQL server on NixOS: the module
    /// `services.prometheus.exporters.postgres`, its login in an environment file of the
    /// configuration's secrets, never in the Nix store. The file's empty `DATA_SOURCE_NAME`
    /// overrides the module's own (a socket login as `postgres`), so the exporter builds its
    /// connection from `DATA_SOURCE_URI`, `DATA_SOURCE_USER` and `DATA_SOURCE_PASS`, as the
    /// container and Debian's package do, and encodes the password itself.
    pub(super) fn postgres_exporter(&mut self, name: &str, s: &Service) {
        let port = s.port("metrics").map_or(9187, |p| p.listen);
        let mut content = String::from(
            "# postgres_exporter's login, rendered by Hearth. Secret: keep it mode 0600.\n\
             # Empty, so the module's socket default gives way to the three variables below.\n\
             DATA_SOURCE_NAME=\n",
        );
        for key in ["DATA_SOURCE_URI", "DATA_SOURCE_USER", "DATA_SOURCE_PASS"] {
            content.push_str(&format!("{key}={}\n", self.env_value(s, key)));
        }
        let file = self.secret(&format!("{name}.env"), content, &format!("service/{name}"));
        self.section(
            format!("PostgreSQL exporter `{name}`: its least-privileged login from a 0600 environment file"),
            vec![(
                path(&["services", "prometheus", "exporters", "postgres"]),
                N::attrs(vec![("enable", N::b(true)), ("port", N::num(port)), ("environmentFile", N::s(file))]),
            )],
        );
    }

    /// `monitoring.exporters: [redis]` beside a Redis server on NixOS: the module
    /// `services.prometheus.exporters.redis`, with `REDIS_ADDR` and `REDIS_PASSWORD` (read by
    /// redis_exporter from its environment) in an environment file the unit loads.
    pub(super) fn redis_exporter(&mut self, name: &str, s: &Service) {
        let port = s.port("metrics").map_or(9121, |p| p.listen);
        let content = format!(
            "REDIS_ADDR={}\nREDIS_PASSWORD={}\n",
            self.env_value(s, "REDIS_ADDR"),
            self.env_value(s, "REDIS_PASSWORD")
        );
        let file = self.secret(&format!("{name}.env"), content, &format!("service/{name}"));
        self.section(
            format!("Redis exporter `{name}`: the server's password from a 0600 environment file"),
            vec![
                (
                    path(&["services", "prometheus", "exporters", "redis"]),
                    N::attrs(vec![("enable", N::b(true)), ("port", N::num(port))]),
                ),
                (
                    path(&["systemd", "services", "prometheus-redis-exporter", "serviceConfig", "EnvironmentFile"]),
                    N::strs(&[file]),
                ),
            ],
        );
    }
}
