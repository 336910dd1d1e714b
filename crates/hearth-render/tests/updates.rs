//! Unattended upgrades (`updates:`): each Debian-family machine's apt configuration read back by
//! `apt-config dump` after a stand-in for the package's own `50unattended-upgrades` (so the
//! test sees that Hearth's origins replace the package's), the package in its packages list, and
//! a NixOS guest's `system.autoUpgrade`.

mod common;

use std::process::Command;

use hearth_render::{File, Kind};

const SPEC: &str = "
homelab: lab
networks: { lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1 } }
updates: { install: security, reboot: never }
hosts:
  pve: { address: 192.168.1.10, network: lan, proxmox: {}, updates: { install: all } }
  nas: { address: 192.168.1.11, network: lan }
guests:
  deb: { lxc: { on: pve }, network: lan, address: 192.168.1.20, updates: { reboot: \"04:30\" } }
  ubu: { vm: { on: pve }, os: ubuntu-24.04, network: lan, address: 192.168.1.21, updates: { install: all, reboot: \"03:00\" } }
  off: { lxc: { on: pve }, network: lan, address: 192.168.1.22, updates: { install: none } }
  nix: { vm: { on: pve }, os: nixos, network: lan, address: 192.168.1.23, updates: { reboot: \"05:00\" } }
  ha: { vm: { on: pve }, os: haos, network: lan, address: 192.168.1.24, runtime: none }
";

/// What the package's own `50unattended-upgrades` holds on Debian: a list Hearth's file must
/// clear, not add to.
const PACKAGE_DEFAULTS: &str = "Unattended-Upgrade::Origins-Pattern {\n    \"origin=Debian,codename=${distro_codename},label=Debian\";\n};\n\
Unattended-Upgrade::Allowed-Origins {\n    \"${distro_id}:${distro_codename}\";\n};\nAPT::Periodic::Unattended-Upgrade \"0\";\n";

fn render() -> Vec<File> {
    let loaded = hearth_spec::load_str("test.yaml", SPEC);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    assert!(!a.diagnostics.iter().any(|d| d.is_error()), "{:?}", a.diagnostics);
    common::render(&a.model)
}

/// `apt-config dump` of the package's defaults followed by `file`, as the lines it prints.
fn dump(file: &File) -> Vec<String> {
    let dir = common::temp_dir(&format!("updates-{}", file.machine));
    let conf = dir.join("apt.conf");
    std::fs::write(&conf, format!("{PACKAGE_DEFAULTS}{}", file.content)).unwrap();
    let out = common::run_ok(Command::new("apt-config").arg("-c").arg(&conf).arg("dump"), "apt-config dump");
    out.lines().map(str::to_string).collect()
}

/// One machine's apt configuration: exactly these origins, this periodic setting and reboot.
fn check(files: &[File], machine: &str, origins: &[&str], enabled: bool, reboot: Option<&str>) {
    let file = files
        .iter()
        .find(|f| f.machine == machine && f.kind == Kind::AptConf)
        .unwrap_or_else(|| panic!("{machine} has no apt configuration"));
    assert_eq!(file.path, hearth_render::updates::APT_CONF);
    let packages = files.iter().find(|f| f.machine == machine && f.kind == Kind::Packages);
    let listed = packages.is_some_and(|p| p.content.lines().any(|l| l == "unattended-upgrades"));
    assert_eq!(listed, enabled, "{machine}: unattended-upgrades in its packages");
    if !common::have("apt-config") {
        return;
    }
    let lines = dump(file);
    let found: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("Unattended-Upgrade::Origins-Pattern:: \""))
        .map(|l| l.trim_end_matches("\";"))
        .collect();
    let want: Vec<&str> =
        if enabled { origins.to_vec() } else { vec!["origin=Debian,codename=${distro_codename},label=Debian"] };
    assert_eq!(found, want, "{machine}: {}", file.content);
    assert!(
        !enabled || !lines.iter().any(|l| l.starts_with("Unattended-Upgrade::Allowed-Origins::")),
        "{machine}: {lines:?}"
    );
    let periodic = format!("APT::Periodic::Unattended-Upgrade \"{}\";", if enabled { 1 } else { 0 });
    assert!(lines.contains(&periodic), "{machine}: {lines:?}");
    if enabled {
        let auto = format!("Unattended-Upgrade::Automatic-Reboot \"{}\";", reboot.is_some());
        assert!(lines.contains(&auto), "{machine}: {lines:?}");
    }
    if let Some(time) = reboot {
        assert!(
            lines.contains(&format!("Unattended-Upgrade::Automatic-Reboot-Time \"{time}\";")),
            "{machine}: {lines:?}"
        );
    }
}

const DEBIAN_SECURITY: &str = "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";

#[test]
fn each_machine_gets_its_policy() {
    let files = render();
    // The Proxmox host: every Debian update, never Proxmox's own packages.
    check(
        &files,
        "pve",
        &[
            "origin=Debian,codename=${distro_codename},label=Debian",
            "origin=Debian,codename=${distro_codename}-updates,label=Debian",
            DEBIAN_SECURITY,
        ],
        true,
        None,
    );
    check(&files, "deb", &[DEBIAN_SECURITY], true, Some("04:30"));
    check(
        &files,
        "ubu",
        &[
            "origin=Ubuntu,archive=${distro_codename},label=Ubuntu",
            "origin=Ubuntu,archive=${distro_codename}-updates,label=Ubuntu",
            "origin=Ubuntu,archive=${distro_codename}-security,label=Ubuntu",
        ],
        true,
        Some("03:00"),
    );
    check(&files, "off", &[], false, None);
    let pve = files.iter().find(|f| f.machine == "pve" && f.kind == Kind::AptConf).unwrap();
    assert!(!pve.content.contains("Proxmox,"), "no Proxmox origin: {}", pve.content);
    // Machines Hearth does not log into, and NixOS, get no apt file.
    for machine in ["nas", "ha", "nix"] {
        assert!(!files.iter().any(|f| f.machine == machine && f.kind == Kind::AptConf), "{machine}");
    }
    // NixOS: `system.autoUpgrade` at the reboot time, allowed to reboot.
    let flake =
        files.iter().find(|f| f.machine == "nix" && f.kind == Kind::Nixos && f.content.contains("system.autoUpgrade"));
    let flake = flake.expect("the NixOS guest upgrades itself");
    assert!(flake.content.contains("allowReboot = true;"), "{}", flake.content);
    assert!(flake.content.contains("dates = \"*-*-* 05:00:00\";"), "{}", flake.content);
}
