//! Monitoring: what Prometheus is given is deployed and reachable, and every alert rule has
//! series to read and somewhere to go. Data-driven like `model.rs`: a spec with inline markers
//! (`#   ^^^^ E611`) under the span of each diagnostic it must give, or the model facts it must
//! resolve to.

mod common;

use hearth_model::{Allocations, Model};

const BASE: &str = concat!(
    common::base!(),
    "guests:
  docker: { vm: { on: pve }, network: lan, address: 192.168.1.20, runtime: docker, size: { cores: 4, memory: 8GiB } }
  box: { lxc: { on: pve }, network: lan, address: 192.168.1.21, size: { cores: 2, memory: 2GiB } }
"
);

fn analyze_text(extra: &str) -> (hearth_model::Analysis, hearth_spec::Loaded) {
    common::analyze_spec(&format!("{BASE}{extra}"), hearth_catalog::builtin(), &Allocations::default())
}

/// The model of BASE + `extra`, which must give no error.
fn model(extra: &str) -> Model {
    let (a, loaded) = analyze_text(extra);
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .chain(&a.diagnostics)
        .filter(|d| d.severity == hearth_spec::Severity::Error)
        .map(|d| d.render_short(&loaded.sources))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    a.model
}

/// Asserts that BASE + `annotated` gives exactly the diagnostics its markers name (see
/// `common::check_with`); returns them as `render_short` prints them.
fn check(annotated: &str) -> Vec<String> {
    common::check_with(&format!("{BASE}{annotated}"), hearth_catalog::builtin())
}

fn job<'a>(m: &'a Model, name: &str) -> &'a hearth_model::model::ScrapeJob {
    m.monitoring.scrape.iter().find(|j| j.job == name).unwrap_or_else(|| panic!("no job `{name}`"))
}

/// Every target of a scrape job is a port something on that machine serves: a published port of
/// a service there, or the node exporter Hearth installs.
fn assert_targets_served(m: &Model) {
    // The operator's own jobs (`monitoring.scrape`) may scrape what the spec does not run.
    for j in m.monitoring.scrape.iter().filter(|j| j.probe.is_none() && j.origin.is_none()) {
        for t in &j.targets {
            let (addr, port) = t.rsplit_once(':').unwrap();
            let port: u16 = port.parse().unwrap();
            let machines: Vec<&String> = m
                .guests
                .iter()
                .filter(|(_, g)| g.address.is_some_and(|a| a.to_string() == addr))
                .map(|(n, _)| n)
                .chain(m.hosts.iter().filter(|(_, h)| h.address.is_some_and(|a| a.to_string() == addr)).map(|(n, _)| n))
                .collect();
            let machine = machines.first().unwrap_or_else(|| panic!("{t}: no machine has {addr}"));
            let node = j.job == "node" && port == 9100 && m.monitoring.node_exporter.contains(machine);
            let service = m.services.iter().find(|(_, s)| {
                s.machines().contains(&machine.as_str())
                    && s.ports.iter().any(|p| {
                        let e = s.endpoint(p);
                        e.reachable == port
                            && (e.published
                                || s.form != hearth_spec::ast::Form::Docker
                                || s.network_mode.as_deref() == Some("host"))
                    })
            });
            assert!(node || service.is_some(), "job `{}` scrapes {t}, which nothing on `{machine}` serves", j.job);
            if let Some((name, s)) = service
                && j.job != "node"
            {
                let app = s.app.as_deref().unwrap_or_default();
                assert!(
                    j.job == *name || app.starts_with(&j.job),
                    "job `{}` scrapes {t}, which is `{name}` ({app})",
                    j.job
                );
            }
        }
    }
}

