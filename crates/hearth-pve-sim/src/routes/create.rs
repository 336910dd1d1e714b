//! `POST /nodes/{node}/lxc` and `POST /nodes/{node}/qemu`: a guest is reserved at once (its
//! config written with `lock: create`, its new disks allocated) and finished by a `vzcreate` /
//! `qmcreate` task; a failed task removes the guest and frees its disks, as the real node does.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Ctx;
use crate::response::ApiError;
use crate::runtime::GuestInfo;
use crate::sim::Effect;
use crate::state::guest::{format_size, is_disk_key, normalize_tags};
use crate::state::{Guest, Kind, State};

/// Creation parameters that are not config keys.
const NOT_CONFIG: &[&str] = &[
    "node",
    "vmid",
    "ostemplate",
    "password",
    "ssh-public-keys",
    "storage",
    "start",
    "unique",
    "pool",
    "force",
    "restore",
    "ignore-unpack-errors",
    "bwlimit",
    "ha-managed",
    "archive",
    "live-restore",
    "import-working-storage",
];

/// `STORAGE:SIZE` (a new disk in GiB, `\d+(\.\d+)?` as the real `NEW_DISK_RE`) of a disk
/// value's volume part.
fn new_disk(volume: &str) -> Option<(&str, f64)> {
    let (store, size) = volume.split_once(':')?;
    let (whole, fraction) = size.split_once('.').unwrap_or((size, "0"));
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if store.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    Some((store, size.parse().ok()?))
}

/// Allocates the new disks of a config in place, returning log lines, or the real error.
pub(crate) fn allocate_disks(
    s: &mut State,
    kind: Kind,
    vmid: u32,
    config: &mut BTreeMap<String, String>,
    only: Option<&[String]>,
) -> Result<Vec<String>, String> {
    let mut log = Vec::new();
    let keys: Vec<String> =
        config.keys().filter(|k| is_disk_key(kind, k) && only.is_none_or(|o| o.contains(k))).cloned().collect();
    for key in keys {
        let value = config[&key].clone();
        let mut parts = value.split(',');
        let volume = parts.next().unwrap_or("");
        let mut opts: Vec<&str> = parts.collect();
        if kind == Kind::Qemu && volume.ends_with(":cloudinit") {
            let store = volume.trim_end_matches(":cloudinit");
            let st = s.storages.get_mut(store).ok_or_else(|| format!("storage '{store}' does not exist"))?;
            let name = format!("vm-{vmid}-cloudinit");
            st.volumes.insert(
                name.clone(),
                crate::state::Volume {
                    content: "images".into(),
                    size: 4 << 20,
                    format: "raw".into(),
                    vmid: Some(vmid),
                },
            );
            config.insert(key.clone(), format!("{store}:{name},media=cdrom"));
            continue;
        }
        let Some((store, gib)) = new_disk(volume) else {
            // An existing volume must be there (a path, `none` and `cdrom` are not volumes).
            if !(volume.starts_with('/') || matches!(volume, "none" | "cdrom")) && s.volume(volume).is_none() {
                return Err(match volume.split_once(':') {
                    Some((store, _)) if !s.storages.contains_key(store) => format!("storage '{store}' does not exist"),
                    _ => format!("volume '{volume}' does not exist"),
                });
            }
            continue;
        };
        let import = opts.iter().find_map(|o| o.strip_prefix("import-from=")).map(str::to_string);
        opts.retain(|o| !o.starts_with("import-from=") && !o.starts_with("size="));
        let mut size = (gib * (1u64 << 30) as f64) as u64;
        if let Some(src) = &import {
            let src_size = if src.starts_with('/') {
                2 << 30
            } else {
                s.volume(src).map(|v| v.size).ok_or_else(|| format!("volume '{src}' does not exist"))?
            };
            size = size.max(src_size);
            log.push(format!("importing disk '{src}' to VM {vmid} ..."));
        }
        if key.starts_with("efidisk") || key.starts_with("tpmstate") {
            size = 4 << 20;
        }
        let st = s.storages.get_mut(store).ok_or_else(|| format!("storage '{store}' does not exist"))?;
        let name = st.allocate(store, kind, vmid, size)?;
        let mut rendered = vec![format!("{store}:{name}")];
        rendered.extend(opts.iter().map(|o| o.to_string()));
        rendered.push(format!("size={}", format_size(size)));
        let text = rendered.join(",");
        log.push(format!("{key}: successfully created disk '{text}'"));
        config.insert(key, text);
    }
    Ok(log)
}

