//! One guest: its config (read with its digest, changed with `PUT`/`POST …/config`), status,
//! start, stop, shutdown, disk resize and destruction, with the real node's checks: the config
//! lock, the `lock` property, the digest, running state, protection, and disks that only grow.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::Ctx;
use super::create::{allocate_disks, check_ct_perm};
use crate::response::ApiError;
use crate::runtime::GuestInfo;
use crate::sim::Effect;
use crate::state::guest::{format_size, normalize_tags, size_of};
use crate::state::{Guest, Kind, State};

pub fn list(cx: &Ctx, kind: Kind) -> Value {
    cx.sim.with_state(|s| {
        json!(
            s.guests
                .values()
                .filter(|g| g.kind == kind)
                .map(|g| super::cluster::guest_entry(&s.node, g))
                .collect::<Vec<_>>()
        )
    })
}

fn get_guest<R>(cx: &Ctx, kind: Kind, f: impl FnOnce(&Guest) -> R) -> Result<R, ApiError> {
    let vmid = cx.vmid();
    cx.sim.with_state(|s| match s.guests.get(&vmid).filter(|g| g.kind == kind) {
        Some(g) => Ok(f(g)),
        None => Err(crate::sim::Sim::missing(&s.node, kind, vmid)),
    })
}

/// The config with values typed as the schema's answer types them (integers as numbers).
pub fn config_get(cx: &Ctx, kind: Kind) -> Result<Value, ApiError> {
    let template = format!("/nodes/{{node}}/{}/{{vmid}}/config", kind.word());
    let segments: Vec<String> = crate::schema::split_path(&template).map(str::to_string).collect();
    let returns = cx
        .sim
        .schema
        .find(&segments)
        .and_then(|(e, _)| e.method("GET").map(|i| i["returns"]["properties"].clone()))
        .unwrap_or(Value::Null);
    let current = cx.flag("current");
    get_guest(cx, kind, |g| {
        let mut out = Map::new();
        let config = if current { g.config.clone() } else { g.effective_config() };
        for (k, v) in &config {
            let ty = returns.get(k).and_then(|p| p.get("type")).and_then(Value::as_str).unwrap_or("string");
            let typed = match ty {
                "integer" | "boolean" => v.parse::<i64>().map(Value::from).unwrap_or_else(|_| json!(v)),
                "number" => v.parse::<f64>().map(Value::from).unwrap_or_else(|_| json!(v)),
                _ => json!(v),
            };
            out.insert(k.clone(), typed);
        }
        out.insert("digest".into(), json!(g.digest()));
        Value::Object(out)
    })
}

/// The real `check_lock`: a `lock` property refuses changes unless `skiplock`.
fn check_lock(g: &Guest, skiplock: bool) -> Result<(), ApiError> {
    match g.config.get("lock") {
        Some(lock) if !skiplock => Err(ApiError::fail(format!("{} is locked ({lock})", g.kind.short()))),
        _ => Ok(()),
    }
}

fn check_digest(g: &Guest, digest: Option<&str>) -> Result<(), ApiError> {
    match digest {
        Some(d) if d != g.digest() => {
            Err(ApiError::fail("detected modified configuration - file changed by other user? Try again."))
        }
        _ => Ok(()),
    }
}

/// Parameters of a config update that are not config keys.
const NOT_CONFIG: &[&str] =
    &["node", "vmid", "digest", "delete", "revert", "skiplock", "force", "background_delay", "import-working-storage"];

