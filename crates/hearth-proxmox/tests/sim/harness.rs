//! One simulated node per Proxmox node of a spec, and a fast client for each.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hearth_proxmox::apply::{NodeOutcome, apply_node};
use hearth_proxmox::host::{DesiredHost, desired_host, plan_host};
use hearth_proxmox::plan::NodePlan;
use hearth_proxmox::shell::{NodeShell, ShellFuture};
use hearth_proxmox::{Client, DesiredGuest, Endpoint, RetryPolicy, Token, Trust, desired_guests, plan_node};
use hearth_pve_sim::state::{Storage, Volume, storage::default_storages};
use hearth_pve_sim::{Config, Faults, GuestInfo, Rule, Runtime, Schema, Sim, Started, State};
use serde_json::Value;

pub const TOKEN: &str = "hearth@pve!apply=5f0c1f2e-7d1c-4c8e-9d1a-0123456789ab";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The model of a spec file of the repository.
pub fn model(spec: &str) -> hearth_model::Model {
    let loaded = hearth_spec::load(&repo_root().join(spec), &hearth_spec::FsFiles);
    let analysis =
        hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &hearth_model::Allocations::default());
    analysis.model
}

/// Short waits: the simulator's tasks take milliseconds.
pub fn fast() -> RetryPolicy {
    RetryPolicy {
        attempts: 5,
        backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        request_timeout: Duration::from_secs(20),
        poll: Duration::from_millis(5),
        max_poll: Duration::from_millis(20),
        task_timeout: Duration::from_secs(30),
        tasks_per_node: 2,
    }
}

/// A simulated node, its client, and the spec's guests on it.
pub struct Node {
    pub sim: Arc<Sim>,
    pub client: Arc<Client>,
    pub desired: Vec<DesiredGuest>,
    /// The host's own datasets and backup jobs.
    pub host: DesiredHost,
    _server: tokio::task::JoinHandle<()>,
}

impl Node {
    pub async fn plan(&self, allow_destroy: &[String]) -> NodePlan {
        let actual = self.client.actual().await.expect("the node's guests");
        let mut plan = plan_node(self.client.node(), &self.desired, &actual, allow_destroy);
        let shell = SimShell(Arc::clone(&self.sim));
        plan.host = plan_host(&self.client, &shell, &self.host).await.expect("the host's plan");
        plan
    }

    pub async fn apply(&self) -> (NodePlan, NodeOutcome) {
        let plan = self.plan(&[]).await;
        let outcome = self.apply_plan(&plan).await;
        (plan, outcome)
    }

    pub async fn apply_plan(&self, plan: &NodePlan) -> NodeOutcome {
        let shell = Arc::new(SimShell(Arc::clone(&self.sim)));
        apply_node(Arc::clone(&self.client), shell, plan, &self.desired, None).await
    }

    pub fn fault(&self, rule: &str) {
        let rule: Rule = serde_json::from_str(rule).expect("a fault rule");
        self.sim.with_faults(|f| f.rules.push(rule));
    }

    /// The simulator's guests (vmid → running).
    pub fn guests(&self) -> BTreeMap<u32, bool> {
        self.sim.with_state(|s| s.guests.iter().map(|(id, g)| (*id, g.running)).collect())
    }
}

/// Root on the simulated node: `pct set VMID -KEY VALUE ... [-delete KEYS]` acts on the
/// simulator's state as `pct` acts on the config file.
pub struct SimShell(pub Arc<Sim>);

impl NodeShell for SimShell {
    fn run<'a>(&'a self, _node: &'a str, argv: &'a [String]) -> ShellFuture<'a> {
        let result = hearth_pve_sim::control::pct_set(&self.0, argv);
        Box::pin(async move { result })
    }
}

/// Runs guests nowhere, like `NoRuntime`, except that an appliance (tagged `appliance`, or a VM
/// whose OS is not Linux) is reported as simulated only, as the simulator's Docker runtime does.
pub struct Appliances;

