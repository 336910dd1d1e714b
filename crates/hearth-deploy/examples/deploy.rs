//! A stand-in for `hearth plan|apply|rollback|generations --lab` until the binary wires the
//! library in: `deploy plan|apply|rollback|generations SPEC [--json] [--confirm-timeout S]
//! [--touch TEXT]`, and `deploy dump SPEC DIR` (the files as `DIR/MACHINE/PATH`, for the
//! benchmark's other tools). The lab of SPEC must be up (hearth-lab's example: `lab up SPEC`);
//! the files are the spec rendered for the lab's addresses. `--touch TEXT` appends a comment to
//! the first machine's first plain file: a one-file change for the benchmark.

use std::path::Path;
use std::time::{Duration, Instant};

use hearth_deploy::{ApplyOptions, DesiredFile, Machine, Progress, RollbackTo, SshOptions, Style};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(command), Some(spec)) = (args.first(), args.get(1)) else {
        eprintln!("usage: deploy plan|apply|rollback|generations SPEC [--json] [--confirm-timeout S]");
        std::process::exit(2);
    };
    let json = args.iter().any(|a| a == "--json");
    let timeout = args
        .iter()
        .position(|a| a == "--confirm-timeout")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let spec = Path::new(spec);
    let dir = hearth_lab::state_dir(spec);
    let input = match hearth_lab::prepare(spec, hearth_catalog::builtin(), &dir) {
        Ok(input) => input,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let mut files: Vec<DesiredFile> = input
        .files
        .iter()
        .map(|f| DesiredFile { reason: f.sources.iter().cloned().collect::<Vec<_>>().join(", "), file: f.clone() })
        .collect();
    let touch = args.iter().position(|a| a == "--touch").and_then(|i| args.get(i + 1));
    if let Some(text) = touch
        && let Some(d) = files.iter_mut().find(|d| d.file.path.ends_with(".nft"))
    {
        d.file.content.push_str(&format!("# {text}\n"));
    }
    if command == "dump" {
        let Some(out) = args.get(2) else {
            eprintln!("usage: deploy dump SPEC DIR");
            std::process::exit(2);
        };
        for d in &files {
            let path = Path::new(out).join(&d.file.machine).join(d.file.path.trim_start_matches('/'));
            let written = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&path, &d.file.content));
            if let Err(e) = written {
                eprintln!("error: {}: {e}", path.display());
                std::process::exit(1);
            }
        }
        return;
    }
    let state = match hearth_lab::load_state(&dir) {
        Ok(state) => state,
        Err(e) => {
            eprintln!("error: {e} (is the lab up?)");
            std::process::exit(1);
        }
    };
    let machines: Vec<Machine> = state.machines.keys().map(|name| Machine::new(name, name)).collect();
    let mut ssh = SshOptions::new(dir.join("ssh-control"));
    ssh.extra_config = Some(hearth_lab::ssh_config_path(&dir));
    let options = ApplyOptions { confirm_timeout: Duration::from_secs(timeout), ..ApplyOptions::default() };
    let progress = Progress::new(Style::detect(json));
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    let started = Instant::now();
    let ok = runtime.block_on(async {
        match command.as_str() {
            "plan" => match hearth_deploy::plan(&machines, &ssh, &files, &progress).await {
                Ok(plan) if json => println!("{}", serde_json::to_string_pretty(&plan).unwrap_or_default()),
                Ok(plan) => print!("{}", hearth_deploy::text::plan(&plan)),
                Err(e) => eprintln!("error: {e}"),
            },
            "apply" | "rollback" => {
                let report = if command == "apply" {
                    hearth_deploy::apply(&machines, &ssh, &files, &options, &progress).await
                } else {
                    hearth_deploy::rollback(&machines, &ssh, RollbackTo::Previous, &options, &progress).await
                };
                match report {
                    Ok(report) => {
                        progress.finish();
                        print!("{}", hearth_deploy::summary(&report));
                        return report.is_success();
                    }
                    Err(e) => eprintln!("error: {e}"),
                }
            }
            "generations" => {
                let list = hearth_deploy::generations(&machines, &ssh, &progress).await;
                print!("{}", hearth_deploy::text::generations(&list));
            }
            other => eprintln!("unknown command `{other}`"),
        }
        true
    });
    progress.finish();
    eprintln!("{command}: {:.2} s", started.elapsed().as_secs_f64());
    std::process::exit(if ok { 0 } else { 1 });
}