pub async fn config_put(cx: &Ctx<'_>, kind: Kind, asynchronous: bool) -> Result<Value, ApiError> {
    let vmid = cx.vmid();
    let changes: Vec<(String, String)> = cx
        .params
        .iter()
        .filter(|(k, _)| !NOT_CONFIG.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), super::text_of(v)))
        .collect();
    let delete: Vec<String> = cx
        .text("delete")
        .unwrap_or_default()
        .split([',', ';', ' ', '\0'])
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect();
    let digest = cx.text("digest");
    let skiplock = cx.flag("skiplock");
    let sim = cx.sim;
    let (answer, live) = sim
        .with_guest_lock(cx.req, kind, vmid, |s: &mut State| {
            let g = s.guests.get(&vmid).ok_or_else(|| crate::sim::Sim::missing(&s.node, kind, vmid))?;
            if kind == Kind::Lxc {
                let unprivileged = g.config.get("unprivileged").is_some_and(|u| u == "1");
                check_ct_perm(cx, Some(&g.config), &mut changes.iter().map(|(k, v)| (k, v)), &delete, unprivileged)?;
            }
            check_digest(g, digest.as_deref())?;
            // Setting or clearing `lock` itself is how an operator unlocks a guest.
            if !changes.iter().any(|(k, _)| k == "lock") && !delete.iter().any(|k| k == "lock") {
                check_lock(g, skiplock)?;
            }
            // A running guest takes only hot-pluggable changes at once; the rest waits in
            // `[PENDING]` for its next start, as `qm set` and `pct set` on a running guest do.
            let exists = |key: &str| g.config.contains_key(key);
            let deferred = |key: &str, deleting: bool| g.running && !hot_pluggable(kind, key, exists(key), deleting);
            let mut config = g.config.clone();
            let mut pending = g.pending.clone();
            let mut pending_delete = g.pending_delete.clone();
            for key in &delete {
                if key == "rootfs" {
                    return Err(ApiError::param("delete", "unable to delete required option 'rootfs'"));
                }
                pending.remove(key);
                if deferred(key, true) {
                    if config.contains_key(key) && !pending_delete.contains(key) {
                        pending_delete.push(key.clone());
                    }
                } else {
                    config.remove(key);
                }
            }
            let mut new_keys = Vec::new();
            for (k, v) in &changes {
                let v = if k == "tags" { normalize_tags(v) } else { v.clone() };
                pending_delete.retain(|d| d != k);
                if deferred(k, false) {
                    if config.get(k) == Some(&v) {
                        pending.remove(k);
                    } else {
                        pending.insert(k.clone(), v);
                    }
                    continue;
                }
                if config.get(k) != Some(&v) {
                    new_keys.push(k.clone());
                }
                config.insert(k.clone(), v);
            }
            let log = allocate_disks(s, kind, vmid, &mut config, Some(&new_keys)).map_err(ApiError::fail)?;
            let g = s.guests.get_mut(&vmid).ok_or_else(|| ApiError::fail("guest vanished"))?;
            g.config = config;
            g.pending = pending;
            g.pending_delete = pending_delete;
            // A running guest's new limits reach whatever runs it at once, as the real node writes
            // a container's cgroup and hot-plugs a VM's memory.
            let live = g.running && new_keys.iter().any(|k| LIMITS.contains(&k.as_str()));
            let info = live.then(|| GuestInfo::of(g));
            if !asynchronous {
                return Ok((Value::Null, info));
            }
            let body = Box::new(move |_: &mut State, out: &mut Vec<String>| {
                out.extend(log);
                out.push("update VM config".into());
                Ok(info.map_or(Effect::None, Effect::Update))
            });
            Ok((
                json!(sim.spawn_task(
                    s,
                    cx.req,
                    crate::sim::TaskSpec {
                        kind: "qmconfig".into(),
                        id: vmid.to_string(),
                        hold: Some(vmid),
                        body,
                        on_fail: None
                    }
                )),
                None,
            ))
        })
        .await?;
    if let (Value::Null, Some(info)) = (&answer, live) {
        sim.update_runtime(info).await;
    }
    Ok(answer)
}

/// The config keys whose change on a running guest its runtime applies at once.
const LIMITS: &[&str] = &["memory", "swap", "cores", "cpulimit"];

pub fn status_current(cx: &Ctx, kind: Kind) -> Result<Value, ApiError> {
    let node = cx.sim.node();
    get_guest(cx, kind, |g| {
        let entry = super::cluster::guest_entry(&node, g);
        let mut v = Value::Object(
            entry
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, _)| *k != "id" && *k != "node")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        );
        if let Some(o) = v.as_object_mut() {
            o.insert("cpus".into(), json!(g.cores().unwrap_or(1)));
            o.insert("ha".into(), json!({ "managed": 0 }));
            if kind == Kind::Qemu {
                o.insert("qmpstatus".into(), json!(if g.running { "running" } else { "stopped" }));
                o.insert("agent".into(), json!(0));
            }
        }
        v
    })
}

