//! The `hearth` command line, as a library so the fuzzers run the same report code the binary
//! prints with. Every capability lives in a library crate; this crate parses arguments, loads
//! and reports on the spec, and wires one command module to each subcommand.
//!
//! Layout, in the style of uv: `cli` holds the clap types, `commands` one module per command,
//! `checked` the load → resolve → check → report step every command begins with. A new command
//! (`lab`, `plan`, `apply`, `rollback`, `generations`, `verify`, `watch`, `import`) is one variant
//! in `cli::Command`, one arm in `commands::run` and one module under `commands/`.

pub mod checked;
pub mod cli;
pub mod commands;
mod guests;
mod live_secrets;
pub mod manifest;
mod order;
mod persist;
pub mod report;
mod ship;
mod targets;
pub mod yaml_out;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

/// Parses the arguments, runs the command and turns an error into exit code 2.
pub fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::from(2)
        }
    }
}