/// The real `check_ct_modify_config_perm`'s rules that no role lifts: with anything but
/// `root@pam` itself (an API token of `root@pam` included), bind and device mount points, device
/// passthrough, hook scripts, and feature flags other than `nesting` (any feature flag on a
/// privileged container) are refused with 403.
pub(crate) fn check_ct_perm(
    cx: &Ctx,
    old: Option<&BTreeMap<String, String>>,
    changes: &mut dyn Iterator<Item = (&String, &String)>,
    delete: &[String],
    unprivileged: bool,
) -> Result<(), ApiError> {
    if cx.req.user == "root@pam" {
        return Ok(());
    }
    let refuse = |what: &str| Err(ApiError::Status(403, format!("Permission check failed ({what})")));
    let features = |v: Option<&String>| -> BTreeMap<String, String> {
        v.map(|v| v.split(',').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect())
            .unwrap_or_default()
    };
    let feature_check = |new: Option<&String>| {
        if !unprivileged {
            return refuse("changing feature flags for privileged container is only allowed for root@pam");
        }
        let old_features = features(old.and_then(|o| o.get("features")));
        let new_features = features(new);
        let other = if new.is_some() && !old_features.is_empty() {
            old_features
                .keys()
                .chain(new_features.keys())
                .any(|f| f != "nesting" && old_features.get(f) != new_features.get(f))
        } else {
            let set = if new.is_some() { &new_features } else { &old_features };
            !(set.is_empty() || (set.len() == 1 && set.contains_key("nesting")))
        };
        if other { refuse("changing feature flags (except nesting) is only allowed for root@pam") } else { Ok(()) }
    };
    for (k, v) in changes {
        let base = k.trim_end_matches(|c: char| c.is_ascii_digit());
        if k == "rootfs" || (base == "mp" && base.len() < k.len()) {
            let volume = v
                .split(',')
                .find(|p| !p.contains('='))
                .or_else(|| v.split(',').find_map(|p| p.strip_prefix("volume=")))
                .unwrap_or("");
            let kind = if volume.starts_with("/dev/") {
                "device"
            } else if volume.starts_with('/') {
                "bind"
            } else {
                "volume"
            };
            if kind != "volume" {
                return refuse(&format!("mount point type {kind} is only allowed for root@pam"));
            }
        } else if base == "dev" && base.len() < k.len() {
            return refuse("configuring device passthrough is only allowed for root@pam");
        } else if k == "hookscript" {
            return refuse("changing the hookscript is only allowed for root@pam");
        } else if k == "features" {
            feature_check(Some(v))?;
        }
    }
    for k in delete {
        if k == "hookscript" {
            return refuse("changing the hookscript is only allowed for root@pam");
        }
        if k == "features" {
            feature_check(None)?;
        }
    }
    Ok(())
}

pub fn create(cx: &Ctx, kind: Kind) -> Result<Value, ApiError> {
    let vmid = cx.vmid();
    let mut config: BTreeMap<String, String> = cx
        .params
        .iter()
        .filter(|(k, _)| !NOT_CONFIG.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), super::text_of(v)))
        .collect();
    if let Some(tags) = config.get("tags").cloned() {
        config.insert("tags".into(), normalize_tags(&tags));
    }
    if kind == Kind::Lxc {
        // A new container is unprivileged unless the request says otherwise.
        let unprivileged = config.get("unprivileged").is_none_or(|u| u == "1");
        check_ct_perm(cx, None, &mut config.iter(), &[], unprivileged)?;
    }
    let start = cx.flag("start");
    let storage = cx.text("storage").unwrap_or_else(|| "local".into());
    let ostemplate = cx.text("ostemplate");
    let sim = cx.sim;
    sim.with_state(|s| {
        if let Some(g) = s.guests.get(&vmid) {
            return Err(ApiError::fail(format!("{} {vmid} already exists on node '{}'", g.kind.short(), s.node)));
        }
        let mut log = Vec::new();
        if kind == Kind::Lxc {
            let template = ostemplate.clone().unwrap_or_default();
            if s.volume(&template).is_none() {
                return Err(ApiError::fail(format!("volume '{template}' does not exist")));
            }
            config.entry("rootfs".into()).or_insert_with(|| format!("{storage}:4"));
            config.entry("arch".into()).or_insert_with(|| "amd64".into());
            let os = template.rsplit('/').next().unwrap_or("").split(['-', '_']).next().unwrap_or("").to_string();
            let os = if matches!(os.as_str(), "debian" | "ubuntu" | "alpine" | "centos" | "fedora" | "archlinux") {
                os
            } else {
                "unmanaged".into()
            };
            config.entry("ostype".into()).or_insert(os);
            config.entry("hostname".into()).or_insert_with(|| format!("CT{vmid}"));
            config.entry("memory".into()).or_insert_with(|| "512".into());
            config.entry("swap".into()).or_insert_with(|| "512".into());
            config.entry("unprivileged".into()).or_insert_with(|| "1".into());
            log.push(format!(
                "extracting archive '/var/lib/vz/template/cache/{}'",
                template.rsplit('/').next().unwrap_or("")
            ));
            log.push("Detected container architecture: amd64".into());
        }
        log.extend(allocate_disks(s, kind, vmid, &mut config, None).map_err(|e| {
            ApiError::fail(format!("unable to create {} {vmid} - {e}", if kind == Kind::Lxc { "CT" } else { "VM" }))
        })?);
        config.insert("lock".into(), "create".into());
        let guest = Guest {
            vmid,
            kind,
            config,
            running: false,
            flock: None,
            runtime_note: None,
            pending: Default::default(),
            pending_delete: Vec::new(),
            snapshots: Vec::new(),
        };
        s.guests.insert(vmid, guest);
        let body = Box::new(move |s: &mut State, out: &mut Vec<String>| {
            out.extend(log);
            let g = s.guests.get_mut(&vmid).ok_or_else(|| format!("guest {vmid} vanished during creation"))?;
            g.config.remove("lock");
            if start {
                g.running = true;
                out.push(format!("starting {} {vmid}", kind.short()));
                return Ok(Effect::Start(GuestInfo::of(g)));
            }
            Ok(Effect::None)
        });
        let undo = Box::new(move |s: &mut State| {
            if let Some(g) = s.guests.remove(&vmid) {
                s.free_volumes(&g);
            }
        });
        let task = format!("{}create", kind.task_prefix());
        Ok(json!(sim.spawn_task(
            s,
            cx.req,
            crate::sim::TaskSpec {
                kind: task.clone(),
                id: vmid.to_string(),
                hold: Some(vmid),
                body,
                on_fail: Some(undo)
            }
        )))
    })
}
