//! Carrying out a node's plan. The host's ZFS datasets are made first (`host`), its backup jobs
//! last, once the guests they name exist. Templates and cloud images the creations need are fetched first,
//! once each; then every guest's action runs, concurrently (the client lets two tasks run on the
//! node at a time). A creation that fails half-way (the create task, the disk resize) removes
//! what it made, so no half-created guest is left behind; if even that fails, the error says so
//! and names the guest to remove.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hearth_model::model::GuestKind;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::api::Power;
use crate::client::scalar;
use crate::desired::DesiredGuest;
use crate::host::{self, StepOutcome};
use crate::plan::{GuestAction, NodePlan, Update};
use crate::property::show_mib;
use crate::shell::{NodeShell, pct_set, root_only};
use crate::{Client, Error};

/// Told each step as it is done: the node, the guest's name and the step (`created`), for a
/// progress line while a long apply runs.
pub type Progress = Arc<dyn Fn(&str, &str, &str) + Send + Sync>;

/// Where a guest's steps are told as they happen.
#[derive(Clone, Default)]
struct Sink(Option<(Progress, String)>);

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sink")
    }
}

/// What happened to one guest.
#[derive(Debug, Serialize)]
pub struct GuestOutcome {
    pub name: String,
    pub vmid: u32,
    /// The steps done, in order (`created`, `grew scsi0 to 16G`, `started`, ...).
    pub done: Vec<String>,
    /// Said beside the steps: an appliance created but not started, a half-created guest removed.
    pub notes: Vec<String>,
    /// Why the guest is not as planned.
    #[serde(serialize_with = "error_text")]
    pub error: Option<Error>,
    #[serde(skip)]
    sink: Sink,
}

impl GuestOutcome {
    /// Records a step done and tells the progress sink.
    fn did(&mut self, step: impl Into<String>) {
        let step = step.into();
        if let Some((progress, node)) = &self.sink.0 {
            progress(node, &self.name, &step);
        }
        self.done.push(step);
    }
}

fn error_text<S: serde::Serializer>(e: &Option<Error>, s: S) -> Result<S::Ok, S::Error> {
    match e {
        Some(e) => s.serialize_some(&e.to_string()),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Serialize)]
pub struct NodeOutcome {
    pub node: String,
    pub guests: Vec<GuestOutcome>,
    /// The host's own steps: datasets (done before the guests), backup jobs (after them).
    pub host: Vec<StepOutcome>,
}

impl NodeOutcome {
    pub fn is_success(&self) -> bool {
        self.guests.iter().all(|g| g.error.is_none()) && self.host.iter().all(|s| s.error.is_none())
    }
}

/// Where a cloud image Hearth imports comes from, by its file name in `local:import/`.
pub fn cloud_image_url(file: &str) -> Option<String> {
    if let Some(version) = file.strip_prefix("debian-").and_then(|r| r.strip_suffix("-genericcloud-amd64.qcow2")) {
        let codename = match version {
            "11" => "bullseye",
            "12" => "bookworm",
            "13" => "trixie",
            _ => return None,
        };
        return Some(format!("https://cloud.debian.org/images/cloud/{codename}/latest/{file}"));
    }
    let version = file.strip_prefix("ubuntu-")?.strip_suffix("-server-cloudimg-amd64.qcow2")?;
    Some(format!(
        "https://cloud-images.ubuntu.com/releases/{version}/release/ubuntu-{version}-server-cloudimg-amd64.img"
    ))
}

/// A volume a creation needs in storage: `local:vztmpl/X` or `local:import/X`.
fn needed_volume(body: &Map<String, Value>) -> Option<(String, String, String)> {
    if let Some(t) = body.get("ostemplate").and_then(Value::as_str) {
        let (storage, rest) = t.split_once(':')?;
        let file = rest.strip_prefix("vztmpl/")?;
        return Some((storage.to_string(), "vztmpl".to_string(), file.to_string()));
    }
    let disk = body.get("scsi0").and_then(Value::as_str)?;
    let import = disk.split(',').find_map(|p| p.strip_prefix("import-from="))?;
    let (storage, rest) = import.split_once(':')?;
    let file = rest.strip_prefix("import/")?;
    Some((storage.to_string(), "import".to_string(), file.to_string()))
}

