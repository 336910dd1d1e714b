//! One module per command. Each takes its parsed arguments and returns the exit code; errors
//! that are not the spec's (I/O, refusals) come back as `anyhow` errors and exit 2.
//!
//! Exit codes: 0 success (warnings allowed), 1 the spec has errors, 2 usage or I/O problems,
//! 3 a machine could not be planned, applied or rolled back (the others may have been).
//! `verify` exits 1 when a check fails; `watch --test-alerts` when a channel fails.

mod apply;
mod check;
mod completions;
mod docs;
mod generations;
mod import;
mod lab;
mod lab_node;
mod plan;
pub mod render;
mod resolve;
mod rollback;
mod schema;
mod secrets;
mod show;
mod verify;
mod watch;
mod watch_config;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Runs the command the arguments name.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let format = cli.format;
    match cli.command {
        Command::Check(args) => check::run(&args, format),
        Command::Show(args) => show::run(&args, format),
        Command::Render(args) => render::run(&args, format),
        Command::Docs(args) => docs::run(&args, format),
        Command::Resolve(args) => resolve::run(&args, format),
        Command::Secrets { action } => secrets::run(action, format),
        Command::Schema => schema::run(),
        Command::Completions(args) => completions::run(&args),
        Command::Lab { action } => lab::run(action, format),
        Command::Plan(args) => plan::run(&args, format),
        Command::Apply(args) => apply::run(&args, format),
        Command::Rollback(args) => rollback::run(&args, format),
        Command::Generations(args) => generations::run(&args, format),
        Command::Verify(args) => verify::run(&args, format),
        Command::Import { source } => import::run(source),
        Command::Watch(args) => watch::run(&args, format),
    }
}
