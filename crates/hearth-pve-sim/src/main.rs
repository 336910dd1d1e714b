//! `hearth-pve-sim`: one simulated Proxmox VE node's API on a socket. It prints the base URL on
//! stdout once it listens; everything else goes to stderr.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use hearth_pve_sim::state::{Storage, Volume, storage::default_storages};
use hearth_pve_sim::{
    CommandRuntime, Config, DockerRuntime, Faults, NoRuntime, Rule, Runtime, Schema, Sim, State, Token,
};

/// A stateful Proxmox VE API simulator: validates every request against the vendored API schema
#[derive(Debug, Parser)]
#[command(name = "hearth-pve-sim", version)]
struct Cli {
    /// Address to listen on (`127.0.0.1:0` picks a free port)
    #[arg(long, default_value = "127.0.0.1:8006")]
    listen: String,
    /// The node's name
    #[arg(long, default_value = "pve")]
    node: String,
    /// An accepted API token, `USER@REALM!TOKENID=SECRET` (repeatable; also `HEARTH_PVE_SIM_TOKEN`)
    #[arg(long = "token", env = "HEARTH_PVE_SIM_TOKEN", hide_env_values = true)]
    tokens: Vec<String>,
    /// Keep the state in this JSON file (read at start when it exists, written after each change)
    #[arg(long)]
    state: Option<PathBuf>,
    /// Command run with `sh -c` when a guest starts, stops or is destroyed (see `HEARTH_PVE_*`)
    #[arg(long, conflicts_with = "docker_image")]
    on_start: Option<String>,
    /// Make each started guest a container of this image (on the network holding its address)
    #[arg(long)]
    docker_image: Option<String>,
    /// The Docker network guest containers join (default: the one whose subnet holds the address)
    #[arg(long, requires = "docker_image")]
    docker_network: Option<String>,
    /// An extra `docker run` argument before the image (repeatable), e.g. `--docker-arg=--cap-add=NET_ADMIN`
    #[arg(long = "docker-arg", requires = "docker_image", allow_hyphen_values = true)]
    docker_args: Vec<String>,
    /// The guest container's command after the image (repeatable; default: the image's)
    #[arg(long = "docker-command", requires = "docker_image", allow_hyphen_values = true)]
    docker_command: Vec<String>,
    /// A storage, `ID=TYPE:CONTENT[,CONTENT…]:SIZE` (repeatable; default `local` and `local-lvm`)
    #[arg(long = "storage")]
    storages: Vec<String>,
    /// A Linux bridge, `NAME[:vlan-aware][:PORTS]` (repeatable; default `vmbr0:vlan-aware:eno1`)
    #[arg(long = "bridge")]
    bridges: Vec<String>,
    /// A volume present from the start, `STORAGE:NAME` with an optional `=SIZE` (repeatable)
    #[arg(long = "volume")]
    volumes: Vec<String>,
    /// The API schema (`pve-apidata.json`; default: the repository's vendored copy)
    #[arg(long)]
    schema: Option<PathBuf>,
    /// How long each task runs, in milliseconds
    #[arg(long, default_value_t = 200)]
    task_ms: u64,
    /// How long a request waits for a guest's config lock, in milliseconds (the real node: 10 s)
    #[arg(long, default_value_t = 10_000)]
    lock_timeout_ms: u64,
    /// Folder where `STORAGE:snippets/NAME` volumes are also found
    #[arg(long)]
    snippets_dir: Option<PathBuf>,
    /// Serve HTTPS with this PEM certificate chain (with `--tls-key`), as the real node does
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of `--tls-cert`
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// A fault rule as JSON, e.g. `{"kind":"lock","count":2}` (repeatable; see `POST /_sim/faults`)
    #[arg(long = "fault")]
    faults: Vec<String>,
}

type Setup = (Sim, String, Option<hearth_pve_sim::tls::Identity>);