/// Applies `plan` with `client`; `shell` runs what only root on the node may do. `desired` holds
/// the spec's guests of the node.
pub async fn apply_node(
    client: Arc<Client>,
    shell: Arc<dyn NodeShell>,
    plan: &NodePlan,
    desired: &[DesiredGuest],
    progress: Option<Progress>,
) -> NodeOutcome {
    // The datasets come first: a container's mount point needs its dataset's directory.
    let mut host = host::apply_datasets(shell.as_ref(), &plan.node, &plan.host).await;
    if let Some(progress) = &progress {
        for step in &host {
            if let Some(done) = &step.done {
                progress(&plan.node, &step.what, done);
            }
        }
    }
    let sink = Sink(progress.clone().map(|p| (p, plan.node.clone())));
    let by_vmid: BTreeMap<u32, &DesiredGuest> = desired.iter().map(|d| (d.vmid, d)).collect();
    let creations: Vec<&DesiredGuest> = plan
        .guests
        .iter()
        .filter(|g| g.action == GuestAction::Create)
        .filter_map(|g| by_vmid.get(&g.vmid).copied())
        .collect();
    let fetched = fetch_volumes(&client, &creations).await;
    // One moment names every snapshot of this apply, so a rollback finds a guest's by its time.
    let now = std::time::SystemTime::now();
    let mut set = tokio::task::JoinSet::new();
    for g in &plan.guests {
        let client = Arc::clone(&client);
        let shell = Arc::clone(&shell);
        let sink = sink.clone();
        let desired = by_vmid.get(&g.vmid).map(|d| (*d).clone());
        let (name, vmid, kind, action) = (g.name.clone(), g.vmid, g.kind, g.action.clone());
        let needed = desired.as_ref().and_then(|d| needed_volume(&d.create));
        let volume_name = needed.as_ref().map(|(s, c, f)| format!("{s}:{c}/{f}"));
        let missing = needed.and_then(|v| fetched.get(&v).cloned());
        let snapshot = g.snapshot;
        set.spawn(async move {
            let mut out =
                GuestOutcome { name: name.clone(), vmid, done: Vec::new(), notes: Vec::new(), error: None, sink };
            // Without its snapshot a guest is not changed at all: the error stops its apply.
            if let Some(keep) = snapshot
                && let Err(e) = snapshot_first(&client, kind, vmid, keep, now, &mut out).await
            {
                out.error = Some(e.for_guest(&name, vmid));
                return out;
            }
            let result = match (&action, desired) {
                (GuestAction::Create, Some(d)) => match missing {
                    Some(Err(why)) => {
                        Err(Error::Fetch { volume: volume_name.clone().unwrap_or_default(), reason: why })
                    }
                    _ => create(&client, shell.as_ref(), &d, &mut out).await,
                },
                (GuestAction::Update(u), Some(d)) => update(&client, shell.as_ref(), &d, u, &mut out).await,
                (GuestAction::Destroy { allowed: true, running }, _) => {
                    destroy(&client, kind, vmid, *running, &mut out).await
                }
                _ => Ok(()),
            };
            out.error = result.err().map(|e| e.for_guest(&name, vmid));
            out
        });
    }
    let mut guests = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok(outcome) = joined {
            guests.push(outcome);
        }
    }
    guests.sort_by_key(|g| g.vmid);
    let jobs = host::apply_jobs(&client, &plan.host).await;
    if let Some(progress) = &progress {
        for step in jobs.iter().filter(|s| s.done.is_some()) {
            progress(&plan.node, &step.what, step.done.as_deref().unwrap_or_default());
        }
    }
    host.extend(jobs);
    NodeOutcome { node: plan.node.clone(), guests, host }
}

