//! Each machine's update policy (`updates:` over the top-level default), and on NixOS guests the
//! `system.autoUpgrade` it implies.

use std::collections::BTreeMap;

use hearth_spec::Spec;
use hearth_spec::ast::{self, UpdateScope};

use crate::model::{HostKind, Model, NixUpgrade, NixosSettings};
use crate::updates::{Policy, System, parse_reboot, system_of};

/// The system Hearth updates on a host, or `None` for a host it does not log into (a bare-metal
/// machine without a runtime).
pub fn host_system(h: &ast::Host, kind: HostKind) -> Option<System> {
    if kind == HostKind::Proxmox {
        return Some(System::Proxmox);
    }
    h.runtime.as_ref()?;
    h.os.as_deref().map_or(Some(System::Debian), system_of)
}

/// The system Hearth updates on a guest, or `None` for one it does not manage.
pub fn guest_system(g: &crate::model::Guest) -> Option<System> {
    if !g.managed {
        return None;
    }
    system_of(&g.os)
}

/// Every machine's policy, by name; a NixOS guest with one and no `nixos.upgrade` gets that
/// upgrade (daily, or at the reboot time when it may reboot).
pub(super) fn resolve(spec: &Spec, model: &mut Model) {
    let default = spec.updates.as_ref();
    let mut out = BTreeMap::new();
    for (name, h) in spec.hosts.iter() {
        let Some(host) = model.hosts.get(name) else { continue };
        if let Some(system) = host_system(h, host.kind)
            && let Some(policy) = policy(h.updates.as_ref(), default, system)
        {
            out.insert(name.to_string(), policy);
        }
    }
    for (name, g) in spec.guests.iter() {
        let Some(guest) = model.guests.get_mut(name) else { continue };
        let Some(system) = guest_system(guest) else { continue };
        let Some(policy) = policy(g.updates.as_ref(), default, system) else { continue };
        if system == System::Nixos && policy.install != UpdateScope::None {
            let settings = guest.nixos.get_or_insert_with(NixosSettings::default);
            if settings.upgrade.is_none() {
                let at = policy.reboot.as_deref().unwrap_or("daily");
                let on_calendar =
                    hearth_spec::schedule::Schedule::parse(at).map(|s| s.on_calendar()).unwrap_or_default();
                settings.upgrade = Some(NixUpgrade { on_calendar, reboot: policy.reboot.is_some() });
            }
        }
        out.insert(name.to_string(), policy);
    }
    model.updates = out;
}

/// A machine's own settings over the default's, key by key; `None` when neither is written.
fn policy(own: Option<&ast::Updates>, default: Option<&ast::Updates>, system: System) -> Option<Policy> {
    if own.is_none() && default.is_none() {
        return None;
    }
    let install = own
        .and_then(|u| u.install.as_ref())
        .or_else(|| default.and_then(|u| u.install.as_ref()))
        .map_or(UpdateScope::Security, |s| s.value);
    // A value that does not parse is E871's (check/updates.rs); it reboots never meanwhile.
    let reboot = own
        .and_then(|u| u.reboot.as_ref())
        .or_else(|| default.and_then(|u| u.reboot.as_ref()))
        .and_then(|r| parse_reboot(&r.value).ok().flatten());
    Some(Policy { system, install, reboot })
}
