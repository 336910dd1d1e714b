//! Unattended upgrades (`updates:`) of Debian, Ubuntu and Proxmox VE machines: one apt
//! configuration file for the `unattended-upgrades` package, which `packages` then installs.
//! NixOS guests get `system.autoUpgrade` from the flake instead (the resolver fills their
//! `nixos.upgrade`), so nothing here is written for them.
//!
//! Choices, and why:
//! - The file is `/etc/apt/apt.conf.d/52hearth-unattended-upgrades`, read after the package's
//!   own `20auto-upgrades` and `50unattended-upgrades` (apt reads the folder in name order), so
//!   its values win. Its origins replace the package's list (`#clear`) instead of adding to it:
//!   with `install: security`, the package's default stable-release origin would otherwise still
//!   upgrade everything.
//! - `APT::Periodic` switches on the daily run of `apt-daily-upgrade.timer`; nothing else needs
//!   enabling, and apt reads the file at each run, so a change needs no restart.
//! - Proxmox VE hosts get Debian's origins only, never Proxmox's: Proxmox asks that its packages
//!   be upgraded with `apt full-upgrade` by an operator who reads what changes, since a partial
//!   upgrade of its packages can leave the node broken. `install: all` there means every Debian
//!   update.
//! - `reboot: HH:MM` is `Automatic-Reboot` at that time, which unattended-upgrades schedules only
//!   when an upgrade left `/var/run/reboot-required`.

use hearth_model::updates::{Policy, System};
use hearth_spec::ast::UpdateScope;

use crate::{Context, File, Kind, Output};

/// Where the configuration goes on every Debian-family machine with a policy.
pub const APT_CONF: &str = "/etc/apt/apt.conf.d/52hearth-unattended-upgrades";

pub fn render(cx: &Context, out: &mut Output) {
    for (machine, policy) in &cx.model.updates {
        if policy.system == System::Nixos {
            continue;
        }
        let source = if cx.model.guests.contains_key(machine) { "guest" } else { "host" };
        out.push(File::new(machine, APT_CONF, Kind::AptConf, apt_conf(policy)).from(format!("{source}/{machine}")));
    }
}

/// Whether an apt configuration file this module wrote switches the upgrades on (the machine
/// then needs the `unattended-upgrades` package).
pub fn enables_upgrades(content: &str) -> bool {
    content.contains("APT::Periodic::Unattended-Upgrade \"1\";")
}

/// The apt configuration of one machine's policy.
pub fn apt_conf(p: &Policy) -> String {
    let mut text = format!(
        "// Unattended upgrades, rendered by Hearth from `updates:` (install: {}, reboot: {}).\n",
        p.install.as_str(),
        p.reboot.as_deref().unwrap_or("never")
    );
    if p.install == UpdateScope::None {
        text.push_str("APT::Periodic::Unattended-Upgrade \"0\";\n");
        return text;
    }
    text.push_str("// Read after the package's own files: these origins replace its list.\n");
    text.push_str("APT::Periodic::Update-Package-Lists \"1\";\nAPT::Periodic::Unattended-Upgrade \"1\";\n");
    text.push_str("#clear Unattended-Upgrade::Origins-Pattern;\n#clear Unattended-Upgrade::Allowed-Origins;\n");
    if p.system == System::Proxmox {
        text.push_str(
            "// Debian's origins only: Proxmox VE's packages are upgraded by hand with `apt full-upgrade`.\n",
        );
    }
    text.push_str("Unattended-Upgrade::Origins-Pattern {\n");
    for origin in origins(p.system, p.install) {
        text.push_str(&format!("    \"{origin}\";\n"));
    }
    text.push_str("};\n");
    match &p.reboot {
        Some(time) => text.push_str(&format!(
            "Unattended-Upgrade::Automatic-Reboot \"true\";\nUnattended-Upgrade::Automatic-Reboot-Time \"{time}\";\n"
        )),
        None => text.push_str("Unattended-Upgrade::Automatic-Reboot \"false\";\n"),
    }
    text
}

/// The origin patterns of a system's updates: its security archive, and with `all` its stable
/// release and `-updates` too. `${distro_codename}` is unattended-upgrades' own variable.
pub fn origins(system: System, install: UpdateScope) -> Vec<&'static str> {
    let (security, rest): (&str, [&str; 2]) = match system {
        System::Ubuntu => (
            "origin=Ubuntu,archive=${distro_codename}-security,label=Ubuntu",
            [
                "origin=Ubuntu,archive=${distro_codename},label=Ubuntu",
                "origin=Ubuntu,archive=${distro_codename}-updates,label=Ubuntu",
            ],
        ),
        _ => (
            "origin=Debian,codename=${distro_codename}-security,label=Debian-Security",
            [
                "origin=Debian,codename=${distro_codename},label=Debian",
                "origin=Debian,codename=${distro_codename}-updates,label=Debian",
            ],
        ),
    };
    match install {
        UpdateScope::None => Vec::new(),
        UpdateScope::Security => vec![security],
        UpdateScope::All => vec![rest[0], rest[1], security],
    }
}