/// Takes the snapshot before a guest's change and tells how to roll back to it.
async fn snapshot_first(
    client: &Client,
    kind: GuestKind,
    vmid: u32,
    keep: u32,
    at: std::time::SystemTime,
    out: &mut GuestOutcome,
) -> Result<(), Error> {
    let taken = crate::snapshots::before_change(client, kind, vmid, keep, at)
        .await
        .map_err(|e| Error::Snapshot { reason: e.to_string() })?;
    out.did(format!("snapshot {} taken", taken.name));
    for old in &taken.pruned {
        out.did(format!("deleted older snapshot {old}"));
    }
    let tool = if kind == GuestKind::Lxc { "pct" } else { "qm" };
    out.notes.push(format!("undo with `{tool} rollback {vmid} {}` on the node", taken.name));
    for e in &taken.prune_errors {
        out.notes.push(format!("an older snapshot was not deleted: {e}"));
    }
    Ok(())
}

/// Fetches every template and cloud image the creations need and the node lacks, once each;
/// answers the failures by volume.
async fn fetch_volumes(
    client: &Client,
    creations: &[&DesiredGuest],
) -> BTreeMap<(String, String, String), Result<(), String>> {
    let needed: BTreeSet<(String, String, String)> =
        creations.iter().filter_map(|d| needed_volume(&d.create)).collect();
    let mut results = BTreeMap::new();
    let mut listed: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (storage, content, file) in needed {
        let key = (storage.clone(), content.clone());
        if !listed.contains_key(&key) {
            let volumes = client.volumes(&storage, &content).await.unwrap_or_default();
            listed.insert(key.clone(), volumes);
        }
        let volid = format!("{storage}:{content}/{file}");
        if listed.get(&key).is_some_and(|v| v.contains(&volid)) {
            continue;
        }
        let result = if content == "vztmpl" {
            client.download_template(&storage, &file).await.map_err(|e| e.to_string())
        } else {
            match cloud_image_url(&file) {
                Some(url) => client.download_url(&storage, &url, &file, "import").await.map_err(|e| e.to_string()),
                None => Err(format!("no known download for `{file}`; put it in `{storage}:import/` on the node")),
            }
        };
        results.insert((storage, content, file), result);
    }
    results
}

async fn create(client: &Client, shell: &dyn NodeShell, d: &DesiredGuest, out: &mut GuestOutcome) -> Result<(), Error> {
    let mut body = Map::new();
    body.insert("vmid".into(), json!(d.vmid));
    // What only root may set goes in with `pct set` once the container exists (the API refuses
    // it to a token even at creation).
    let unprivileged = d.create.get("unprivileged").is_none_or(|u| scalar(u) == "1");
    let mut root_settings = Vec::new();
    for (k, v) in d.create.iter().filter(|(k, _)| *k != "vmid") {
        if d.kind == GuestKind::Lxc && root_only(k, &scalar(v), unprivileged) {
            root_settings.push((k.clone(), scalar(v)));
        } else {
            body.insert(k.clone(), v.clone());
        }
    }
    if let Err(e) = client.create(d.kind, &body).await {
        return Err(undo(client, d, e, out).await);
    }
    out.did("created");
    if !root_settings.is_empty() {
        let argv = pct_set(d.vmid, &root_settings, &[]);
        if let Err(why) = shell.run(&d.node, &argv).await {
            let e = Error::Shell(why);
            return Err(undo(client, d, e, out).await);
        }
        let keys: Vec<&str> = root_settings.iter().map(|(k, _)| k.as_str()).collect();
        out.did(format!("set {} as root on the node", keys.join(", ")));
    }
    let imports = d.create.get(&d.disk.0).and_then(Value::as_str).is_some_and(|v| v.contains("import-from="));
    if imports {
        let size = show_mib(d.disk.1);
        if let Err(e) = client.resize(d.kind, d.vmid, &d.disk.0, &size).await {
            return Err(undo(client, d, e, out).await);
        }
        out.did(format!("grew {} to {size}", d.disk.0));
    }
    start(client, d, out).await
}

/// Removes a guest whose creation failed, if the node has it; the error says what was left.
async fn undo(client: &Client, d: &DesiredGuest, error: Error, out: &mut GuestOutcome) -> Error {
    match client.exists(d.kind, d.vmid).await {
        Ok(false) => error,
        Ok(true) => match client.destroy(d.kind, d.vmid).await {
            Ok(()) => {
                out.notes.push("the partly created guest was removed".into());
                error
            }
            Err(e) => {
                let tool = if d.kind == GuestKind::Lxc { "pct" } else { "qm" };
                out.notes.push(format!(
                    "the partly created guest could not be removed ({e}); remove it with `{tool} destroy {}` on node `{}`",
                    d.vmid, d.node
                ));
                error
            }
        },
        Err(e) => {
            out.notes.push(format!("cannot tell whether a partly created guest is left ({e})"));
            error
        }
    }
}

