//! `monitoring.watcher`: where it may run, where its page listens and who may reach it, and its
//! page's port claimed like a service's. Data-driven like `model.rs`: inline markers
//! (`#   ^^^^ E785`) under the span of each diagnostic a spec must give.

mod common;

const BASE: &str = concat!(
    common::base!(),
    "guests:
  box: { lxc: { on: pve }, network: lan, address: 192.168.1.21, size: { cores: 2, memory: 2GiB } }
  nix: { vm: { on: pve }, os: nixos, network: lan, address: 192.168.1.22, size: { cores: 2, memory: 2GiB } }
  later: { lxc: { on: pve }, network: lan, address: 192.168.1.23, status: planned }
"
);

fn check(annotated: &str) -> Vec<String> {
    common::check_with(&format!("{BASE}{annotated}"), hearth_catalog::builtin())
}

#[test]
fn a_watcher_on_loopback_needs_no_token_and_opens_nothing() {
    check(
        "
monitoring:
  watcher: { on: box }
",
    );
    check(
        r#"
monitoring:
  watcher: { on: box, listen: "192.168.1.21:9180", token: "secret:page", from: [lan, pve] }
"#,
    );
}

#[test]
fn the_machine_must_be_one_hearth_deploys_services_to() {
    check(
        "
monitoring:
  watcher: { on: bx }
#                ^^ E785
",
    );
    check(
        "
monitoring:
  watcher: { on: nix }
#                ^^^ E786
",
    );
    check(
        "
monitoring:
  watcher: { on: later }
#                ^^^^^ E786
",
    );
    check(
        "
monitoring:
  watcher: { on: pve }
#                ^^^ E786
",
    );
}

#[test]
fn the_page_listens_on_the_machine_with_a_token_for_named_sources() {
    check(
        r#"
monitoring:
  watcher: { on: box, listen: "192.168.1.99:9180", token: "secret:page", from: [lan] }
#                             ^^^^^^^^^^^^^^^^^^^ E787
"#,
    );
    check(
        r#"
monitoring:
  watcher: { on: box, listen: "[::]:9180" }
#                             ^^^^^^^^^^^ E788
#                             ^^^^^^^^^^^ E789
"#,
    );
    check(
        r#"
monitoring:
  watcher: { on: box, listen: "0.0.0.0:9180", token: "secret:page", from: [lan, boxx] }
#                                                                               ^^^^ E789
"#,
    );
}

#[test]
fn the_page_port_conflicts_with_a_fixed_service_port() {
    check(
        r#"
monitoring:
  watcher: { on: box, listen: "0.0.0.0:9090", token: "secret:page", from: [lan] }
#                             ^^^^^^^^^^^^^^ E308
services:
  prom: { app: prometheus, on: box, ports: { http: 9090 }, backup: false }
"#,
    );
}

#[test]
fn a_catalog_default_port_moves_away_from_the_page() {
    let (a, _) = common::analyze_spec(
        &format!(
            "{BASE}{}",
            r#"
monitoring:
  watcher: { on: box, listen: "0.0.0.0:9090", token: "secret:page", from: [lan] }
services:
  prom: { app: prometheus, on: box, backup: false }
"#
        ),
        hearth_catalog::builtin(),
        &Default::default(),
    );
    assert!(a.diagnostics.iter().all(|d| !d.is_error()), "{:?}", a.diagnostics);
    let port = a.model.services["prom"].ports.iter().find(|p| p.name == "http").and_then(|p| p.host);
    assert_eq!(port, Some(9091));
}