#[test]
fn exporters_are_deployed_where_they_are_scraped() {
    let m = model(
        "
services:
  prometheus: { app: prometheus, on: docker, backup: false }
  bentopdf: { app: bentopdf, on: docker, ports: { http: 8080 } }
monitoring:
  prometheus: prometheus
  agent: node-exporter
  exporters: [node-exporter, cadvisor, blackbox]
",
    );
    // The node exporter: on every managed machine and the Proxmox host, Docker machines included.
    assert_eq!(m.monitoring.node_exporter, ["box", "docker", "pve"]);
    assert_eq!(job(&m, "node").targets, ["192.168.1.10:9100", "192.168.1.20:9100", "192.168.1.21:9100"]);
    // cAdvisor: a container on the Docker machine, moved off BentoPDF's 8080.
    let cadvisor = &m.services["cadvisor-docker"];
    assert_eq!(cadvisor.app.as_deref(), Some("cadvisor"));
    assert_eq!(cadvisor.form, hearth_spec::ast::Form::Docker);
    assert_eq!(job(&m, "cadvisor").targets, ["192.168.1.20:8081"]);
    // Blackbox: beside Prometheus, probing nothing without routes.
    assert_eq!(m.services["blackbox"].on.name(), "docker");
    assert_eq!(job(&m, "blackbox").targets, ["192.168.1.20:9115"]);
    assert_targets_served(&m);
}

#[test]
fn a_declared_exporter_service_is_kept() {
    let m = model(
        "
services:
  prometheus: { app: prometheus, on: docker, backup: false }
  metrics: { app: cadvisor, on: docker }
monitoring: { prometheus: prometheus, exporters: [cadvisor] }
",
    );
    assert!(!m.services.contains_key("cadvisor-docker"));
    assert_eq!(job(&m, "cadvisor").targets, ["192.168.1.20:8080"]);
    assert!(m.monitoring.node_exporter.is_empty());
}

