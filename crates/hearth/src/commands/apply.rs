//! `hearth apply`: shows the plan, asks (refuses without a terminal unless `--yes`), then brings
//! each machine to a new generation, data tier first and the proxy last, behind a rollback timer.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use hearth_deploy::{ApplyOptions, Progress, Style};

use crate::cli::ApplyArgs;
use crate::report::Format;
use crate::targets::{self, Need};

pub fn run(args: &ApplyArgs, format: Format) -> anyhow::Result<ExitCode> {
    let targets = match targets::load(&args.target, format, Need::Files)? {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    // The lab's engines cannot pull: each missing image is named before its machine fails on it.
    if let Some((dir, input)) = &targets.lab {
        for i in hearth_lab::offline_images(dir, input)? {
            eprintln!("image not available offline: `{}` for service {} on {}", i.image, i.service, i.machine);
        }
    }
    targets::print_skipped(&targets);
    let runtime = targets::runtime()?;
    let progress = Progress::new(Style::detect(false));
    let plan = runtime.block_on(hearth_deploy::plan(&targets.machines, &targets.ssh, &targets.files, &progress))?;
    progress.finish();
    print!("{}", hearth_deploy::text::plan(&plan));
    if plan.machines.iter().all(|m| m.error.is_none() && m.is_empty()) {
        println!("no changes");
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes && !confirmed()? {
        eprintln!("nothing applied");
        return Ok(ExitCode::from(2));
    }
    let options = ApplyOptions {
        jobs: args.jobs,
        confirm_timeout: Duration::from_secs(args.confirm_timeout),
        order: targets.order.clone(),
    };
    let progress = Progress::new(Style::detect(false));
    let report =
        runtime.block_on(hearth_deploy::apply(&targets.machines, &targets.ssh, &targets.files, &options, &progress))?;
    progress.finish();
    print!("{}", hearth_deploy::summary(&report));
    Ok(if report.is_success() { ExitCode::SUCCESS } else { ExitCode::from(3) })
}

/// Asks on the terminal whether to apply. Without a terminal there is nobody to ask: refused.
fn confirmed() -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("stdin is not a terminal, so `apply` cannot ask; pass `--yes` to apply without asking");
    }
    eprint!("apply these changes? [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
