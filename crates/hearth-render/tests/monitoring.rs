//! Monitoring as a whole, for every example: what Prometheus scrapes is deployed on the machine it
//! scrapes and published there, the rules evaluate as meant (`promtool test rules`), and a real
//! `prometheus-node-exporter` on loopback, started with the rendered arguments
//! (`Kind::NodeExporter`, which this validates), serves the metric the backup jobs write, a
//! real `prometheus-blackbox-exporter` runs every rendered probe module against loopback, and a
//! real `prometheus-postgres-exporter` reads seed 000's NixOS environment file as the module would.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use hearth_model::Model;
use hearth_render::{File, Kind};

fn machine_at<'a>(m: &'a Model, addr: &str) -> Option<&'a str> {
    let guest = m.guests.iter().find(|(_, g)| g.address.is_some_and(|a| a.to_string() == addr));
    let host = m.hosts.iter().find(|(_, h)| h.address.is_some_and(|a| a.to_string() == addr));
    guest.map(|(n, _)| n.as_str()).or_else(|| host.map(|(n, _)| n.as_str()))
}

/// The rendered `packages.list` of a machine.
fn packages<'a>(files: &'a [File], machine: &str) -> Vec<&'a str> {
    files
        .iter()
        .filter(|f| f.machine == machine && f.kind == Kind::Packages)
        .flat_map(|f| f.content.lines().filter(|l| !l.starts_with('#')))
        .collect()
}

/// Whether a compose file of `machine` publishes `port` for the service `name`: Hearth writes
/// each service as a two-space-indented key and its ports as `- "HOST:CONTAINER/proto"`.
fn compose_publishes(files: &[File], machine: &str, name: &str, port: u16) -> bool {
    files.iter().filter(|f| f.machine == machine && f.kind == Kind::Compose).any(|f| {
        let mut current = "";
        f.content.lines().any(|l| {
            if let Some(key) = l.strip_prefix("  ").and_then(|k| k.strip_suffix(':'))
                && !key.starts_with(' ')
            {
                current = key;
            }
            current == name && l.trim_start().starts_with(&format!("- \"{port}:"))
        })
    })
}

#[test]
fn every_scrape_target_is_deployed_and_published_where_it_is_scraped() {
    for (example, m) in common::examples() {
        let files = common::render(&m);
        // The operator's own jobs (`monitoring.scrape`) scrape what the spec does not deploy.
        for job in m.monitoring.scrape.iter().filter(|j| j.probe.is_none() && j.origin.is_none()) {
            for target in &job.targets {
                let (addr, port) = target.rsplit_once(':').unwrap();
                let port: u16 = port.parse().unwrap();
                let machine = machine_at(&m, addr).unwrap_or_else(|| panic!("{example}: {target}: no machine"));
                if job.job == "node" && port == 9100 && m.monitoring.node_exporter.iter().any(|n| n == machine) {
                    if !m.is_nixos(machine) {
                        assert!(
                            packages(&files, machine).contains(&"prometheus-node-exporter"),
                            "{example}: `node` scrapes {target} but `{machine}` gets no prometheus-node-exporter"
                        );
                    }
                    continue;
                }
                // Otherwise a service on that machine serves it: natively on the port, in a
                // container with the port published, or on the host's network.
                let served = m.services.iter().find(|(_, s)| {
                    s.machines().contains(&machine) && s.ports.iter().any(|p| s.endpoint(p).reachable == port)
                });
                let (name, s) =
                    served.unwrap_or_else(|| panic!("{example}: job `{}` scrapes {target}: nothing", job.job));
                let app = s.app.as_deref().unwrap_or_default();
                assert!(
                    job.job == *name || app.starts_with(&job.job),
                    "{example}: job `{}` scrapes {target}, which is `{name}` ({app})",
                    job.job
                );
                if s.form == hearth_spec::ast::Form::Docker
                    && s.network_mode.as_deref() != Some("host")
                    && !m.is_nixos(machine)
                    && !matches!(s.on, hearth_model::model::Placement::Cluster(_))
                {
                    assert!(
                        compose_publishes(&files, machine, name, port),
                        "{example}: job `{}` scrapes {target}, which `{name}`'s compose service does not publish",
                        job.job
                    );
                }
            }
        }
    }
}