impl Runtime for Appliances {
    fn start(&self, g: &GuestInfo) -> Result<Started, String> {
        let ostype = g.ostype.as_deref().unwrap_or("l26");
        if g.tags.iter().any(|t| t == "appliance") || ostype == "other" || ostype.starts_with("win") {
            return Ok(Started::SimulatedOnly("an appliance's OS does not run as a container".into()));
        }
        Ok(Started::Running)
    }
    fn stop(&self, _: &GuestInfo) -> Result<(), String> {
        Ok(())
    }
    fn destroy(&self, _: &GuestInfo) -> Result<(), String> {
        Ok(())
    }
}

/// Serves a simulated `node` whose storages are the default ones plus those `desired` uses, with
/// the cloud-init snippets the VMs name already on `local` (Hearth's deploy puts them there over
/// SSH); its tasks take `task_duration`, and its client retries and polls by `policy`.
pub async fn start_with(node: &str, desired: Vec<DesiredGuest>, task_duration: Duration, policy: RetryPolicy) -> Node {
    let schema = Schema::from_file(&repo_root().join(hearth_pve_sim::schema::VENDORED)).expect("the vendored schema");
    let config = Config {
        tokens: vec![hearth_pve_sim::Token::parse(TOKEN).expect("token")],
        task_duration,
        lock_timeout: Duration::from_millis(100),
        ..Config::default()
    };
    let mut storages = default_storages();
    // Every storage a disk to create names (the root disk's, data disks' ones).
    let stores = desired
        .iter()
        .flat_map(|d| d.create.values())
        .filter_map(Value::as_str)
        .filter_map(|v| hearth_proxmox::property::new_disk(v).map(|(store, _)| store.to_string()));
    for id in stores {
        let id = id.as_str();
        if !storages.contains_key(id) {
            let (id, s) = Storage::parse_spec(&format!("{id}=zfspool:images,rootdir:20T")).expect("storage");
            storages.insert(id, s);
        }
    }
    let mut state = State::new(node, storages);
    for d in &desired {
        let Some(custom) = d.create.get("cicustom").and_then(Value::as_str) else { continue };
        for volid in custom.split(',').filter_map(|p| p.split_once('=').map(|(_, v)| v)) {
            let Some((store, name)) = volid.split_once(':') else { continue };
            if let Some(s) = state.storages.get_mut(store) {
                let volume = Volume { content: "snippets".into(), size: 1024, format: "yaml".into(), vmid: None };
                s.volumes.insert(name.to_string(), volume);
            }
        }
    }
    let sim = Arc::new(Sim::new(Arc::new(schema), config, state, Faults::default(), Arc::new(Appliances)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let server_sim = Arc::clone(&sim);
    let server = tokio::spawn(async move {
        let _ = hearth_pve_sim::serve(listener, server_sim).await;
    });
    let endpoint = Endpoint {
        node: node.to_string(),
        url,
        trust: Trust::Pinned { file: PathBuf::from("/nonexistent/unused.fingerprint"), pin_new: false },
    };
    let client = Client::connect(&endpoint, Token::parse(TOKEN).expect("token"), policy).await.expect("client");
    Node { sim, client: Arc::new(client), desired, host: DesiredHost::default(), _server: server }
}

/// One simulated node per Proxmox node of `spec`'s guests.
pub async fn start_all(spec: &str) -> Vec<Node> {
    start_all_with(spec, Duration::from_millis(5), fast()).await
}

/// `start_all` with tasks that take `task_duration` and clients using `policy`.
pub async fn start_all_with(spec: &str, task_duration: Duration, policy: RetryPolicy) -> Vec<Node> {
    let model = model(spec);
    let mut by_node: BTreeMap<String, Vec<DesiredGuest>> = BTreeMap::new();
    for d in desired_guests(&model) {
        by_node.entry(d.node.clone()).or_default().push(d);
    }
    let mut nodes = Vec::new();
    for (node, desired) in by_node {
        let host = desired.first().map(|d| desired_host(&model, &d.host)).unwrap_or_default();
        let mut started = start_with(&node, desired, task_duration, policy.clone()).await;
        started.host = host;
        nodes.push(started);
    }
    nodes
}

/// The outcome as text, failing the test with it when a guest failed.
pub fn assert_success(outcome: &NodeOutcome) {
    assert!(outcome.is_success(), "{}", hearth_proxmox::text::outcome(std::slice::from_ref(outcome)));
}
