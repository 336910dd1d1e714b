//! The handlers of the endpoints the simulator implements, chosen by the schema template the
//! request matched. Parameters arrive validated; a handler checks what the real node checks
//! beyond the schema (existence, locks, digests, running state) with the real messages.

mod cluster;
mod create;
mod guests;
mod snapshots;
mod storage;
mod tasks;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::response::ApiError;
use crate::sim::{Request, Sim};
use crate::state::Kind;

/// What a handler gets.
pub struct Ctx<'a> {
    pub sim: &'a Arc<Sim>,
    pub req: &'a Request,
    pub params: &'a Map<String, Value>,
}

impl Ctx<'_> {
    /// A parameter as text (numbers and booleans as the real server prints them).
    pub fn text(&self, key: &str) -> Option<String> {
        self.params.get(key).filter(|v| !v.is_null()).map(text_of)
    }

    /// A boolean parameter (`1`, `true`).
    pub fn flag(&self, key: &str) -> bool {
        self.text(key).is_some_and(|v| v == "1" || v == "true")
    }

    /// The `vmid` (validated by the schema as an integer in range).
    pub fn vmid(&self) -> u32 {
        self.text("vmid").and_then(|v| v.trim_start_matches('+').parse().ok()).unwrap_or(0)
    }
}

/// A parameter value as the text a Perl scalar would print.
pub fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "1" } else { "0" }.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (_, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// Runs the handler of `template` for the request.
pub async fn dispatch(
    sim: &Arc<Sim>,
    req: &Request,
    template: &str,
    params: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let cx = Ctx { sim, req, params };
    let m = req.method.as_str();
    let kind = if template.starts_with("/nodes/{node}/lxc") {
        Some(Kind::Lxc)
    } else if template.starts_with("/nodes/{node}/qemu") {
        Some(Kind::Qemu)
    } else {
        None
    };
    let guest_path = template.split_once("/{vmid}").map(|(_, rest)| rest);
    match (m, template, kind, guest_path) {
        ("GET", "/version", ..) => Ok(cluster::version()),
        ("GET", "/nodes", ..) => Ok(cluster::nodes(&cx)),
        ("GET", "/nodes/{node}/status", ..) => Ok(cluster::node_status(&cx)),
        ("GET", "/cluster/resources", ..) => Ok(cluster::resources(&cx)),
        ("GET", "/cluster/nextid", ..) => cluster::nextid(&cx),
        ("GET", "/cluster/backup", ..) => Ok(cluster::backup_list(&cx)),
        ("POST", "/cluster/backup", ..) => cluster::backup_create(&cx),
        ("GET", "/cluster/backup/{id}", ..) => cluster::backup_get(&cx),
        ("PUT", "/cluster/backup/{id}", ..) => cluster::backup_update(&cx),
        ("DELETE", "/cluster/backup/{id}", ..) => cluster::backup_delete(&cx),
        ("GET", "/nodes/{node}/network", ..) => Ok(cluster::network_list(&cx)),
        ("GET", "/nodes/{node}/network/{iface}", ..) => cluster::network_get(&cx),
        ("GET", "/nodes/{node}/storage", ..) => Ok(storage::list(&cx)),
        ("GET", "/nodes/{node}/storage/{storage}/status", ..) => storage::status(&cx),
        ("GET", "/nodes/{node}/storage/{storage}/content", ..) => storage::content(&cx),
        ("POST", "/nodes/{node}/storage/{storage}/download-url", ..) => storage::download_url(&cx),
        ("GET", "/nodes/{node}/aplinfo", ..) => Ok(storage::aplinfo_list()),
        ("POST", "/nodes/{node}/aplinfo", ..) => storage::aplinfo_download(&cx),
        ("GET", "/nodes/{node}/tasks", ..) => Ok(tasks::list(&cx)),
        ("GET", "/nodes/{node}/tasks/{upid}/status", ..) => tasks::status(&cx),
        ("GET", "/nodes/{node}/tasks/{upid}/log", ..) => tasks::log(&cx),
        ("GET", _, Some(k), None) if template.ends_with("/lxc") || template.ends_with("/qemu") => {
            Ok(guests::list(&cx, k))
        }
        ("POST", _, Some(k), None) if template.ends_with("/lxc") || template.ends_with("/qemu") => {
            create::create(&cx, k)
        }
        ("GET", _, Some(k), Some("/config")) => guests::config_get(&cx, k),
        ("PUT", _, Some(k), Some("/config")) => guests::config_put(&cx, k, false).await,
        ("POST", _, Some(Kind::Qemu), Some("/config")) => guests::config_put(&cx, Kind::Qemu, true).await,
        ("GET", _, Some(k), Some("/status/current")) => guests::status_current(&cx, k),
        ("POST", _, Some(k), Some("/status/start")) => guests::power(&cx, k, guests::Power::Start).await,
        ("POST", _, Some(k), Some("/status/stop")) => guests::power(&cx, k, guests::Power::Stop).await,
        ("POST", _, Some(k), Some("/status/shutdown")) => guests::power(&cx, k, guests::Power::Shutdown).await,
        ("POST", _, Some(k), Some("/status/reboot")) => guests::power(&cx, k, guests::Power::Reboot).await,
        ("GET", _, Some(k), Some("/pending")) => guests::pending(&cx, k),
        ("PUT", _, Some(k), Some("/resize")) => guests::resize(&cx, k).await,
        ("DELETE", _, Some(k), Some("")) => guests::destroy(&cx, k).await,
        ("GET", _, Some(k), Some("/snapshot")) => snapshots::list(&cx, k),
        ("POST", _, Some(k), Some("/snapshot")) => snapshots::create(&cx, k).await,
        ("DELETE", _, Some(k), Some("/snapshot/{snapname}")) => snapshots::delete(&cx, k).await,
        _ => Err(ApiError::NotImplemented(format!(
            "Method '{m} {}' not implemented (hearth-pve-sim does not simulate it)",
            req.path
        ))),
    }
}
