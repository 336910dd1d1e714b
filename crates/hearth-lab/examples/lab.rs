//! A stand-in for `hearth lab` until the binary wires the library in: `lab up|status|down SPEC`,
//! `lab exec SPEC MACHINE CMD…`. Used to measure `up` on the examples (see the crate's report).

use std::path::Path;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(command), Some(spec)) = (args.first(), args.get(1)) else {
        eprintln!("usage: lab up|status|down|exec SPEC [MACHINE CMD…]");
        std::process::exit(2);
    };
    let spec = Path::new(spec);
    let dir = hearth_lab::state_dir(spec);
    let started = Instant::now();
    let result: Result<String, hearth_lab::Error> = match command.as_str() {
        "up" => hearth_lab::prepare(spec, hearth_catalog::builtin(), &dir)
            .and_then(|input| {
                // HEARTH_LAB_JOBS: machines started at once, to measure the effect of parallelism.
                let mut options = hearth_lab::UpOptions::default();
                if let Some(jobs) = std::env::var("HEARTH_LAB_JOBS").ok().and_then(|j| j.parse().ok()) {
                    options.jobs = jobs;
                }
                hearth_lab::up(&input, &dir, &options)
            })
            .map(|r| serde_json::to_string_pretty(&r).unwrap_or_default()),
        "status" => hearth_lab::status(&dir).map(|s| serde_json::to_string_pretty(&s).unwrap_or_default()),
        "down" => hearth_lab::down(&dir).map(|r| format!("{r:?}")),
        "exec" => match args.get(2) {
            Some(machine) => hearth_lab::exec(&dir, machine, &args[3..]).map(|code| std::process::exit(code)),
            None => Ok("usage: lab exec SPEC MACHINE CMD…".to_string()),
        },
        other => Ok(format!("unknown command `{other}`")),
    };
    match result {
        Ok(text) => println!("{text}\n{command}: {:.1} s", started.elapsed().as_secs_f64()),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
