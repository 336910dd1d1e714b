//! `hearth lab up|status|exec|ssh|down`: the homelab on the local Docker engine. Data (machines,
//! Proxmox simulators, what was skipped, missing images) goes to stdout; progress and timings to
//! stderr. `up` starts each Proxmox node's simulator as this binary's hidden `lab pve-node`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use crate::checked::{self, Gate};
use crate::cli::LabAction;
use crate::report::Format;

pub fn run(action: LabAction, format: Format) -> anyhow::Result<ExitCode> {
    match action {
        LabAction::Up(args) => up(&args.path, format),
        LabAction::Status(args) => {
            let dir = hearth_lab::state_dir(&args.path);
            print!("{}", machines_table(&hearth_lab::status(&dir)?));
            print!("{}", simulators_text(&hearth_lab::simulators(&dir)?));
            Ok(ExitCode::SUCCESS)
        }
        LabAction::PveNode(args) => crate::commands::lab_node::run(&args),
        LabAction::Exec { machine, command, spec } => {
            let code = hearth_lab::exec(&hearth_lab::state_dir(&spec), &machine, &command)?;
            Ok(exit_code(code))
        }
        LabAction::Ssh { machine, spec } => {
            let code = hearth_lab::ssh(&hearth_lab::state_dir(&spec), &machine, &[])?;
            Ok(exit_code(code))
        }
        LabAction::Down(args) => {
            let started = Instant::now();
            let report = hearth_lab::down(&hearth_lab::state_dir(&args.path))?;
            println!(
                "removed {} containers, {} networks, {} volumes, {} proxies, {} Proxmox simulators, {} routes",
                report.containers, report.networks, report.volumes, report.proxies, report.simulators, report.routes
            );
            eprintln!("lab down in {:.1} s", started.elapsed().as_secs_f64());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Checks the real spec first (its diagnostics name the operator's lines), then starts the lab.
fn up(path: &Path, format: Format) -> anyhow::Result<ExitCode> {
    let spec = match checked::load(path, format, Gate::Errors)? {
        Ok(spec) => spec,
        Err(code) => return Ok(code),
    };
    let started = Instant::now();
    let dir = hearth_lab::state_dir(&spec.root);
    let input = hearth_lab::prepare(&spec.root, hearth_catalog::builtin(), &dir)?;
    eprintln!("starting the lab of `{}` ({} files rendered for lab addresses)", spec.root.display(), input.files.len());
    // Each Proxmox node's simulator is this very binary, so a user needs no other.
    let program = std::env::current_exe()?;
    let simulator = hearth_lab::Simulator { program, args: vec!["lab".into(), "pve-node".into()] };
    let options = hearth_lab::UpOptions { simulator: Some(simulator), ..hearth_lab::UpOptions::default() };
    let report = hearth_lab::up(&input, &dir, &options)?;
    print!("{}", up_text(&report));
    let image = if report.image_built { "built" } else { "cached" };
    eprintln!(
        "lab up in {:.1} s (image `{}` {image}); reach machines with `ssh -F {}`",
        started.elapsed().as_secs_f64(),
        report.image,
        report.ssh_config.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn up_text(report: &hearth_lab::UpReport) -> String {
    let mut out = machines_table(&report.machines);
    out.push_str(&simulators_text(&report.simulators));
    for s in &report.skipped {
        let _ = writeln!(out, "skipped on {}: {} ({})", s.machine, s.what, s.reason);
    }
    for i in &report.offline_images {
        let _ = writeln!(out, "image not available offline: `{}` for service {} on {}", i.image, i.service, i.machine);
    }
    out
}

/// One row per machine: name, address, network, container state.
fn machines_table(machines: &[hearth_lab::MachineStatus]) -> String {
    let w = machines.iter().map(|m| m.name.len()).max().unwrap_or(0).max("MACHINE".len());
    let a = machines.iter().map(|m| m.address.len()).max().unwrap_or(0).max("ADDRESS".len());
    let n = machines.iter().map(|m| m.network.len()).max().unwrap_or(0).max("NETWORK".len());
    let mut out = format!("{:w$}  {:a$}  {:n$}  STATE\n", "MACHINE", "ADDRESS", "NETWORK");
    for m in machines {
        let docker = if m.docker { " (docker)" } else { "" };
        let _ = writeln!(out, "{:w$}  {:a$}  {:n$}  {}{docker}", m.name, m.address, m.network, m.state);
    }
    out
}

/// One line per Proxmox simulator: node, host machine, API URL, process.
fn simulators_text(simulators: &[hearth_lab::SimulatorStatus]) -> String {
    let mut out = String::new();
    for s in simulators {
        let state = if s.running { "running" } else { "stopped" };
        let _ = writeln!(out, "proxmox node {} (host {}): simulator {} pid {} {state}", s.node, s.host, s.url, s.pid);
    }
    out
}

/// A child's exit status as ours; one that does not fit a byte (or a signal, -1) is a failure.
fn exit_code(code: i32) -> ExitCode {
    u8::try_from(code).map_or(ExitCode::FAILURE, ExitCode::from)
}
