//! Shares on both ends: the mount units of clients (checked by `systemd-analyze verify`, which
//! also holds each unit's name to its `Where=`), the Samba configuration with a Time Machine
//! share (`testparm -s`), the NFS exports (`exportfs -ra`, see [`exports_parse`]), a NixOS
//! client's `fileSystems` (`nix-instantiate --parse`, see
//! [`nixos_client_mounts_by_file_systems`]), and the snapshot of every file the shares produce.

mod common;

use std::path::Path;
use std::process::Command;

use hearth_render::{File, Kind};

const SPEC: &str = r#"
homelab: shares
domain: home.arpa
networks:
  lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1 }
hosts:
  pve: { address: 192.168.1.10, network: lan, proxmox: {}, hardware: { cores: 8, memory: 32GiB } }
  metal: { address: 192.168.1.40, network: lan, runtime: docker, mounts: { /srv/backups: share:backups } }
guests:
  nas: { vm: { on: pve }, network: lan, address: 192.168.1.13, os: dsm, runtime: none }
  files: { lxc: { on: pve }, network: lan, address: 192.168.1.20, size: { memory: 1GiB } }
  docker:
    vm: { on: pve }
    network: lan
    address: 192.168.1.30
    runtime: docker
    size: { memory: 4GiB }
    mounts:
      /mnt/nas/media: share:media
      /mnt/docs: { from: share:docs, automount: true }
  media:
    lxc: { on: pve }
    network: lan
    address: 192.168.1.31
    size: { memory: 1GiB }
    mounts: { /media: { from: share:media, readonly: true } }
  nix:
    vm: { on: pve }
    network: lan
    address: 192.168.1.32
    os: nixos
    size: { memory: 2GiB }
    mounts:
      /mnt/media: share:media
      /mnt/docs: { from: share:docs, automount: true }
services:
  samba: { app: samba, on: files, form: native, backup: false }
  nfs: { app: nfs-server, on: files, form: native, backup: false }
shares:
  media: { kind: nfs, server: nas, path: /volume1/media }
  docs: { kind: smb, server: samba, path: /srv/docs, clients: [docker, lan] }
  scans: { kind: smb, server: samba, path: /srv/scans, name: Scans, user: scanner, readonly: true, clients: [lan] }
  backups: { kind: nfs, server: nfs, path: /srv/backups, clients: [docker, metal] }
  macs: { kind: smb, server: samba, path: /srv/timemachine, user: scanner, time_machine: { max_size: 1TiB }, clients: [lan] }
"#;

fn files() -> Vec<File> {
    let loaded = hearth_spec::load_str("shares.yaml", SPEC);
    assert!(!loaded.has_errors(), "does not load: {:?}", loaded.diagnostics);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    let errors: Vec<_> = a.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "errors: {errors:?}");
    common::render(&a.model)
}

/// Whether a file is one the shares produce, or holds their firewall openings and packages.
fn of_shares(f: &File) -> bool {
    matches!(f.kind, Kind::NfsExports | Kind::SambaConf)
        || f.path.starts_with("/etc/hearth/shares/")
        || f.path.ends_with(".mount")
        || f.path.ends_with(".automount")
        || f.kind == Kind::Nftables
        || f.kind == Kind::Packages
        || (f.kind == Kind::ProxmoxGuest && f.path.contains("-media."))
}

#[test]
fn snapshot() {
    let files = files();
    let mut text = String::new();
    for f in files.iter().filter(|f| of_shares(f)) {
        text.push_str(&format!("==> {}:{} ({:o}) {:?}\n{}\n", f.machine, f.path, f.mode, f.activation, f.content));
    }
    insta::assert_snapshot!("shares", text);
}

#[test]
fn mount_units_verify() {
    if !common::have("systemd-analyze") {
        return;
    }
    let files = files();
    let units: Vec<&File> =
        files.iter().filter(|f| f.path.ends_with(".mount") || f.path.ends_with(".automount")).collect();
    assert!(units.len() >= 4, "mount units: {units:?}");
    for machine in ["pve", "docker", "metal"] {
        let dir = common::temp_dir(&format!("shares-units-{machine}"));
        let mut paths = Vec::new();
        for u in units.iter().filter(|u| u.machine == machine) {
            let p = dir.join(Path::new(&u.path).file_name().unwrap());
            std::fs::write(&p, &u.content).unwrap();
            paths.push(p);
        }
        assert!(!paths.is_empty(), "no mount unit on {machine}");
        let out = Command::new("systemd-analyze").arg("verify").arg("--man=no").args(&paths).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let findings: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(out.status.success() && findings.is_empty(), "{machine}: systemd-analyze verify:\n{stderr}");
    }
}

#[test]
fn smb_conf_passes_testparm() {
    if !common::have("testparm") {
        return;
    }
    let files = files();
    let conf = files.iter().find(|f| f.kind == Kind::SambaConf).expect("smb.conf rendered");
    let dir = common::temp_dir("shares-samba");
    let path = dir.join("smb.conf");
    std::fs::write(&path, &conf.content).unwrap();
    let out = Command::new("testparm").arg("-s").arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // testparm reports an unknown or misspelt parameter on stderr and still exits 0.
    let findings: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            l.contains("Unknown parameter") || l.contains("Ignoring") || l.contains("ERROR") || l.contains("WARNING")
        })
        .collect();
    assert!(out.status.success() && findings.is_empty(), "testparm -s:\n{stderr}");
    for share in ["[docs]", "[Scans]", "[macs]"] {
        assert!(stdout.contains(share), "testparm lost {share}:\n{stdout}");
    }
    // The Time Machine share keeps Apple's extensions and its size, as Samba reads them.
    for line in
        ["vfs objects = catia fruit streams_xattr", "fruit:time machine = yes", "fruit:time machine max size = 1T"]
    {
        assert!(stdout.contains(line), "testparm lost `{line}`:\n{stdout}");
    }
}

