//! The command line as clap types: every command, its arguments and their help. Nothing here
//! runs anything; `commands` does, one module per command.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::report::Format;

#[derive(Parser)]
#[command(name = "hearth", version, about = "Declare your homelab once; Hearth checks, renders and documents it")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How diagnostics are printed on stderr.
    #[arg(long, global = true, value_enum, default_value = "human")]
    pub format: Format,
}

#[derive(Subcommand)]
pub enum Command {
    /// Check a spec and report every problem.
    Check(SpecArgs),
    /// Print the resolved model: every default, allocation and connection.
    Show(ShowArgs),
    /// Write every file each machine needs under DIR/<machine>/<path>, with DIR/manifest.json.
    Render(RenderArgs),
    /// Write the architecture document (README.md, topology.dot and .svg) into DIR.
    Docs(DocsArgs),
    /// Resolve the spec and save what was decided: `hearth.lock` and missing generated secrets.
    Resolve(SpecArgs),
    /// List, set or rotate secrets in `hearth.secrets.age` beside the spec.
    Secrets {
        #[command(subcommand)]
        action: SecretsAction,
    },
    /// Print the JSON Schema of the spec, for editor autocompletion.
    Schema,
    /// Print the completion script for a shell, e.g. `hearth completions bash`.
    Completions(CompletionsArgs),
    /// Run the homelab on the local Docker engine: one Debian container per managed machine.
    Lab {
        #[command(subcommand)]
        action: LabAction,
    },
    /// Show, per machine, the files and actions `apply` would change; connects read-only.
    Plan(PlanArgs),
    /// Bring every machine to the rendered files, with a rollback timer until confirmed.
    Apply(ApplyArgs),
    /// Switch machines back to an earlier generation.
    Rollback(RollbackArgs),
    /// List each machine's generations, the current one marked.
    Generations(TargetArgs),
    /// Check the running homelab against every fact the spec implies; exit 1 when one fails.
    Verify(VerifyArgs),
    /// Check the running homelab continuously: status page, `/api/status`, `/metrics`, alerts.
    Watch(WatchArgs),
    /// Turn existing projects of another tool into a spec fragment that `include:` takes.
    Import {
        #[command(subcommand)]
        source: ImportSource,
    },
}

#[derive(Subcommand)]
pub enum ImportSource {
    /// Docker Compose files or folders (one project each): the fragment on stdout or in FILE,
    /// and on stderr everything it does not carry over as Compose had it.
    Compose(ImportComposeArgs),
}

#[derive(Args)]
pub struct ImportComposeArgs {
    /// Compose files, or folders holding `compose.yaml` (and its override file).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The machine (guest or host) the imported services run on.
    #[arg(long)]
    pub on: String,
    /// Write the fragment to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Overwrite FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

/// The spec every command reads.
#[derive(Args)]
pub struct SpecArgs {
    /// Spec file, or a folder holding `hearth.yaml`.
    #[arg(default_value = "hearth.yaml")]
    pub path: PathBuf,
}

#[derive(Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Print JSON instead of YAML.
    #[arg(long)]
    pub json: bool,
    /// Print the app catalog instead of the model.
    #[arg(long)]
    pub catalog: bool,
}

#[derive(Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Output folder: new, empty, or a previous render output.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Write secret values into the env-secret files instead of placeholders.
    #[arg(long)]
    pub with_secrets: bool,
}

#[derive(Args)]
pub struct DocsArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Output folder.
    #[arg(short, long)]
    pub out: PathBuf,
}

#[derive(Subcommand)]
pub enum SecretsAction {
    /// Every secret the spec needs or declares, and whether it has a value.
    List {
        #[arg(default_value = "hearth.yaml")]
        path: PathBuf,
    },
    /// Store a value read from stdin (a terminal prompt hides it).
    Set {
        name: String,
        #[arg(default_value = "hearth.yaml")]
        path: PathBuf,
    },
    /// Replace a generated secret with a new random value.
    Rotate {
        name: String,
        #[arg(default_value = "hearth.yaml")]
        path: PathBuf,
    },
}

impl SecretsAction {
    pub fn spec_path(&self) -> &Path {
        match self {
            SecretsAction::List { path } | SecretsAction::Set { path, .. } | SecretsAction::Rotate { path, .. } => path,
        }
    }
}

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

#[derive(Subcommand)]
pub enum LabAction {
    /// Start one container per managed machine, on re-addressed internal networks.
    Up(SpecArgs),
    /// Every lab machine with its address and container state.
    Status(SpecArgs),
    /// Run a command on a lab machine as root; exits with the command's status.
    Exec {
        machine: String,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<String>,
        /// Spec file, or a folder holding `hearth.yaml`.
        #[arg(long, default_value = "hearth.yaml")]
        spec: PathBuf,
    },
    /// Open an SSH session on a lab machine as the admin user.
    Ssh {
        machine: String,
        /// Spec file, or a folder holding `hearth.yaml`.
        #[arg(long, default_value = "hearth.yaml")]
        spec: PathBuf,
    },
    /// Remove every container, network and volume the lab created.
    Down(SpecArgs),
    /// One lab node's Proxmox API simulator (started by `lab up`, not by hand).
    #[command(name = "pve-node", hide = true)]
    PveNode(PveNodeArgs),
}