/// The backup-stale rule of the richest example, evaluated by promtool: a daily job's alert
/// fires after 26 h (plus the rule's `for`), a weekly job's not before 8 days.
#[test]
fn backup_stale_waits_for_each_policy() {
    if !common::have("promtool") {
        return;
    }
    let m = common::examples().into_iter().find(|(n, _)| n == "ryzen-tiered-lxc-platform").unwrap().1;
    let files = common::render(&m);
    let rules = files.iter().find(|f| f.kind == Kind::PrometheusRules).expect("rules rendered");
    let job_of = |policy: &str| {
        m.backups.jobs.iter().find(|j| m.backups.policies[&j.policy].at.contains(policy)).map(|j| j.service.clone())
    };
    let daily = job_of("02:00").expect("a daily job");
    let weekly = job_of("Sun").expect("a weekly job");
    let dir = common::temp_dir("monitoring/backup-stale");
    std::fs::write(dir.join("rules.yml"), &rules.content).unwrap();
    let summary = |job: &str| format!("Backup {job} has not succeeded recently");
    let test = format!(
        "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n\
         \x20     - series: 'hearth_backup_last_success_timestamp_seconds{{job_name=\"{daily}\"}}'\n        values: '0+0x12000'\n\
         \x20     - series: 'hearth_backup_last_success_timestamp_seconds{{job_name=\"{weekly}\"}}'\n        values: '0+0x12000'\n\
         \x20   alert_rule_test:\n\
         \x20     - eval_time: 26h\n        alertname: BackupStale\n        exp_alerts: []\n\
         \x20     - eval_time: 28h\n        alertname: BackupStale\n        exp_alerts:\n\
         \x20         - exp_labels: {{ severity: warning, job_name: \"{daily}\" }}\n\
         \x20           exp_annotations: {{ summary: \"{d}\" }}\n\
         \x20     - eval_time: 190h\n        alertname: BackupStale\n        exp_alerts:\n\
         \x20         - exp_labels: {{ severity: warning, job_name: \"{daily}\" }}\n\
         \x20           exp_annotations: {{ summary: \"{d}\" }}\n\
         \x20     - eval_time: 194h\n        alertname: BackupStale\n        exp_alerts:\n\
         \x20         - exp_labels: {{ severity: warning, job_name: \"{daily}\" }}\n\
         \x20           exp_annotations: {{ summary: \"{d}\" }}\n\
         \x20         - exp_labels: {{ severity: warning, job_name: \"{weekly}\" }}\n\
         \x20           exp_annotations: {{ summary: \"{w}\" }}\n",
        d = summary(&daily),
        w = summary(&weekly),
    );
    std::fs::write(dir.join("test.yml"), test).unwrap();
    common::run_ok(
        Command::new("promtool").args(["test", "rules", "test.yml"]).current_dir(&dir),
        "promtool test rules (backup-stale)",
    );
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes()).ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