/// Starts a guest. One Hearth does not deploy into (an appliance) may stay stopped: the node
/// says why, and it is reported rather than failed.
async fn start(client: &Client, d: &DesiredGuest, out: &mut GuestOutcome) -> Result<(), Error> {
    let started = client.power_logged(d.kind, d.vmid, Power::Start).await;
    let running = match &started {
        Ok(_) => client.running(d.kind, d.vmid).await.unwrap_or(false),
        Err(_) => false,
    };
    if running {
        // The simulator runs an appliance's OS nowhere and says so in the start task's log.
        let log = started.as_ref().map(Vec::as_slice).unwrap_or_default();
        match log.iter().find_map(|l| l.split_once("simulated only: ")) {
            Some((_, reason)) => out.notes.push(format!("not started: {reason} (the simulator reports it running)")),
            None => out.did("started"),
        }
        return Ok(());
    }
    if !d.managed {
        let why = started.err().map_or_else(|| "the node reports it stopped".to_string(), |e| e.to_string());
        out.notes.push(format!("not started: {why}"));
        return Ok(());
    }
    started?;
    Err(Error::Protocol { what: "the start".into(), reason: "the task ended but the guest is not running".into() })
}

async fn update(
    client: &Client,
    shell: &dyn NodeShell,
    d: &DesiredGuest,
    u: &Update,
    out: &mut GuestOutcome,
) -> Result<(), Error> {
    let (api, root): (Vec<_>, Vec<_>) = u.changes.iter().partition(|c| !c.on_node);
    if !api.is_empty() {
        let set: Map<String, Value> = api
            .iter()
            .filter(|c| c.to.is_some())
            .filter_map(|c| d.create.get(&c.key).map(|v| (c.key.clone(), v.clone())))
            .collect();
        let delete: Vec<String> = api.iter().filter(|c| c.to.is_none()).map(|c| c.key.clone()).collect();
        client.update(d.kind, d.vmid, &set, &delete, u.digest.as_deref()).await?;
        let keys: Vec<&str> = api.iter().map(|c| c.key.as_str()).collect();
        out.did(format!("updated {}", keys.join(", ")));
    }
    if !root.is_empty() {
        let set: Vec<(String, String)> =
            root.iter().filter_map(|c| c.to.as_ref().map(|t| (c.key.clone(), t.clone()))).collect();
        let delete: Vec<String> = root.iter().filter(|c| c.to.is_none()).map(|c| c.key.clone()).collect();
        shell.run(&d.node, &pct_set(d.vmid, &set, &delete)).await.map_err(Error::Shell)?;
        let keys: Vec<&str> = root.iter().map(|c| c.key.as_str()).collect();
        out.did(format!("set {} as root on the node", keys.join(", ")));
    }
    if let Some(g) = &u.grow {
        client.resize(d.kind, d.vmid, &g.disk, &show_mib(g.to_mib)).await?;
        out.did(format!("grew {} to {}", g.disk, show_mib(g.to_mib)));
    }
    if u.restart {
        // A clean shutdown and a start, which applies the pending changes (what `reboot` does
        // on a node; the simulator has only start, stop and shutdown).
        client.power(d.kind, d.vmid, Power::Shutdown).await?;
        client.power(d.kind, d.vmid, Power::Start).await?;
        out.did("restarted");
    }
    if u.start {
        start(client, d, out).await?;
    }
    Ok(())
}

async fn destroy(
    client: &Client,
    kind: GuestKind,
    vmid: u32,
    running: bool,
    out: &mut GuestOutcome,
) -> Result<(), Error> {
    if running {
        client.power(kind, vmid, Power::Stop).await?;
        out.did("stopped");
    }
    client.destroy(kind, vmid).await?;
    out.did("destroyed");
    Ok(())
}