/// The lab's simulator of one Proxmox node: its guests become lab machines when started.
#[derive(Args)]
pub struct PveNodeArgs {
    /// The lab's state folder.
    #[arg(long)]
    pub dir: PathBuf,
    /// The node's name.
    #[arg(long)]
    pub node: String,
    /// Where to listen (loopback).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    /// The simulator's state file.
    #[arg(long)]
    pub state: PathBuf,
    /// A storage the node's guests use beyond `local` and `local-lvm` (repeatable).
    #[arg(long = "extra-storage")]
    pub storages: Vec<String>,
}

/// Which machines a deploy command acts on and how it reaches them.
#[derive(Args)]
pub struct TargetArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Act on the lab's machines (`hearth lab up`) instead of the real ones.
    #[arg(long)]
    pub lab: bool,
    /// Only this machine; repeat for more. Default: every managed machine.
    #[arg(long = "machine", value_name = "MACHINE")]
    pub machines: Vec<String>,
    /// Record the host key of a machine never contacted before instead of refusing it.
    #[arg(long)]
    pub accept_new_host_keys: bool,
}

#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print the checks as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Start every backup job now (and wait for it) instead of only looking at its last run.
    #[arg(long)]
    pub run_backups: bool,
    /// Machines checked at once.
    #[arg(long, default_value_t = 8)]
    pub jobs: usize,
}

/// How plan and apply reach the Proxmox API of each node to create and change guests.
#[derive(Args)]
pub struct GuestArgs {
    /// The API of node NODE at URL instead of its `proxmox.api` (with `--lab`, the only nodes
    /// asked); plain `http://` only to loopback. Repeat for more nodes.
    #[arg(long = "proxmox-endpoint", value_name = "NODE=URL")]
    pub endpoints: Vec<String>,
    /// Trust the nodes' certificates signed by the CA in this PEM file.
    #[arg(long = "proxmox-ca", value_name = "FILE")]
    pub ca: Option<std::path::PathBuf>,
    /// Pin the certificate a node presents when none is pinned yet (`.hearth/proxmox/NODE.fingerprint`).
    #[arg(long = "proxmox-pin")]
    pub pin: bool,
    /// Destroy this guest, tagged `hearth` but no longer in the spec (its name or id). Repeat for more.
    #[arg(long = "allow-destroy", value_name = "NAME")]
    pub allow_destroy: Vec<String>,
    /// Only the guests: their Proxmox API changes, no files deployed to any machine.
    #[arg(long = "only-guests", conflicts_with = "no_guests")]
    pub only_guests: bool,
    /// Leave the guests alone: no Proxmox API is asked, only the files are planned or deployed.
    #[arg(long = "no-guests")]
    pub no_guests: bool,
}

#[derive(Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Where the status page listens. Any address but loopback requires the token
    /// `hearth-watch-token` in the secret store (`hearth secrets set hearth-watch-token`).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9180")]
    pub listen: std::net::SocketAddr,
    /// Run from the configuration `apply` renders for the watcher of `monitoring.watcher`
    /// (what its unit runs) instead of the spec: its checks, channels, address and database.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["lab", "machines", "listen", "db"])]
    pub config: Option<PathBuf>,
    /// The history database. Default: `.hearth/watch.db` beside the spec (`.hearth/lab/watch.db`
    /// with `--lab`).
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Send one test message to each notification channel and exit (1 when one fails).
    #[arg(long)]
    pub test_alerts: bool,
    /// A maintenance window, `START/END` or `START/DURATION` in UTC (`2026-11-29T22:00Z/2h`):
    /// incidents opening in it are recorded, not announced. Repeat for more.
    #[arg(long = "maintenance", value_name = "WINDOW")]
    pub maintenance: Vec<String>,
    /// Failures in a row before an incident opens and is announced, for the checks of services
    /// whose `watch:` (or `monitoring.watch`) in the spec sets no `fail_after`.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub fail_after: u32,
    /// Checks running at once.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,
}

#[derive(Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub guests: GuestArgs,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub guests: GuestArgs,
    /// Apply without asking (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Machines worked on at once.
    #[arg(long, default_value_t = 8)]
    pub jobs: usize,
    /// Seconds a machine waits for confirmation before restoring the previous generation.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub confirm_timeout: u64,
}

#[derive(Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The generation to switch back to; default the one before the current.
    #[arg(long, value_name = "N")]
    pub to: Option<u64>,
    /// Seconds a machine waits for confirmation before restoring the generation it left.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub confirm_timeout: u64,
}