/// A power action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    Start,
    Stop,
    Shutdown,
    Reboot,
}

pub async fn power(cx: &Ctx<'_>, kind: Kind, action: Power) -> Result<Value, ApiError> {
    let vmid = cx.vmid();
    let skiplock = cx.flag("skiplock");
    let sim = cx.sim;
    let short = kind.short();
    let snippets_dir = sim.config.snippets_dir.clone();
    sim.with_guest_lock(cx.req, kind, vmid, |s: &mut State| {
        let g = s.guests.get(&vmid).ok_or_else(|| crate::sim::Sim::missing(&s.node, kind, vmid))?;
        let precheck = power_precheck(s, g, action, skiplock, snippets_dir.as_deref());
        let (verb, running) = match action {
            Power::Start => ("start", true),
            Power::Stop => ("stop", false),
            Power::Shutdown => ("shutdown", false),
            Power::Reboot => ("reboot", true),
        };
        let task = format!("{}{verb}", kind.task_prefix());
        if let Err(msg) = precheck {
            // The container API checks before its worker starts; `qm` checks inside the worker,
            // so a VM's refusal is a task that fails.
            if kind == Kind::Lxc {
                return Err(ApiError::fail(msg));
            }
            let body = Box::new(move |_: &mut State, _: &mut Vec<String>| Err(msg));
            let spec = crate::sim::TaskSpec { kind: task, id: vmid.to_string(), hold: Some(vmid), body, on_fail: None };
            return Ok(json!(sim.spawn_task(s, cx.req, spec)));
        }
        let body = Box::new(move |s: &mut State, out: &mut Vec<String>| {
            let g = s.guests.get_mut(&vmid).ok_or_else(|| format!("{short} {vmid} vanished"))?;
            g.running = running;
            if running {
                g.apply_pending();
            }
            out.push(format!("{verb} {short} {vmid}"));
            let info = GuestInfo::of(g);
            Ok(match action {
                Power::Start => Effect::Start(info),
                Power::Reboot => Effect::Restart(info),
                Power::Stop | Power::Shutdown => Effect::Stop(info),
            })
        });
        // A start the runtime refuses leaves the guest stopped; a failed stop leaves it running.
        let undo = Box::new(move |s: &mut State| {
            if let Some(g) = s.guests.get_mut(&vmid) {
                g.running = match action {
                    Power::Start | Power::Reboot => false,
                    Power::Stop | Power::Shutdown => true,
                };
            }
        });
        Ok(json!(sim.spawn_task(
            s,
            cx.req,
            crate::sim::TaskSpec { kind: task, id: vmid.to_string(), hold: Some(vmid), body, on_fail: Some(undo) }
        )))
    })
    .await
}

/// What the real node checks before a power action: the `lock` property, the running state, and
/// for a start the cloud-init snippets and bridges the guest needs.
fn power_precheck(
    s: &State,
    g: &Guest,
    action: Power,
    skiplock: bool,
    snippets_dir: Option<&std::path::Path>,
) -> Result<(), String> {
    let (short, vmid) = (g.kind.short(), g.vmid);
    if let Some(lock) = g.config.get("lock").filter(|_| !skiplock) {
        return Err(format!("{short} is locked ({lock})"));
    }
    match (action, g.running) {
        (Power::Start, true) => return Err(format!("{short} {vmid} already running")),
        (Power::Stop | Power::Shutdown | Power::Reboot, false) => return Err(format!("{short} {vmid} not running")),
        _ => {}
    }
    if matches!(action, Power::Start | Power::Reboot) {
        let config = g.effective_config();
        if let Some(missing) = missing_snippet(s, &config, snippets_dir) {
            return Err(format!("volume '{missing}' does not exist"));
        }
        if let Some(bridge) = missing_bridge(s, &config) {
            return Err(format!("bridge '{bridge}' does not exist"));
        }
    }
    Ok(())
}

