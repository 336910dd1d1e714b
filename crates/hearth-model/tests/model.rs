//! Resolver and checker behaviour, data-driven: each case is a small spec and what it must give.

mod markers;

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
    analyze_spec(&format!("{BASE}{extra}"), hearth_catalog::builtin(), previous)
}

fn analyze_spec(
    text: &str,
    catalog: &hearth_catalog::Catalog,
    previous: &Allocations,
) -> (hearth_model::Analysis, hearth_spec::Loaded) {
    let loaded = hearth_spec::load_str("test.yaml", text);
    let a = analyze(&loaded.spec, catalog, previous);
    (a, loaded)
}

/// Asserts that BASE + `annotated` gives exactly the diagnostics its markers name.
fn check(annotated: &str) {
    check_with(&format!("{BASE}{annotated}"), hearth_catalog::builtin());
}

/// Asserts that a spec gives exactly the diagnostics its markers name, in the style of
/// rust-analyzer's fixtures. A marker is a comment line under the line it points at: carets under
/// the diagnostic's span (its first line), then its code:
///
/// ```text
/// guests:
///   db: { lxc: { on: nope } }
/// #                  ^^^^ E201
/// ```
///
/// Markers are removed before the spec is analyzed, so they shift no position. On a mismatch the
/// message shows the spec annotated with what the analysis really reported. Returns the
/// diagnostics as `render_short` prints them, for tests that look at the wording too.
fn check_with(annotated: &str, catalog: &hearth_catalog::Catalog) -> Vec<String> {
    let (text, expected) = markers::parse(annotated);
    let (a, loaded) = analyze_spec(&text, catalog, &Allocations::default());
    let mut all = loaded.diagnostics.clone();
    all.extend(a.diagnostics);
    let mut got: Vec<markers::Marker> = all
        .iter()
        .map(|d| {
            let loc = loaded.sources.location(d.primary.span);
            let snippet = loaded.sources.snippet(d.primary.span);
            let width = snippet.lines().next().map_or(1, |l| l.chars().count().max(1));
            markers::Marker { line: loc.line, col: loc.col, width, code: d.code.to_string() }
        })
        .collect();
    got.sort();
    let key = |m: &markers::Marker| (m.line, m.col, m.width, m.code.clone());
    let same = got.iter().map(key).eq(expected.iter().map(key));
    let rendered: Vec<String> = all.iter().map(|d| d.render_short(&loaded.sources)).collect();
    assert!(
        same,
        "\nexpected the markers of:\n{annotated}\ngot:\n{}\n{}",
        markers::render(&text, &got),
        rendered.join("\n")
    );
    rendered
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
#                          ^^^ E302
#                                                        ^^^^^^^^^^^^ E301
  c: { lxc: { on: pve }, network: lan, address: 10.0.0.5 }
#                                               ^^^^^^^^ E306
  d: { lxc: { on: pve }, network: lan, address: 192.168.1.1 }
#                                               ^^^^^^^^^^^ E307
",
    );
}

