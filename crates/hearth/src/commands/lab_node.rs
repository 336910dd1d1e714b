//! `hearth lab pve-node` (hidden): one lab node's Proxmox API simulator, which `hearth lab up`
//! starts in the background, one per node with guests, so the lab needs no binary but `hearth`.
//! It is `hearth-pve-sim` with the lab's runtime: a guest it starts becomes that guest's lab
//! machine (`hearth_lab::guest`), its cloud-init user-data read from the node's snippets folder,
//! which the host machine's `/var/lib/vz/snippets` is. Appliances, and guests the lab has no
//! machine for, exist in the simulator only. It prints its base URL on stdout once it listens.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use hearth_pve_sim::state::{Storage, storage::default_storages};
use hearth_pve_sim::{Config, Faults, GuestInfo, Runtime, Schema, Sim, Started, State, Token};

use crate::cli::PveNodeArgs;

pub fn run(args: &PveNodeArgs) -> anyhow::Result<ExitCode> {
    let token = std::env::var("HEARTH_PVE_SIM_TOKEN").context("no token in `HEARTH_PVE_SIM_TOKEN`")?;
    let schema = Schema::vendored().context("cannot read the vendored Proxmox API schema")?;
    let state = if args.state.exists() {
        State::load(&args.state)?
    } else {
        let mut storages = default_storages();
        for id in &args.storages {
            let (id, s) = Storage::parse_spec(&format!("{id}=zfspool:images,rootdir:20T"))?;
            storages.insert(id, s);
        }
        State::new(&args.node, storages)
    };
    if state.node != args.node {
        bail!("the state file `{}` is of node `{}`, not `{}`", args.state.display(), state.node, args.node);
    }
    let snippets = hearth_lab::guest::snippets_dir(&args.dir, &args.node);
    let config = Config {
        tokens: vec![Token::parse(&token)?],
        task_duration: Duration::from_millis(100),
        state_file: Some(args.state.clone()),
        snippets_dir: Some(snippets.clone()),
        ..Config::default()
    };
    let runtime = LabRuntime { dir: args.dir.clone(), node: args.node.clone(), snippets };
    let sim = Arc::new(Sim::new(Arc::new(schema), config, state, Faults::default(), Arc::new(runtime)));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on `{}`", args.listen))?;
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() {
            bail!("the lab's simulator listens on loopback only, not `{addr}`");
        }
        println!("http://{addr}/api2/json");
        eprintln!("hearth lab pve-node: node `{}` listening on {addr}", args.node);
        hearth_pve_sim::serve(listener, sim).await?;
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

/// The lab's runtime: a started guest is its lab machine's container.
struct LabRuntime {
    dir: PathBuf,
    node: String,
    snippets: PathBuf,
}

impl LabRuntime {
    fn machine(&self, g: &GuestInfo) -> Result<Option<String>, String> {
        hearth_lab::guest::machine_of(&self.dir, &self.node, g.vmid).map_err(|e| e.to_string())
    }

    fn limits(g: &GuestInfo) -> hearth_lab::guest::Limits {
        hearth_lab::guest::Limits { memory_mib: g.memory_mib, cores: g.cores }
    }

    /// A VM's user-data: the `cicustom` snippet on the node, which is the host's folder.
    fn user_data(&self, g: &GuestInfo) -> Result<Option<String>, String> {
        let Some(volume) = &g.user_data else { return Ok(None) };
        let Some((_, name)) = volume.split_once(":snippets/") else {
            return Err(format!("user-data `{volume}` is not on a snippets storage"));
        };
        let path = self.snippets.join(name);
        std::fs::read_to_string(&path).map(Some).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
    }
}

impl Runtime for LabRuntime {
    fn start(&self, g: &GuestInfo) -> Result<Started, String> {
        if let Some(reason) = hearth_pve_sim::not_runnable(g) {
            return Ok(Started::SimulatedOnly(reason));
        }
        let Some(machine) = self.machine(g)? else {
            return Ok(Started::SimulatedOnly("the lab has no machine for it (Hearth deploys nothing to it)".into()));
        };
        let user_data = self.user_data(g)?;
        hearth_lab::guest::start(&self.dir, &machine, &g.name, Self::limits(g), user_data.as_deref())
            .map_err(|e| e.to_string())?;
        Ok(Started::Running)
    }

    fn stop(&self, g: &GuestInfo) -> Result<(), String> {
        match self.machine(g)? {
            Some(machine) => hearth_lab::guest::stop(&self.dir, &machine).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    fn destroy(&self, g: &GuestInfo) -> Result<(), String> {
        match self.machine(g)? {
            Some(machine) => hearth_lab::guest::remove(&self.dir, &machine).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    fn update(&self, g: &GuestInfo) -> Result<(), String> {
        match self.machine(g)? {
            Some(machine) => hearth_lab::guest::update(&self.dir, &machine, Self::limits(g)).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }
}
