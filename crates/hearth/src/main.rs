//! The `hearth` command line: argument parsing and wiring only. Every capability lives in a
//! library crate; this file decides what to call and how to exit.
//!
//! Exit codes: 0 success (warnings allowed), 1 the spec has errors, 2 usage or I/O problems.

mod docs_cmd;
mod persist;
mod render_cmd;
mod report;
mod secrets_cmd;
mod yaml_out;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hearth_spec::{Code, FsFiles};

use report::Format;

#[derive(Parser)]
#[command(name = "hearth", version, about = "Declare your homelab once; Hearth checks, renders and documents it")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How diagnostics are printed on stderr.
    #[arg(long, global = true, value_enum, default_value = "human")]
    format: Format,
}

#[derive(Subcommand)]
enum Command {
    /// Check a spec and report every problem.
    Check {
        /// Spec file, or a folder holding `hearth.yaml`.
        #[arg(default_value = "hearth.yaml")]
        path: PathBuf,
    },
    /// Print the resolved model: every default, allocation and connection.
    Show {
        /// Spec file, or a folder holding `hearth.yaml`.
        #[arg(default_value = "hearth.yaml")]
        path: PathBuf,
        /// Print JSON instead of YAML.
        #[arg(long)]
        json: bool,
        /// Print the app catalog instead of the model.
        #[arg(long)]
        catalog: bool,
    },
    /// Write every file each machine needs under DIR/<machine>/<path>, with DIR/manifest.json.
    Render {
        /// Spec file, or a folder holding `hearth.yaml`.
        #[arg(default_value = "hearth.yaml")]
        path: PathBuf,
        /// Output folder: new, empty, or a previous render output.
        #[arg(short, long)]
        out: PathBuf,
        /// Write secret values into the env-secret files instead of placeholders.
        #[arg(long)]
        with_secrets: bool,
    },
    /// Write the architecture document (README.md, topology.dot and .svg) into DIR.
    Docs {
        /// Spec file, or a folder holding `hearth.yaml`.
        #[arg(default_value = "hearth.yaml")]
        path: PathBuf,
        /// Output folder.
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Resolve the spec and save what was decided: `hearth.lock` and missing generated secrets.
    Resolve {
        /// Spec file, or a folder holding `hearth.yaml`.
        #[arg(default_value = "hearth.yaml")]
        path: PathBuf,
    },
    /// List, set or rotate secrets in `hearth.secrets.age` beside the spec.
    Secrets {
        #[command(subcommand)]
        action: secrets_cmd::Action,
    },
    /// Print the JSON Schema of the spec, for editor autocompletion.
    Schema,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Schema => {
            print!("{}", hearth_spec::schema::json());
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { path } => {
            let a = analyze(&path)?;
            let (errors, warnings) = report::print(&a.diagnostics, &a.sources, cli.format);
            summary(errors, warnings);
            Ok(a.exit_code(errors))
        }
        Command::Render { path, out, with_secrets } => {
            let a = analyze(&path)?;
            let (errors, warnings) = report::print(&a.diagnostics, &a.sources, cli.format);
            let Some(model) = a.model.as_ref().filter(|_| errors == 0) else {
                summary(errors, warnings);
                return Ok(a.exit_code(errors.max(1)));
            };
            let live = if with_secrets {
                let store_path = persist::store_path(&a.root);
                let store = hearth_secrets::Store::open(&store_path)?;
                let identity = hearth_secrets::Identity::load(&store_path, false)?;
                Some(render_cmd::LiveSecrets::new(store, identity))
            } else {
                None
            };
            let n = render_cmd::run(model, &a.sources, &out, live.as_ref())?;
            eprintln!("rendered {n} files into `{}`", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Docs { path, out } => {
            let a = analyze(&path)?;
            let (errors, warnings) = report::print(&a.diagnostics, &a.sources, cli.format);
            let Some(model) = a.model.as_ref().filter(|_| errors == 0) else {
                summary(errors, warnings);
                return Ok(a.exit_code(errors.max(1)));
            };
            let written = docs_cmd::run(model, &out)?;
            for w in &written {
                eprintln!("wrote `{}`", w.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Resolve { path } => {
            let a = analyze(&path)?;
            let (errors, warnings) = report::print(&a.diagnostics, &a.sources, cli.format);
            summary(errors, warnings);
            let (Some(model), Some(allocations), false) = (&a.model, &a.allocations, errors > 0) else {
                return Ok(a.exit_code(errors.max(1)));
            };
            if persist::write_lock(&a.root, allocations)? {
                eprintln!("wrote `{}`", persist::lock_path(&a.root).display());
            }
            let generated = persist::ensure_secrets(&a.root, model)?;
            if !generated.is_empty() {
                eprintln!(
                    "generated {} secret{} into `{}`",
                    generated.len(),
                    if generated.len() == 1 { "" } else { "s" },
                    persist::store_path(&a.root).display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Secrets { action } => {
            let path = action.spec_path().to_path_buf();
            let a = analyze(&path)?;
            if a.io_error || a.model.is_none() {
                report::print(&a.diagnostics, &a.sources, cli.format);
                return Ok(ExitCode::from(if a.io_error { 2 } else { 1 }));
            }
            secrets_cmd::run(action, &a.root, a.model.as_ref())
        }
        Command::Show { path, json, catalog } => {
            let value = if catalog {
                let c = hearth_catalog::builtin();
                let names: Vec<serde_json::Value> = c
                    .apps
                    .iter()
                    .map(|a| serde_json::json!({"name": a.name.value, "image": a.image.value, "category": a.category.as_str()}))
                    .collect();
                serde_json::Value::Array(names)
            } else {
                let a = analyze(&path)?;
                let (errors, warnings) = report::print(&a.diagnostics, &a.sources, cli.format);
                if errors > 0 {
                    summary(errors, warnings);
                    return Ok(a.exit_code(errors));
                }
                match a.model {
                    Some(m) => serde_json::to_value(&m)?,
                    None => return Ok(ExitCode::from(1)),
                }
            };
            let text =
                if json { format!("{}\n", serde_json::to_string_pretty(&value)?) } else { yaml_out::to_yaml(&value) };
            std::io::stdout().write_all(text.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A loaded, resolved and checked spec, with everything needed to report on it.
struct Analyzed {
    root: PathBuf,
    sources: hearth_spec::SourceMap,
    diagnostics: Vec<hearth_spec::Diagnostic>,
    model: Option<hearth_model::Model>,
    allocations: Option<hearth_model::Allocations>,
    io_error: bool,
}

impl Analyzed {
    fn exit_code(&self, errors: usize) -> ExitCode {
        if self.io_error {
            ExitCode::from(2)
        } else if errors > 0 {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    }
}

/// Loads the spec and, when it decoded, resolves and checks it. Reads `hearth.lock` beside the
/// spec if there is one (an unreadable or damaged one is an error); never writes anything.
fn analyze(path: &std::path::Path) -> anyhow::Result<Analyzed> {
    let loaded = hearth_spec::load(path, &FsFiles);
    let io_error = loaded.diagnostics.iter().any(|d| d.code == Code::Io);
    let mut diagnostics = loaded.diagnostics;
    let mut model = None;
    let mut allocations = None;
    if !io_error && !diagnostics.iter().any(|d| matches!(d.code, Code::YamlSyntax | Code::YamlLimit)) {
        let previous = persist::read_lock(&loaded.root)?;
        let analysis = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &previous);
        diagnostics.extend(analysis.diagnostics);
        hearth_spec::diagnostic::sort(&mut diagnostics);
        model = Some(analysis.model);
        allocations = Some(analysis.allocations);
    }
    Ok(Analyzed { root: loaded.root, sources: loaded.sources, diagnostics, model, allocations, io_error })
}

fn summary(errors: usize, warnings: usize) {
    let plural = |n: usize, word: &str| if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") };
    let line = match (errors, warnings) {
        (0, 0) => "no problems found".to_string(),
        (0, w) => plural(w, "warning"),
        (e, 0) => plural(e, "error"),
        (e, w) => format!("{}, {}", plural(e, "error"), plural(w, "warning")),
    };
    let _ = writeln!(std::io::stderr(), "{line}");
}
