//! `hearth rollback --machine M [--to N]`: switches machines to an earlier generation, with the
//! same activation and rollback timer as `apply`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use hearth_deploy::{ApplyOptions, Progress, RollbackTo, Style};

use crate::cli::RollbackArgs;
use crate::report::Format;
use crate::targets::{self, Need};

pub fn run(args: &RollbackArgs, format: Format) -> anyhow::Result<ExitCode> {
    if args.target.machines.is_empty() {
        bail!("`rollback` needs `--machine M`: rolling back every machine at once is not what anyone means");
    }
    let targets = match targets::load(&args.target, format, Need::Machines)? {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    let to = args.to.map_or(RollbackTo::Previous, RollbackTo::Generation);
    let options = ApplyOptions {
        confirm_timeout: Duration::from_secs(args.confirm_timeout),
        order: targets.order.clone(),
        ..ApplyOptions::default()
    };
    let progress = Progress::new(Style::detect(false));
    let report = targets::runtime()?.block_on(hearth_deploy::rollback(
        &targets.machines,
        &targets.ssh,
        to,
        &options,
        &progress,
    ))?;
    progress.finish();
    print!("{}", hearth_deploy::summary(&report));
    Ok(if report.is_success() { ExitCode::SUCCESS } else { ExitCode::from(3) })
}