#[test]
fn database_exporters_sit_beside_their_servers() {
    let m = model(
        "
services:
  prometheus: { app: prometheus, on: docker, backup: false }
  pg: { app: postgresql, on: box, backup: false }
  cache: { app: redis, on: docker, backup: false }
  app: { image: example/app:1.0, on: docker, uses: [pg, cache] }
monitoring:
  prometheus: prometheus
  exporters: [postgres, redis]
  alerts:
    rules: [{ name: DatabaseDown, expr: \"pg_up == 0 or redis_up == 0\" }]
",
    );
    // PostgreSQL's: the Debian package beside the native server, a `pg_monitor` login on the
    // maintenance database, owning nothing, with its own generated password.
    let pg = &m.services["pg-exporter"];
    assert_eq!(
        (pg.app.as_deref(), pg.on.name(), pg.form),
        (Some("postgres-exporter"), "box", hearth_spec::ast::Form::Native)
    );
    let login = m.databases.iter().find(|d| d.user == "pg_exporter").expect("the exporter's login");
    assert_eq!(
        (login.name.as_str(), login.monitor, login.consumers.as_slice()),
        ("postgres", true, &["pg-exporter".to_string()][..])
    );
    assert_eq!(login.password_secret, "pg-pg-exporter-password");
    assert!(m.databases.iter().any(|d| d.name == "app" && !d.monitor));
    let uri = pg.env["DATA_SOURCE_URI"].to_string();
    assert_eq!(uri, "192.168.1.21:5432/postgres?sslmode=disable");
    // Redis's: a container beside the server, with the server's password and no DB of its own.
    let redis = &m.services["cache-exporter"];
    assert_eq!((redis.on.name(), redis.form), ("docker", hearth_spec::ast::Form::Docker));
    assert!(m.redis_dbs.iter().all(|d| d.consumer != "cache-exporter"), "{:?}", m.redis_dbs);
    assert_eq!(redis.env["REDIS_ADDR"].to_string(), "redis://192.168.1.20:6379");
    // One job per engine, so `pg_up` and `redis_up` have data.
    assert_eq!(job(&m, "postgres").targets, ["192.168.1.21:9187"]);
    assert_eq!(job(&m, "redis").targets, ["192.168.1.20:9121"]);
    assert_targets_served(&m);
}

#[test]
fn a_mongodb_exporter_sits_beside_its_server_with_a_monitoring_login() {
    let m = model(
        "
services:
  prometheus: { app: prometheus, on: docker, backup: false }
  mongo: { app: mongodb, on: box, backup: false }
  app: { image: example/app:1.0, on: docker, uses: [mongo] }
monitoring:
  prometheus: prometheus
  exporters: [mongodb]
  alerts:
    rules: [{ name: MongoDown, expr: \"mongodb_up == 0\" }]
",
    );
    // Percona's package beside the native server, logging into `admin` under its own name.
    let exporter = &m.services["mongo-exporter"];
    assert_eq!(
        (exporter.app.as_deref(), exporter.on.name(), exporter.form),
        (Some("mongodb-exporter"), "box", hearth_spec::ast::Form::Native)
    );
    let login = m.databases.iter().find(|d| d.user == "mongo_exporter").expect("the exporter's login");
    assert_eq!((login.name.as_str(), login.monitor), ("admin", true));
    assert_eq!(login.password_secret, "mongo-mongo-exporter-password");
    assert!(m.databases.iter().any(|d| d.name == "app" && !d.monitor));
    assert_eq!(
        exporter.env["MONGODB_URI"].to_string(),
        "mongodb://mongo_exporter:${secret:mongo-mongo-exporter-password}@192.168.1.21:27017/admin"
    );
    assert_eq!(job(&m, "mongodb").targets, ["192.168.1.21:9216"]);
    // Its own backups skip the login: `admin` is no database to dump.
    assert_targets_served(&m);
}

#[test]
fn declared_scrape_jobs_and_probes_resolve_spec_names_and_open_the_firewall() {
    let m = model(
        "
services:
  prometheus: { app: prometheus, on: docker, backup: false }
monitoring:
  prometheus: prometheus
  exporters: [blackbox]
  scrape:
    - { job: smart, targets: [\"box:9633\", \"192.168.1.50:9100\", \"nas.lan:9100\"], interval: 1m, scheme: https }
  probes:
    - { name: router, icmp: pve }
    - { name: web, http: \"https://nas.lan\" }
    - { name: api, tcp: \"box:8443\" }
  alerts: { rules: [probe-failed] }
",
    );
    let smart = job(&m, "smart");
    assert_eq!(smart.targets, ["192.168.1.21:9633", "192.168.1.50:9100", "nas.lan:9100"]);
    assert_eq!((smart.interval.as_deref(), smart.scheme.as_deref()), (Some("1m"), Some("https")));
    assert_eq!(smart.origin.as_deref(), Some("monitoring/scrape/smart"));
    let probe = |name: &str| {
        let j = job(&m, name);
        let p = j.probe.as_ref().expect("a probe job");
        (j.targets.clone(), p.module.clone(), p.exporter.clone())
    };
    let exporter = "192.168.1.20:9115".to_string();
    assert_eq!(probe("probe-router"), (vec!["192.168.1.10".to_string()], "icmp".into(), exporter.clone()));
    assert_eq!(probe("probe-web"), (vec!["https://nas.lan".to_string()], "http_2xx".into(), exporter.clone()));
    assert_eq!(probe("probe-api"), (vec!["192.168.1.21:8443".to_string()], "tcp_connect".into(), exporter));
    assert!(m.monitoring.rules.iter().any(|r| r.name == "ProbeFailed" && r.expr.contains("probe-.+")));
    // The targets on a spec machine open to who connects: Prometheus's machine for the scrape,
    // the Blackbox exporter's for the probe (both on `docker` here), and nothing else.
    let from = |port: u16| m.firewall["box"].iter().find(|o| o.port == port).map(|o| o.from.clone());
    assert_eq!(from(9633), Some(vec!["192.168.1.20".to_string()]));
    assert_eq!(from(8443), Some(vec!["192.168.1.20".to_string()]));
}

#[test]
fn a_probe_is_opened_from_the_blackbox_exporters_machine_and_the_exporter_to_prometheus() {
    let m = model(
        "
services:
  prometheus: { app: prometheus, on: docker, backup: false }
  blackbox: { app: blackbox-exporter, on: box }
monitoring:
  prometheus: prometheus
  probes: [{ name: api, tcp: \"docker:8443\" }]
",
    );
    let from = |machine: &str, port: u16| {
        m.firewall[machine].iter().find(|o| o.port == port).map(|o| o.from.clone()).unwrap_or_default()
    };
    // The exporter on `box` connects to the target; Prometheus on `docker` asks the exporter.
    assert_eq!(from("docker", 8443), ["192.168.1.21"]);
    assert_eq!(from("box", 9115), ["192.168.1.20"]);
    assert_eq!(job(&m, "probe-api").probe.as_ref().map(|p| p.exporter.as_str()), Some("192.168.1.21:9115"));
}

#[test]
fn a_target_named_by_a_dns_record_opens_that_machines_firewall() {
    let m = model(
        "
services:
  prometheus: { app: prometheus, on: docker, backup: false }
dns: { records: { nas: 192.168.1.21 } }
monitoring:
  prometheus: prometheus
  scrape: [{ job: smart, targets: [\"nas.example.com:9633\"] }]
",
    );
    assert_eq!(job(&m, "smart").targets, ["nas.example.com:9633"]);
    let open = m.firewall["box"].iter().find(|o| o.port == 9633).map(|o| o.from.clone());
    assert_eq!(open, Some(vec!["192.168.1.20".to_string()]));
}

#[test]
fn declared_scrape_jobs_and_probes_are_checked() {
    check(
        "
services:
  prometheus: { app: prometheus, on: docker, backup: false }
monitoring:
  prometheus: prometheus
  scrape:
    - { job: node, targets: [\"bx:9100\", \"box\"] }
#            ^^^^ E853
#                            ^^^^^^^^^ E851
#                                       ^^^^^ E852
  probes:
# ^^^^^^ E854
    - { name: web, http: nas.lan }
#                        ^^^^^^^ E852
    - { name: both, tcp: \"box:22\", icmp: box }
#             ^^^^ E852
  agent: node-exporter
",
    );
}

#[test]
fn a_scrape_across_zones_a_deny_policy_keeps_apart_needs_an_allow_entry() {
    let spec = "
homelab: test
admin: { ssh_keys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample you@laptop] }
networks:
  lan: { cidr: 192.168.1.0/24 }
  storage: { cidr: 192.168.2.0/24 }
policy: { default: deny }
hosts:
  pve: { proxmox: {}, address: 192.168.1.10, network: lan, hardware: { cores: 4, threads: 8, memory: 16GiB } }
guests:
  docker: { vm: { on: pve }, network: lan, address: 192.168.1.20, runtime: docker, size: { cores: 4, memory: 8GiB } }
  nas: { lxc: { on: pve }, network: storage, address: 192.168.2.5, size: { cores: 2, memory: 2GiB } }
services:
  prometheus: { app: prometheus, on: docker, backup: false }
monitoring:
  prometheus: prometheus
  scrape:
    - { job: smart, targets: [\"nas:9633\"] }
#            ^^^^^ E824
";
    common::check_with(spec, hearth_catalog::builtin());
}

#[test]
fn database_exporters_need_a_server_they_can_sit_beside() {
    check(
        "
services:
  prometheus: { app: prometheus, on: box, backup: false }
monitoring:
  prometheus: prometheus
  exporters: [node-exporter, redis]
#                            ^^^^^ E850
",
    );
    // A server on a cluster (W850) is `tests/invalid/261-database-exporter-on-cluster.yaml`.
}

#[test]
fn unpublished_metrics_ports_are_published_for_prometheus_or_left_out() {
    let m = model(
        "
services:
  prometheus: { app: prometheus, on: docker, backup: false }
  traefik: { app: traefik, on: docker, backup: false }
  crowdsec: { app: crowdsec, on: docker, backup: false }
  bentopdf: { app: bentopdf, on: docker, ports: { http: 8080 } }
ingress: { proxy: traefik }
monitoring: { prometheus: prometheus }
",
    );
    // CrowdSec's metrics-only port is published for Prometheus; Traefik's dashboard is not, so
    // BentoPDF's 8080 is not scraped as Traefik.
    assert_eq!(job(&m, "crowdsec").targets, ["192.168.1.20:6060"]);
    assert!(m.monitoring.scrape.iter().all(|j| j.job != "traefik"));
    assert_eq!(m.monitoring.unscraped.len(), 1);
    assert_eq!(m.monitoring.unscraped[0].service, "traefik");
    assert_targets_served(&m);
    // Prometheus runs on the same machine: its scrapes come from a Docker bridge, which the
    // ruleset admits, so the metrics port opens to nobody else.
    assert!(m.firewall["docker"].iter().all(|o| o.port != 6060), "the metrics port is Prometheus's alone");
}

#[test]
fn unpublished_metrics_warn_with_a_working_edit() {
    let spec = "
services:
  prometheus: { app: prometheus, on: docker, backup: false }
  traefik: { app: traefik, on: docker, backup: false }
# ^^^^^^^ W611
  bentopdf: { app: bentopdf, on: docker, ports: { http: 8080 } }
ingress: { proxy: traefik }
monitoring: { prometheus: prometheus }
";
    let out = check(spec);
    assert!(out[0].contains("`ports: { dashboard: 8081 }`"), "{out:?}");
    // The edit the help proposes passes.
    let edited = spec
        .replace(
            "traefik: { app: traefik, on: docker, backup: false }",
            "traefik: { app: traefik, on: docker, backup: false, ports: { dashboard: 8081 } }",
        )
        .replace("# ^^^^^^^ W611\n", "");
    check(&edited);
}

#[test]
fn exporters_that_cannot_be_deployed_are_refused() {
    check(
        "
services:
  prometheus: { app: prometheus, on: box, backup: false }
monitoring:
  prometheus: prometheus
  exporters: [node-exporter, cadvisr]
#                            ^^^^^^^ E611
",
    );
    check(
        "
services:
  grafana: { app: grafana, on: docker, backup: false }
monitoring:
  grafana: grafana
  exporters: [blackbox]
#             ^^^^^^^^ E612
",
    );
}

#[test]
fn alert_rules_without_data_are_refused() {
    let out = check(
        "
services:
  prometheus: { app: prometheus, on: box, backup: false }
  alertmanager: { app: alertmanager, on: box, backup: false }
monitoring:
  prometheus: prometheus
  alertmanager: alertmanager
  alerts:
    rules:
      - server-down
      - high-cpu
#       ^^^^^^^^ E613
      - certificate-expiry
#       ^^^^^^^^^^^^^^^^^^ E613
      - backup-stale
#       ^^^^^^^^^^^^ E613
      - { name: DatabaseDown, expr: \"pg_up == 0 or redis_up{job='x'} == 0\" }
#               ^^^^^^^^^^^^ E613
      - { name: Fine, expr: \"sum by (instance) (rate(traefik_requests_total[5m])) > 1\" }
",
    );
    assert!(out.iter().any(|d| d.contains("`pg_up`") && d.contains("`redis_up`")), "{out:?}");
}

#[test]
fn alert_rules_with_their_data_pass() {
    check(
        "
services:
  prometheus: { app: prometheus, on: box, backup: false }
  alertmanager: { app: alertmanager, on: box, backup: false }
  traefik: { app: traefik, on: docker, backup: false }
# ^^^^^^^ W611
  web: { app: bentopdf, on: docker, expose: web, backup: { policy: daily, paths: [/srv/web] } }
ingress: { proxy: traefik, tls: { acme: { email: a@example.com } } }
backups:
  repositories: { local: { restic: /srv/restic } }
  policies: { daily: { at: \"02:00\", to: [local] } }
monitoring:
  prometheus: prometheus
  alertmanager: alertmanager
  agent: node-exporter
  exporters: [blackbox]
  alerts:
    rules: [server-down, high-cpu, certificate-expiry, backup-stale]
",
    );
}

#[test]
fn backup_stale_follows_each_policy() {
    let m = model(
        "
services:
  prometheus: { app: prometheus, on: box, backup: false }
  alertmanager: { app: alertmanager, on: box, backup: false }
  a: { app: bentopdf, on: docker, backup: { policy: daily, paths: [/srv/a] } }
  b: { app: vaultwarden, on: docker, backup: weekly }
  c: { app: stirling-pdf, on: docker, backup: daily }
backups:
  repositories: { local: { restic: /srv/restic } }
  policies:
    daily: { at: \"02:00\", to: [local] }
    weekly: { at: \"Sun 03:00\", to: [local] }
monitoring:
  prometheus: prometheus
  alertmanager: alertmanager
  agent: node-exporter
  alerts: { rules: [backup-stale] }
",
    );
    let rule = m.monitoring.rules.iter().find(|r| r.name == "BackupStale").unwrap();
    // 26 h for the daily policy, 8 days for the weekly one.
    assert_eq!(
        rule.expr,
        "(time() - hearth_backup_last_success_timestamp_seconds{job_name=~\"a|c\"} > 93600) or \
         (time() - hearth_backup_last_success_timestamp_seconds{job_name=~\"b\"} > 691200)"
    );
}

#[test]
fn alerts_need_an_alertmanager() {
    check(
        "
services:
  prometheus: { app: prometheus, on: box, backup: false }
notifications:
  hook: { webhook: { url: \"http://127.0.0.1:9/hook\" } }
monitoring:
  prometheus: prometheus
  agent: node-exporter
  alerts:
    rules: [server-down]
    notify: [hook]
#            ^^^^ E614
",
    );
    check(
        "
services:
  prometheus: { app: prometheus, on: box, backup: false }
monitoring:
  prometheus: prometheus
  alerts:
    rules: [server-down]
#           ^^^^^^^^^^^ W612
",
    );
}

#[test]
fn loki_keeps_its_logs_in_the_store_it_names() {
    let m = model(
        "
services:
  minio: { app: minio, on: box, backup: false }
  loki: { app: loki, on: box, backup: false }
  alertmanager: { app: alertmanager, on: box, backup: false }
monitoring:
  loki: loki
  alertmanager: alertmanager
  retention: 30d
  logs: { local: 7d, store: minio }
  alerts:
    rules:
      - { name: ErrorSpike, logql: 'sum(rate({job=\"docker\"} |= \"error\" [5m])) > 10', for: 10m }
",
    );
    let logs = &m.monitoring.logs;
    assert_eq!((logs.retention.as_str(), logs.local.as_deref()), ("30d", Some("7d")));
    let store = logs.store.as_ref().expect("a store");
    assert_eq!((store.service.as_str(), store.bucket.as_str()), ("minio", "loki"));
    assert_eq!(store.endpoint, "192.168.1.21:9000");
    // The bucket and Loki's login are MinIO's like any consumer's; the key reaches Loki's env.
    assert!(m.buckets.iter().any(|b| b.server == "minio" && b.name == "loki" && b.consumers == ["loki"]));
    let env = &m.services["loki"].env;
    assert_eq!(env[hearth_model::model::LogStore::SECRET_ENV].to_string(), "${secret:minio-loki-secret-key}");
    // A LogQL rule is Loki's, not Prometheus's.
    assert!(m.monitoring.rules.is_empty());
    assert_eq!(m.monitoring.log_rules[0].name, "ErrorSpike");
    assert_eq!(m.monitoring.log_rules[0].for_, "10m");
}

#[test]
fn loki_uses_its_own_bucket_on_the_store() {
    let m = model(
        "
services:
  minio: { app: minio, on: box, backup: false }
  loki: { app: loki, on: box, backup: false, uses: [{ service: minio, bucket: logs }] }
monitoring:
  loki: loki
  logs: { store: minio }
",
    );
    assert_eq!(m.monitoring.logs.store.as_ref().map(|s| s.bucket.as_str()), Some("logs"));
    assert_eq!(m.monitoring.logs.retention, "15d");
    assert_eq!(m.buckets.iter().filter(|b| b.server == "minio").count(), 1);
}

#[test]
fn log_storage_and_log_rules_are_checked() {
    check(
        "
services:
  loki: { app: loki, on: box, backup: false }
  minio: { app: minio, on: box, backup: false }
  redis: { app: redis, on: box, backup: false }
monitoring:
  loki: loki
  logs: { retention: 14d, local: 21d, store: redis }
#                                            ^^^^^ E856
#                                ^^^ E857
",
    );
    check(
        "
services:
  loki: { app: loki, on: box, backup: false }
monitoring:
  loki: loki
  logs: { local: 7d }
#                ^^ W856
",
    );
    check(
        "
services:
  alertmanager: { app: alertmanager, on: box, backup: false }
monitoring:
  alertmanager: alertmanager
  alerts:
    rules:
      - { name: ErrorSpike, logql: 'sum(rate({job=\"docker\"} |= \"error\" [5m])) > 10' }
#               ^^^^^^^^^^ E858
",
    );
}

#[test]
fn homepage_widgets_read_their_secrets_from_its_environment() {
    let m = model(
        "
ingress: { proxy: traefik, tls: { internal: true } }
secrets:
  sonarr-api-key: { env: SONARR_API_KEY }
services:
  traefik: { app: traefik, on: docker, backup: false }
  homepage: { app: homepage, on: docker, backup: false }
  grafana: { app: grafana, on: docker, backup: false, expose: grafana }
  sonarr: { app: sonarr, on: docker, backup: false, expose: sonarr, widget: { key: \"secret:sonarr-api-key\" } }
  kuma: { app: uptime-kuma, on: docker, backup: false, expose: status, widget: { fields: { slug: lab } } }
  plain: { app: uptime-kuma, on: docker, backup: false, expose: plain }
monitoring:
  dashboard: homepage
",
    );
    let w = &m.monitoring.widgets;
    assert_eq!(w.keys().collect::<Vec<_>>(), ["grafana", "kuma", "sonarr"]);
    assert_eq!(w["sonarr"].kind, "sonarr");
    assert_eq!(w["sonarr"].secrets["key"], "HOMEPAGE_VAR_SONARR_KEY");
    assert!(w["sonarr"].url.starts_with("http://192.168.1.20:"), "{}", w["sonarr"].url);
    assert_eq!((w["kuma"].kind.as_str(), w["kuma"].fields["slug"].as_str()), ("uptimekuma", "lab"));
    // Grafana's admin login is Hearth's, so its widget needs nothing from the spec.
    assert_eq!(w["grafana"].fields["username"], "admin");
    assert_eq!(w["grafana"].secrets["password"], "HOMEPAGE_VAR_GRAFANA_PASSWORD");
    let env = &m.services["homepage"].env;
    assert_eq!(env["HOMEPAGE_VAR_SONARR_KEY"].to_string(), "${env:SONARR_API_KEY}");
    assert_eq!(env["HOMEPAGE_VAR_GRAFANA_PASSWORD"].to_string(), "${secret:grafana-admin-password}");
}
