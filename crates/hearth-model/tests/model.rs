//! Resolver and checker behaviour, data-driven: each case is a small spec and what it must give.

mod common;

use common::{BASE, analyze_spec, analyze_text, check, check_with};
use hearth_model::Allocations;

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
fn guests_proxmox_cannot_create_or_nobody_can_reach() {
    // A disk on SHR (DSM's own volume) or on a pool without the content type, mounts on a VM
    // Hearth does not configure, and cloud-init VMs without an operator key.
    check_with(
        "
homelab: test
domain: example.com
networks: { lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1 } }
hosts:
  pve:
    proxmox: {}
    address: 192.168.1.10
    network: lan
    storage:
      local-lvm: { kind: lvm-thin, content: [images, rootdir] }
      nas: { kind: shr, path: /mnt/pve/nas, content: [backup, iso] }
      isos: { kind: dir, path: /srv/iso, content: [iso] }
guests:
  dsm:
    vm: { on: pve, storage: nas }
#                           ^^^ E641
    os: dsm
    runtime: none
  ct: { lxc: { on: pve, storage: isos }, network: lan, backup: false }
#                                ^^^^ E641
  haos:
    vm: { on: pve }
    os: haos
    runtime: none
    mounts: { /media: nas/media }
#             ^^^^^^ E642
  docker:
# ^^^^^^ W641
    vm: { on: pve, storage: local-lvm }
    network: lan
    runtime: docker
    mounts: { /srv/media: nas/media }
",
        hearth_catalog::builtin(),
    );
}

#[test]
fn a_nixos_vm_mounts_shares_but_no_host_folders() {
    // Its flake mounts `share:` entries as `fileSystems`; virtiofs folders nothing would mount.
    // An unmanaged NixOS VM gets no flake, so it mounts nothing at all.
    check(
        "
guests:
  nas: { vm: { on: pve }, network: lan, os: dsm, runtime: none }
  nix:
    vm: { on: pve }
    network: lan
    os: nixos
    mounts:
      /mnt/media: share:media
      /srv/photos: /srv/photos
#     ^^^^^^^^^^^ E642
  hand:
    vm: { on: pve }
    network: lan
    os: nixos
    managed: false
    mounts: { /mnt/media: share:media }
#             ^^^^^^^^^^ E642
shares:
  media: { kind: nfs, server: nas, path: /volume1/media }
",
    );
}

#[test]
fn the_guest_storage_help_is_an_edit_that_works() {
    let spec = |storage: &str| {
        format!(
            "
guests:
  dsm:
    vm: {{ on: pve, storage: {storage} }}
    os: dsm
    runtime: none
hosts:
  pve:
    proxmox: {{}}
    storage:
      local-lvm: {{ kind: lvm-thin, content: [images, rootdir] }}
      nas: {{ kind: shr, path: /mnt/pve/nas }}
homelab: test
"
        )
    };
    let (a, loaded) = analyze_spec(&spec("nas"), hearth_catalog::builtin(), &Allocations::default());
    let d = a.diagnostics.iter().find(|d| d.code == hearth_spec::Code::GuestStorageUnfit).expect("E641");
    let help = d.render_short(&loaded.sources);
    assert!(help.contains("`storage: local-lvm`"), "{help}");
    let (a, _) = analyze_spec(&spec("local-lvm"), hearth_catalog::builtin(), &Allocations::default());
    assert!(a.diagnostics.is_empty(), "{:?}", a.diagnostics);
}

