//! What the document says about services on a cluster: a job's schedule and a pod's nodes in the
//! overview, and a share a pod mounts itself in the Shares and Volumes tables.

const SPEC: &str = r#"
homelab: k3s
timezone: Europe/Berlin
networks:
  lan: { cidr: 192.168.70.0/24, gateway: 192.168.70.1 }
hosts:
  pve: { address: 192.168.70.10, network: lan, proxmox: {}, hardware: { cores: 8, memory: 32GiB } }
guests:
  k1: { vm: { on: pve }, network: lan, address: 192.168.70.21, size: { cores: 2, memory: 4GiB, disk: 32GiB } }
  k2: { vm: { on: pve }, network: lan, address: 192.168.70.22, size: { cores: 2, memory: 4GiB, disk: 32GiB } }
  nas: { vm: { on: pve }, network: lan, address: 192.168.70.30, os: dsm, runtime: none }
clusters:
  k3s: { kind: k3s, servers: [k1], agents: [k2] }
services:
  sync: { image: "ghcr.io/example/sync:1.0.0", on: k3s, schedule: "Sun 03:30", mounts: { /photos: share:photos }, backup: false }
  viewer:
    image: ghcr.io/example/viewer:2.0.0
    on: k3s
    nodes: [k2]
    ports: { http: 8080 }
    healthcheck: { tcp: http }
    backup: false
shares:
  photos: { kind: nfs, server: nas, path: /volume1/photos }
"#;

fn readme() -> String {
    let loaded = hearth_spec::load_str("k3s.yaml", SPEC);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    assert!(a.diagnostics.iter().all(|d| !d.is_error()), "{:?}", a.diagnostics);
    hearth_docs::document(&a.model, hearth_catalog::builtin()).readme
}

/// The line or table row of the README holding every one of `needles`.
fn check(readme: &str, needles: &[&str]) {
    assert!(readme.lines().any(|l| needles.iter().all(|n| l.contains(n))), "no line holds {needles:?}:\n{readme}");
}

#[test]
fn jobs_nodes_and_pod_shares() {
    let readme = readme();
    check(&readme, &["sync (ghcr.io/example/sync:1.0.0, docker) [job at Sun 03:30]"]);
    check(&readme, &["viewer (ghcr.io/example/viewer:2.0.0, docker)", "[on nodes k2]"]);
    // The share's clients are the nodes its pods may run on; the pods are where it is mounted.
    check(&readme, &["| photos | NFS |", "k1, k2", "sync:`/photos` (pods on k3s)"]);
    check(&readme, &["| sync | k3s |", "`192.168.70.30:/volume1/photos` (on share photos)", "`/photos`", "shared"]);
}
