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
//!
//! The small helpers at the bottom (addresses, volume paths, quoting) are shared by the other
//! observability renderers.

use std::fmt::Write as _;

use hearth_model::model::{DnsRecord, Model, Service};
use hearth_spec::ast::Form;

use crate::reader::Runner;
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

    if !mon.rules.is_empty() {
        let mut r = String::from("# Alert rules rendered by Hearth from `monitoring.alerts.rules`.\ngroups:\n");
        r.push_str("  - name: hearth\n    rules:\n");
        for rule in &mon.rules {
            let _ = writeln!(r, "      - alert: {}", q(&rule.name));
            let _ = writeln!(r, "        expr: {}", q(&rule.expr));
            if !rule.for_.is_empty() {
                let _ = writeln!(r, "        for: {}", q(&rule.for_));
            }
            let _ = writeln!(r, "        labels:\n          severity: {}", q(&rule.severity));
            let _ = writeln!(r, "        annotations:\n          summary: {}", q(&rule.summary));
        }
        let file = File::new(machine, format!("{host_dir}/{rules_rel}"), Kind::PrometheusRules, r);
        out.push(runner.config(file).from("monitoring").from(format!("service/{name}")));
    }
}

/// A monitoring role's service by name, when it is set and exists.
pub(crate) fn service<'m>(m: &'m Model, name: Option<&'m str>) -> Option<(&'m str, &'m Service)> {
    let name = name?;
    m.services.get(name).map(|s| (name, s))
}

/// The address other machines reach a service at: its own, else its machine's, else the
/// machine's name (resolvable through the homelab's DNS).
pub(crate) fn address(m: &Model, svc: &Service) -> String {
    svc.address
        .or_else(|| m.guests.get(svc.on.name()).and_then(|g| g.address))
        .or_else(|| m.hosts.get(svc.on.name()).and_then(|h| h.address))
        .map_or_else(|| svc.on.name().to_string(), |a| a.to_string())
}

/// The host port of the service's `http` port (its first port otherwise), as other machines
/// reach it.
pub(crate) fn http_port(svc: &Service) -> u16 {
    port(svc, "http").0
}

/// A named port as `(reachable from other machines, listened on by the process)`.
pub(crate) fn port(svc: &Service, name: &str) -> (u16, u16) {
    svc.ports
        .iter()
        .find(|p| p.name == name)
        .or_else(|| svc.ports.first())
        .map_or((0, 0), |p| (p.host.unwrap_or(p.container), p.container))
}

/// A volume's folder as `(path on the machine, path the process sees)`. For a container these
/// are the bind mount's source and target; natively the resolver sets both to the same path.
/// Without such a volume, `fallback` on both sides.
pub(crate) fn dirs(svc: &Service, volume: &str, fallback: &str) -> (String, String) {
    let found = svc.volumes.iter().find(|v| v.name == volume);
    match found {
        Some(v) if svc.form == Form::Docker => {
            (v.source.trim_end_matches('/').to_string(), v.target.trim_end_matches('/').to_string())
        }
        Some(v) => (v.target.trim_end_matches('/').to_string(), v.target.trim_end_matches('/').to_string()),
        None => (fallback.to_string(), fallback.to_string()),
    }
}

pub(crate) use crate::yaml::quoted as q;

/// The internal DNS records, each (name, address) once: a name exposed by two services, or also
/// listed under `dns.records`, appears twice in the model.
pub(crate) fn dns_records(m: &Model) -> Vec<&DnsRecord> {
    let mut seen = std::collections::BTreeSet::new();
    m.dns_records.iter().filter(|r| seen.insert((r.name.as_str(), r.address))).collect()
}
