//! The Docker section: a machine's daemon settings and its Docker networks with the services on
//! them, as the spec's `docker:` blocks and `docker_networks:` give them.

const SPEC: &str = r#"
homelab: t
domain: example.com
networks: { lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1 } }
hosts: { pve: { proxmox: {}, address: 192.168.1.10, network: lan } }
guests:
  docker:
    vm: { on: pve }
    network: lan
    runtime: docker
    docker:
      storage_driver: overlay2
      log: { driver: json-file, max_size: 10MiB, max_files: 3 }
      prune: { every: "Sun 03:00", all: true, volumes: true, older_than: 2d }
      networks:
        iot: { subnet: 172.30.0.0/24 }
        proxy: { external: true, name: traefik_proxy }
services:
  mqtt:
    image: eclipse-mosquitto:2.0.18
    on: docker
    ports: { mqtt: 1883 }
    healthcheck: { tcp: mqtt }
    docker_networks: { iot: { address: 172.30.0.10, aliases: [broker] } }
  app:
    image: ghcr.io/me/app:1.0
    on: docker
    ports: { http: 3000 }
    healthcheck: { tcp: http }
    docker_networks: { iot: {}, proxy: {} }
"#;

fn readme() -> String {
    let loaded = hearth_spec::load_str("docker.yaml", SPEC);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    assert!(a.diagnostics.iter().all(|d| !d.is_error()), "{:?}", a.diagnostics);
    hearth_docs::document(&a.model, hearth_catalog::builtin()).readme
}

/// `line` is in the Docker section.
fn check(readme: &str, line: &str) {
    let section = &readme[readme.find("## Docker\n").expect("a Docker section")..];
    assert!(section.contains(line), "`{line}` not in:\n{section}");
}

#[test]
fn daemon_settings_and_networks_are_documented() {
    let readme = readme();
    check(
        &readme,
        "| docker | overlay2 | json-file, 10MiB per file, 3 files | Sun 03:00: all unused images, volumes, older than 2d |",
    );
    check(&readme, "| docker | iot | `iot` | 172.30.0.0/24 | app, mqtt (172.30.0.10; aliases broker) |");
    check(&readme, "| docker | proxy | `traefik_proxy` (external) | Docker's choice | app |");
}

#[test]
fn no_section_without_docker_settings() {
    let loaded = hearth_spec::load_str("t.yaml", "homelab: t\n");
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    assert!(!hearth_docs::document(&a.model, hearth_catalog::builtin()).readme.contains("## Docker"));
}
