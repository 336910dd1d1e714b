//! The data tier's Servers table names the version the spec runs (its `version:`), not the
//! catalog's default tag.

const BASE: &str = r#"
homelab: data
networks:
  lan: { cidr: 192.168.60.0/24, gateway: 192.168.60.1 }
hosts:
  pve: { address: 192.168.60.10, network: lan, proxmox: {}, hardware: { cores: 8, memory: 32GiB } }
guests:
  docker: { lxc: { on: pve }, network: lan, runtime: docker, size: { cores: 2, memory: 4GiB, disk: 16GiB } }
  db: { lxc: { on: pve }, network: lan, runtime: native, size: { cores: 2, memory: 4GiB, disk: 16GiB } }
services:
"#;

/// The App cell of the Servers row of `server` when BASE has `service` added.
fn app_cell(service: &str, server: &str) -> String {
    let text = format!("{BASE}{service}\n");
    let loaded = hearth_spec::load_str("data.yaml", &text);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    assert!(a.diagnostics.iter().all(|d| !d.is_error()), "{:?}", a.diagnostics);
    let readme = hearth_docs::document(&a.model, hearth_catalog::builtin()).readme;
    let servers = &readme[readme.find("### Servers").expect("a Servers table")..];
    let row = servers.lines().find(|l| l.starts_with(&format!("| {server} |"))).expect("a Servers row");
    row.split(" | ").nth(2).expect("an App cell").to_string()
}

fn check(service: &str, server: &str, expected: &str) {
    assert_eq!(app_cell(service, server), expected, "{service}");
}

#[test]
fn servers_show_the_spec_version() {
    check("  pg: { app: postgresql, version: \"15\", on: docker, backup: false }", "pg", "postgresql 15");
    check("  pg: { app: postgresql, version: \"16\", on: db, backup: false }", "pg", "postgresql 16");
    check("  cache: { app: redis, version: \"7.2.5\", on: docker, backup: false }", "cache", "redis 7.2.5");
}
