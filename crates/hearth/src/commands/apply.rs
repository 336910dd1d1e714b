//! `hearth apply`: shows the plan, asks (refuses without a terminal unless `--yes`), then
//! creates, changes and starts the guests through each node's Proxmox API, and brings each
//! machine to a new generation, data tier first and the proxy last, behind a rollback timer.
//! The Proxmox hosts' files come first (the snippets VMs boot with), then the guests, then the
//! files that go into them.

use std::collections::BTreeSet;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use hearth_deploy::{ApplyOptions, Progress, Style};

use crate::cli::ApplyArgs;
use crate::guests;
use crate::report::Format;
use crate::ship;
use crate::targets::{self, Need};

pub fn run(args: &ApplyArgs, format: Format) -> anyhow::Result<ExitCode> {
    let need = if args.guests.only_guests { Need::Machines } else { Need::Files };
    let targets = match targets::load(&args.target, format, need)? {
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
    // The watcher's machine must run this binary: another architecture is refused before any change.
    let binary = if args.guests.only_guests { None } else { runtime.block_on(ship::inspect(&targets, &creating))? };
    let upload = binary.as_ref().filter(|b| b.upload);
    let progress = Progress::new(Style::detect(false));
    let plan = runtime.block_on(hearth_deploy::plan(&machines, &targets.ssh, &targets.files, &progress))?;
    progress.finish();
    // A guest whose files change is snapshotted first, when its spec asks for it.
    guests::snapshot_file_changes(&mut planned, &plan);
    let node_plans: Vec<_> = planned.iter().map(|p| p.plan.clone()).collect();
    print!("{}", hearth_proxmox::text::plan(&node_plans));
    if !args.guests.only_guests {
        for name in &creating {
            eprintln!("{name}: files deployed once the guest is created");
        }
        print!("{}", hearth_deploy::text::plan(&plan));
        if let Some(b) = upload {
            println!(
                "{}: upload the `hearth` binary the watcher runs ({})",
                b.machine.name,
                hearth_render::watcher::BINARY
            );
        }
    }
    let guests_unchanged = planned.iter().all(|p| p.plan.is_empty());
    if guests_unchanged && upload.is_none() && plan.machines.iter().all(|m| m.error.is_none() && m.is_empty()) {
        println!("no changes");
        return Ok(if guest_errors.is_empty() && !refused { ExitCode::SUCCESS } else { ExitCode::from(3) });
    }
    if !args.yes && !confirmed()? {
        eprintln!("nothing applied");
        return Ok(ExitCode::from(2));
    }
    // The binary goes before any file, so the watcher's unit finds it when it first starts.
    if let Some(b) = upload {
        runtime.block_on(ship::upload(&targets, b))?;
    }
    let mut failed = !guest_errors.is_empty() || refused;
    let options = ApplyOptions {
        jobs: args.jobs,
        confirm_timeout: Duration::from_secs(args.confirm_timeout),
        order: targets.order.clone(),
    };
    let deploy = |machines: &[hearth_deploy::Machine]| {
        let progress = Progress::new(Style::detect(false));
        let report =
            runtime.block_on(hearth_deploy::apply(machines, &targets.ssh, &targets.files, &options, &progress));
        progress.finish();
        report
    };
    // The Proxmox hosts go first when guests are created or started: a VM boots with the
    // cloud-init snippet its host's files put in `/var/lib/vz/snippets`.
    let (hosts, others): (Vec<_>, Vec<_>) =
        targets.machines.iter().cloned().partition(|m| targets.model.hosts.contains_key(&m.name));
    let hosts_first = !guests_unchanged && !args.guests.only_guests && !hosts.is_empty();
    let mut report = hearth_deploy::Report { machines: Vec::new(), unmanaged: Vec::new() };
    if hosts_first {
        report.machines.extend(deploy(&hosts)?.machines);
    }
    // A guest whose snapshot before apply failed keeps its files as they are too.
    let mut unsnapshotted = BTreeSet::new();
    if !guests_unchanged {
        let outcomes = runtime.block_on(guests::apply(&planned));
        print!("{}", hearth_proxmox::text::outcome(&outcomes));
        failed |= guests::report_failures(&targets, &planned, &outcomes);
        unsnapshotted = guests::unsnapshotted(&planned, &outcomes);
        for name in &unsnapshotted {
            eprintln!("{name}: files not deployed, since its snapshot before apply failed");
        }
    }
    if args.guests.only_guests {
        return Ok(if failed { ExitCode::from(3) } else { ExitCode::SUCCESS });
    }
    // A watcher's machine this apply just created had no binary to compare before: it is
    // inspected now, and the binary goes on before its files, as for any other machine.
    let created_binary = match &binary {
        None if !creating.is_empty() => runtime.block_on(ship::inspect(&targets, &BTreeSet::new()))?,
        _ => None,
    };
    let upload = match created_binary.as_ref().filter(|b| b.upload) {
        Some(b) => {
            println!(
                "{}: upload the `hearth` binary the watcher runs ({})",
                b.machine.name,
                hearth_render::watcher::BINARY
            );
            runtime.block_on(ship::upload(&targets, b))?;
            Some(b)
        }
        None => upload,
    };
    let remaining: Vec<_> = (if hosts_first { &others } else { &targets.machines })
        .iter()
        .filter(|m| !unsnapshotted.contains(&m.name))
        .cloned()
        .collect();
    let rest = deploy(&remaining)?;
    if let Some(b) = upload {
        runtime.block_on(ship::restart(&targets, b))?;
    }
    report.machines.extend(rest.machines);
    report.unmanaged = rest.unmanaged;
    print!("{}", hearth_deploy::summary(&report));
    Ok(if report.is_success() && !failed { ExitCode::SUCCESS } else { ExitCode::from(3) })
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
