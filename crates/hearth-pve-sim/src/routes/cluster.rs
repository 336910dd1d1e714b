//! The node and cluster views: version, nodes, node status, cluster resources, the next free
//! VMID and the backup jobs of `/cluster/backup`.

use serde_json::{Map, Value, json};

use super::Ctx;
use crate::response::ApiError;
use crate::state::Guest;

/// The simulated node's hardware, as `/nodes` and `/nodes/{node}/status` report it.
const CPUS: u64 = 16;
const MEMORY: u64 = 64 << 30;

pub fn version() -> Value {
    json!({ "version": "9.0.10", "release": "9.0", "repoid": "5d2bd1b8", "console": "xtermjs" })
}

pub fn nodes(cx: &Ctx) -> Value {
    let node = cx.sim.node();
    json!([{ "node": node, "status": "online", "type": "node", "id": format!("node/{node}"),
             "maxcpu": CPUS, "maxmem": MEMORY, "mem": used_memory(cx), "cpu": 0.02, "uptime": 86400, "level": "" }])
}

fn used_memory(cx: &Ctx) -> u64 {
    cx.sim.with_state(|s| s.guests.values().filter(|g| g.running).map(|g| g.memory_mib() << 20).sum())
}

pub fn node_status(cx: &Ctx) -> Value {
    json!({
        "uptime": 86400,
        "cpu": 0.02,
        "wait": 0,
        "loadavg": ["0.10", "0.12", "0.09"],
        "cpuinfo": { "cpus": CPUS, "cores": CPUS / 2, "sockets": 1, "model": "hearth-pve-sim virtual CPU", "mhz": "3000.000" },
        "memory": { "total": MEMORY, "used": used_memory(cx), "free": MEMORY - used_memory(cx).min(MEMORY) },
        "swap": { "total": 0, "used": 0, "free": 0 },
        "kversion": "Linux 6.14.8-2-pve #1 SMP PREEMPT_DYNAMIC",
        "pveversion": "pve-manager/9.0.10/5d2bd1b8",
        "boot-info": { "mode": "efi", "secureboot": 0 },
        "current-kernel": { "sysname": "Linux", "release": "6.14.8-2-pve", "machine": "x86_64", "version": "#1 SMP PREEMPT_DYNAMIC" },
    })
}

/// One guest as `/cluster/resources` and the guest lists show it.
pub fn guest_entry(node: &str, g: &Guest) -> Value {
    let mut v = json!({
        "id": format!("{}/{}", g.kind.word(), g.vmid),
        "type": g.kind.word(),
        "vmid": g.vmid,
        "name": g.name(),
        "node": node,
        "status": if g.running { "running" } else { "stopped" },
        "maxmem": g.memory_mib() << 20,
        "mem": if g.running { (g.memory_mib() << 20) / 4 } else { 0 },
        "maxdisk": g.root_disk_size(),
        "disk": 0,
        "maxcpu": g.cores().unwrap_or(1),
        "cpu": 0,
        "uptime": if g.running { 60 } else { 0 },
        "template": 0,
        "netin": 0,
        "netout": 0,
        "diskread": 0,
        "diskwrite": 0,
    });
    if let Some(tags) = g.config.get("tags") {
        v["tags"] = json!(tags);
    }
    if let Some(lock) = g.config.get("lock") {
        v["lock"] = json!(lock);
    }
    v
}

pub fn resources(cx: &Ctx) -> Value {
    let filter = cx.text("type");
    let want = |t: &str| filter.as_deref().is_none_or(|f| f == t);
    cx.sim.with_state(|s| {
        let mut out = Vec::new();
        if want("vm") {
            out.extend(s.guests.values().map(|g| guest_entry(&s.node, g)));
        }
        if want("storage") {
            for (id, st) in &s.storages {
                out.push(json!({
                    "id": format!("storage/{}/{id}", s.node), "type": "storage", "storage": id, "node": s.node,
                    "status": "available", "plugintype": st.kind, "content": st.content.join(","),
                    "disk": st.used(), "maxdisk": st.total, "shared": 0,
                }));
            }
        }
        if want("node") {
            out.push(json!({ "id": format!("node/{}", s.node), "type": "node", "node": s.node, "status": "online",
                             "maxcpu": CPUS, "maxmem": MEMORY, "cpu": 0.02, "uptime": 86400, "level": "" }));
        }
        json!(out)
    })
}

