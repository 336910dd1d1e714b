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
