//! Monitoring: what Prometheus is given is deployed and reachable, and every alert rule has
//! series to read and somewhere to go. Data-driven like `model.rs`: a spec with inline markers
//! (`#   ^^^^ E611`) under the span of each diagnostic it must give, or the model facts it must
//! resolve to.

mod markers;

use hearth_model::{Allocations, Model, analyze};

const BASE: &str = "
homelab: test
domain: example.com
admin: { ssh_keys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample you@laptop] }
networks:
  lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1, reserved: [192.168.1.2-192.168.1.9] }
hosts:
  pve: { proxmox: {}, address: 192.168.1.10, network: lan, hardware: { cores: 4, threads: 8, memory: 16GiB } }
guests:
  docker: { vm: { on: pve }, network: lan, address: 192.168.1.20, runtime: docker, size: { cores: 4, memory: 8GiB } }
  box: { lxc: { on: pve }, network: lan, address: 192.168.1.21, size: { cores: 2, memory: 2GiB } }
";

fn analyze_text(extra: &str) -> (hearth_model::Analysis, hearth_spec::Loaded) {
    let loaded = hearth_spec::load_str("test.yaml", &format!("{BASE}{extra}"));
    let a = analyze(&loaded.spec, hearth_catalog::builtin(), &Allocations::default());
    (a, loaded)
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
/// `model.rs`); returns them as `render_short` prints them.
fn check(annotated: &str) -> Vec<String> {
    markers::check_spec(&format!("{BASE}{annotated}"), hearth_catalog::builtin())
}

fn job<'a>(m: &'a Model, name: &str) -> &'a hearth_model::model::ScrapeJob {
    m.monitoring.scrape.iter().find(|j| j.job == name).unwrap_or_else(|| panic!("no job `{name}`"))
}

/// Every target of a scrape job is a port something on that machine serves: a published port of
/// a service there, or the node exporter Hearth installs.
fn assert_targets_served(m: &Model) {
    for j in m.monitoring.scrape.iter().filter(|j| j.probe.is_none()) {
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
