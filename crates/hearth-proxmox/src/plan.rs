//! The plan of one node: the spec's guests (`DesiredGuest`) against what the node has
//! (`ActualGuest`, read with `GET .../config`). Pure, so every rule is tested on data.
//!
//! Rules:
//! - a guest the node lacks is created and started;
//! - a guest whose configuration differs gets one `PUT .../config` with the `digest` read, each
//!   key marked live or needing a restart by Proxmox's own hotplug rules (below); a running guest
//!   with a change that needs a restart is rebooted after the update;
//! - a root disk smaller than the spec's grows (`PUT .../resize`); a larger one is refused, since
//!   Proxmox cannot shrink a disk;
//! - a guest without the `hearth` tag is never touched: at a spec guest's id it is refused, and
//!   elsewhere listed as left alone; a `hearth` guest the spec no longer has is destroyed only
//!   when `--allow-destroy` names it;
//! - a guest attached to a bridge the node lacks, or with a VLAN tag on a bridge that is not
//!   VLAN-aware, is refused with the fix (`network::check`);
//! - a stopped guest Hearth deploys into is started; one it does not (an appliance,
//!   `managed: false`) is started when created and otherwise left as it is.
//!
//! Which changes apply to a running guest (Proxmox VE 8, `vmconfig_hotplug_pending` of
//! pve-container and qemu-server): a container takes `cores`, `memory`, `swap`, `cpulimit`,
//! `cpuunits`, network devices, `hostname`, `tags`, `description`, `onboot` at once, and a mount
//! point or device only when it is new (a changed one waits for the restart); everything else
//! (`features`, `nameserver`, `ostype`, ...) is pending until the next start. A VM takes `name`,
//! `tags`, `description` and `onboot` at once and hotplugs what its `hotplug` option lists
//! (`network,disk,usb` by default): network devices, new disks, USB devices; `memory` and
//! `cores` only with `memory`/`cpu` hotplug; cloud-init settings are read by the guest at boot.

use std::collections::BTreeSet;

use hearth_model::model::GuestKind;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::client::scalar;
use crate::desired::DesiredGuest;
use crate::host::HostPlan;
use crate::network::{self, Bridge};
use crate::property::{self, same, tag_set};
use crate::shell::root_only;

/// A guest as the node has it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActualGuest {
    pub vmid: u32,
    pub kind: GuestKind,
    pub running: bool,
    /// `GET .../config`, `digest` included.
    pub config: Map<String, Value>,
}

impl ActualGuest {
    /// Its name on the node: a container's `hostname`, a VM's `name`, else its id.
    pub fn name(&self) -> String {
        let key = match self.kind {
            GuestKind::Lxc => "hostname",
            GuestKind::Vm => "name",
        };
        self.config.get(key).and_then(Value::as_str).map_or_else(|| self.vmid.to_string(), str::to_string)
    }

    /// Whether Hearth created it: it carries the `hearth` tag.
    pub fn is_hearths(&self) -> bool {
        self.config.get("tags").map(scalar).is_some_and(|t| tag_set(&t).contains("hearth"))
    }
}

/// What one node has.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Actual {
    pub guests: Vec<ActualGuest>,
    /// Its bridges (`GET /nodes/{node}/network`); `None` when not read, so not checked.
    pub bridges: Option<Vec<Bridge>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodePlan {
    pub node: String,
    /// The spec's guests and the `hearth` guests the spec no longer has, by id.
    pub guests: Vec<GuestPlan>,
    /// Guests without the `hearth` tag at ids the spec does not use: never touched.
    pub untouched: Vec<Untouched>,
    /// The host's own steps: ZFS datasets and backup jobs (`host::plan_host` fills them in).
    pub host: HostPlan,
}

