//! `hearth plan`: the guests each Proxmox node would create, change (and whether each change
//! needs a restart), grow, start or destroy; then per machine, the files to add, change and
//! remove (each with the spec lines that caused it), drift, and the actions that would follow.
//! Reads only; secrets by name.

use std::process::ExitCode;

use hearth_deploy::{Progress, Style};

use crate::cli::PlanArgs;
use crate::guests;
use crate::report::Format;
use crate::targets::{self, Need};

pub fn run(args: &PlanArgs, format: Format) -> anyhow::Result<ExitCode> {
    let need = if args.guests.only_guests { Need::Machines } else { Need::FilesForPlan };
    let targets = match targets::load(&args.target, format, need)? {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    if !args.json {
        targets::print_skipped(&targets);
    }
    let nodes = guests::nodes(&args.guests, &targets)?;
    guests::print_skipped_nodes(&nodes);
    let runtime = targets::runtime()?;
    let (mut planned, guest_errors) = runtime.block_on(guests::plan(&targets, nodes, &args.guests.allow_destroy));
    for e in &guest_errors {
        eprintln!("error: {e}");
    }
    let refused = guests::report_refusals(&targets, &planned);
    let creating = guests::creating(&planned);
    // A guest the plan creates does not exist yet: its files are planned once apply made it.
    let machines: Vec<_> = if args.guests.only_guests {
        Vec::new()
    } else {
        targets.machines.iter().filter(|m| !creating.contains(&m.name)).cloned().collect()
    };
    // `--json` prints the plan, not progress events, on stdout.
    let progress = Progress::new(if args.json { Style::Plain } else { Style::detect(false) });
    let plan = runtime.block_on(hearth_deploy::plan(&machines, &targets.ssh, &targets.files, &progress))?;
    progress.finish();
    guests::snapshot_file_changes(&mut planned, &plan);
    let node_plans: Vec<_> = planned.iter().map(|p| p.plan.clone()).collect();
    if args.json {
        let mut json = serde_json::to_value(&plan)?;
        // With `--lab`, the files left out are data beside the plan; without it the plan is unchanged.
        if targets.lab.is_some() {
            json["lab_skipped"] = serde_json::to_value(&targets.skipped)?;
            json["lab_not_started"] = serde_json::to_value(&targets.not_started)?;
        }
        if !node_plans.is_empty() || !guest_errors.is_empty() {
            json["guests"] = serde_json::to_value(&node_plans)?;
            json["guest_errors"] = serde_json::to_value(&guest_errors)?;
        }
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print!("{}", hearth_proxmox::text::plan(&node_plans));
        if !args.guests.only_guests {
            for name in &creating {
                eprintln!("{name}: files planned once `apply` has created the guest");
            }
            print!("{}", hearth_deploy::text::plan(&plan));
        }
    }
    let failed = plan.machines.iter().any(|m| m.error.is_some()) || !guest_errors.is_empty() || refused;
    Ok(if failed { ExitCode::from(3) } else { ExitCode::SUCCESS })
}
