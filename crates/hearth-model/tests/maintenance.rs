//! Unattended upgrades (`updates:`) and snapshots before apply (`snapshot:`): where each may be
//! written and what the defaults reach. Data-driven like `model.rs`: inline markers
//! (`#   ^^^^ E872`) under the span of each diagnostic a spec must give.

mod common;

const BASE: &str = concat!(common::head!(), "  lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1 }\n");

fn check(annotated: &str) -> Vec<String> {
    common::check_with(&format!("{BASE}{annotated}"), hearth_catalog::builtin())
}

#[test]
fn the_defaults_skip_what_hearth_does_not_manage() {
    let model_holds = |machine: &str| {
        let (a, _) = common::analyze_spec(
            &format!(
                "{BASE}updates: {{ install: security }}
hosts:
  pve: {{ proxmox: {{ snapshot: {{ before_apply: true }} }}, address: 192.168.1.10, network: lan }}
  nas: {{ address: 192.168.1.11, network: lan }}
guests:
  box: {{ lxc: {{ on: pve }}, network: lan, address: 192.168.1.21 }}
  ha: {{ vm: {{ on: pve }}, os: haos, runtime: none, network: lan, address: 192.168.1.22 }}
  win: {{ vm: {{ on: pve }}, os: windows-11, runtime: none, managed: true, network: lan, address: 192.168.1.23 }}
"
            ),
            hearth_catalog::builtin(),
            &Default::default(),
        );
        assert!(a.diagnostics.iter().all(|d| !d.is_error()), "{:?}", a.diagnostics);
        let snapshot = a.model.guests.get(machine).and_then(|g| g.snapshot_keep);
        (a.model.updates.contains_key(machine), snapshot)
    };
    assert_eq!(model_holds("pve"), (true, None));
    assert_eq!(model_holds("box"), (true, Some(3)));
    assert_eq!(model_holds("nas"), (false, None), "a host without a runtime is not logged into");
    assert_eq!(model_holds("ha"), (false, Some(3)), "an appliance gets Proxmox snapshots, not upgrades");
    assert_eq!(model_holds("win"), (false, Some(3)));
}

#[test]
fn updates_where_hearth_does_not_log_in_are_refused() {
    check(
        "
hosts:
  pve: { proxmox: {}, address: 192.168.1.10, network: lan }
  nas: { address: 192.168.1.11, network: lan, updates: { install: all } }
#                                             ^^^^^^^ E872
guests:
  win: { vm: { on: pve }, os: windows-11, managed: true, network: lan, address: 192.168.1.23, updates: {} }
#                                                                                             ^^^^^^^ E872
",
    );
}

#[test]
fn a_hosts_default_is_reported_at_the_host_for_a_guest_it_cannot_snapshot() {
    check(
        "
hosts:
  pve:
    proxmox: { snapshot: { before_apply: true, keep: 2 } }
#              ^^^^^^^^ E874
    address: 192.168.1.10
    network: lan
    storage: { local: { kind: dir }, tank: { kind: zfs } }
guests:
  on-dir: { lxc: { on: pve, storage: local }, network: lan, address: 192.168.1.21 }
  on-zfs: { lxc: { on: pve, storage: tank }, network: lan, address: 192.168.1.22 }
  vm-on-dir: { vm: { on: pve, storage: local }, network: lan, address: 192.168.1.23 }
  off: { lxc: { on: pve, storage: local }, network: lan, address: 192.168.1.24, snapshot: { before_apply: false } }
",
    );
}