/// A `cicustom` snippet a VM start needs that neither the node's volumes nor the snippets folder
/// holds.
fn missing_snippet(s: &State, config: &BTreeMap<String, String>, dir: Option<&std::path::Path>) -> Option<String> {
    let custom = config.get("cicustom")?;
    custom.split(',').filter_map(|p| p.split_once('=').map(|(_, v)| v)).find_map(|volid| {
        let known = s.volume(volid).is_some()
            || dir.zip(volid.split_once(":snippets/")).is_some_and(|(d, (_, name))| d.join(name).is_file());
        (!known).then(|| volid.to_string())
    })
}

/// A `bridge=` of the guest's interfaces the node does not have.
fn missing_bridge(s: &State, config: &BTreeMap<String, String>) -> Option<String> {
    config
        .iter()
        .filter(|(k, _)| k.starts_with("net") && k[3..].parse::<u32>().is_ok())
        .filter_map(|(_, v)| v.split(',').find_map(|p| p.strip_prefix("bridge=")))
        .find(|b| !s.bridges.contains_key(*b))
        .map(str::to_string)
}

/// Whether a running guest takes a change (or a deletion) of `key` at once.
///
/// A VM: the options the real node always applies at once (`$fast_plug_option`) and, with the
/// default `hotplug` (`network,disk,usb`), interfaces and disks. A container: the fast-plug
/// options (`$LXC_FASTPLUG_OPTIONS`), CPU limits, memory and swap, interfaces, and mount points
/// or devices that are new (`vmconfig_hotplug_pending`); a deletion only of the fast-plug
/// options, CPU limits and interfaces.
fn hot_pluggable(kind: Kind, key: &str, exists: bool, deleting: bool) -> bool {
    let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let indexed = base.len() < key.len();
    match kind {
        Kind::Qemu => {
            matches!(
                key,
                "lock"
                    | "name"
                    | "onboot"
                    | "shares"
                    | "startup"
                    | "description"
                    | "protection"
                    | "vmstatestorage"
                    | "hookscript"
                    | "tags"
            ) || (indexed && matches!(base, "net" | "scsi" | "virtio" | "sata" | "usb" | "unused"))
        }
        Kind::Lxc => {
            let fast = matches!(
                key,
                "description"
                    | "onboot"
                    | "startup"
                    | "protection"
                    | "hostname"
                    | "hookscript"
                    | "cores"
                    | "tags"
                    | "lock"
            );
            let cpu_or_net = matches!(key, "cpulimit" | "cpuunits") || (indexed && base == "net");
            if deleting {
                return fast || cpu_or_net;
            }
            fast || cpu_or_net
                || matches!(key, "memory" | "swap")
                || (indexed && matches!(base, "mp" | "dev") && !exists)
        }
    }
}

/// `GET /nodes/{node}/{qemu,lxc}/{vmid}/pending`: every key with its current value and, where a
/// change waits for the next start, the pending value or `delete`.
pub fn pending(cx: &Ctx, kind: Kind) -> Result<Value, ApiError> {
    get_guest(cx, kind, |g| {
        let mut keys: Vec<&String> = g.config.keys().chain(g.pending.keys()).collect();
        keys.sort();
        keys.dedup();
        json!(
            keys.into_iter()
                .map(|k| {
                    let mut e = json!({ "key": k });
                    if let Some(v) = g.config.get(k) {
                        e["value"] = json!(v);
                    }
                    if let Some(p) = g.pending.get(k) {
                        e["pending"] = json!(p);
                    }
                    if g.pending_delete.contains(k) {
                        e["delete"] = json!(1);
                    }
                    e
                })
                .collect::<Vec<_>>()
        )
    })
}