#[test]
fn host_repository_folders_must_reach_the_guest_that_backs_up() {
    // A container gets the folder mounted; a VM whose system Hearth does not configure cannot.
    check_with(
        "
homelab: test
domain: example.com
networks: { lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1 } }
hosts:
  pve:
    proxmox: {}
    address: 192.168.1.10
    network: lan
    storage: { backup: { kind: dir, path: /srv/backup } }
guests:
  ct: { lxc: { on: pve }, network: lan }
  nix:
# ^^^ E643
    vm: { on: pve }
    os: nixos
    network: lan
services:
  vault: { app: vaultwarden, on: ct, backup: nightly }
#                                ^^ W621
  vault2: { app: vaultwarden, on: nix, backup: nightly }
backups:
  repositories: { local: { restic: /srv/backup/restic } }
  policies: { nightly: { at: \"03:00\", to: [local], keep: { daily: 7 } } }
",
        hearth_catalog::builtin(),
    );
    let (a, _) = analyze_spec(
        "
homelab: test
networks: { lan: { cidr: 192.168.1.0/24 } }
hosts: { pve: { proxmox: {}, storage: { backup: { kind: dir, path: /srv/backup } } } }
guests: { ct: { lxc: { on: pve }, network: lan } }
services: { vault: { app: vaultwarden, on: ct, backup: nightly } }
backups:
  repositories: { local: { restic: /srv/backup/restic } }
  policies: { nightly: { at: \"03:00\", to: [local] } }
",
        hearth_catalog::builtin(),
        &Allocations::default(),
    );
    assert_eq!(a.model.guests["ct"].mounts.get("/srv/backup/restic").map(String::as_str), Some("/srv/backup/restic"));
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
admin: { ssh_keys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample you@laptop] }
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
  docker: { vm: { on: pve }, network: lan, runtime: docker, size: { memory: 2GiB } }
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
  media: { vm: { on: pve }, network: lan, address: 192.168.1.22, runtime: docker, size: { memory: 2GiB } }
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
        let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Allocations::default());
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

/// Services on a cluster: pods of the cluster reach each other by Service DNS name and port,
/// machines outside it (the proxy, consumers) at a node address and the port's NodePort, which
/// the nodes open to exactly those machines; the nodes open what the cluster itself needs.
#[test]
fn cluster_services_are_reached_by_dns_name_inside_and_node_port_outside() {
    let (a, _) = analyze_text(
        "
guests:
  k1: { vm: { on: pve }, network: lan, address: 192.168.1.50 }
  k2: { vm: { on: pve }, network: lan, address: 192.168.1.51 }
  edge: { vm: { on: pve }, network: lan, address: 192.168.1.40, runtime: docker }
clusters: { k3s: { kind: k3s, servers: [k1], agents: [k2] } }
ingress: { proxy: traefik, tls: { internal: true } }
services:
  traefik: { app: traefik, on: edge, backup: false }
  kuma: { app: uptime-kuma, on: k3s, expose: status, backup: false }
  kuma2: { app: uptime-kuma, on: k3s, backup: false }
  pg: { app: postgresql, on: k3s, backup: false }
  inside: { image: example/app:1.0, on: k3s, ports: { http: 3000 }, uses: [pg], backup: false }
  outside: { image: example/app:1.0, on: edge, ports: { http: 3000 }, uses: [pg], backup: false }
",
        &Allocations::default(),
    );
    let errors: Vec<_> = a.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "two pods on one cluster share no machine ports: {errors:?}");
    let url = |s: &str| a.model.services[s].uses[0].url.as_ref().unwrap().to_string();
    assert_eq!(
        url("inside"),
        "postgresql://inside:${secret:pg-inside-password}@pg.default.svc.cluster.local:5432/inside"
    );
    let pg_port = a.model.services["pg"].node_ports["postgres"];
    assert!((30000..=32767).contains(&pg_port), "{pg_port}");
    assert_eq!(
        url("outside"),
        format!("postgresql://outside:${{secret:pg-outside-password}}@192.168.1.50:{pg_port}/outside")
    );
    // NodePorts are unique on the cluster.
    let mut all: Vec<u16> = a.model.services.values().flat_map(|s| s.node_ports.values().copied()).collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n);
    let kuma_port = a.model.services["kuma"].node_ports["http"];
    let route = a.model.routes.iter().find(|r| r.service == "kuma").expect("a route");
    assert_eq!(
        route.upstreams,
        [format!("http://192.168.1.50:{kuma_port}"), format!("http://192.168.1.51:{kuma_port}")]
    );
    for node in ["k1", "k2"] {
        let open = |port: u16| a.model.firewall[node].iter().find(|o| o.port == port).map(|o| o.from.clone());
        assert_eq!(open(kuma_port), Some(vec!["192.168.1.40".to_string()]), "{node}: the proxy reaches kuma");
        assert_eq!(open(pg_port), Some(vec!["192.168.1.40".to_string()]), "{node}: only `outside` reaches pg");
        assert_eq!(open(10250), Some(vec!["192.168.1.50".into(), "192.168.1.51".into(), "10.42.0.0/16".into()]));
        assert_eq!(open(8472), Some(vec!["192.168.1.50".to_string(), "192.168.1.51".to_string()]));
        assert!(open(80).is_none(), "{node}: no ingress controller port");
        assert!(
            open(a.model.services["kuma2"].node_ports["http"]).is_none(),
            "{node}: kuma2 is used by nobody outside"
        );
    }
    assert!(a.model.firewall["k1"].iter().any(|o| o.port == 6443), "the API server on the server");
    assert!(!a.model.firewall["k2"].iter().any(|o| o.port == 6443), "no API server on an agent");
}

