//! What the spec asks of each node: per guest, the create request the render writes
//! (`hearth_render::proxmox::guest_request`, the one source of these parameters), the disk size it
//! should have, and whether Hearth runs anything in it. Pure.

use hearth_model::Model;
use hearth_model::model::GuestKind;
use serde_json::{Map, Value};

use crate::property;

/// One guest as the spec wants it.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredGuest {
    /// The guest's name in the spec (`guests.NAME`), which errors and the plan name.
    pub name: String,
    /// The spec host it runs on.
    pub host: String,
    pub node: String,
    pub vmid: u32,
    pub kind: GuestKind,
    /// The `POST /nodes/{node}/lxc` or `/qemu` body, without `node` (it is in the path).
    pub create: Map<String, Value>,
    /// The root disk (`rootfs`, `scsi0`) and its size in MiB.
    pub disk: (String, u64),
    /// Whether Hearth deploys into the guest, so it must be running; an appliance or a guest the
    /// spec marks `managed: false` is started once, when created, and otherwise left as it is.
    pub managed: bool,
    /// How many of Hearth's snapshots to keep when apply snapshots it before changing it; `None`:
    /// no snapshot.
    pub snapshot_keep: Option<u32>,
}

impl DesiredGuest {
    /// `lxc` or `qemu`, as in the API's paths.
    pub fn kind_path(&self) -> &'static str {
        kind_path(self.kind)
    }
}

pub fn kind_path(kind: GuestKind) -> &'static str {
    match kind {
        GuestKind::Lxc => "lxc",
        GuestKind::Vm => "qemu",
    }
}

/// Every guest of the model, by node and then id.
pub fn desired_guests(model: &Model) -> Vec<DesiredGuest> {
    let mut guests: Vec<DesiredGuest> = model
        .guests
        .iter()
        .map(|(name, g)| {
            let request = hearth_render::proxmox::guest_request(model, name, g);
            let mut create = request.create;
            let node = create.remove("node").and_then(|n| n.as_str().map(str::to_string)).unwrap_or(g.host.clone());
            let disk_key = match g.kind {
                GuestKind::Lxc => "rootfs",
                GuestKind::Vm => "scsi0",
            };
            // A VM importing a cloud image gets its size from the resize that follows.
            let size = request
                .resize
                .as_ref()
                .and_then(|r| r.get("size"))
                .and_then(Value::as_str)
                .and_then(property::size_mib)
                .or_else(|| create.get(disk_key).and_then(Value::as_str).and_then(property::disk_mib))
                .unwrap_or(0);
            DesiredGuest {
                name: name.clone(),
                host: g.host.clone(),
                node,
                vmid: g.id,
                kind: g.kind,
                create,
                disk: (disk_key.to_string(), size),
                managed: g.managed,
                snapshot_keep: g.snapshot_keep,
            }
        })
        .collect();
    guests.sort_by(|a, b| (&a.node, a.vmid).cmp(&(&b.node, b.vmid)));
    guests
}