/// `exportfs -ra` parses the exports and reports each bad line (`unknown keyword "..."`) with its
/// number; it needs no running NFS server. It runs in a mount namespace of its own, with the
/// rendered file bound over `/etc/exports` and a tmpfs over `/var/lib/nfs`, so it changes nothing
/// on this machine; it is skipped where the kernel NFS server runs (it would export there) or
/// where the test cannot make a namespace (not root). Its only accepted complaint is a folder
/// that does not exist here.
#[test]
fn exports_parse() {
    if !common::have("exportfs") || !common::have("unshare") {
        return;
    }
    if Path::new("/proc/fs/nfsd/threads").exists() {
        common::unavailable("a kernel NFS server runs here: `exportfs -ra` would export for real");
        return;
    }
    let files = files();
    let exports = files.iter().find(|f| f.kind == Kind::NfsExports).expect("exports rendered");
    let dir = common::temp_dir("shares-exports");
    let path = dir.join("hearth.exports");
    std::fs::write(&path, &exports.content).unwrap();
    let script = format!(
        "mount -t tmpfs none /var/lib/nfs && mount --bind {} /etc/exports && exportfs -ra",
        hearth_render::sh_quote(&path.to_string_lossy())
    );
    let out = Command::new("unshare").arg("-m").arg("sh").arg("-c").arg(&script).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("mount:") || stderr.contains("unshare:") {
        common::unavailable(&format!("cannot make a mount namespace for exportfs: {stderr}"));
        return;
    }
    let findings: Vec<&str> =
        stderr.lines().filter(|l| !l.trim().is_empty() && !l.contains("Failed to stat")).collect();
    assert!(findings.is_empty(), "exportfs -ra:\n{stderr}");
}

/// The firewall of each server admits its shares' port from exactly their clients.
#[test]
fn firewall_admits_only_clients() {
    let files = files();
    let nft = |machine: &str| {
        files.iter().find(|f| f.machine == machine && f.kind == Kind::Nftables).map(|f| f.content.clone()).unwrap()
    };
    let files_nft = nft("files");
    let line =
        |port: &str| files_nft.lines().find(|l| l.contains(&format!("dport {port} "))).unwrap().trim().to_string();
    assert!(line("2049").starts_with("ip saddr { 192.168.1.30, 192.168.1.40 } tcp dport 2049"), "{}", line("2049"));
    assert!(line("445").starts_with("ip saddr { 192.168.1.0/24, 192.168.1.30 } tcp dport 445"), "{}", line("445"));
}

/// A NixOS VM mounts its shares through its flake: one `fileSystems` entry per mount with the
/// options the other clients' units get, `x-systemd.automount` and `noauto` for an automount,
/// and the SMB login in a 0600 secret file the configuration names, never in it. It gets no
/// mount unit of its own, and the configuration parses.
#[test]
fn nixos_client_mounts_by_file_systems() {
    let files = files();
    let on_nix: Vec<&File> = files.iter().filter(|f| f.machine == "nix").collect();
    assert!(!on_nix.iter().any(|f| f.path.ends_with(".mount") || f.path.ends_with(".automount")), "{on_nix:?}");
    let config = on_nix
        .iter()
        .find(|f| f.path == "/etc/nixos/hosts/nix/configuration.nix")
        .unwrap_or_else(|| panic!("nix's configuration: {on_nix:?}"));
    let c = &config.content;
    for entry in [
        "fileSystems.\"/mnt/media\" = {\n    device = \"192.168.1.13:/volume1/media\";\n    fsType = \"nfs4\";\n    \
         options = [ \"_netdev\" \"rw\" \"nfsvers=4.2\" ];",
        "fileSystems.\"/mnt/docs\" = {\n    device = \"//192.168.1.20/docs\";\n    fsType = \"cifs\";\n    \
         options = [ \"_netdev\" \"rw\" \"credentials=/etc/hearth/nixos/share-docs.cred\" \"vers=3.0\" \
         \"x-systemd.automount\" \"noauto\" ];",
    ] {
        assert!(c.contains(entry), "missing {entry}\nin:\n{c}");
    }
    let cred = on_nix
        .iter()
        .find(|f| f.path == "/etc/hearth/nixos/share-docs.cred")
        .unwrap_or_else(|| panic!("the SMB login: {on_nix:?}"));
    assert_eq!((cred.kind, cred.mode), (Kind::EnvSecret, 0o600));
    assert!(!c.contains("password="), "{c}");
    if !common::have("nix-instantiate") {
        return;
    }
    let dir = common::temp_dir("shares-nixos");
    let path = dir.join("configuration.nix");
    std::fs::write(&path, c).unwrap();
    common::run_ok(common::nix_instantiate(&dir.join("nix")).arg("--parse").arg(&path), "nix's configuration");
}
