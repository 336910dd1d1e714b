//! The Planned section (planned items and decisions) and unmanaged guests in the overview. A
//! planned item appears in the Planned section only: every other section describes what runs.

const SPEC: &str = r#"
homelab: plans
domain: example.com
networks:
  lan: { cidr: 192.168.50.0/24, gateway: 192.168.50.1 }
hosts:
  pve:
    address: 192.168.50.10
    network: lan
    proxmox: { node: pve }
    hardware: { cores: 8, memory: 32GiB }
    storage:
      local-lvm: { kind: lvm-thin, size: 500GB }
  pve-two: { address: 192.168.50.11, network: lan, proxmox: {}, status: future, note: high availability }
guests:
  app: { lxc: { on: pve }, network: lan, address: 192.168.50.20, runtime: docker, size: { cores: 2, memory: 2GiB, disk: 10GiB } }
  legacy: { vm: { on: pve }, network: lan, address: 192.168.50.31, runtime: docker, managed: false, size: { cores: 2, memory: 2GiB, disk: 20GiB } }
  kube: { vm: { on: pve-two }, network: lan, status: planned, description: k3s server, note: "after the move | in spring" }
clusters:
  k3s: { kind: k3s, servers: [kube], status: future }
ingress: { proxy: caddy, tls: { internal: true } }
backups:
  repositories:
    local: { restic: /srv/restic }
    cloud: { restic: "b2:plans:/", status: future, note: once the NAS copy works }
  policies:
    daily: { at: "02:00", to: [local] }
    offsite: { at: "03:00", to: [cloud], status: future }
  replication:
    - { dataset: tank/services, to: "backup:tank/replica", at: "04:00", status: planned }
services:
  caddy: { app: caddy, on: app, backup: false }
  kumaold: { app: uptime-kuma, on: legacy, expose: kuma, backup: false }
  vaultsoon: { app: vaultwarden, on: kube, status: planned, expose: vault, backup: offsite }
decisions:
  proxy: { title: Reverse proxy, status: decided, choice: Caddy, note: one binary, about: [caddy] }
  vlans: { title: VLAN layout, about: [lan] }
"#;

fn readme() -> String {
    let loaded = hearth_spec::load_str("plans.yaml", SPEC);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    let errors: Vec<_> = a.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    hearth_docs::document(&a.model, hearth_catalog::builtin()).readme
}

/// The text of one `## ` section.
fn section(readme: &str, title: &str) -> String {
    let start = readme.find(&format!("\n## {title}\n")).unwrap_or_else(|| panic!("section {title}"));
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 4);
    rest[..end].to_string()
}

#[test]
fn planned_section() {
    insta::assert_snapshot!(section(&readme(), "Planned"));
}

#[test]
fn planned_items_appear_nowhere_else() {
    let readme = readme();
    let planned = section(&readme, "Planned");
    let rest = readme.replace(&planned, "");
    for name in ["pve-two", "kube", "vaultsoon", "cloud", "offsite", "tank/services"] {
        assert!(!rest.contains(name), "`{name}` is planned but shows outside the Planned section");
    }
}

#[test]
fn unmanaged_guests_say_so() {
    let overview = section(&readme(), "Overview");
    let line = overview.lines().find(|l| l.contains("legacy [VM")).expect("legacy in the overview");
    assert!(line.ends_with("(docker, unmanaged)"), "{line}");
    let app = overview.lines().find(|l| l.contains("app [LXC")).expect("app in the overview");
    assert!(app.ends_with("(docker)"), "{app}");
}
