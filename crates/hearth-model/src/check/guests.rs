//! Guests Proxmox cannot create as written, or that come up unreachable: a disk on a pool that
//! holds no guest disks, a VM's `mounts:` that nothing inside the VM would mount (any of an
//! appliance's, the host folders of a NixOS VM), and VMs created with a placeholder SSH key; `nixos:` settings on a guest that does not run NixOS.

use hearth_spec::ast::{Mount, PoolKind};
use hearth_spec::decode::Entry;
use hearth_spec::{Code, Diagnostic, Spec};

use crate::model::{GuestKind, Model};
use crate::shares::SHARE_PREFIX;

pub(super) fn guests(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    storage(spec, model, out);
    vm_mounts(spec, model, out);
    placeholder_keys(spec, model, out);
    nixos_settings(spec, out);
}

/// `nixos:` (garbage collection, upgrades) on a guest that does not run NixOS: nothing would
/// apply it, and the operator would believe the store is collected.
fn nixos_settings(spec: &Spec, out: &mut Vec<Diagnostic>) {
    for e in &spec.guests.entries {
        let g = &e.value;
        if g.nixos.is_none() || g.os.as_ref().is_some_and(|o| o.value.starts_with("nixos")) {
            continue;
        }
        let os = g.os.as_ref().map_or("debian-12", |o| o.value.as_str());
        let span = g.spans.key("nixos").unwrap_or(e.key_span);
        out.push(
            Diagnostic::new(
                Code::NixosSettingsElsewhere,
                span,
                format!("guest `{}` has `nixos:` settings but runs `{os}`, not NixOS", e.name),
            )
            .label("only a NixOS system reads these")
            .help("remove `nixos:`, or give the guest `os: nixos`"),
        );
    }
}

/// A guest's root disk goes on a Proxmox storage that holds guest disks: `images` for a VM,
/// `rootdir` for a container. SHR is built by DSM inside a VM from passed-through disks, so it is
/// no Proxmox storage at all, least of all for the DSM VM that builds it; a pool whose `content:`
/// leaves the type out is refused by Proxmox at creation.
fn storage(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.guests.entries {
        let Some(g) = model.guests.get(&e.name) else { continue };
        let st = match g.kind {
            GuestKind::Lxc => e.value.lxc.as_ref().and_then(|l| l.storage.as_ref()),
            GuestKind::Vm => e.value.vm.as_ref().and_then(|v| v.storage.as_ref()),
        };
        let Some(st) = st else { continue };
        let Some(pool) = spec.hosts.get(&g.host).and_then(|h| h.storage.get(&st.value)) else { continue };
        let content = if g.kind == GuestKind::Vm { "images" } else { "rootdir" };
        let why = if pool.kind == PoolKind::Shr {
            format!("`{}` is SHR, which DSM builds inside a VM and Proxmox cannot store disks on", st.value)
        } else if !pool.content.is_empty() && !pool.content.iter().any(|c| c == content) {
            format!("the `content:` of pool `{}` has no `{content}`", st.value)
        } else {
            continue;
        };
        let fit: Vec<&str> = spec
            .hosts
            .get(&g.host)
            .map(|h| {
                h.storage
                    .entries
                    .iter()
                    .filter(|p| {
                        !matches!(p.value.kind, PoolKind::Shr | PoolKind::Usb | PoolKind::Raid)
                            && (p.value.content.is_empty() || p.value.content.iter().any(|c| c == content))
                    })
                    .map(|p| p.name.as_str())
                    .collect()
            })
            .unwrap_or_default();
        let help = match fit.first() {
            Some(p) => format!("put the disk on another pool: `storage: {p}`"),
            None => {
                format!("declare a pool with `content: [{content}]` on host `{}` and name it in `storage:`", g.host)
            }
        };
        out.push(
            Diagnostic::new(
                Code::GuestStorageUnfit,
                st.span,
                format!("guest `{}` cannot keep its disk on pool `{}`", e.name, st.value),
            )
            .label(why)
            .help(help),
        );
    }
}

/// A VM reaches host folders through virtiofs, mounted by its cloud-init; a VM whose system
/// Hearth does not configure (appliances, unmanaged) would get the share but never mount it. A
/// managed NixOS VM is configured by its flake, which mounts its `share:NAME` entries as
/// `fileSystems` but no virtiofs folder, so only its other entries are refused.
fn vm_mounts(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.guests.entries {
        let Some(g) = model.guests.get(&e.name) else { continue };
        let Some(first) = e.value.mounts.entries.first() else { continue };
        if g.kind != GuestKind::Vm || g.cloud_image().is_some() {
            continue;
        }
        if g.managed && model.is_nixos(&e.name) {
            nixos_folder_mounts(&e.name, &e.value.mounts.entries, out);
            continue;
        }
        out.push(
            Diagnostic::new(
                Code::VmMountUnsupported,
                first.key_span,
                format!("VM `{}` (os `{}`) would never mount its `mounts:`", e.name, g.os),
            )
            .label("Hearth configures nothing inside this VM that would mount them")
            .help("remove `mounts:`, and give the VM a data disk (`vm: { disks: [SIZE] }`) or let it mount a network share itself")
            .suggest_removal(
                e.value.spans.key("mounts").zip(e.value.spans.value("mounts")).map_or(first.key_span, |(k, v)| k.to(v)),
            ),
        );
    }
}

/// The host folders and datasets of a NixOS VM's `mounts:`: Proxmox would hand them over
/// virtiofs, but its flake mounts shares only. Each is reported; one written as a bare `from`
/// carries the edit that removes it (a mapping's end is not known here, so it gets none).
fn nixos_folder_mounts(guest: &str, mounts: &[Entry<Mount>], out: &mut Vec<Diagnostic>) {
    for m in mounts.iter().filter(|m| !m.value.from.value.starts_with(SHARE_PREFIX)) {
        let from = &m.value.from;
        let d = Diagnostic::new(
            Code::VmMountUnsupported,
            m.key_span,
            format!("NixOS VM `{guest}` would never mount `{}` at `{}`", from.value, m.name),
        )
        .label("its flake mounts `share:NAME` entries, not host folders or datasets")
        .help(
            "remove this mount, and serve the folder as a share (`share:NAME`) or give the VM a data disk (`vm: { disks: [SIZE] }`)",
        );
        // A bare `from` is the whole value: the entry ends where it ends.
        let shorthand = m.value.spans.key("from") == Some(from.span);
        out.push(if shorthand { d.suggest_removal(m.key_span.to(from.span)) } else { d });
    }
}

/// Without `admin.ssh_keys`, cloud-init VMs are created with a placeholder key: nobody can log in.
fn placeholder_keys(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    if !model.admin.ssh_keys.is_empty() {
        return;
    }
    let vms: Vec<&str> = spec
        .guests
        .entries
        .iter()
        .filter(|e| model.guests.get(&e.name).is_some_and(|g| g.cloud_image().is_some()))
        .map(|e| e.name.as_str())
        .collect();
    let Some(first) = vms.first().and_then(|n| spec.guests.entry(n)) else { return };
    let list: Vec<String> = vms.iter().map(|n| format!("`{n}`")).collect();
    out.push(
        Diagnostic::new(
            Code::PlaceholderSshKey,
            first.key_span,
            format!("no `admin.ssh_keys`: VM {} would get a placeholder SSH key", list.join(", ")),
        )
        .label("nobody could log into it")
        .help("add `admin: { ssh_keys: [\"ssh-ed25519 AAAA... you@laptop\"] }` with your public key"),
    );
}
