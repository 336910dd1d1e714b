//! Prometheus: `prometheus.yml` and the alert rules file, on the machine of
//! `monitoring.prometheus`.
//!
//! The scrape jobs, rules and alert target all come resolved from `Model.monitoring`; this module
//! only prints them. Files go into the service's `config` volume (its host path for a container,
//! `/etc/prometheus` natively), and the paths *inside* the files are the ones the process sees
//! (the volume's target), so the same text works in Docker and natively.
//!
//! Every string that comes from the spec is written as a double-quoted YAML scalar (JSON string
//! syntax, which YAML 1.2 accepts), so names, expressions and `{{ $labels }}` templates never
//! need hand-escaping.

use std::fmt::Write as _;

use crate::alerting;
use crate::query::{address, dirs, http_port, service};
use crate::reader::Runner;
use crate::yaml::quoted as q;
use crate::{Context, File, Kind, Output};

pub fn render(cx: &Context, out: &mut Output) {
    let m = cx.model;
    let Some((name, svc)) = service(m, m.monitoring.prometheus.as_deref()) else { return };
    let machine = svc.on.name();
    let (host_dir, proc_dir) = dirs(svc, "config", "/etc/prometheus");
    let rules_rel = "rules/hearth.yml";
    let mon = &m.monitoring;

    let mut y = String::new();
    y.push_str("# Prometheus configuration rendered by Hearth from `monitoring`.\n");
    if mon.agent.as_deref() == Some("alloy") {
        // Receiving remote writes is a command-line flag, not a key of this file.
        y.push_str("# The alloy agents push metrics with remote_write: start Prometheus with\n");
        y.push_str("# `--web.enable-remote-write-receiver` (a command-line flag, not a key of this file).\n");
    }
    y.push_str("global:\n");
    let interval = mon.scrape_interval.as_str();
    let _ = writeln!(y, "  scrape_interval: {}", q(interval));
    let _ = writeln!(y, "  evaluation_interval: {}", q(interval));
    let _ = writeln!(y, "  external_labels:\n    homelab: {}", q(&m.homelab));
    if !mon.rules.is_empty() {
        let _ = writeln!(y, "rule_files:\n  - {}", q(&format!("{proc_dir}/{rules_rel}")));
    }
    let alertmanager = service(m, mon.alertmanager.as_deref());
    if let Some((_, am)) = alertmanager {
        let _ = writeln!(
            y,
            "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [{}]",
            q(&format!("{}:{}", address(m, am), http_port(am)))
        );
    }
    y.push_str("scrape_configs:");
    if mon.scrape.is_empty() {
        y.push_str(" []");
    }
    y.push('\n');
    let runner = Runner::of(cx, name, svc);
    let mut file = runner
        .config(File::new(machine, format!("{host_dir}/prometheus.yml"), Kind::Prometheus, String::new()))
        .from("monitoring")
        .from(format!("service/{name}"));
    if let Some((am, _)) = alertmanager {
        file = file.from(format!("service/{am}"));
    }
    for job in &mon.scrape {
        let _ = writeln!(y, "  - job_name: {}", q(&job.job));
        let _ = writeln!(y, "    metrics_path: {}", q(&job.path));
        let targets: Vec<String> = job.targets.iter().map(|t| q(t)).collect();
        let _ = writeln!(y, "    static_configs:\n      - targets: [{}]", targets.join(", "));
        if m.services.contains_key(&job.job) {
            file = file.from(format!("service/{}", job.job));
        }
    }
    file.content = y;
    out.push(file);

    if let Some(rules) = alerting::rules(m) {
        let mut r = String::from("# Alert rules rendered by Hearth from `monitoring.alerts.rules`.\n");
        r.push_str(&rules.to_block(&q));
        let file = File::new(machine, format!("{host_dir}/{rules_rel}"), Kind::PrometheusRules, r);
        out.push(runner.config(file).from("monitoring").from(format!("service/{name}")));
    }
}
