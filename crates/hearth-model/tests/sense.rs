//! Values that parse but mean nonsense, and conflicts between parts of a spec: what each rule
//! reports, where, and what it must leave alone. Data-driven like `model.rs`: a spec with inline
//! markers (`#   ^^^^ E710`) under the span of each diagnostic it must give.

mod common;

const BASE: &str = concat!(
    common::base!(),
    "guests:
  docker: { vm: { on: pve }, network: lan, address: 192.168.1.20, runtime: docker, size: { cores: 4, memory: 8GiB } }
"
);

/// Asserts that BASE + `annotated` gives exactly the diagnostics its markers name (see
/// `common::check_with`); returns them as `render_short` prints them.
fn check(annotated: &str) -> Vec<String> {
    check_text(&format!("{BASE}{annotated}"))
}

/// Asserts that the whole spec `annotated` gives exactly the diagnostics its markers name.
fn check_text(annotated: &str) -> Vec<String> {
    common::check_with(annotated, hearth_catalog::builtin())
}

/// Asserts that some diagnostic's help line contains `help`.
fn helps(rendered: &[String], help: &str) {
    assert!(
        rendered.iter().any(|r| r.contains(&format!("= help: {help}"))),
        "no help `{help}` in:\n{}",
        rendered.join("\n")
    );
}

#[test]
fn unusual_but_valid_specs_give_nothing() {
    check(
        "
  media: { lxc: { on: pve }, network: lan, size: { memory: 2GiB, swap: 0 }, devices: [/dev/dri/renderD128] }
  photos: { lxc: { on: pve }, network: lan, size: { memory: 1GiB }, devices: [/dev/dri/renderD128] }
  gpu: { vm: { on: pve }, network: lan, runtime: none, devices: [\"pci:0000:01:00.0\", \"usb:10c4:ea60\"] }
timezone: Asia/Calcutta
",
    );
}

#[test]
fn durations_without_a_unit_get_the_fields_unit() {
    let rendered = check(
        "
monitoring:
  retention: 30
#            ^^ E106
  scrape_interval: 15
#                  ^^ E106
",
    );
    helps(&rendered, "write `30d`");
    helps(&rendered, "write `15s`");
}

#[test]
fn offsets_and_abbreviations_are_not_zones() {
    let rendered = check(
        "
services:
  app: { image: \"x/app:1\", on: docker, backup: false, healthcheck: { command: [\"true\"] }, env: { TZ: UTC+2 } }
#                                                                                                    ^^^^^ E702
",
    );
    helps(&rendered, "did you mean `Etc/GMT-2`?");
}

#[test]
fn tls_takes_one_source_and_the_dns_challenge_a_provider_and_token() {
    check(
        "
ingress:
  tls:
    internal: true
    acme: { email: admin@example.com, challenge: dns }
#   ^^^^ E721
#                                                ^^^ E720
",
    );
    check(
        "
ingress:
  tls: { acme: { email: admin@example.com, challenge: dns, provider: cloudflare } }
#                                                                    ^^^^^^^^^^ E720
",
    );
}

#[test]
fn hosts_have_at_least_a_thread_per_core() {
    check_text(
        "
homelab: test
hosts:
  nuc: { proxmox: {}, hardware: { cores: 4, threads: 2, memory: 16GiB } }
#                                                    ^ E106
",
    );
}

#[test]
fn what_looks_like_a_conflict_but_is_not_gives_nothing() {
    check_text(
        "
homelab: test
domain: lab.example.com
timezone: Europe/Berlin
admin: { ssh_keys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample you@laptop] }
networks:
  lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1, vlan: 10, dhcp: 192.168.1.100-192.168.1.199 }
  iot: { cidr: 192.168.2.0/24, gateway: 192.168.2.1, vlan: 20 }
  v6: { cidr: \"fd00:10::/64\", vlan: 30 }
router:
  forwards:
    - { port: 51820, to: pve, protocol: udp }
    - { port: 51820, to: pve, protocol: tcp }
hosts:
  pve:
    proxmox: {}
    address: 192.168.1.10
    network: lan
    hardware:
      cores: 4
      threads: 8
      memory: 16GiB
      disks:
        - { name: a, size: 4TB }
        - { name: b, size: 4TB }
    storage:
      tank: { kind: zfs, size: 3.6TiB, layout: mirror, disks: [a, b] }
",
    );
}

#[test]
fn a_disk_passed_to_a_vm_is_that_vms_alone() {
    check(
        "
  nas: { vm: { on: pve }, network: lan, runtime: none, devices: [/dev/disk/by-id/ata-X] }
  backup: { vm: { on: pve }, network: lan, runtime: none, devices: [/dev/disk/by-id/ata-X] }
#                                                                   ^^^^^^^^^^^^^^^^^^^^^ E712
",
    );
}

#[test]
fn a_guest_without_storage_is_held_to_the_default_pool() {
    check_text(
        "
homelab: test
admin: { ssh_keys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample you@laptop] }
hosts:
  pve: { proxmox: {}, storage: { local-lvm: { kind: lvm-thin, size: 64GiB } } }
guests:
  big: { vm: { on: pve }, size: { memory: 1GiB, disk: 100GiB } }
#                                                     ^^^^^^ E715
",
    );
}

#[test]
fn placeholders_outside_the_catalog_are_refused() {
    let rendered = check(
        "
services:
  app:
    image: \"x/app:1\"
    on: docker
    backup: false
    healthcheck: { command: [\"true\"] }
    env: { TZ: \"{{ tz }}\", HOST: \"{{ host }}:80\" }
#              ^^^^^^^^^^ E705
#                                ^^^^^^^^^^^^^^^ E705
    volumes: { data: \"{{ data }}/app\" }
#                    ^^^^^^^^^^^^^^^^ E201
#                    ^^^^^^^^^^^^^^^^ E705
",
    );
    helps(&rendered, "write the value itself: `UTC`");
}
