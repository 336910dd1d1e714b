//! `hearth completions SHELL`: a completion script generated from the clap types, so it always
//! matches the commands this binary has.

use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};

pub fn run(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    clap_complete::generate(args.shell, &mut Cli::command(), "hearth", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}
