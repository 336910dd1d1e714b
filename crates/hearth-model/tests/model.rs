//! Resolver and checker behaviour, data-driven: each case is a small spec and what it must give.

use hearth_model::{Allocations, analyze};

const BASE: &str = "
homelab: test
domain: example.com
networks:
  lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1, reserved: [192.168.1.2-192.168.1.9] }
hosts:
  pve: { proxmox: {}, address: 192.168.1.10, network: lan, hardware: { cores: 4, threads: 8, memory: 16GiB } }
";

fn analyze_text(extra: &str, previous: &Allocations) -> (hearth_model::Analysis, hearth_spec::Loaded) {
    let text = format!("{BASE}{extra}");
    let loaded = hearth_spec::load_str("test.yaml", &text);
    let a = analyze(&loaded.spec, hearth_catalog::builtin(), previous);
    (a, loaded)
}

/// Asserts the spec (BASE + `extra`) gives exactly these diagnostics, as `CODE line:col`.
fn check(extra: &str, expected: &[&str]) {
    let (a, loaded) = analyze_text(extra, &Allocations::default());
    let mut all = loaded.diagnostics.clone();
    all.extend(a.diagnostics);
    let got: Vec<String> = all
        .iter()
        .map(|d| {
            let loc = loaded.sources.location(d.primary.span);
            format!("{} {}:{}", d.code, loc.line, loc.col)
        })
        .collect();
    let rendered: Vec<String> = all.iter().map(|d| d.render_short(&loaded.sources)).collect();
    assert_eq!(got, expected, "\n{}", rendered.join("\n"));
}

#[test]
fn clean_spec_has_no_diagnostics() {
    check(
        "
guests:
  docker: { vm: { on: pve }, network: lan, runtime: docker, size: { cores: 4, memory: 8GiB } }
ingress: { proxy: traefik, tls: { acme: { email: a@example.com } } }
services:
  traefik: { app: traefik, on: docker, backup: false }
  db: { app: postgresql, on: docker, backup: false }
  n8n: { app: n8n, on: docker, uses: [db], expose: n8n, backup: false }
",
        &[],
    );
}

#[test]
fn conflicts() {
    // Duplicate address, duplicate id, address outside the subnet, address on the gateway.
    check(
        "
guests:
  a: { lxc: { on: pve, id: 100 }, network: lan, address: 192.168.1.20 }
  b: { lxc: { on: pve, id: 100 }, network: lan, address: 192.168.1.20 }
  c: { lxc: { on: pve }, network: lan, address: 10.0.0.5 }
  d: { lxc: { on: pve }, network: lan, address: 192.168.1.1 }
",
        &["E302 11:28", "E301 11:58", "E306 12:49", "E307 13:49"],
    );
}

