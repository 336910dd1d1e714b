//! The firewall the model derives: every connection of the homelab opened from exactly its
//! sources, flows refused where a network is isolated, a machine has no address or the zone
//! policy keeps zones apart, and what the policy's `allow` entries open beyond the flows.

mod common;

use hearth_model::Allocations;

fn analyze_spec(text: &str) -> hearth_model::Analysis {
    common::analyze_spec(text, hearth_catalog::builtin(), &Allocations::default()).0
}

/// Asserts that a spec gives exactly the diagnostics its markers name (see `common::check_with`).
fn check_with(annotated: &str) -> Vec<String> {
    common::check_with(annotated, hearth_catalog::builtin())
}

/// A homelab over three zones: management, apps and an IoT network, with the whole monitoring
/// stack, a proxy, a dashboard, an object store with its console exposed and a webhook channel.
const FLOWS: &str = "
homelab: test
domain: example.com
networks:
  mgmt: { cidr: 192.168.1.0/24, gateway: 192.168.1.1, zone: management }
  apps: { cidr: 10.0.40.0/24, gateway: 10.0.40.1, dns: [10.0.40.11] }
  iot: { cidr: 10.0.50.0/24, gateway: 10.0.50.1, zone: iot, dns: [10.0.40.11] }
hosts:
  pve: { proxmox: {}, address: 192.168.1.10, network: mgmt, hardware: { cores: 8, threads: 16, memory: 64GiB } }
guests:
  edge: { lxc: { on: pve }, network: apps, address: 10.0.40.10 }
  dns: { lxc: { on: pve }, network: apps, address: 10.0.40.11 }
  mon: { lxc: { on: pve }, network: apps, address: 10.0.40.12, size: { memory: 1GiB } }
  apps: { vm: { on: pve }, network: apps, address: 10.0.40.13, runtime: docker, size: { cores: 4, memory: 8GiB } }
  store: { lxc: { on: pve }, network: apps, address: 10.0.40.14, size: { memory: 1GiB } }
  sensor: { lxc: { on: pve }, network: iot, address: 10.0.50.10 }
ingress: { proxy: traefik, tls: { internal: true } }
dns: { server: adguard }
services:
  traefik: { app: traefik, on: edge, backup: false }
  adguard: { app: adguard-home, on: dns, backup: false }
  prometheus: { app: prometheus, on: mon, expose: prometheus, backup: false }
  alertmanager: { app: alertmanager, on: mon, backup: false }
  grafana: { app: grafana, on: mon, expose: grafana, backup: false }
  loki: { app: loki, on: store, backup: false }
  minio: { app: minio, on: store, expose: { name: minio, port: console }, backup: false }
  n8n: { app: n8n, on: apps, expose: n8n, backup: false }
  homepage: { app: homepage, on: apps, expose: home, backup: false }
  flaresolverr: { app: flaresolverr, on: apps, backup: false }
monitoring:
  prometheus: prometheus
  alertmanager: alertmanager
  grafana: grafana
  loki: loki
  dashboard: homepage
  agent: alloy
  alerts: { rules: [server-down], notify: [hook] }