/// A pod on a cluster reaches a database outside it from its node's address: the database's
/// consumers are every node of the cluster.
#[test]
fn cluster_consumers_connect_from_every_node() {
    let (a, _) = analyze_text(
        "
guests:
  k1: { vm: { on: pve }, network: lan, address: 192.168.1.50 }
  k2: { vm: { on: pve }, network: lan, address: 192.168.1.51 }
  db: { vm: { on: pve }, network: lan, address: 192.168.1.60 }
clusters: { k3s: { kind: k3s, servers: [k1], agents: [k2] } }
services:
  pg: { app: postgresql, on: db, form: native, backup: false }
  app: { image: example/app:1.0, on: k3s, ports: { http: 3000 }, uses: [pg], backup: false }
",
        &Allocations::default(),
    );
    let open = a.model.firewall["db"].iter().find(|o| o.port == 5432).expect("5432 on db");
    assert_eq!(open.from, ["192.168.1.50", "192.168.1.51"]);
}

#[test]
fn proxy_on_a_cluster_and_clusters_without_servers_are_refused() {
    check(
        "
guests:
  k1: { vm: { on: pve }, network: lan, address: 192.168.1.50 }
clusters:
  k3s: { kind: k3s, servers: [k1] }
  empty: { kind: k3s, servers: [] }
# ^^^^^ E652
ingress: { proxy: traefik, tls: { internal: true } }
#                 ^^^^^^^ E651
services:
  traefik: { app: traefik, on: k3s, backup: false }
",
    );
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
admin: { ssh_keys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample you@laptop] }
hosts:
  pve: { proxmox: {}, hardware: { cores: 4, memory: 16GiB } }
#                                        ^ W401
#                                                   ^^^^^ E401
guests:
  a: { vm: { on: pve }, size: { cores: 4000000000, memory: 9000000TiB } }
#                                      ^^^^^^^^^^ E714
#                                                          ^^^^^^^^^^ E719
  b: { vm: { on: pve }, size: { cores: 4000000000, memory: 9000000TiB } }
#                                      ^^^^^^^^^^ E714
#                                                          ^^^^^^^^^^ E719
",
        hearth_catalog::builtin(),
    );
}

/// One name, one answer: a record naming an exposed name is reported and not served (the name
/// answers with the proxy's address, where its route is); a second record of the same name is
/// reported and loses to the first.
#[test]
fn dns_names_get_one_answer() {
    let spec = "
guests:
  media: { vm: { on: pve }, network: lan, address: 192.168.1.22, runtime: docker, size: { memory: 2GiB } }
  edge: { vm: { on: pve }, network: lan, address: 192.168.1.23, runtime: docker }
ingress: { proxy: caddy, tls: { internal: true } }
services:
  caddy: { app: caddy, on: edge, backup: false }
  jellyfin: { app: jellyfin, on: media, expose: jellyfin, backup: false }
  kuma: { app: uptime-kuma, on: media, expose: status, backup: false }
dns:
  records:
    jellyfin: 192.168.1.22
#   ^^^^^^^^ W510
    status: 192.168.1.23
#   ^^^^^^ W510
    nas: 192.168.1.22
    nas.example.com: 192.168.1.23
#   ^^^^^^^^^^^^^^^ W651
";
    let (_, a) = common::check_and_analyze(spec);
    let answers: Vec<(&str, String)> =
        a.model.dns_records.iter().map(|r| (r.name.as_str(), r.address.to_string())).collect();
    assert_eq!(
        answers,
        [
            ("jellyfin.example.com", "192.168.1.23".to_string()),
            ("nas.example.com", "192.168.1.22".to_string()),
            ("status.example.com", "192.168.1.23".to_string()),
        ]
    );
}