#[test]
fn references_suggest_the_closest_name() {
    check(
        "
guests:
  media: { vm: { on: pve }, network: lna, runtime: docker }
services:
  jelly: { app: jelyfin, on: media }
  app: { image: ghcr.io/me/app:1.0, on: meida, healthcheck: { tcp: \"80\" } }
",
        &["E201 10:38", "E201 12:17", "E201 13:41"],
    );
}

#[test]
fn budgets_and_oversubscription() {
    check(
        "
guests:
  big: { vm: { on: pve }, size: { cores: 6, memory: 12GiB } }
  bigger: { vm: { on: pve }, size: { cores: 6, memory: 8GiB } }
",
        &["W401 7:91", "E401 7:102"],
    );
}

#[test]
fn dependency_cycle() {
    check(
        "
guests:
  docker: { vm: { on: pve }, network: lan, runtime: docker }
services:
  a: { image: x/a:1, on: docker, after: [b], healthcheck: { tcp: \"1\" } }
  b: { image: x/b:1, on: docker, after: [a], healthcheck: { tcp: \"1\" } }
",
        &["E202 13:42"],
    );
}

#[test]
fn redis_dbs_are_allocated_around_pinned_ones() {
    let (a, _) = analyze_text(
        "
guests:
  docker: { vm: { on: pve }, network: lan, runtime: docker }
services:
  redis: { app: redis, on: docker, backup: false }
  authentik: { app: authentik, on: docker, uses: [{ service: redis, db: 0 }], backup: false }
  n8n: { app: n8n, on: docker, uses: [redis], backup: false }
  immich: { app: immich, on: docker, uses: [redis], backup: false }
",
        &Allocations::default(),
    );
    let dbs: Vec<(String, u32)> = a.model.redis_dbs.iter().map(|r| (r.consumer.clone(), r.db)).collect();
    assert_eq!(dbs, [("authentik".into(), 0), ("n8n".into(), 1), ("immich".into(), 2)]);
    let n8n = &a.model.services["n8n"];
    assert_eq!(n8n.env["QUEUE_BULL_REDIS_DB"].to_string(), "1");
    assert_eq!(n8n.env["QUEUE_BULL_REDIS_PASSWORD"].to_string(), "${secret:redis-password}");
}

#[test]
fn connection_strings_name_secrets_never_values() {
    let (a, _) = analyze_text(
        "
guests:
  db: { lxc: { on: pve }, network: lan, address: 192.168.1.50 }
  docker: { vm: { on: pve }, network: lan, runtime: docker }
services:
  postgres: { app: postgresql, on: db, backup: false }
  vaultwarden: { app: vaultwarden, on: docker, uses: [postgres], backup: false }
",
        &Allocations::default(),
    );
    let db = &a.model.databases[0];
    assert_eq!(
        (db.name.as_str(), db.user.as_str(), db.password_secret.as_str()),
        ("vaultwarden", "vaultwarden", "postgres-vaultwarden-password")
    );
    let url = a.model.services["vaultwarden"].uses[0].url.as_ref().unwrap().to_string();
    assert_eq!(url, "postgresql://vaultwarden:${secret:postgres-vaultwarden-password}@192.168.1.50:5432/vaultwarden");
    assert!(a.model.generated_secrets.iter().any(|s| s.name == "postgres-vaultwarden-password"));
}

#[test]
fn allocation_is_stable_when_guests_are_added() {
    let first = "
guests:
  mango: { lxc: { on: pve }, network: lan }
  zebra: { lxc: { on: pve }, network: lan }
";
    let (a, _) = analyze_text(first, &Allocations::default());
    let before: Vec<(u32, String)> = ["mango", "zebra"]
        .iter()
        .map(|g| (a.model.guests[*g].id, a.model.guests[*g].address.unwrap().to_string()))
        .collect();
    assert_eq!(before, [(100, "192.168.1.11".into()), (101, "192.168.1.12".into())]);
    // A guest whose name sorts first must not take the others' ids or addresses.
    let second = format!("{first}  apple: {{ lxc: {{ on: pve }}, network: lan }}\n");
    let (b, _) = analyze_text(&second, &a.allocations);
    let after: Vec<(u32, String)> = ["mango", "zebra"]
        .iter()
        .map(|g| (b.model.guests[*g].id, b.model.guests[*g].address.unwrap().to_string()))
        .collect();
    assert_eq!(before, after);
    assert_eq!(b.model.guests["apple"].id, 102);
    assert_eq!(b.model.guests["apple"].address.unwrap().to_string(), "192.168.1.13");
}

#[test]
fn default_http_ports_move_but_fixed_ports_conflict() {
    let (a, loaded) = analyze_text(
        "
guests:
  docker: { vm: { on: pve }, network: lan, runtime: docker }
services:
  caddy: { app: caddy, on: docker, backup: false }
  vaultwarden: { app: vaultwarden, on: docker, backup: false }
  dns1: { app: adguard-home, on: docker, backup: false }
  dns2: { app: adguard-home, on: docker, backup: false }
",
        &Allocations::default(),
    );
    let vw = a.model.services["vaultwarden"].ports.iter().find(|p| p.container == 80).unwrap();
    assert_ne!(vw.host, Some(80), "vaultwarden's default port 80 moves away from caddy's");
    let conflicts: Vec<String> = a
        .diagnostics
        .iter()
        .filter(|d| d.code == hearth_spec::Code::PortConflict)
        .map(|d| d.render_short(&loaded.sources).lines().next().unwrap().to_string())
        .collect();
    assert!(
        conflicts.iter().any(|c| c.contains("port 53/tcp") && c.contains("dns1") && c.contains("dns2")),
        "{conflicts:?}"
    );
    assert!(conflicts.iter().any(|c| c.contains("port 53/udp")), "{conflicts:?}");
}

#[test]
fn exposure_and_secret_rules() {
    check(
        "
guests:
  docker: { vm: { on: pve }, network: lan, runtime: docker }
ingress: { proxy: caddy }
services:
  caddy: { app: caddy, on: docker, backup: false }
  app: { image: x/app:1.2, on: docker, ports: { http: 8080 }, expose: { name: app, access: public }, env: { DB_PASSWORD: hunter2 }, healthcheck: { tcp: http } }
  pg: { app: postgresql, on: docker, expose: pg, backup: false }
",
        &["E502 14:79", "W501 14:79", "E501 14:122", "E503 15:46"],
    );
}

#[test]
fn stateful_without_backup_and_unpinned_images() {
    check(
        "
guests:
  docker: { vm: { on: pve }, network: lan, runtime: docker }
services:
  jellyfin: { app: jellyfin, on: docker }
  app: { image: x/app, on: docker, healthcheck: { tcp: \"1\" } }
  app2: { image: \"x/app2:latest\", on: docker, healthcheck: { tcp: \"1\" } }
",
        &["W504 12:3", "W503 13:17", "W503 14:18"],
    );
}

#[test]
fn dns_record_to_an_unknown_address_names_it() {
    let (a, loaded) = analyze_text(
        "
guests:
  media: { vm: { on: pve }, network: lan, address: 192.168.1.22, runtime: docker }
services:
  jellyfin: { app: jellyfin, on: media, backup: false }
dns: { records: { jellyfin: 192.168.1.30 } }
",
        &Allocations::default(),
    );
    let w: Vec<String> = a.diagnostics.iter().map(|d| d.render_short(&loaded.sources)).collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("warning[W505]")
            && w[0].contains("192.168.1.30")
            && w[0].contains("`jellyfin` runs on `media` at 192.168.1.22"),
        "{}",
        w[0]
    );
}

#[test]
fn model_is_deterministic() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/ryzen-tiered-lxc-platform.yaml"))
            .unwrap();
    let run = || {
        let loaded = hearth_spec::load_str("x.yaml", &text);
        let a = analyze(&loaded.spec, hearth_catalog::builtin(), &Allocations::default());
        serde_json::to_string(&a.model).unwrap()
    };
    assert_eq!(run(), run());
}

#[test]
fn declared_secrets_replace_generated_ones() {
    let (a, _) = analyze_text(
        "
guests:
  docker: { vm: { on: pve }, network: lan, runtime: docker }
secrets:
  n8n-encryption-key: { op: \"op://homelab/n8n/key\" }
  redis-password: { length: 64 }
services:
  redis: { app: redis, on: docker, backup: false }
  n8n: { app: n8n, on: docker, uses: [redis], backup: false }
  runner: { app: github-runner, on: docker, backup: false }
",
        &Allocations::default(),
    );
    let n8n = &a.model.services["n8n"];
    assert_eq!(n8n.env["N8N_ENCRYPTION_KEY"].to_string(), "${op://homelab/n8n/key}");
    let generated: Vec<(&str, usize)> = a.model.generated_secrets.iter().map(|s| (s.name.as_str(), s.length)).collect();
    assert!(generated.contains(&("redis-password", 64)), "{generated:?}");
    assert!(!generated.iter().any(|(n, _)| *n == "n8n-encryption-key"), "{generated:?}");
    // The server's requirepass and its consumers' password are the same secret.
    assert_eq!(a.model.services["redis"].env["REDISCLI_AUTH"].to_string(), "${secret:redis-password}");
    let external: Vec<&str> = a.model.external_secrets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(external, ["runner-access-token"]);
}

#[test]
fn appliances_and_native_forms() {
    check(
        "
guests:
  haos: { vm: { on: pve }, network: lan, runtime: none }
  db: { lxc: { on: pve }, network: lan }
services:
  home-assistant: { app: home-assistant, on: haos, form: appliance, backup: false }
  redis: { app: redis, on: haos, backup: false }
  qbit: { app: qbittorrent, on: db, form: native, backup: false }
  postgres: { app: postgresql, on: db, backup: false }
",
        &["W502 14:3", "E204 14:28", "E204 15:43"],
    );
    let (a, _) = analyze_text(
        "
guests:
  db: { lxc: { on: pve }, network: lan }
services:
  postgres: { app: postgresql, on: db, backup: daily }
backups:
  repositories: { nas: { restic: /mnt/nas } }
  policies: { daily: { at: \"02:00\", to: [nas] } }
",
        &Allocations::default(),
    );
    let job = &a.model.backups.jobs[0];
    assert_eq!(job.paths, ["/var/lib/postgresql"], "a native PostgreSQL keeps its data where the package does");
}

#[test]
fn cluster_services_are_routed_through_the_cluster_ingress() {
    let (a, _) = analyze_text(
        "
guests:
  k1: { vm: { on: pve }, network: lan, address: 192.168.1.50 }
  edge: { vm: { on: pve }, network: lan, address: 192.168.1.40, runtime: docker }
clusters: { k3s: { kind: k3s, servers: [k1] } }
ingress: { proxy: traefik, tls: { internal: true } }
services:
  traefik: { app: traefik, on: edge, backup: false }
  kuma: { app: uptime-kuma, on: k3s, expose: status, backup: false }
  kuma2: { app: uptime-kuma, on: k3s, backup: false }
",
        &Allocations::default(),
    );
    assert!(a.diagnostics.is_empty(), "two pods on one cluster share no machine ports: {:?}", a.diagnostics);
    let route = a.model.routes.iter().find(|r| r.service == "kuma").expect("a route");
    assert_eq!(route.upstreams, ["http://192.168.1.50:80"]);
    let opening = a.model.firewall["k1"].iter().find(|o| o.port == 80).expect("port 80 on the cluster server");
    assert_eq!(opening.from, ["192.168.1.40"]);
}

#[test]
fn stacks_default_to_a_clean_slug_of_the_group() {
    let (a, _) = analyze_text(
        "
guests:
  docker: { vm: { on: pve }, network: lan, runtime: docker }
services:
  n8n: { app: n8n, on: docker, group: \"AI & Automation\", backup: false }
  jellyfin: { app: jellyfin, on: docker, backup: false }
  x: { app: dozzle, on: docker, stack: logs, group: Tools }
",
        &Allocations::default(),
    );
    let stacks: Vec<(&str, &str)> = a.model.services.iter().map(|(n, s)| (n.as_str(), s.stack.as_str())).collect();
    assert_eq!(stacks, [("jellyfin", "media"), ("n8n", "ai-automation"), ("x", "logs")]);
}
