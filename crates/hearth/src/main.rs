//! The `hearth` command line: argument parsing and wiring only. Every capability lives in a
//! library crate; this file decides what to call and how to exit.
//!
//! Exit codes: 0 success (warnings allowed), 1 the spec has errors, 2 usage or I/O problems.

mod report;

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
            let loaded = hearth_spec::load(&path, &FsFiles);
            let (errors, warnings) = report::print(&loaded.diagnostics, &loaded.sources, cli.format);
            summary(errors, warnings);
            if loaded.diagnostics.iter().any(|d| d.code == Code::Io) {
                return Ok(ExitCode::from(2));
            }
            Ok(if errors > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
    }
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