impl NodePlan {
    /// Whether applying it would change nothing.
    pub fn is_empty(&self) -> bool {
        self.guests.iter().all(|g| match &g.action {
            GuestAction::Unchanged => g.snapshot.is_none(),
            GuestAction::Refused { .. } => true,
            GuestAction::Destroy { allowed, .. } => !allowed,
            _ => false,
        }) && self.host.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Untouched {
    pub vmid: u32,
    pub name: String,
    pub kind: GuestKind,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuestPlan {
    /// The spec's name, or the node's for a guest the spec does not have.
    pub name: String,
    pub vmid: u32,
    pub kind: GuestKind,
    pub action: GuestAction,
    /// A snapshot taken before the action, keeping this many of Hearth's (`snapshot:` on a guest
    /// about to change: its settings here, or its files, marked by `snapshot_changing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum GuestAction {
    /// Created (template or cloud image fetched when missing, disk grown), then started.
    Create,
    Update(Update),
    Unchanged,
    /// Nothing is done, for these reasons.
    Refused {
        reasons: Vec<String>,
    },
    /// A `hearth` guest the spec no longer has; destroyed only when allowed.
    Destroy {
        allowed: bool,
        running: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Update {
    pub changes: Vec<Change>,
    pub grow: Option<Grow>,
    /// The configuration's digest the changes were computed from; the update sends it, so a
    /// change made meanwhile on the node fails the update instead of being overwritten.
    pub digest: Option<String>,
    /// A running guest with a change that waits for a restart: rebooted after the update.
    pub restart: bool,
    /// A stopped guest Hearth deploys into: started.
    pub start: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub key: String,
    /// `None`: the key is added.
    pub from: Option<String>,
    /// `None`: the key is removed.
    pub to: Option<String>,
    /// Whether a running guest takes it at once (else at its next start).
    pub live: bool,
    /// Set as root on the node over SSH (`pct set`), since the API refuses it to a token (a
    /// container's bind mount, device, non-`nesting` feature flag: `shell::root_only`).
    pub on_node: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grow {
    pub disk: String,
    pub from_mib: u64,
    pub to_mib: u64,
}

/// Parameters of the create call only; the configuration does not keep them.
const CREATE_ONLY: [&str; 12] = [
    "ostemplate",
    "ssh-public-keys",
    "password",
    "storage",
    "start",
    "unique",
    "pool",
    "restore",
    "force",
    "archive",
    "import-working-storage",
    "vmid",
];

/// Keys the node keeps as Hearth set them, whose presence Hearth decides: one on the node that
/// the spec does not have is removed. (Other keys, `digest`, `hwaddr`, `unused0`, `vmgenid`,
/// `smbios1`, belong to the node.)
fn removable(key: &str) -> bool {
    ["mp", "dev", "net", "virtiofs", "hostpci", "usb", "ipconfig"].iter().any(|f| numbered(key, f))
        || (numbered(key, "scsi") && key != "scsi0")
        || matches!(key, "features" | "nameserver" | "searchdomain" | "cicustom")
}

/// Marks for a snapshot the unchanged guests of `plan` whose files apply will change (`changing`
/// names them), when the spec asks for snapshots before apply.
pub fn snapshot_changing(plan: &mut NodePlan, desired: &[DesiredGuest], changing: &BTreeSet<String>) {
    for g in plan.guests.iter_mut().filter(|g| g.action == GuestAction::Unchanged && changing.contains(&g.name)) {
        g.snapshot = desired.iter().find(|d| d.vmid == g.vmid).and_then(|d| d.snapshot_keep);
    }
}

/// The plan of `node`: `desired` are the spec's guests on it.
pub fn plan_node(node: &str, desired: &[DesiredGuest], actual: &Actual, allow_destroy: &[String]) -> NodePlan {
    let mut guests = Vec::new();
    let wanted: BTreeSet<u32> = desired.iter().map(|d| d.vmid).collect();
    for d in desired {
        let mut action = match actual.guests.iter().find(|a| a.vmid == d.vmid) {
            None => GuestAction::Create,
            Some(a) => diff(d, a),
        };
        let unattached = actual.bridges.as_deref().map(|b| network::check(d, b)).unwrap_or_default();
        if !unattached.is_empty() {
            action = match action {
                GuestAction::Refused { mut reasons } => {
                    reasons.extend(unattached);
                    GuestAction::Refused { reasons }
                }
                _ => GuestAction::Refused { reasons: unattached },
            };
        }
        let snapshot = d.snapshot_keep.filter(|_| matches!(action, GuestAction::Update(_)));
        guests.push(GuestPlan { name: d.name.clone(), vmid: d.vmid, kind: d.kind, action, snapshot });
    }
    let mut untouched = Vec::new();
    for a in actual.guests.iter().filter(|a| !wanted.contains(&a.vmid)) {
        let name = a.name();
        if a.is_hearths() {
            let allowed = allow_destroy.iter().any(|n| *n == name || *n == a.vmid.to_string());
            guests.push(GuestPlan {
                name,
                vmid: a.vmid,
                kind: a.kind,
                action: GuestAction::Destroy { allowed, running: a.running },
                snapshot: None,
            });
        } else {
            untouched.push(Untouched { vmid: a.vmid, name, kind: a.kind });
        }
    }
    guests.sort_by_key(|g| g.vmid);
    untouched.sort_by_key(|u| u.vmid);
    NodePlan { node: node.to_string(), guests, untouched, host: HostPlan::default() }
}

fn kind_word(kind: GuestKind) -> &'static str {
    match kind {
        GuestKind::Lxc => "a container",
        GuestKind::Vm => "a VM",
    }
}

fn diff(d: &DesiredGuest, a: &ActualGuest) -> GuestAction {
    if !a.is_hearths() {
        return GuestAction::Refused {
            reasons: vec![format!(
                "id {} is taken by `{}`, which has no `hearth` tag: Hearth did not create it and leaves it alone; give guest `{}` a free `id`",
                a.vmid,
                a.name(),
                d.name
            )],
        };
    }
    if a.kind != d.kind {
        return GuestAction::Refused {
            reasons: vec![format!(
                "id {} is {} on the node and {} in the spec; Hearth does not convert one into the other (destroy it with `--allow-destroy {}` after removing it from the spec, or give it another `id`)",
                a.vmid,
                kind_word(a.kind),
                kind_word(d.kind),
                a.name()
            )],
        };
    }
    let mut reasons = Vec::new();
    let mut changes = Vec::new();
    let hotplug = a.config.get("hotplug").map_or_else(|| "network,disk,usb".to_string(), scalar);
    let unprivileged = a.config.get("unprivileged").is_some_and(|u| scalar(u) == "1");
    for (key, want) in &d.create {
        if CREATE_ONLY.contains(&key.as_str()) || *key == d.disk.0 {
            continue;
        }
        // The EFI vars disk, the TPM state and the cloud-init drive are volumes the node names
        // itself; only their presence is Hearth's.
        if matches!(key.as_str(), "efidisk0" | "tpmstate0" | "ide2") && a.config.contains_key(key) {
            continue;
        }
        let have = a.config.get(key);
        // Setting a data disk that exists anew would make another volume and leave the old one
        // unused: its data would no longer be where the VM reads it.
        if let Some(have) = have
            && property::new_disk(&scalar(want)).is_some()
            && !same(key, want, have)
        {
            reasons.push(format!(
                "data disk `{key}` is `{}` on the node and `{}` in the spec: Hearth does not replace a disk that holds data; change it on the node (`qm resize`, `qm set`) or restore the spec's value",
                scalar(have),
                scalar(want)
            ));
            continue;
        }
        if key == "unprivileged" {
            let have = have.map_or_else(|| "0".to_string(), scalar);
            if have != scalar(want) {
                reasons.push(format!(
                    "`unprivileged` cannot change once a container exists (the node has {have}, the spec {}); recreate the container",
                    scalar(want)
                ));
            }
            continue;
        }
        if have.is_some_and(|h| same(key, want, h)) {
            continue;
        }
        let live = live(d.kind, key, have.is_none(), &hotplug);
        let on_node = d.kind == GuestKind::Lxc && root_only(key, &scalar(want), unprivileged);
        changes.push(Change { key: key.clone(), from: have.map(scalar), to: Some(scalar(want)), live, on_node });
    }
    for (key, have) in &a.config {
        if removable(key) && !d.create.contains_key(key) {
            changes.push(Change {
                key: key.clone(),
                from: Some(scalar(have)),
                to: None,
                live: live_delete(d.kind, key, &hotplug),
                on_node: d.kind == GuestKind::Lxc && root_only(key, &scalar(have), unprivileged),
            });
        }
    }
    let (disk, want_mib) = &d.disk;
    let have_mib = a.config.get(disk).map(scalar).as_deref().and_then(property::disk_mib);
    let mut grow = None;
    match have_mib {
        Some(have) if have < *want_mib => grow = Some(Grow { disk: disk.clone(), from_mib: have, to_mib: *want_mib }),
        Some(have) if have > *want_mib => reasons.push(format!(
            "its disk `{disk}` is {} on the node and {} in the spec: Proxmox cannot shrink a disk; set `disk: {}` or more, or recreate the guest",
            property::show_mib(have),
            property::show_mib(*want_mib),
            property::show_mib(have)
        )),
        _ => {}
    }
    if !reasons.is_empty() {
        return GuestAction::Refused { reasons };
    }
    let restart = a.running && changes.iter().any(|c| !c.live);
    let start = !a.running && d.managed;
    if changes.is_empty() && grow.is_none() && !start {
        return GuestAction::Unchanged;
    }
    let digest = a.config.get("digest").and_then(Value::as_str).map(str::to_string);
    GuestAction::Update(Update { changes, grow, digest, restart, start })
}

fn numbered(key: &str, family: &str) -> bool {
    key.strip_prefix(family).is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

const CLOUD_INIT: [&str; 8] =
    ["ciuser", "cipassword", "cicustom", "citype", "ciupgrade", "nameserver", "searchdomain", "sshkeys"];

/// Whether a running guest takes a changed (or, when `added`, new) `key` at once.
fn live(kind: GuestKind, key: &str, added: bool, hotplug: &str) -> bool {
    match kind {
        GuestKind::Lxc => {
            matches!(
                key,
                "description"
                    | "onboot"
                    | "startup"
                    | "protection"
                    | "hostname"
                    | "hookscript"
                    | "cores"
                    | "tags"
                    | "cpulimit"
                    | "cpuunits"
                    | "memory"
                    | "swap"
            ) || numbered(key, "net")
                || (added && (numbered(key, "mp") || numbered(key, "dev")))
        }
        GuestKind::Vm => {
            let plugs = |what: &str| plugs(hotplug, what);
            if matches!(key, "name" | "onboot" | "description" | "tags" | "startup" | "protection" | "hookscript") {
                return true;
            }
            if CLOUD_INIT.contains(&key) || numbered(key, "ipconfig") {
                // The node stores it at once, but the guest's cloud-init reads it at boot.
                return false;
            }
            (numbered(key, "net") && plugs("network"))
                || (added && ["scsi", "sata", "virtio"].iter().any(|f| numbered(key, f)) && plugs("disk"))
                || (numbered(key, "usb") && plugs("usb"))
                || (key == "memory" && plugs("memory"))
                || (matches!(key, "cores" | "vcpus") && plugs("cpu"))
        }
    }
}

/// Whether a VM's `hotplug` option (`network,disk,usb`, or `1` for all) covers `what`.
fn plugs(hotplug: &str, what: &str) -> bool {
    hotplug.split(',').any(|h| h.trim() == what || h.trim() == "1")
}

/// Whether a running guest lets go of `key` at once.
fn live_delete(kind: GuestKind, key: &str, hotplug: &str) -> bool {
    match kind {
        GuestKind::Lxc => {
            numbered(key, "net") || matches!(key, "swap" | "cpulimit" | "cpuunits" | "description" | "tags")
        }
        GuestKind::Vm => {
            let plugs = |what: &str| plugs(hotplug, what);
            (numbered(key, "net") && plugs("network"))
                || (["scsi", "sata", "virtio"].iter().any(|f| numbered(key, f)) && plugs("disk"))
                || (numbered(key, "usb") && plugs("usb"))
        }
    }
}