/// A real node exporter on loopback, reading the textfile folder a rendered backup script's
/// `metric` step writes to, serves `hearth_backup_last_success_timestamp_seconds` for the job.
#[test]
fn a_real_node_exporter_serves_the_backup_metric() {
    if !common::have("prometheus-node-exporter") {
        return;
    }
    let m = common::examples().into_iter().find(|(n, _)| n == "two-node-docker-pbs").unwrap().1;
    let files = common::render(&m);
    let job = &m.backups.jobs[0];
    let script = files
        .iter()
        .find(|f| f.path == format!("/etc/hearth/backup/{}.sh", job.service))
        .expect("the backup script is rendered");
    let dir = common::temp_dir("monitoring/node-exporter");
    let textfile = dir.join("textfile");
    // The script as rendered, with only the textfile folder moved into the test's.
    let text = script.content.replace(hearth_model::model::TEXTFILE_DIR, &textfile.display().to_string());
    assert_ne!(text, script.content, "the script writes into the node exporter's textfile folder");
    std::fs::write(dir.join("backup.sh"), text).unwrap();
    common::run_ok(Command::new("sh").arg(dir.join("backup.sh")).arg("metric"), "backup.sh metric");

    // The exporter's arguments as rendered for that machine (its unit reads them from
    // `ARGS=` in the file), the textfile folder moved like the script's.
    let defaults = files
        .iter()
        .find(|f| f.machine == job.machine && f.kind == Kind::NodeExporter)
        .expect("the node exporter's defaults are rendered where the backup runs");
    let args = defaults
        .content
        .lines()
        .find_map(|l| l.strip_prefix("ARGS=\""))
        .and_then(|a| a.strip_suffix('"'))
        .expect("an ARGS line")
        .replace(hearth_model::model::TEXTFILE_DIR, &textfile.display().to_string());
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _exporter = Killed(
        Command::new("prometheus-node-exporter")
            .args(args.split_whitespace())
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--no-collector.systemd")
            .spawn()
            .expect("prometheus-node-exporter starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = loop {
        if let Some(body) = get(port, "/metrics").filter(|b| b.contains("200 OK")) {
            break body;
        }
        assert!(Instant::now() < deadline, "the node exporter did not answer on 127.0.0.1:{port}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let series = format!("hearth_backup_last_success_timestamp_seconds{{job_name=\"{}\"}}", job.service);
    assert!(body.contains(&series), "{series} is not served:\n{}", &body[..body.len().min(2000)]);
}

/// A real Blackbox exporter, started with the rendered modules of a spec's probes, makes each
/// kind of check against loopback: `tcp_connect` to a listening port, `icmp` to 127.0.0.1 and
/// `http_2xx` to its own metrics page, each answering `probe_success 1`.
#[test]
fn a_real_blackbox_exporter_runs_every_probe_module() {
    if !common::have("prometheus-blackbox-exporter") {
        return;
    }
    let mut m = common::examples().into_iter().find(|(n, _)| n == "ryzen-tiered-lxc-platform").unwrap().1;
    let exporter = m.monitoring.scrape.iter().find_map(|j| j.probe.as_ref()).expect("a probe job").exporter.clone();
    for module in ["tcp_connect", "icmp"] {
        m.monitoring.scrape.push(hearth_model::model::ScrapeJob {
            probe: Some(hearth_model::model::BlackboxProbe { exporter: exporter.clone(), module: module.into() }),
            origin: Some(format!("monitoring/probes/{module}")),
            ..hearth_model::model::ScrapeJob::derived(format!("probe-{module}"), vec![], "/probe")
        });
    }
    let files = common::render(&m);
    let modules = files.iter().find(|f| f.kind == Kind::Blackbox).expect("the probe modules are rendered");
    let dir = common::temp_dir("monitoring/blackbox");
    let config = dir.join("blackbox.yml");
    std::fs::write(&config, &modules.content).unwrap();
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    let target_port = target.local_addr().unwrap().port();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _exporter = Killed(
        Command::new("prometheus-blackbox-exporter")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .spawn()
            .expect("prometheus-blackbox-exporter starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(port, "/metrics").is_none_or(|b| !b.contains("200 OK")) {
        assert!(Instant::now() < deadline, "the Blackbox exporter did not answer on 127.0.0.1:{port}");
        std::thread::sleep(Duration::from_millis(200));
    }
    for (module, target) in [
        ("tcp_connect", format!("127.0.0.1:{target_port}")),
        ("icmp", "127.0.0.1".to_string()),
        ("http_2xx", format!("http://127.0.0.1:{port}/metrics")),
    ] {
        let body = get(port, &format!("/probe?module={module}&target={target}")).unwrap_or_default();
        assert!(body.contains("\nprobe_success 1"), "{module} of {target}:\n{body}");
    }
}

/// Seed 000's PostgreSQL exporter on NixOS: a real `prometheus-postgres-exporter`, started with
/// the module's own `DATA_SOURCE_NAME` (a socket login as `postgres`) and then the rendered
/// environment file's variables over it (systemd's `EnvironmentFile=` wins over `Environment=`),
/// connects to the address and login the file names, not to the socket.
#[test]
fn nixos_postgres_exporter_connects_with_the_rendered_login() {
    if !common::have("prometheus-postgres-exporter") {
        return;
    }
    let m = common::examples().into_iter().find(|(n, _)| n == "nixos-proxmox-five-vms").unwrap().1;
    let files = common::render(&m);
    let env = files
        .iter()
        .find(|f| f.machine == "database-server" && f.path == "/etc/hearth/nixos/postgres-exporter.env")
        .expect("the exporter's environment file is rendered");
    assert_eq!(env.kind, Kind::EnvSecret);
    let flake = files
        .iter()
        .find(|f| f.machine == "database-server" && f.path.ends_with("/database-server/configuration.nix"))
        .expect("the database server's configuration");
    assert!(flake.content.contains("environmentFile = \"/etc/hearth/nixos/postgres-exporter.env\";"));
    assert!(flake.content.contains("services.prometheus.exporters.redis = {"));
    // Nothing listens on this port: the exporter's log names where it tried to connect.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cmd = Command::new("prometheus-postgres-exporter");
    cmd.env("DATA_SOURCE_NAME", "user=postgres database=postgres host=/run/postgresql sslmode=disable");
    for line in env.content.lines().filter(|l| !l.starts_with('#')) {
        let (key, value) = line.split_once('=').expect("KEY=value");
        cmd.env(key, value.replace("192.168.1.102:5432", &format!("127.0.0.1:{closed}")));
    }
    let dir = common::temp_dir("monitoring/postgres-exporter");
    let log = dir.join("exporter.log");
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _exporter = Killed(
        cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("prometheus-postgres-exporter starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let scraped = get(port, "/metrics").is_some_and(|b| b.contains("pg_up 0"));
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        if scraped && logged.contains(&format!("127.0.0.1:{closed}")) {
            break;
        }
        assert!(Instant::now() < deadline, "the exporter did not try 127.0.0.1:{closed}:\n{logged}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
