//! The control interface under `/_sim`, outside the API and without authentication (the
//! simulator listens on loopback or a lab network only): fault rules, the state, and volumes
//! put on a storage the way the operator would over SSH (snippets, imported images).
//!
//! - `GET /_sim/faults`, `POST /_sim/faults` (a rule or `{"rules": [...]}`, appended),
//!   `DELETE /_sim/faults`
//! - `GET /_sim/stats` (requests, refusals, most tasks at once), `DELETE /_sim/stats`
//! - `GET /_sim/state`
//! - `PUT /_sim/volumes/STORAGE/NAME` with `{"content": "snippets", "size": 1024}`
//! - `POST /_sim/pct` with `{"argv": ["pct", "set", "101", "-mp0", "/tank/media,mp=/media"]}`:
//!   the stand-in for root's `pct set` over SSH on the node (bind mounts, `devN`, feature flags,
//!   which the API refuses a token), acting on the config as `pct` acts on the config file

use axum::body::{Body, to_bytes};
use axum::http::Request as HttpRequest;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::faults::{Faults, Rule};
use crate::response::{ApiError, ok};
use crate::sim::Sim;
use crate::state::Volume;

#[derive(Deserialize)]
#[serde(untagged)]
enum NewRules {
    Many { rules: Vec<Rule> },
    One(Rule),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Pct {
    argv: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewVolume {
    content: String,
    #[serde(default)]
    size: u64,
}

async fn body_json<T: for<'de> Deserialize<'de>>(req: HttpRequest<Body>) -> Result<T, ApiError> {
    let bytes = to_bytes(req.into_body(), 1 << 20).await.map_err(|_| ApiError::Status(413, "body too large".into()))?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::Status(400, format!("invalid control request: {e}")))
}

/// Serves one control request.
pub async fn handle(sim: &Sim, method: &str, path: &str, req: HttpRequest<Body>) -> Response {
    let result = match (method, path) {
        ("GET", "/faults") => Ok(sim.with_faults(|f| json!(f.rules))),
        ("DELETE", "/faults") => {
            sim.with_faults(|f| *f = Faults::default());
            Ok(Value::Null)
        }
        ("POST", "/faults") => match body_json::<NewRules>(req).await {
            Ok(NewRules::Many { rules }) => Ok(sim.with_faults(|f| {
                f.rules.extend(rules);
                json!(f.rules)
            })),
            Ok(NewRules::One(rule)) => Ok(sim.with_faults(|f| {
                f.rules.push(rule);
                json!(f.rules)
            })),
            Err(e) => Err(e),
        },
        ("GET", "/stats") => Ok(sim.with_stats(|st| serde_json::to_value(&*st).unwrap_or(Value::Null))),
        ("DELETE", "/stats") => {
            sim.with_stats(|st| *st = crate::sim::Stats::default());
            Ok(Value::Null)
        }
        ("POST", "/pct") => match body_json::<Pct>(req).await {
            Ok(Pct { argv }) => match pct_set(sim, &argv) {
                Ok(()) => {
                    sim.persist();
                    Ok(Value::Null)
                }
                Err(e) => Err(ApiError::Status(400, e)),
            },
            Err(e) => Err(e),
        },
        ("GET", "/state") => Ok(sim.with_state(|s| serde_json::to_value(&*s).unwrap_or(Value::Null))),
        ("PUT", p) if p.starts_with("/volumes/") => {
            let rest = &p["/volumes/".len()..];
            match rest.split_once('/') {
                Some((store, name)) if !name.is_empty() => match body_json::<NewVolume>(req).await {
                    Ok(v) => {
                        let name = crate::server::decode(name, false);
                        let added = sim.with_state(|s| match s.storages.get_mut(store) {
                            Some(st) => {
                                let format = name.rsplit('.').next().unwrap_or("raw").to_string();
                                st.volumes.insert(
                                    name.clone(),
                                    Volume { content: v.content, size: v.size, format, vmid: None },
                                );
                                Ok(json!(format!("{store}:{name}")))
                            }
                            None => Err(ApiError::Status(404, format!("storage '{store}' does not exist"))),
                        });
                        if added.is_ok() {
                            sim.persist();
                        }
                        added
                    }
                    Err(e) => Err(e),
                },
                _ => Err(ApiError::Status(404, "use PUT /_sim/volumes/STORAGE/NAME".into())),
            }
        }
        _ => Err(ApiError::Status(404, format!("no control endpoint {method} /_sim{path}"))),
    };
    match result {
        Ok(v) => ok(v),
        Err(e) => e.into_response(),
    }
}

/// `pct set VMID -KEY VALUE ... [-delete KEYS]` on the simulator's state, as root runs it on the
/// node: no permission check and no digest, the guest's config lock respected.
pub fn pct_set(sim: &Sim, argv: &[String]) -> Result<(), String> {
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    let ["pct", "set", vmid, rest @ ..] = words.as_slice() else {
        return Err(format!("only `pct set VMID -KEY VALUE ...` is simulated, not `{}`", argv.join(" ")));
    };
    let vmid: u32 = vmid.parse().map_err(|_| format!("`{vmid}` is not a guest id"))?;
    sim.with_state(|s| {
        let node = s.node.clone();
        let g = s
            .guests
            .get_mut(&vmid)
            .filter(|g| g.kind == crate::state::Kind::Lxc)
            .ok_or_else(|| format!("Configuration file 'nodes/{node}/lxc/{vmid}.conf' does not exist"))?;
        if let Some(task) = &g.flock {
            return Err(format!("CT {vmid} is locked by task {task}: try again"));
        }
        for pair in rest.chunks(2) {
            let [key, value] = pair else {
                return Err(format!("`{}` has no value", pair.first().copied().unwrap_or_default()));
            };
            let Some(key) = key.strip_prefix('-') else {
                return Err(format!("`{key}` is not an option (`-KEY VALUE`)"));
            };
            if key == "delete" {
                for k in value.split(',').filter(|k| !k.is_empty()) {
                    g.config.remove(k);
                }
            } else {
                g.config.insert(key.to_string(), (*value).to_string());
            }
        }
        Ok(())
    })
}
