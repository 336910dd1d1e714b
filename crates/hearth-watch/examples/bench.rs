//! The watcher under load, for `scripts/bench-watch.sh`: runs the daemon over the targets a
//! file lists (one per line: `http ADDR PATH`, `tcp ADDR`, `dns ADDR NAME ANSWER`), every one
//! at `--interval`, on a current-thread runtime as `hearth watch` does, until `--seconds` pass;
//! then prints how many checks ran and failed.
//!
//! Usage: `bench TARGETS_FILE DB_FILE SECONDS INTERVAL_SECONDS`

use std::sync::Arc;
use std::time::Duration;

use hearth_watch::{Config, Kind, Probe, Target};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: bench TARGETS_FILE DB_FILE SECONDS INTERVAL_SECONDS");
        std::process::exit(2);
    }
    let text = std::fs::read_to_string(&args[1]).expect("targets file");
    let seconds: u64 = args[3].parse().expect("seconds");
    let interval = Duration::from_secs(args[4].parse().expect("interval"));
    let mut targets = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (kind, probe) = match f.as_slice() {
            ["http", addr, path] => (
                Kind::Http,
                Probe::Http {
                    addr: addr.parse().expect("address"),
                    request: hearth_verify::probe::http::Request {
                        https: false,
                        host: "bench.test".into(),
                        path: (*path).into(),
                        ca_pem: None,
                    },
                    expect: hearth_facts::Expect::Success,
                },
            ),
            ["tcp", addr] => (Kind::Tcp, Probe::Tcp { addr: addr.parse().expect("address") }),
            ["dns", addr, name, answer] => (
                Kind::Dns,
                Probe::Dns {
                    server: addr.parse().expect("address"),
                    name: (*name).into(),
                    expect: answer.parse().expect("answer"),
                },
            ),
            _ => panic!("line {}: `{line}` is not a target", i + 1),
        };
        targets.push(Target {
            id: format!("{}/{i}", kind.word()),
            machine: format!("m{}", i % 10),
            service: None,
            group: None,
            kind,
            describe: line.to_string(),
            location: String::new(),
            probe,
            interval,
            timeout: Duration::from_secs(5),
            fail_after: None,
        });
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let mut config = Config::new("bench", targets, args[2].clone().into(), "127.0.0.1:0".parse().expect("address"));
        config.concurrency = 64;
        config.log = Arc::new(|line| eprintln!("{line}"));
        let handle = hearth_watch::start(config).await.expect("start");
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let shared = handle.shared.clone();
        handle.stop().await;
        let live = hearth_watch::daemon::lock(&shared.live);
        let checks: u64 = live.iter().map(|l| l.checks).sum();
        let failures: u64 = live.iter().map(|l| l.failures).sum();
        println!("checks {checks} failures {failures}");
        if let Some((_, s)) = live.iter().find_map(|l| l.last.as_ref().filter(|(_, s)| !s.ok)) {
            println!("a failure: {}", s.reason.clone().unwrap_or_default());
        }
    });
}