fn setup(cli: &Cli) -> Result<Setup, String> {
    let schema_path = cli.schema.clone().unwrap_or_else(Schema::vendored_path);
    let schema = Schema::from_file(&schema_path).map_err(|e| e.to_string())?;
    let tokens =
        cli.tokens.iter().map(|t| Token::parse(t).map_err(|e| e.to_string())).collect::<Result<Vec<_>, _>>()?;
    if tokens.is_empty() {
        return Err("no API token: pass `--token USER@REALM!TOKENID=SECRET` or set `HEARTH_PVE_SIM_TOKEN`".into());
    }
    let mut state = match &cli.state {
        Some(path) if path.exists() => State::load(path).map_err(|e| e.to_string())?,
        _ => {
            let storages: BTreeMap<String, Storage> = if cli.storages.is_empty() {
                default_storages()
            } else {
                cli.storages
                    .iter()
                    .map(|s| Storage::parse_spec(s).map_err(|e| e.to_string()))
                    .collect::<Result<_, _>>()?
            };
            State::new(&cli.node, storages)
        }
    };
    if !cli.bridges.is_empty() {
        state.bridges = cli
            .bridges
            .iter()
            .map(|b| {
                hearth_pve_sim::state::Bridge::parse_spec(b)
                    .ok_or_else(|| format!("bridge `{b}` is not `NAME[:vlan-aware][:PORTS]`"))
            })
            .collect::<Result<_, _>>()?;
    }
    if state.node != cli.node {
        return Err(format!(
            "the state file is of node `{}`, not `{}`: pass `--node {}` or another `--state`",
            state.node, cli.node, state.node
        ));
    }
    for v in &cli.volumes {
        let (volid, size) = match v.split_once('=') {
            Some((id, size)) => (
                id,
                hearth_pve_sim::schema::parse_disk_size(size)
                    .ok_or_else(|| format!("volume `{v}`: `{size}` is not a size like `2G`"))?,
            ),
            None => (v.as_str(), 1 << 30),
        };
        let (store, name) = volid.split_once(':').ok_or_else(|| format!("volume `{v}` is not `STORAGE:NAME`"))?;
        let content = name.split('/').next().unwrap_or("images").to_string();
        let st = state.storages.get_mut(store).ok_or_else(|| format!("volume `{v}`: no storage `{store}`"))?;
        let format = name.rsplit('.').next().unwrap_or("raw").to_string();
        st.volumes.insert(name.to_string(), Volume { content, size, format, vmid: None });
    }
    let mut faults = Faults::default();
    for f in &cli.faults {
        let rule: Rule = serde_json::from_str(f).map_err(|e| format!("fault `{f}` is not a rule: {e}"))?;
        faults.rules.push(rule);
    }
    let runtime: Arc<dyn Runtime> = match (&cli.on_start, &cli.docker_image) {
        (Some(cmd), _) => Arc::new(CommandRuntime { command: cmd.clone() }),
        (None, Some(image)) => Arc::new(DockerRuntime {
            image: image.clone(),
            network: cli.docker_network.clone(),
            label: format!("hearth.pve-sim={}", cli.node),
            prefix: format!("hearth-pve-{}-", cli.node),
            run_args: cli.docker_args.clone(),
            command: cli.docker_command.clone(),
        }),
        (None, None) => Arc::new(NoRuntime),
    };
    let config = Config {
        tokens,
        task_duration: Duration::from_millis(cli.task_ms),
        lock_timeout: Duration::from_millis(cli.lock_timeout_ms),
        state_file: cli.state.clone(),
        snippets_dir: cli.snippets_dir.clone(),
    };
    let tls = match (&cli.tls_cert, &cli.tls_key) {
        (Some(cert), Some(key)) => Some(hearth_pve_sim::tls::load(cert, key).map_err(|e| e.to_string())?),
        _ => None,
    };
    Ok((Sim::new(Arc::new(schema), config, state, faults, runtime), cli.listen.clone(), tls))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (sim, listen, tls) = match setup(&cli) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(&listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on `{listen}`: {e}");
                return ExitCode::FAILURE;
            }
        };
        let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or(listen);
        let sim = Arc::new(sim);
        eprintln!("hearth-pve-sim: node `{}` listening; control interface under `/_sim`", sim.node());
        match tls {
            Some(identity) => {
                eprintln!("hearth-pve-sim: certificate fingerprint (SHA-256) {}", identity.fingerprint);
                println!("https://{addr}/api2/json");
                serve_until_interrupted(hearth_pve_sim::tls::serve(listener, sim, identity.config)).await
            }
            None => {
                println!("http://{addr}/api2/json");
                serve_until_interrupted(hearth_pve_sim::serve(listener, sim)).await
            }
        }
    })
}

/// Serves until the server fails or the process is interrupted.
async fn serve_until_interrupted(server: impl std::future::Future<Output = std::io::Result<()>>) -> ExitCode {
    tokio::select! {
        r = server => match r {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: serving failed: {e}");
                ExitCode::FAILURE
            }
        },
        _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
    }
}
