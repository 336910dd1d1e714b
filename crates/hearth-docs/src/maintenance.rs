//! Maintenance: each machine's unattended upgrades (`updates:`), in reading order, with what they
//! install and when the machine may reboot for them. Absent when no machine has a policy.

use hearth_model::Model;
use hearth_model::updates::{Policy, System};
use hearth_spec::ast::UpdateScope;

use crate::machines::machine_order;
use crate::md::Table;

pub fn write(model: &Model, out: &mut String) {
    if model.updates.is_empty() {
        return;
    }
    out.push_str("## Maintenance\n\n");
    out.push_str("Unattended upgrades (`updates:`). Machines not listed keep their own upgrade settings.\n\n");
    let mut t = Table::new(&["Machine", "Upgrades", "Installs", "Reboots"]);
    for machine in machine_order(model) {
        let Some(p) = model.updates.get(&machine) else { continue };
        t.row(&[machine.clone(), mechanism(p).into(), installs(p), reboots(p)]);
    }
    t.write(out);
}

fn mechanism(p: &Policy) -> &'static str {
    match (p.system, p.install) {
        (_, UpdateScope::None) => "off",
        (System::Nixos, _) => "system.autoUpgrade",
        _ => "unattended-upgrades",
    }
}

fn installs(p: &Policy) -> String {
    match (p.system, p.install) {
        (_, UpdateScope::None) => "-".into(),
        (System::Nixos, _) => "the flake's nixpkgs branch".into(),
        (System::Proxmox, UpdateScope::Security) => "Debian security updates (Proxmox VE's by hand)".into(),
        (System::Proxmox, UpdateScope::All) => "every Debian update (Proxmox VE's by hand)".into(),
        (_, UpdateScope::Security) => "security updates".into(),
        (_, UpdateScope::All) => "every stable update".into(),
    }
}

fn reboots(p: &Policy) -> String {
    match (&p.reboot, p.install) {
        (_, UpdateScope::None) | (None, _) => "never".into(),
        (Some(t), _) => format!("at {t} when needed"),
    }
}