notifications:
  hook: { webhook: { url: \"http://10.0.40.13:5678/webhook/alerts\" } }
";

/// The sources of the openings on `machine`'s `port` whose reason contains `why`.
fn opened(model: &hearth_model::Model, machine: &str, port: u16, why: &str) -> Vec<String> {
    let mut from: Vec<String> = model.firewall[machine]
        .iter()
        .filter(|o| o.port == port && o.reason.contains(why))
        .flat_map(|o| o.from.clone())
        .collect();
    from.sort();
    from.dedup();
    from
}

#[test]
fn the_firewall_opens_every_flow_of_the_homelab_from_exactly_its_sources() {
    let a = analyze_spec(FLOWS);
    // The sensor's agent must push out of its isolated network: refused, and nothing else is.
    let errors: Vec<_> = a.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors.iter().all(|d| d.code == hearth_spec::Code::FlowFromIsolatedNetwork && d.message.contains("`sensor`"))
    );
    let m = &a.model;
    let agents = ["10.0.40.10", "10.0.40.11", "10.0.40.13", "10.0.40.14", "10.0.50.10", "192.168.1.10"];
    // Alloy on every managed machine and the Proxmox node (192.168.1.10) pushes to Prometheus and
    // Loki (the sensor's push is refused by E601 below, but it is still a flow the homelab makes).
    assert_eq!(opened(m, "mon", 9090, "remote_write"), agents);
    assert_eq!(
        opened(m, "store", 3100, "logs from the agents"),
        ["10.0.40.10", "10.0.40.11", "10.0.40.12", "10.0.40.13", "10.0.50.10", "192.168.1.10"]
    );
    // Prometheus 9090 is exposed: the proxy, the agents, Grafana (same machine: loopback).
    assert_eq!(opened(m, "mon", 9090, "behind the proxy"), ["10.0.40.10"]);
    // Alertmanager's webhook on n8n, which is otherwise behind the proxy.
    assert_eq!(opened(m, "apps", 5678, "from Alertmanager"), ["10.0.40.12"]);
    // MinIO's console is exposed: the proxy reaches it, and Homepage probes it.
    assert_eq!(opened(m, "store", 9001, "behind the proxy"), ["10.0.40.10"]);
    assert_eq!(opened(m, "store", 9001, "status probe"), ["10.0.40.13"]);
    // Grafana's data source on another machine: Loki.
    assert_eq!(opened(m, "store", 3100, "data source of Grafana"), ["10.0.40.12"]);
    // DNS from every network whose `dns:` names the server, the isolated one included.
    assert_eq!(opened(m, "dns", 53, "DNS"), ["10.0.40.0/24", "10.0.50.0/24"]);
    // A port nothing names (FlareSolverr's) opens to the networks that are not isolated.
    assert!(m.networks["iot"].isolated && !m.networks["apps"].isolated);
    assert_eq!(opened(m, "apps", 8191, "flaresolverr"), ["10.0.40.0/24", "192.168.1.0/24"]);
    // Nothing opens to the IoT network beyond DNS and the sensor's own pushes.
    for (machine, openings) in &m.firewall {
        for o in openings {
            let iot = o.from.iter().any(|f| f.starts_with("10.0.50."));
            let allowed = o.port == 53 || o.reason.contains("from the agents");
            assert!(!iot || allowed, "{machine}: {o:?}");
            assert!(!o.from.is_empty() || o.reason.contains("reverse proxy"), "{machine}: open to anywhere: {o:?}");
        }
    }
    assert!(m.flows.iter().any(|f| f.to == "mon" && f.port == 9090), "flows are in the model");
}

#[test]
fn a_flow_out_of_an_isolated_network_is_refused() {
    let spec = "
homelab: test
networks:
  lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1 }
  iot: { cidr: 10.0.50.0/24, gateway: 10.0.50.1, zone: iot }
hosts:
  pve: { proxmox: {}, address: 192.168.1.10, network: lan, hardware: { cores: 4, threads: 8, memory: 16GiB } }
guests:
  db: { lxc: { on: pve }, network: lan, address: 192.168.1.20 }
  hass: { lxc: { on: pve }, network: iot, address: 10.0.50.10, runtime: docker }
services:
  postgres: { app: postgresql, on: db, backup: false }
  recorder: { image: example/recorder:1.0, on: hass, uses: [postgres], healthcheck: { tcp: \"80\" }, backup: false }
#                                                           ^^^^^^^^ E601
";
    let out = check_with(spec);
    assert!(out.iter().any(|l| l.contains("isolated network `iot`") && l.contains("`postgres` on `db`")), "{out:?}");
    // The help's edit works: the same spec with the network no longer isolated is clean.
    let fixed = spec
        .replace("zone: iot }", "zone: iot, isolated: false }")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    check_with(&fixed);
    // The same `uses` within the isolated network is no flow out of it.
    let inside = fixed.replace("zone: iot, isolated: false }", "zone: iot }").replace(
        "db: { lxc: { on: pve }, network: lan, address: 192.168.1.20 }",
        "db: { lxc: { on: pve }, network: iot, address: 10.0.50.20 }",
    );
    check_with(&inside);
}

#[test]
fn a_flow_from_a_machine_without_address_is_refused() {
    let spec = "
homelab: test
networks:
  lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1 }
hosts:
  pve: { proxmox: {}, address: 192.168.1.10, network: lan, hardware: { cores: 4, threads: 8, memory: 16GiB } }
  nuc: { runtime: docker, hardware: { cores: 4, threads: 4, memory: 8GiB } }
guests:
  db: { lxc: { on: pve }, network: lan, address: 192.168.1.20 }
services:
  postgres: { app: postgresql, on: db, backup: false }
  app: { image: example/app:1.0, on: nuc, uses: [postgres], healthcheck: { tcp: \"80\" }, backup: false }
#                                                ^^^^^^^^ E602
";
    check_with(spec);
    let fixed = spec
        .replace("nuc: { runtime: docker,", "nuc: { runtime: docker, network: lan, address: 192.168.1.30,")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    check_with(&fixed);
}

#[test]
fn without_listed_resolvers_dns_and_unnamed_ports_open_to_the_networks_that_are_not_isolated() {
    let spec = "
homelab: test
networks:
  lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1 }
  visitors: { cidr: 192.168.60.0/24, gateway: 192.168.60.1, zone: guest }
  cameras: { cidr: 192.168.70.0/24, gateway: 192.168.70.1, zone: iot, isolated: false }
hosts:
  pve: { proxmox: {}, address: 192.168.1.10, network: lan, hardware: { cores: 4, threads: 8, memory: 16GiB } }
guests:
  dns: { lxc: { on: pve }, network: lan, address: 192.168.1.11 }
dns: { server: adguard }
services:
  adguard: { app: adguard-home, on: dns, backup: false }
";
    let a = analyze_spec(spec);
    assert!(a.diagnostics.iter().all(|d| !d.is_error()), "{:?}", a.diagnostics);
    assert!(a.model.networks["visitors"].isolated, "the guest zone is isolated by default");
    assert!(!a.model.networks["cameras"].isolated, "`isolated: false` wins over the zone");
    let trusted = ["192.168.1.0/24", "192.168.70.0/24"];
    assert_eq!(opened(&a.model, "dns", 53, "DNS"), trusted);
    assert_eq!(opened(&a.model, "dns", 3000, "http"), trusted);
}

#[test]
fn without_a_proxy_the_tunnel_reaches_its_upstreams_and_exposed_ports_are_ports_like_others() {
    let spec = "
homelab: test
domain: example.com
networks:
  lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1 }
hosts:
  pve: { proxmox: {}, address: 192.168.1.10, network: lan, hardware: { cores: 4, threads: 8, memory: 16GiB } }
guests:
  edge: { lxc: { on: pve }, network: lan, address: 192.168.1.20 }
  apps: { vm: { on: pve }, network: lan, address: 192.168.1.21, runtime: docker, size: { cores: 2, memory: 4GiB } }
ingress: { tunnel: cloudflared }
services:
  cloudflared: { app: cloudflared, on: edge, backup: false }
  grafana: { app: grafana, on: apps, expose: { name: grafana, access: tunnel }, backup: false }
";
    let a = analyze_spec(spec);
    assert_eq!(opened(&a.model, "apps", 3000, "behind the tunnel"), ["192.168.1.20"]);
    assert_eq!(opened(&a.model, "apps", 3000, "homelab's networks"), ["192.168.1.0/24"]);
}

/// Two zones under `default: deny`: an app in `apps` uses PostgreSQL in `data`, beside a
/// machine of `apps` that uses nothing.
const ZONES: &str = "
homelab: test
networks:
  apps: { cidr: 10.0.40.0/24, gateway: 10.0.40.1 }
  data: { cidr: 10.0.20.0/24, gateway: 10.0.20.1 }
hosts:
  pve: { proxmox: {}, address: 10.0.40.2, network: apps, hardware: { cores: 4, threads: 8, memory: 16GiB } }
guests:
  db: { lxc: { on: pve }, network: data, address: 10.0.20.10 }
  web: { lxc: { on: pve }, network: apps, address: 10.0.40.10, runtime: docker }
  other: { lxc: { on: pve }, network: apps, address: 10.0.40.11, runtime: docker }
services:
  postgres: { app: postgresql, on: db, backup: false }
  app: { image: example/app:1.0, on: web, uses: [postgres], healthcheck: { tcp: \"80\" }, backup: false }
policy:
  default: deny
";

/// What `allow` (the entries' YAML) opens of PostgreSQL's port: its sources.
fn check_allow(allow: &str, expected: &[&str]) {
    let a = analyze_spec(&format!("{ZONES}  allow: {allow}\n"));
    let errors: Vec<_> = a.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{allow}: {errors:?}");
    assert_eq!(opened(&a.model, "db", 5432, ""), expected, "{allow}");
}

#[test]
fn an_allow_entry_for_a_service_opens_its_data_port_only_to_its_consumers() {
    // The connection the spec declares, and nothing else of `apps`.
    check_allow("[{ from: apps, to: postgres }]", &["10.0.40.10"]);
    // Naming the port opens it to the whole zone (an administrator's `psql`).
    check_allow("[{ from: apps, to: postgres, ports: [5432] }]", &["10.0.40.0/24", "10.0.40.10"]);
    // A zone's entry opens every port of its services, databases included.
    check_allow("[{ from: apps, to: data }]", &["10.0.40.0/24", "10.0.40.10"]);
}

#[test]
fn a_flow_across_zones_without_an_entry_is_refused_and_the_help_adds_the_narrow_one() {
    let spec = format!("{ZONES}  allow: []\n");
    let annotated = spec.replace(
        "backup: false }\npolicy:",
        "backup: false }\n#                                                ^^^^^^^^ E824\npolicy:",
    );
    let out = check_with(&annotated);
    assert!(out.iter().any(|l| l.contains("add `{ from: apps, to: postgres }` to `policy.allow`")), "{out:?}");
    check_allow("[{ from: apps, to: postgres }]", &["10.0.40.10"]);
}

/// A catalog port kept inside its stack (`publish: false`) that an `expose:` routes to is
/// published, since the proxy reaches every upstream at its machine's address, and opened to the
/// proxy's machine alone; without the exposure it stays unpublished.
#[test]
fn exposed_ports_are_published_for_the_proxy_alone() {
    let spec = |expose: &str| {
        format!(
            "
homelab: test
domain: example.com
networks: {{ lan: {{ cidr: 192.168.1.0/24, gateway: 192.168.1.1 }} }}
hosts:
  edge: {{ address: 192.168.1.10, network: lan, runtime: docker }}
  pi: {{ address: 192.168.1.30, network: lan, runtime: docker }}
ingress: {{ proxy: caddy, tls: {{ internal: true }} }}
services:
  caddy: {{ app: caddy, on: edge, backup: false }}
  wg-easy: {{ app: wg-easy, on: pi, backup: false{expose} }}
"
        )
    };
    let m = analyze_spec(&spec(", expose: wg")).model;
    let http = m.services["wg-easy"].ports.iter().find(|p| p.name == "http").expect("the web UI port");
    assert_eq!(http.host, Some(51821));
    assert_eq!(m.routes[0].upstreams, ["http://192.168.1.30:51821"]);
    let opened: Vec<&Vec<String>> = m.firewall["pi"].iter().filter(|o| o.port == 51821).map(|o| &o.from).collect();
    assert_eq!(opened, [&vec!["192.168.1.10".to_string()]]);

    let m = analyze_spec(&spec("")).model;
    let http = m.services["wg-easy"].ports.iter().find(|p| p.name == "http").expect("the web UI port");
    assert_eq!(http.host, None);
    assert!(m.firewall["pi"].iter().all(|o| o.port != 51821));
}
