//! A guest's snapshots: list (`GET …/snapshot`, with the `current` entry the real node adds),
//! create (`POST …/snapshot`, a task) and delete (`DELETE …/snapshot/{snapname}`, a task), with
//! the real node's checks: the guest exists, is not locked, the name is free, and every volume
//! the snapshot covers sits on storage that can snapshot it (a container's root on a directory
//! or thick LVM cannot: `snapshot feature is not available`). Bind mounts and devices are not
//! covered, as on the real node.

use serde_json::{Value, json};

use super::Ctx;
use crate::response::ApiError;
use crate::sim::Effect;
use crate::state::{Kind, SimSnapshot, State};

pub fn list(cx: &Ctx, kind: Kind) -> Result<Value, ApiError> {
    let vmid = cx.vmid();
    cx.sim.with_state(|s| {
        let g = s
            .guests
            .get(&vmid)
            .filter(|g| g.kind == kind)
            .ok_or_else(|| crate::sim::Sim::missing(&s.node, kind, vmid))?;
        let mut out: Vec<Value> = g
            .snapshots
            .iter()
            .map(|snap| {
                let mut e = json!({ "name": snap.name, "description": snap.description, "snaptime": snap.snaptime });
                if let Some(p) = &snap.parent {
                    e["parent"] = json!(p);
                }
                e
            })
            .collect();
        let mut current = json!({ "name": "current", "description": "You are here!", "running": i32::from(g.running) });
        if let Some(last) = g.snapshots.last() {
            current["parent"] = json!(last.name);
        }
        out.push(current);
        Ok(json!(out))
    })
}

/// Whether a storage type can snapshot a guest's volume: ZFS, LVM-thin, and a VM's qcow2 file
/// on a directory.
fn can_snapshot(storage_kind: &str, kind: Kind, volume: &str) -> bool {
    match storage_kind {
        "zfspool" | "lvmthin" => true,
        "dir" => kind == Kind::Qemu && volume.ends_with(".qcow2"),
        _ => false,
    }
}

/// The volumes a snapshot covers: the root disk and a VM's disks, a container's volume mount
/// points (not bind mounts, whose source is a path).
fn covered_volumes(g: &crate::state::Guest) -> Vec<String> {
    g.config
        .iter()
        .filter(|(k, _)| match g.kind {
            Kind::Lxc => *k == "rootfs" || (k.starts_with("mp") && k[2..].chars().all(|c| c.is_ascii_digit())),
            Kind::Qemu => ["scsi", "virtio", "sata", "ide"]
                .iter()
                .any(|bus| k.strip_prefix(bus).is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))),
        })
        .filter_map(|(_, v)| {
            let volume = v.split(',').next()?.trim_start_matches("volume=");
            (volume.contains(':') && !v.contains("media=cdrom") && !v.contains("cloudinit")).then(|| volume.to_string())
        })
        .collect()
}

pub async fn create(cx: &Ctx<'_>, kind: Kind) -> Result<Value, ApiError> {
    let vmid = cx.vmid();
    let name = cx.text("snapname").unwrap_or_default();
    let description = cx.text("description").unwrap_or_default();
    let sim = cx.sim;
    sim.with_guest_lock(cx.req, kind, vmid, |s: &mut State| {
        let g = s
            .guests
            .get(&vmid)
            .filter(|g| g.kind == kind)
            .ok_or_else(|| crate::sim::Sim::missing(&s.node, kind, vmid))?;
        if let Some(lock) = g.config.get("lock") {
            return Err(ApiError::fail(format!("{} is locked ({lock})", kind.short())));
        }
        if name == "current" || name == "vzdump" && kind == Kind::Qemu {
            return Err(ApiError::fail(format!("invalid snapshot name '{name}'")));
        }
        if g.snapshots.iter().any(|snap| snap.name == name) {
            return Err(ApiError::fail(format!("snapshot name '{name}' already used")));
        }
        let unfit = covered_volumes(g).into_iter().find(|volume| {
            let storage = volume.split(':').next().unwrap_or_default();
            s.storages.get(storage).is_none_or(|st| !can_snapshot(&st.kind, kind, volume))
        });
        let parent = g.snapshots.last().map(|snap| snap.name.clone());
        let (snapname, short, description) = (name.clone(), kind.short(), description.clone());
        let body = Box::new(move |s: &mut State, out: &mut Vec<String>| {
            if let Some(volume) = unfit {
                out.push(format!("volume '{volume}' cannot be snapshotted"));
                return Err("snapshot feature is not available".to_string());
            }
            let g = s.guests.get_mut(&vmid).ok_or_else(|| format!("{short} {vmid} vanished"))?;
            g.snapshots.push(SimSnapshot { name: snapname.clone(), description, snaptime: crate::sim::now(), parent });
            out.push(format!("snapshot '{snapname}' of {short} {vmid} created"));
            Ok(Effect::None)
        });
        let spec = crate::sim::TaskSpec {
            kind: format!("{}snapshot", kind.task_prefix()),
            id: vmid.to_string(),
            hold: Some(vmid),
            body,
            on_fail: None,
        };
        Ok(json!(sim.spawn_task(s, cx.req, spec)))
    })
    .await
}

pub async fn delete(cx: &Ctx<'_>, kind: Kind) -> Result<Value, ApiError> {
    let vmid = cx.vmid();
    let name = cx.text("snapname").unwrap_or_default();
    let sim = cx.sim;
    sim.with_guest_lock(cx.req, kind, vmid, |s: &mut State| {
        let g = s
            .guests
            .get(&vmid)
            .filter(|g| g.kind == kind)
            .ok_or_else(|| crate::sim::Sim::missing(&s.node, kind, vmid))?;
        if !g.snapshots.iter().any(|snap| snap.name == name) {
            return Err(ApiError::fail(format!("snapshot '{name}' does not exist")));
        }
        let (snapname, short) = (name.clone(), kind.short());
        let body = Box::new(move |s: &mut State, out: &mut Vec<String>| {
            let g = s.guests.get_mut(&vmid).ok_or_else(|| format!("{short} {vmid} vanished"))?;
            // The snapshot taken after it now descends from its parent.
            let parent = g.snapshots.iter().find(|snap| snap.name == snapname).and_then(|snap| snap.parent.clone());
            g.snapshots.retain(|snap| snap.name != snapname);
            for child in g.snapshots.iter_mut().filter(|snap| snap.parent.as_deref() == Some(snapname.as_str())) {
                child.parent = parent.clone();
            }
            out.push(format!("snapshot '{snapname}' of {short} {vmid} deleted"));
            Ok(Effect::None)
        });
        let spec = crate::sim::TaskSpec {
            kind: format!("{}delsnapshot", kind.task_prefix()),
            id: vmid.to_string(),
            hold: Some(vmid),
            body,
            on_fail: None,
        };
        Ok(json!(sim.spawn_task(s, cx.req, spec)))
    })
    .await
}
