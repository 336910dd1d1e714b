//! Snapshots before apply that cannot work as written: a guest whose root disk sits on storage
//! Proxmox cannot snapshot (E874), `keep: 0` (E875), and a guest Hearth deploys no files into,
//! whose snapshots only ever precede a change to its Proxmox settings (W871).

use hearth_spec::ast::{GuestSnapshot, PoolKind};
use hearth_spec::{Code, Diagnostic, Span, Spec};

use crate::model::{GuestKind, Model};

/// The storage a guest's root disk goes on when the spec names none (Proxmox's default LVM-thin).
const DEFAULT_STORAGE: &str = "local-lvm";

pub fn snapshots(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for (_, h) in spec.hosts.iter() {
        if let Some(s) = h.proxmox.as_ref().and_then(|p| p.snapshot.as_ref()) {
            keep(s, out);
        }
    }
    for (name, g) in spec.guests.iter() {
        if let Some(s) = &g.snapshot {
            keep(s, out);
        }
        let Some(guest) = model.guests.get(name) else { continue };
        if guest.snapshot_keep.is_none() {
            continue;
        }
        // Where the policy was written: the guest's own `snapshot:`, else its host's default.
        let (span, from_host) = match g.spans.key("snapshot") {
            Some(span) => (span, false),
            None => match host_snapshot_span(spec, &guest.host) {
                Some(span) => (span, true),
                None => continue,
            },
        };
        storage(name, guest, model, span, from_host, out);
        if !guest.managed && !from_host {
            out.push(
                Diagnostic::new(
                    Code::SnapshotUnmanaged,
                    span,
                    format!(
                        "guest `{name}` is not managed, so its snapshots precede only changes to its Proxmox settings"
                    ),
                )
                .label("Hearth deploys no files into it")
                .help("keep it if a settings change (memory, cores, disks) should be undoable, or remove `snapshot:`"),
            );
        }
    }
}

fn host_snapshot_span(spec: &Spec, host: &str) -> Option<Span> {
    spec.hosts.get(host)?.proxmox.as_ref()?.spans.key("snapshot")
}

/// A root disk on a pool whose Proxmox storage has no snapshots (E874): a container's raw or
/// subvolume root on a directory, NFS, CIFS or thick LVM; a VM's disk on thick LVM (a VM's
/// qcow2 disk on a directory or share snapshots itself).
fn storage(
    name: &str,
    guest: &crate::model::Guest,
    model: &Model,
    span: Span,
    from_host: bool,
    out: &mut Vec<Diagnostic>,
) {
    let pool_name = guest.storage.as_deref().unwrap_or(DEFAULT_STORAGE);
    let Some(pool) = model.hosts.get(&guest.host).and_then(|h| h.pools.get(pool_name)) else { return };
    let fit = matches!(
        (guest.kind, pool.kind),
        (_, PoolKind::Zfs | PoolKind::LvmThin | PoolKind::Btrfs)
            | (GuestKind::Vm, PoolKind::Dir | PoolKind::Nfs | PoolKind::Cifs)
    );
    if fit {
        return;
    }
    let kind = match guest.kind {
        GuestKind::Lxc => "container",
        GuestKind::Vm => "VM",
    };
    let whose = if from_host { format!(" (the default of host `{}`)", guest.host) } else { String::new() };
    out.push(
        Diagnostic::new(
            Code::SnapshotStorageUnfit,
            span,
            format!(
                "guest `{name}` takes snapshots before apply{whose}, but its root disk is on `{pool_name}` ({})",
                pool.kind.as_str()
            ),
        )
        .label(format!("Proxmox refuses to snapshot a {kind} there: `snapshot feature is not available`"))
        .help(format!(
            "put `{name}`'s root disk on a ZFS, LVM-thin or Btrfs pool (`storage:`), or take no snapshots of it"
        )),
    );
}

/// `keep: 0` would delete the snapshot just taken (E875).
fn keep(s: &GuestSnapshot, out: &mut Vec<Diagnostic>) {
    if let Some(k) = s.keep.as_ref().filter(|k| k.value == 0) {
        out.push(
            Diagnostic::new(
                Code::SnapshotKeepZero,
                k.span,
                "`keep: 0` would delete each snapshot as soon as it is taken",
            )
            .label("keep at least the newest")
            .help("keep `1` or more, or set `before_apply: false`")
            .suggest(k.span, "1"),
        );
    }
}