#[test]
fn references_suggest_the_closest_name() {
    check(
        "
guests:
  media: { vm: { on: pve }, network: lna, runtime: docker }
#                                    ^^^ E201
services:
  jelly: { app: jelyfin, on: media }
#               ^^^^^^^ E201
  app: { image: ghcr.io/me/app:1.0, on: meida, healthcheck: { tcp: \"80\" } }
#                                       ^^^^^ E201
",
    );
}

#[test]
fn budgets_and_oversubscription() {
    check_with(
        "
homelab: test
hosts:
  pve: { proxmox: {}, hardware: { cores: 4, threads: 8, memory: 16GiB } }
#                                                    ^ W401
#                                                               ^^^^^ E401
guests:
  big: { vm: { on: pve }, size: { cores: 6, memory: 12GiB } }
  bigger: { vm: { on: pve }, size: { cores: 6, memory: 8GiB } }
",
        hearth_catalog::builtin(),
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
#                                        ^ E202
",
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
#                                                                             ^^^ E502
#                                                                             ^^^ W501
#                                                                                                                        ^^^^^^^ E501
  pg: { app: postgresql, on: docker, expose: pg, backup: false }
#                                            ^^ E503
",
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
# ^^^^^^^^ W504
  app: { image: x/app, on: docker, healthcheck: { tcp: \"1\" } }
#               ^^^^^ W503
  app2: { image: \"x/app2:latest\", on: docker, healthcheck: { tcp: \"1\" } }
#                ^^^^^^^^^^^^^^^ W503
",
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
# ^^^^^ W502
#                          ^^^^ E204
  qbit: { app: qbittorrent, on: db, form: native, backup: false }
#                                         ^^^^^^ E204
  postgres: { app: postgresql, on: db, backup: false }
",
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

/// A catalog entry with companions, to test them apart from the built-in apps: `sidecar` is
/// released with the app (same tag), `probe` on its own.
const PAIR: &str = "
name: pair
category: apps
image: example/pair:1.0
ports:
  http: { port: 8080, protocol: http, primary: true }
secrets:
  token: { env: PAIR_TOKEN }
env:
  PAIR_URL: \"{{ url }}\"
companions:
  sidecar:
    image: example/pair-sidecar:1.0
    env: { SIDECAR_TOKEN: \"{{ secret.token }}\" }
    ports:
      metrics: { port: 9100 }
      internal: { port: 9200, publish: false }
    healthcheck: { tcp: metrics }
  probe:
    image: example/probe:3.1
healthcheck: { tcp: http }
";

fn pair_catalog() -> hearth_catalog::Catalog {
    let catalog = hearth_catalog::decode(&[("pair", PAIR)]);
    assert!(catalog.diagnostics.is_empty(), "{:?}", catalog.diagnostics);
    catalog
}

#[test]
fn companion_ports_are_claimed_and_conflict_checked() {
    // Two instances on one machine: the sidecar's published port clashes, its unpublished one
    // does not; the service's own HTTP port is a catalog default and moves.
    let diagnostics = check_with(
        &[
            BASE,
            "
guests:
  docker: { vm: { on: pve }, network: lan, runtime: docker }
services:
  one: { app: pair, on: docker, backup: false }
  two: { app: pair, on: docker, backup: false }
#             ^^^^ E308
  three: { image: example/x:1.0, on: docker, ports: { m: 9100 }, healthcheck: { tcp: m } }
#                                                        ^^^^ E308
",
        ]
        .concat(),
        &pair_catalog(),
    );
    // A companion's port comes from its catalog entry: the help does not suggest remapping it.
    assert!(diagnostics[0].contains("`two-sidecar` runs beside its service"), "{}", diagnostics[0]);
}

#[test]
fn companions_follow_the_service_version_and_secrets() {
    let text = [
        BASE,
        "
guests:
  docker1: { vm: { on: pve }, network: lan, runtime: docker }
  docker2: { vm: { on: pve }, network: lan, runtime: docker }
secrets:
  two-token: { env: TWO_TOKEN }
services:
  one: { app: pair, on: docker1, backup: false }
  two: { app: pair, on: docker2, version: \"2.0\", backup: false }
",
    ]
    .concat();
    let (a, loaded) = analyze_spec(&text, &pair_catalog(), &Allocations::default());
    let diagnostics: Vec<String> = a.diagnostics.iter().map(|d| d.render_short(&loaded.sources)).collect();
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let images = |s: &str| -> Vec<(String, String)> {
        a.model.services[s].companions.iter().map(|c| (c.name.clone(), c.image.clone())).collect()
    };
    assert_eq!(
        images("one"),
        [("sidecar".into(), "example/pair-sidecar:1.0".into()), ("probe".into(), "example/probe:3.1".into())]
    );
    assert_eq!(
        images("two"),
        [("sidecar".into(), "example/pair-sidecar:2.0".into()), ("probe".into(), "example/probe:3.1".into())],
        "a companion released with the app follows `version:`; one versioned on its own keeps its tag"
    );
    let sidecar = |s: &str| a.model.services[s].companions.iter().find(|c| c.name == "sidecar").unwrap().clone();
    assert_eq!(sidecar("one").env["SIDECAR_TOKEN"].to_string(), "${secret:one-token}");
    assert_eq!(sidecar("two").env["SIDECAR_TOKEN"].to_string(), "${env:TWO_TOKEN}", "the declared source wins");
    assert_eq!(sidecar("two").env["PAIR_TOKEN"].to_string(), "${env:TWO_TOKEN}", "the service's env is shared");
    let ports: Vec<(String, Option<u16>)> = sidecar("one").ports.iter().map(|p| (p.name.clone(), p.host)).collect();
    assert_eq!(ports, [("metrics".into(), Some(9100)), ("internal".into(), None)]);
}

#[test]
fn builtin_companions_run_the_spec_version() {
    let (a, _) = analyze_text(
        "
guests:
  docker: { vm: { on: pve }, network: lan, runtime: docker }
services:
  immich: { app: immich, on: docker, version: v1.121.0, backup: false }
  authentik: { app: authentik, on: docker, version: 2024.12.1, backup: false }
",
        &Allocations::default(),
    );
    let image = |s: &str| a.model.services[s].companions[0].image.clone();
    assert_eq!(image("immich"), "ghcr.io/immich-app/immich-machine-learning:v1.121.0");
    assert_eq!(image("authentik"), "ghcr.io/goauthentik/server:2024.12.1");
}

#[test]
fn port_conflicts_at_the_top_of_the_range() {
    check(
        "
guests:
  docker: { vm: { on: pve }, network: lan, runtime: docker }
services:
  a: { image: x/a:1, on: docker, ports: { p: 65535 }, healthcheck: { tcp: p } }
  b: { image: x/b:1, on: docker, ports: { p: 65535 }, healthcheck: { tcp: p } }
#                                            ^^^^^ E308
",
    );
}

#[test]
fn a_one_address_network_at_the_top_of_the_range_is_full() {
    check_with(
        "
homelab: test
networks:
  top: { cidr: \"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128\" }
#              ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ E309
hosts:
  pve: { proxmox: {} }
guests:
  g: { lxc: { on: pve }, network: top }
",
        hearth_catalog::builtin(),
    );
}

#[test]
fn budgets_whose_totals_do_not_fit_still_report() {
    check_with(
        "
homelab: test
hosts:
  pve: { proxmox: {}, hardware: { cores: 4, memory: 16GiB } }
#                                        ^ W401
#                                                   ^^^^^ E401
guests:
  a: { vm: { on: pve }, size: { cores: 4000000000, memory: 9000000TiB } }
  b: { vm: { on: pve }, size: { cores: 4000000000, memory: 9000000TiB } }
",
        hearth_catalog::builtin(),
    );
}

#[test]
fn volumes_handed_to_docker_keep_the_container_path_on_the_host() {
    // Pelican Wings passes `/var/lib/pelican` to the Docker engine for the game servers' mounts.
    check(
        "
guests:
  games: { vm: { on: pve }, network: lan, runtime: docker, size: { cores: 1, memory: 2GiB } }
  games2: { vm: { on: pve }, network: lan, runtime: docker, size: { cores: 1, memory: 2GiB } }
  games3: { vm: { on: pve }, network: lan, runtime: docker, size: { cores: 1, memory: 2GiB } }
services:
  wings: { app: pelican-wings, on: games, backup: false, volumes: { data: /srv/pelican, config: /srv/wings } }
#                                                                         ^^^^^^^^^^^^ E631
  # The help's edit: without the override the volume is at the container's path.
  fixed: { app: pelican-wings, on: games2, backup: false, volumes: { config: /srv/wings } }
  same: { app: pelican-wings, on: games3, backup: false, volumes: { data: /var/lib/pelican/ } }
",
    );
}

#[test]
fn docker_vms_need_a_debian_with_compose_v2() {
    check(
        "
guests:
  old: { vm: { on: pve }, network: lan, runtime: docker, os: debian-11, size: { cores: 1, memory: 2GiB } }
#                                                            ^^^^^^^^^ E632
  fixed: { vm: { on: pve }, network: lan, runtime: docker, os: debian-12, size: { cores: 1, memory: 2GiB } }
  plain: { vm: { on: pve }, network: lan, os: debian-11, size: { cores: 1, memory: 2GiB } }
",
    );
}
