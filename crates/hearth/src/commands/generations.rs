//! `hearth generations`: each machine's generations, the current one marked.

use std::process::ExitCode;

use hearth_deploy::{Progress, Style};

use crate::cli::TargetArgs;
use crate::report::Format;
use crate::targets::{self, Need};

pub fn run(args: &TargetArgs, format: Format) -> anyhow::Result<ExitCode> {
    let targets = match targets::load(args, format, Need::Machines)? {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    let progress = Progress::new(Style::detect(false));
    let list = targets::runtime()?.block_on(hearth_deploy::generations(&targets.machines, &targets.ssh, &progress));
    progress.finish();
    print!("{}", hearth_deploy::text::generations(&list));
    let failed = list.iter().any(|m| m.error.is_some());
    Ok(if failed { ExitCode::from(3) } else { ExitCode::SUCCESS })
}
