//! The requests Hearth renders for the guests of every example, sent to the simulator as the API
//! client will send them: each creation passes the schema check and its task ends OK, each disk
//! resize applies, and each directory mapping passes the schema check (the simulator does not
//! implement mappings, so it answers 501 after validating).

use std::collections::BTreeMap;
use std::path::PathBuf;

use hearth_pve_sim::State;
use hearth_pve_sim::state::{Storage, Volume};
use hearth_render::{Context, Kind};
use serde_json::{Map, Value};

use crate::common::{Body, start_with};

/// A rendered request: its file's path and its parameters.
type Request = (String, Map<String, Value>);

fn examples() -> Vec<(String, hearth_model::Model)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let loaded = hearth_spec::load(&p, &hearth_spec::FsFiles);
            assert!(!loaded.has_errors(), "{} does not load", p.display());
            let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
            (p.file_stem().unwrap().to_string_lossy().to_string(), a.model)
        })
        .collect()
}

/// The node a host's requests need: every storage they name, and every template and image
/// they start from.
fn node_state(node: &str, requests: &[Map<String, Value>]) -> State {
    let mut storages: BTreeMap<String, Storage> = hearth_pve_sim::state::storage::default_storages();
    let mut volumes = Vec::new();
    for params in requests {
        for (key, value) in params {
            let Some(text) = value.as_str() else { continue };
            let first = text.split(',').next().unwrap_or("");
            if let Some((store, rest)) = first.split_once(':')
                && !first.starts_with('/')
                && !key.starts_with("ipconfig")
                && !key.starts_with("cicustom")
                && !storages.contains_key(store)
                && (rest.parse::<f64>().is_ok() || rest == "cloudinit")
            {
                let (_, st) = Storage::parse_spec(&format!("{store}=zfspool:images,rootdir:8T")).unwrap();
                storages.insert(store.to_string(), st);
            }
            if key == "ostemplate" {
                volumes.push((text.to_string(), "vztmpl"));
            }
            for opt in text.split(',') {
                if let Some(src) = opt.strip_prefix("import-from=") {
                    volumes.push((src.to_string(), "import"));
                }
            }
            if key == "cicustom" {
                for part in text.split(',') {
                    if let Some((_, vol)) = part.split_once('=') {
                        volumes.push((vol.to_string(), "snippets"));
                    }
                }
            }
        }
    }
    let mut state = State::new(node, storages);
    for (volid, content) in volumes {
        let (store, name) = volid.split_once(':').unwrap();
        state.storages.get_mut(store).unwrap_or_else(|| panic!("{volid}: no storage")).volumes.insert(
            name.to_string(),
            Volume { content: content.into(), size: 2 << 30, format: "qcow2".into(), vmid: None },
        );
    }
    state
}

