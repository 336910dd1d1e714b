//! Maintenance: each machine's unattended upgrades (`updates:`), with what they install and when
//! the machine may reboot for them, and each guest's snapshots before apply (`snapshot:`), in
//! reading order. Absent when no machine has either policy.

use hearth_model::Model;
use hearth_model::updates::{Policy, System};
use hearth_spec::ast::UpdateScope;

use crate::machines::machine_order;
use crate::md::Table;

pub fn write(model: &Model, out: &mut String) {
    let snapshot = |m: &str| model.guests.get(m).and_then(|g| g.snapshot_keep);
    let machines: Vec<String> =
        machine_order(model).into_iter().filter(|m| model.updates.contains_key(m) || snapshot(m).is_some()).collect();
    if machines.is_empty() {
        return;
    }
    out.push_str("## Maintenance\n\n");
    out.push_str(
        "Unattended upgrades (`updates:`) and snapshots `hearth apply` takes before it changes a guest \
         (`snapshot:`, rolled back with `pct rollback` or `qm rollback`). Machines not listed keep their own \
         upgrade settings.\n\n",
    );
    let mut t = Table::new(&["Machine", "Upgrades", "Installs", "Reboots", "Snapshot before apply"]);
    for machine in machines {
        let (upgrades, what, reboot) = match model.updates.get(&machine) {
            Some(p) => (mechanism(p).to_string(), installs(p), reboots(p)),
            None => ("-".to_string(), "-".to_string(), "-".to_string()),
        };
        let snap = snapshot(&machine).map_or_else(|| "-".to_string(), |keep| format!("yes, keeps {keep}"));
        t.row(&[machine.clone(), upgrades, what, reboot, snap]);
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
