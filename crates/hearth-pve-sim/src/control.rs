//! The control interface under `/_sim`, outside the API and without authentication (the
//! simulator listens on loopback or a lab network only): fault rules, the state, and volumes
//! put on a storage the way the operator would over SSH (snippets, imported images).
//!
//! - `GET /_sim/faults`, `POST /_sim/faults` (a rule or `{"rules": [...]}`, appended),
//!   `DELETE /_sim/faults`
//! - `GET /_sim/stats` (requests, refusals, most tasks at once), `DELETE /_sim/stats`
//! - `GET /_sim/state`
//! - `PUT /_sim/volumes/STORAGE/NAME` with `{"content": "snippets", "size": 1024}`

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