#[tokio::test]
async fn every_examples_guest_is_created_through_the_api() {
    let mut created = 0;
    let mut refusals: BTreeMap<String, usize> = BTreeMap::new();
    let mut permission_refusals = 0;
    for (example, model) in examples() {
        let files =
            hearth_render::render(&Context { model: &model, catalog: hearth_catalog::builtin(), secrets: None });
        let mut by_host: BTreeMap<String, Vec<Request>> = BTreeMap::new();
        for f in files.iter().filter(|f| f.kind == Kind::ProxmoxGuest) {
            let params: Map<String, Value> = serde_json::from_str(&f.content).expect("JSON object");
            by_host.entry(f.machine.clone()).or_default().push((f.path.clone(), params));
        }
        for (host, requests) in by_host {
            let creations: Vec<Map<String, Value>> = requests
                .iter()
                .filter(|(p, _)| !p.ends_with(".resize.json") && !p.contains("/mapping-dir-"))
                .map(|(_, r)| r.clone())
                .collect();
            let node_name = creations.first().and_then(|r| r["node"].as_str()).unwrap_or(&host).to_string();
            let node = start_with(node_state(&node_name, &creations), 5, 2_000).await;
            for (path, params) in &requests {
                let what = format!("{example}: {host}:{path}");
                if path.contains("/mapping-dir-") {
                    let answer =
                        node.api("POST", "/cluster/mapping/dir", Body::Json(Value::Object(params.clone()))).await;
                    assert_eq!(answer.status, 501, "{what}: {}", answer.shown());
                    assert!(
                        answer.reason.contains("hearth-pve-sim does not simulate it"),
                        "{what}: {}",
                        answer.shown()
                    );
                    continue;
                }
                if path.ends_with(".resize.json") {
                    continue;
                }
                let vmid = params["vmid"].as_u64().unwrap();
                let kind = if params.contains_key("ostemplate") { "lxc" } else { "qemu" };
                let url = format!("/nodes/{node_name}/{kind}");
                // The real node lets only `root@pam` itself, not its API tokens, set bind mount
                // points, device passthrough and feature flags other than `nesting`: a client must leave them out of
                // the request (and set them with `pct set` over SSH). Each refusal names one.
                let mut request = params.clone();
                let mut answer = node.api("POST", &url, Body::Json(Value::Object(request.clone()))).await;
                while answer.status == 403 {
                    let dropped: Vec<String> = if answer.reason.contains("mount point type bind") {
                        request
                            .iter()
                            .filter(|(k, v)| k.starts_with("mp") && v.as_str().is_some_and(|v| v.starts_with('/')))
                            .map(|(k, _)| k.clone())
                            .collect()
                    } else if answer.reason.contains("device passthrough") {
                        request
                            .keys()
                            .filter(|k| k.starts_with("dev") && k[3..].parse::<u32>().is_ok())
                            .cloned()
                            .collect()
                    } else if answer.reason.contains("feature flags") {
                        vec!["features".to_string()]
                    } else {
                        panic!("{what}: {}", answer.shown());
                    };
                    assert!(!dropped.is_empty(), "{what}: {}", answer.shown());
                    *refusals.entry(answer.reason.clone()).or_insert(0) += 1;
                    request.retain(|k, _| !dropped.contains(k));
                    answer = node.api("POST", &url, Body::Json(Value::Object(request.clone()))).await;
                }
                assert_eq!(answer.status, 200, "{what}: {}", answer.shown());
                let done = node.wait(&answer.body["data"]).await;
                assert_eq!(done["exitstatus"], "OK", "{what}");
                let config = node.get(&format!("/nodes/{node_name}/{kind}/{vmid}/config")).await;
                assert!(
                    config.data()["tags"].as_str().unwrap_or("").split(';').any(|t| t == "hearth"),
                    "{what}: no `hearth` tag"
                );
                created += 1;
            }
            for (path, params) in requests.iter().filter(|(p, _)| p.ends_with(".resize.json")) {
                let what = format!("{example}: {host}:{path}");
                let vmid = path.rsplit('/').next().unwrap().split('-').next().unwrap();
                let mut body = params.clone();
                body.remove("node");
                body.remove("vmid");
                let answer = node
                    .api("PUT", &format!("/nodes/{node_name}/qemu/{vmid}/resize"), Body::Json(Value::Object(body)))
                    .await;
                assert_eq!(answer.status, 200, "{what}: {}", answer.shown());
                assert_eq!(node.wait(&answer.body["data"]).await["exitstatus"], "OK", "{what}");
            }
            // What the node refused: only the permission checks above (and the mappings it does
            // not simulate), never a parameter the schema rejects.
            let stats = node.raw("GET", "/_sim/stats", None, Body::None).await.body["data"].clone();
            for r in stats["refused"].as_array().unwrap() {
                assert_ne!(r["status"], 400, "{example}: {host}: the schema refused {r}");
                if r["status"] == 403 {
                    permission_refusals += 1;
                }
            }
        }
    }
    eprintln!("hearth-pve-sim: {created} rendered guests created; refused first with an API token: {refusals:?}");
    assert_eq!(
        refusals.values().sum::<usize>(),
        permission_refusals,
        "every refusal was a permission one, none a schema one"
    );
    assert!(created > 0);
}