pub async fn resize(cx: &Ctx<'_>, kind: Kind) -> Result<Value, ApiError> {
    let vmid = cx.vmid();
    let disk = cx.text("disk").unwrap_or_default();
    let size = cx.text("size").unwrap_or_default();
    let digest = cx.text("digest");
    let skiplock = cx.flag("skiplock");
    let sim = cx.sim;
    sim.with_guest_lock(cx.req, kind, vmid, |s: &mut State| {
        let g = s.guests.get(&vmid).ok_or_else(|| crate::sim::Sim::missing(&s.node, kind, vmid))?;
        check_digest(g, digest.as_deref())?;
        check_lock(g, skiplock)?;
        let value =
            g.config.get(&disk).cloned().ok_or_else(|| ApiError::fail(format!("disk '{disk}' does not exist")))?;
        let volid = value.split(',').next().unwrap_or("").to_string();
        if volid.starts_with('/') {
            return Err(ApiError::fail(format!(
                "you can't resize a mount point or a disk that is not a volume ('{disk}')"
            )));
        }
        let current = size_of(&value).unwrap_or(0);
        let (relative, amount) = match size.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, size.as_str()),
        };
        let amount = crate::schema::parse_disk_size(amount).ok_or_else(|| ApiError::param("size", "invalid size"))?;
        let new = if relative { current + amount } else { amount };
        if new < current {
            let msg = if kind == Kind::Lxc { "unable to shrink disk size" } else { "shrinking disks is not supported" };
            return Err(ApiError::fail(msg));
        }
        let disk = disk.clone();
        let (store, name) = volid.split_once(':').map(|(a, b)| (a.to_string(), b.to_string())).unwrap_or_default();
        let grow = new - current;
        if let Some(st) = s.storages.get(&store)
            && grow > st.avail()
        {
            return Err(ApiError::fail(format!(
                "unable to resize '{volid}': not enough free space on storage '{store}'"
            )));
        }
        let body = Box::new(move |s: &mut State, out: &mut Vec<String>| {
            if let Some(v) = s.storages.get_mut(&store).and_then(|st| st.volumes.get_mut(&name)) {
                v.size = new;
            }
            let g = s.guests.get_mut(&vmid).ok_or_else(|| format!("guest {vmid} vanished"))?;
            let mut parts: Vec<String> =
                value.split(',').filter(|p| !p.starts_with("size=")).map(str::to_string).collect();
            parts.push(format!("size={}", format_size(new)));
            g.config.insert(disk.clone(), parts.join(","));
            out.push(format!(
                "Size of logical volume {name} changed from {} to {}",
                format_size(current),
                format_size(new)
            ));
            Ok(Effect::None)
        });
        Ok(json!(sim.spawn_task(
            s,
            cx.req,
            crate::sim::TaskSpec { kind: "resize".into(), id: vmid.to_string(), hold: Some(vmid), body, on_fail: None }
        )))
    })
    .await
}

pub async fn destroy(cx: &Ctx<'_>, kind: Kind) -> Result<Value, ApiError> {
    let vmid = cx.vmid();
    let skiplock = cx.flag("skiplock");
    let sim = cx.sim;
    let short = kind.short();
    sim.with_guest_lock(cx.req, kind, vmid, |s: &mut State| {
        let g = s.guests.get(&vmid).ok_or_else(|| crate::sim::Sim::missing(&s.node, kind, vmid))?;
        check_lock(g, skiplock)?;
        if g.config.get("protection").is_some_and(|p| p == "1") {
            return Err(ApiError::fail(format!("can't remove {short} {vmid} - protection mode enabled")));
        }
        if g.running {
            return Err(ApiError::fail(format!("{short} {vmid} is running - destroy failed")));
        }
        let body = Box::new(move |s: &mut State, out: &mut Vec<String>| {
            let g = s.guests.remove(&vmid).ok_or_else(|| format!("{short} {vmid} vanished"))?;
            s.free_volumes(&g);
            out.push(format!("destroyed {short} {vmid}"));
            Ok(Effect::Destroy(GuestInfo::of(&g)))
        });
        let task = format!("{}destroy", kind.task_prefix());
        Ok(json!(sim.spawn_task(
            s,
            cx.req,
            crate::sim::TaskSpec { kind: task.clone(), id: vmid.to_string(), hold: Some(vmid), body, on_fail: None }
        )))
    })
    .await
}
