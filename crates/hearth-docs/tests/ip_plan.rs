//! The IP plan of a router guest on several networks: each of its addresses is named for the
//! network it is on, not for whichever of its networks comes first.

const SPEC: &str = r#"
homelab: t
domain: example.com
networks:
  lan: { cidr: 192.168.10.0/24, gateway: 192.168.10.1, router: opnsense }
  iot: { cidr: 192.168.20.0/24, gateway: 192.168.20.1, vlan: 20, router: opnsense }
hosts: { pve: { proxmox: {}, address: 192.168.10.10, network: lan } }
guests:
  opnsense:
    vm: { on: pve }
    os: opnsense
    runtime: none
    network: lan
    address: 192.168.10.1
    interfaces: [{ network: iot, address: 192.168.20.1 }]
"#;

#[test]
fn a_router_is_named_for_the_network_of_each_address() {
    let loaded = hearth_spec::load_str("router.yaml", SPEC);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    assert!(a.diagnostics.iter().all(|d| !d.is_error()), "{:?}", a.diagnostics);
    let readme = hearth_docs::document(&a.model, hearth_catalog::builtin()).readme;
    let opnsense: Vec<&str> = readme.lines().filter(|l| l.contains("| opnsense |")).collect();
    assert!(opnsense.iter().any(|l| l.starts_with("| 192.168.10.1 | opnsense | router of lan, VM ")), "{opnsense:?}");
    assert!(opnsense.contains(&"| 192.168.20.1 | opnsense | router interface on iot | 20 |"), "{opnsense:?}");
}
