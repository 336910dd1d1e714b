//! Storages and their content, the appliance template index (`aplinfo`) and downloads into a
//! storage (`aplinfo`, `download-url`), which run as tasks and leave a volume behind.

use serde_json::{Value, json};

use super::Ctx;
use crate::response::ApiError;
use crate::sim::Effect;
use crate::state::Volume;

/// The templates `GET /nodes/{node}/aplinfo` offers (a small, fixed excerpt of the real index).
const TEMPLATES: &[(&str, &str, &str, &str)] = &[
    ("debian-12-standard_12.7-1_amd64.tar.zst", "debian-12-standard", "12.7-1", "debian-12"),
    ("debian-13-standard_13.1-2_amd64.tar.zst", "debian-13-standard", "13.1-2", "debian-13"),
    ("ubuntu-24.04-standard_24.04-2_amd64.tar.zst", "ubuntu-24.04-standard", "24.04-2", "ubuntu-24.04"),
    ("alpine-3.22-default_20250617_amd64.tar.xz", "alpine-3.22-default", "20250617", "alpine-3.22"),
];

pub fn aplinfo_list() -> Value {
    json!(
        TEMPLATES
            .iter()
            .map(|(template, package, version, os)| json!({
                "template": template, "package": package, "version": version, "os": os, "type": "lxc",
                "section": "system", "architecture": "amd64", "headline": format!("{package} (simulated)"),
                "location": format!("http://download.proxmox.com/images/system/{template}"),
                "source": format!("http://download.proxmox.com/images/system/{template}"),
                "maintainer": "hearth-pve-sim", "infopage": "https://pve.proxmox.com/wiki/Linux_Container",
                "description": format!("{package} as listed by the simulator"),
            }))
            .collect::<Vec<_>>()
    )
}

fn check_storage(cx: &Ctx, content: &str) -> Result<String, ApiError> {
    let id = cx.text("storage").unwrap_or_default();
    cx.sim.with_state(|s| match s.storages.get(&id) {
        None => Err(ApiError::fail(format!("storage '{id}' does not exist"))),
        Some(st) if !st.content.iter().any(|c| c == content) => {
            Err(ApiError::fail(format!("storage '{id}' does not support content-type '{content}'")))
        }
        Some(_) => Ok(id),
    })
}

/// A download task: the volume appears when the task ends.
fn download(cx: &Ctx, storage: String, name: String, content: &'static str, size: u64, url: String) -> Value {
    let sim = cx.sim;
    // The task's ID is the file's name, as in the real `fork_worker('download', $file, …)`.
    let id = name.rsplit('/').next().unwrap_or("").to_string();
    let volid = format!("{storage}:{name}");
    let upid = sim.with_state(|s| {
        let body = Box::new(move |s: &mut crate::state::State, log: &mut Vec<String>| {
            log.push(format!("downloading {url} to {volid}"));
            log.push(format!("download of '{url}' finished"));
            let format = name.rsplit('.').next().unwrap_or("raw").to_string();
            if let Some(st) = s.storages.get_mut(&storage) {
                st.volumes.insert(name, Volume { content: content.into(), size, format, vmid: None });
            }
            Ok(Effect::None)
        });
        sim.spawn_task(s, cx.req, crate::sim::TaskSpec { kind: "download".into(), id, hold: None, body, on_fail: None })
    });
    json!(upid)
}

pub fn aplinfo_download(cx: &Ctx) -> Result<Value, ApiError> {
    let template = cx.text("template").unwrap_or_default();
    if !TEMPLATES.iter().any(|(t, ..)| *t == template) {
        return Err(ApiError::param("template", "no such template"));
    }
    let storage = check_storage(cx, "vztmpl")?;
    let url = format!("http://download.proxmox.com/images/system/{template}");
    Ok(download(cx, storage, format!("vztmpl/{template}"), "vztmpl", 120 << 20, url))
}

pub fn download_url(cx: &Ctx) -> Result<Value, ApiError> {
    let content = cx.text("content").unwrap_or_default();
    let (content, dir, size): (&'static str, &str, u64) = match content.as_str() {
        "iso" => ("iso", "iso", 600 << 20),
        "vztmpl" => ("vztmpl", "vztmpl", 120 << 20),
        "import" => ("import", "import", 2 << 30),
        other => return Err(ApiError::param("content", &format!("invalid content type '{other}'"))),
    };
    let storage = check_storage(cx, content)?;
    let filename = cx.text("filename").unwrap_or_default();
    let url = cx.text("url").unwrap_or_default();
    Ok(download(cx, storage, format!("{dir}/{filename}"), content, size, url))
}

pub fn list(cx: &Ctx) -> Value {
    let content = cx.text("content");
    let only = cx.text("storage");
    cx.sim.with_state(|s| {
        json!(
            s.storages
                .iter()
                .filter(|(id, st)| {
                    only.as_deref().is_none_or(|o| o == id.as_str())
                        && content.as_deref().is_none_or(|c| c.split(',').all(|c| st.content.iter().any(|x| x == c)))
                })
                .map(|(id, st)| json!({
                    "storage": id, "type": st.kind, "content": st.content.join(","), "active": 1, "enabled": 1,
                    "shared": 0, "total": st.total, "used": st.used(), "avail": st.avail(),
                    "used_fraction": if st.total == 0 { 0.0 } else { st.used() as f64 / st.total as f64 },
                }))
                .collect::<Vec<_>>()
        )
    })
}

pub fn content(cx: &Ctx) -> Result<Value, ApiError> {
    let id = cx.text("storage").unwrap_or_default();
    let content = cx.text("content");
    let vmid = cx.text("vmid").and_then(|v| v.parse::<u32>().ok());
    cx.sim.with_state(|s| {
        let st = s.storages.get(&id).ok_or_else(|| ApiError::fail(format!("storage '{id}' does not exist")))?;
        Ok(json!(st
            .volumes
            .iter()
            .filter(|(_, v)| content.as_deref().is_none_or(|c| c == v.content) && vmid.is_none_or(|id| v.vmid == Some(id)))
            .map(|(name, v)| {
                let mut e = json!({ "volid": format!("{id}:{name}"), "content": v.content, "format": v.format, "size": v.size, "ctime": 0 });
                if let Some(vmid) = v.vmid {
                    e["vmid"] = json!(vmid);
                }
                e
            })
            .collect::<Vec<_>>()))
    })
}

pub fn status(cx: &Ctx) -> Result<Value, ApiError> {
    let id = cx.text("storage").unwrap_or_default();
    cx.sim.with_state(|s| {
        let st = s.storages.get(&id).ok_or_else(|| ApiError::fail(format!("storage '{id}' does not exist")))?;
        Ok(json!({
            "type": st.kind, "content": st.content.join(","), "active": 1, "enabled": 1, "shared": 0,
            "total": st.total, "used": st.used(), "avail": st.avail(),
        }))
    })
}
