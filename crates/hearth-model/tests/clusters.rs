//! Services on a cluster: the NFS shares their pods mount (clients, read-only), jobs and
//! placement on nodes. Data-driven like `model.rs`: inline markers (`#   ^^^^ E884`) under the
//! span of each diagnostic a spec must give.

mod common;

const BASE: &str = concat!(
    common::base!(),
    "guests:
  k1: { vm: { on: pve }, network: lan, address: 192.168.1.50, size: { cores: 2, memory: 4GiB } }
  k2: { vm: { on: pve }, network: lan, address: 192.168.1.51, size: { cores: 2, memory: 4GiB } }
  nas: { vm: { on: pve }, network: lan, address: 192.168.1.60, os: dsm, runtime: none }
  docker: { vm: { on: pve }, network: lan, address: 192.168.1.52, runtime: docker, size: { cores: 2, memory: 4GiB } }
clusters:
  k3s: { kind: k3s, servers: [k1], agents: [k2] }
"
);

fn check(annotated: &str) -> Vec<String> {
    common::check_with(&format!("{BASE}{annotated}"), hearth_catalog::builtin())
}

fn analyze(extra: &str) -> hearth_model::Analysis {
    let (a, loaded) = common::analyze_spec(&format!("{BASE}{extra}"), hearth_catalog::builtin(), &Default::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    a
}

#[test]
fn pods_mount_nfs_shares_their_nodes_may_mount() {
    check(
        "
services:
  viewer: { image: example/viewer:1.0, on: k3s, healthcheck: { command: [true] }, backup: false, mounts: { /media: { from: share:media, readonly: false } } }
#                                                                                                                                                 ^^^^^ E842
  sync: { image: example/sync:1.0, on: k3s, schedule: daily, backup: false, nodes: [k2], mounts: { /photos: share:photos } }
  pinned: { image: example/pin:1.0, on: k3s, healthcheck: { command: [true] }, backup: false, nodes: [k1], mounts: { /photos: share:photos } }
#                                                                                                                             ^^^^^^^^^^^^ E841
  lost: { image: example/lost:1.0, on: k3s, schedule: daily, backup: false, mounts: { /x: share:nothing } }
#                                                                                         ^^^^^^^^^^^^^ E201
shares:
  media: { kind: nfs, server: nas, path: /volume1/media, readonly: true }
  photos: { kind: nfs, server: nas, path: /volume1/photos, clients: [k2] }
",
    );
}

#[test]
fn nodes_and_jobs_belong_to_clusters() {
    check(
        "
services:
  a: { image: example/a:1.0, on: k3s, healthcheck: { command: [true] }, backup: false, nodes: [k2, k3] }
#                                                                                                  ^^ E884
  b: { image: example/b:1.0, on: docker, healthcheck: { command: [true] }, backup: false, nodes: [k1] }
#                                                                                                ^^^^ E884
  c: { image: example/c:1.0, on: docker, backup: false, schedule: \"03:00\" }
#                                                                 ^^^^^^^ E883
  d: { image: example/d:1.0, on: k3s, backup: false, schedule: hourly, volumes: { data: /srv/d }, nodes: [k2] }
#                                                                                                        ^^^^ E885
  e: { image: example/e:1.0, on: k3s, backup: false, schedule: hourly, volumes: { data: /srv/e }, nodes: [k1, k2] }
",
    );
}

/// The nodes a pod may run on are the clients of a share `clients:` leaves open: the export and
/// the server's firewall admit them, and no node mounts it as a machine.
#[test]
fn pod_share_clients_are_its_nodes() {
    let a = analyze(
        "
services:
  sync: { image: example/sync:1.0, on: k3s, schedule: daily, backup: false, nodes: [k2], mounts: { /photos: share:photos } }
  all: { image: example/all:1.0, on: k3s, schedule: daily, backup: false, mounts: { /media: share:media } }
shares:
  photos: { kind: nfs, server: nas, path: /volume1/photos }
  media: { kind: nfs, server: nas, path: /volume1/media, readonly: true }
",
    );
    let errors: Vec<_> = a.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(a.model.shares["photos"].machines, ["k2"]);
    assert_eq!(a.model.shares["media"].machines, ["k1", "k2"]);
    assert!(a.model.share_mounts.is_empty(), "pods mount shares themselves");
    let v = &a.model.services["all"].volumes[0];
    assert_eq!((v.source.as_str(), v.target.as_str(), v.readonly), ("192.168.1.60:/volume1/media", "/media", true));
    assert_eq!(v.nfs.as_ref().map(|n| n.path.as_str()), Some("/volume1/media"));
    assert!(a.model.services["sync"].node_ports.is_empty(), "a job gets no NodePort");
}
