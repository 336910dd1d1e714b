//! `hearth plan`: per machine, the files to add, change and remove (each with the spec lines
//! that caused it), drift, and the actions that would follow. Connects read-only; secrets by name.

use std::process::ExitCode;

use hearth_deploy::{Progress, Style};

use crate::cli::PlanArgs;
use crate::report::Format;
use crate::targets::{self, Need};

pub fn run(args: &PlanArgs, format: Format) -> anyhow::Result<ExitCode> {
    let targets = match targets::load(&args.target, format, Need::FilesForPlan)? {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    if !args.json {
        targets::print_skipped(&targets);
    }
    // `--json` prints the plan, not progress events, on stdout.
    let progress = Progress::new(if args.json { Style::Plain } else { Style::detect(false) });
    let plan = targets::runtime()?.block_on(hearth_deploy::plan(
        &targets.machines,
        &targets.ssh,
        &targets.files,
        &progress,
    ))?;
    progress.finish();
    if args.json {
        let mut json = serde_json::to_value(&plan)?;
        // With `--lab`, the files left out are data beside the plan; without it the plan is unchanged.
        if targets.lab.is_some() {
            json["lab_skipped"] = serde_json::to_value(&targets.skipped)?;
            json["lab_not_started"] = serde_json::to_value(&targets.not_started)?;
        }
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print!("{}", hearth_deploy::text::plan(&plan));
    }
    let failed = plan.machines.iter().any(|m| m.error.is_some());
    Ok(if failed { ExitCode::from(3) } else { ExitCode::SUCCESS })
}