pub fn nextid(cx: &Ctx) -> Result<Value, ApiError> {
    cx.sim.with_state(|s| match cx.text("vmid") {
        Some(v) => {
            let id: u32 = v.parse().unwrap_or(0);
            if s.guests.contains_key(&id) {
                Err(ApiError::param("vmid", &format!("VM {id} already exists")))
            } else {
                Ok(json!(id))
            }
        }
        // The real node answers the number as a string.
        None => Ok(json!(s.next_id().to_string())),
    })
}

/// The parameters of a backup job request that are job properties.
fn job_properties(cx: &Ctx) -> Map<String, Value> {
    cx.params
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "id" | "delete" | "digest"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub fn backup_list(cx: &Ctx) -> Value {
    cx.sim.with_state(|s| json!(s.backup_jobs.iter().map(|(id, job)| with_id(id, job)).collect::<Vec<_>>()))
}

fn with_id(id: &str, job: &Map<String, Value>) -> Value {
    let mut v = Map::new();
    v.insert("id".into(), json!(id));
    v.insert("type".into(), json!("vzdump"));
    v.extend(job.clone());
    Value::Object(v)
}

fn not_found(id: &str) -> ApiError {
    ApiError::fail(format!("job '{id}' not found"))
}

pub fn backup_create(cx: &Ctx) -> Result<Value, ApiError> {
    let props = job_properties(cx);
    if !props.contains_key("vmid") && !cx.flag("all") && !props.contains_key("pool") {
        return Err(ApiError::param("vmid", "property is missing and it is not optional"));
    }
    cx.sim.with_state(|s| {
        let id = cx.text("id").unwrap_or_else(|| format!("backup-{:08x}-{:04x}", s.next_pid, s.backup_jobs.len()));
        if s.backup_jobs.contains_key(&id) {
            return Err(ApiError::fail(format!("Job '{id}' already exists")));
        }
        s.backup_jobs.insert(id, props);
        Ok(Value::Null)
    })
}

pub fn backup_get(cx: &Ctx) -> Result<Value, ApiError> {
    let id = cx.text("id").unwrap_or_default();
    cx.sim.with_state(|s| s.backup_jobs.get(&id).map(|j| with_id(&id, j)).ok_or_else(|| not_found(&id)))
}

pub fn backup_update(cx: &Ctx) -> Result<Value, ApiError> {
    let id = cx.text("id").unwrap_or_default();
    let props = job_properties(cx);
    let delete = cx.text("delete").unwrap_or_default();
    cx.sim.with_state(|s| {
        let job = s.backup_jobs.get_mut(&id).ok_or_else(|| not_found(&id))?;
        for key in delete.split([',', ';', ' ']).filter(|k| !k.is_empty()) {
            job.remove(key);
        }
        job.extend(props);
        Ok(Value::Null)
    })
}

pub fn backup_delete(cx: &Ctx) -> Result<Value, ApiError> {
    let id = cx.text("id").unwrap_or_default();
    cx.sim.with_state(|s| s.backup_jobs.remove(&id).map(|_| Value::Null).ok_or_else(|| not_found(&id)))
}

fn bridge_entry(name: &str, b: &crate::state::Bridge, priority: usize) -> Value {
    let mut v = json!({
        "iface": name, "type": "bridge", "active": 1, "autostart": 1, "bridge_ports": b.ports,
        "bridge_stp": "off", "bridge_fd": "0", "families": ["inet"], "method": "manual", "method6": "manual",
        "priority": priority,
    });
    if b.vlan_aware {
        v["bridge_vlan_aware"] = json!(1);
    }
    v
}

pub fn network_list(cx: &Ctx) -> Value {
    let filter = cx.text("type");
    let wanted = filter.as_deref().is_none_or(|t| matches!(t, "bridge" | "any_bridge" | "any_local_bridge"));
    cx.sim.with_state(|s| {
        json!(if wanted {
            s.bridges.iter().enumerate().map(|(i, (n, b))| bridge_entry(n, b, i + 3)).collect::<Vec<_>>()
        } else {
            Vec::new()
        })
    })
}

pub fn network_get(cx: &Ctx) -> Result<Value, ApiError> {
    let iface = cx.text("iface").unwrap_or_default();
    cx.sim.with_state(|s| match s.bridges.iter().enumerate().find(|(_, (n, _))| **n == iface) {
        Some((i, (n, b))) => Ok(bridge_entry(n, b, i + 3)),
        None => Err(ApiError::fail("interface does not exist")),
    })
}