/// A native service Hearth can only deploy on NixOS (its catalog entry says why) is refused on a
/// Debian machine; one whose package and configuration folder are named after its major version
/// needs a version that starts with one.
#[test]
fn native_forms_hearth_can_deploy() {
    let rendered = check_with(
        &format!(
            "{BASE}{}",
            "
guests:
  vpn: { lxc: { on: pve }, network: lan }
  nix: { vm: { on: pve }, network: lan, os: nixos }
  db: { lxc: { on: pve }, network: lan }
services:
  netbird: { app: netbird, on: vpn, backup: false }
#                              ^^^ E621
  mesh: { app: netbird, on: nix, backup: false }
  postgres: { app: postgresql, on: db, version: latest, backup: false }
#                                               ^^^^^^ W503
#                                               ^^^^^^ E622
  pg16: { app: postgresql, on: db, version: \"16\", backup: false, ports: { postgres: 5433 } }
"
        ),
        hearth_catalog::builtin(),
    );
    assert!(rendered[0].contains("add `runtime: docker` to `vpn`"), "{rendered:?}");
}

/// A native service whose app has no Debian package is not installed by Hearth on a Debian
/// machine, nor does its environment reach it: a warning says so, naming the secret variables.
#[test]
fn native_without_a_package_is_reported() {
    let rendered = check_with(
        &format!(
            "{BASE}{}",
            "
guests:
  db: { lxc: { on: pve }, network: lan }
  app: { lxc: { on: pve }, network: lan }
  arr: { lxc: { on: pve }, network: lan }
services:
  postgres: { app: postgresql, on: db, backup: false }
  n8n: { app: n8n, on: app, uses: [postgres], backup: false }
#                      ^^^ W621
  prowlarr: { app: prowlarr, on: arr, backup: false }
#                                ^^^ W621
"
        ),
        hearth_catalog::builtin(),
    );
    let n8n = rendered.iter().find(|r| r.contains("`n8n`")).unwrap();
    assert!(n8n.contains("DB_POSTGRESDB_PASSWORD"), "{n8n}");
    assert!(n8n.contains("add `runtime: docker` to `app`"), "{n8n}");
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

/// A backup policy on a service with nothing to keep makes no job (it would only fail with
/// `nothing to backup`) and says so; the help's `backup: false` is an edit that checks clean.
#[test]
fn a_backup_policy_with_nothing_to_back_up_is_reported() {
    let spec = "
guests:
  apps: { vm: { on: pve }, network: lan, address: 192.168.1.20, runtime: docker }
services:
  web: { image: example/web:1.0, on: apps, ports: { http: 8080 }, backup: nightly, healthcheck: { tcp: http } }
#                                                                         ^^^^^^^ W642
  files: { image: example/files:1.0, on: apps, ports: { http: 8081 }, backup: { policy: nightly, paths: [/srv/files] }, healthcheck: { tcp: http } }
backups:
  repositories: { local: { restic: /srv/restic } }
  policies: { nightly: { at: \"03:00\", to: [local], keep: { daily: 7 } } }
";
    let (text, a) = common::check_and_analyze(spec);
    let jobs: Vec<&str> = a.model.backups.jobs.iter().map(|j| j.service.as_str()).collect();
    assert_eq!(jobs, ["files"]);
    let edited = text.replace("backup: nightly,", "backup: false,");
    let (a, _) = analyze_spec(&edited, hearth_catalog::builtin(), &Allocations::default());
    assert!(a.diagnostics.is_empty(), "{:?}", a.diagnostics);
}

/// A service given by `image:` names its volumes by the container path where the image keeps its
/// data, as Compose does: the folder is mounted there (not under `/data/`) and is the service's
/// state, which its backup policy keeps.
#[test]
fn image_volumes_keyed_by_container_path_are_state_at_that_path() {
    let spec = "
guests:
  apps: { vm: { on: pve }, network: lan, address: 192.168.1.20, runtime: docker }
services:
  broker: { image: eclipse-mosquitto:2.0.20, on: apps, ports: { mqtt: 1883 }, healthcheck: { tcp: mqtt }, backup: nightly, volumes: { /mosquitto/data: /opt/broker } }
  named: { image: example/web:1.0, on: apps, ports: { http: 8080 }, healthcheck: { tcp: http }, backup: false, volumes: { data: /opt/named } }
backups:
  repositories: { local: { restic: /srv/restic } }
  policies: { nightly: { at: \"03:00\", to: [local], keep: { daily: 7 } } }
";
    let (_, a) = common::check_and_analyze(spec);
    let broker = &a.model.services["broker"];
    let v: Vec<(&str, &str, &str, bool)> =
        broker.volumes.iter().map(|v| (v.name.as_str(), v.source.as_str(), v.target.as_str(), v.stateful)).collect();
    assert_eq!(v, [("mosquitto_data", "/opt/broker", "/mosquitto/data", true)]);
    assert_eq!(a.model.services["named"].volumes[0].target, "/data/data");
    let jobs: Vec<&str> = a.model.backups.jobs.iter().map(|j| j.service.as_str()).collect();
    assert_eq!(jobs, ["broker"]);
}
