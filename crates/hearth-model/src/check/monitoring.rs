//! Monitoring: every exporter the spec names is deployed, every alert rule has series to read,
//! every metrics endpoint Prometheus is given is reachable, and alerts have somewhere to go.

use std::collections::BTreeSet;

use hearth_catalog::{Catalog, Provides};
use hearth_spec::ast::Runtime;
use hearth_spec::suggest::help_for;
use hearth_spec::{Code, Diagnostic, Span, Spec};

use crate::model::{Model, Placement};

/// The exporters `monitoring.exporters` knows.
const EXPORTERS: &[&str] = &["node-exporter", "cadvisor", "blackbox", "postgres", "redis", "mongodb"];

pub(super) fn monitoring(spec: &Spec, catalog: &Catalog, model: &Model, out: &mut Vec<Diagnostic>) {
    let Some(m) = &spec.monitoring else { return };
    for e in &m.exporters {
        if !EXPORTERS.contains(&e.value.as_str()) {
            let mut d = Diagnostic::new(Code::UnknownExporter, e.span, format!("unknown exporter `{}`", e.value));
            if let Some(help) = help_for(&e.value, EXPORTERS.iter().copied(), "exporters") {
                d = d.help(help);
            }
            if let Some(best) = hearth_spec::suggest::did_you_mean(&e.value, EXPORTERS.iter().copied()) {
                d = d.suggest_part(e.span, e.value.as_str(), best);
            }
            out.push(d);
        }
    }
    exporters_deployed(spec, model, out);
    database_exporters(spec, catalog, model, out);
    unscraped(spec, model, out);
    rules_have_data(spec, model, out);
    alert_routing(spec, model, out);
}

/// The machines running a service of `app`.
fn running(model: &Model, app: &str) -> BTreeSet<String> {
    model
        .services
        .values()
        .filter(|s| s.app.as_deref() == Some(app))
        .flat_map(|s| s.machines().into_iter().map(str::to_string))
        .collect()
}

/// `cadvisor` and `blackbox` run as services the spec declares (a container in a Hearth stack,
/// or the package), so their ports are allocated, opened and documented like any other: naming
/// one under `exporters` without such a service is refused rather than scraped into the void.
fn exporters_deployed(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    let Some(m) = &spec.monitoring else { return };
    for e in &m.exporters {
        match e.value.as_str() {
            "cadvisor" => {
                let docker: Vec<&String> = model
                    .guests
                    .iter()
                    .filter(|(_, g)| g.managed && g.runtime == Runtime::Docker)
                    .map(|(n, _)| n)
                    .chain(model.hosts.iter().filter(|(_, h)| h.runtime == Some(Runtime::Docker)).map(|(n, _)| n))
                    .collect();
                let have = running(model, "cadvisor");
                let missing: Vec<&String> = docker.iter().copied().filter(|d| !have.contains(*d)).collect();
                if docker.is_empty() {
                    out.push(
                        Diagnostic::new(
                            Code::ExporterNotDeployed,
                            e.span,
                            "`cadvisor` reads container metrics, but no machine has `runtime: docker`",
                        )
                        .help("remove `cadvisor` from `monitoring.exporters`")
                        .suggest_removal(e.span),
                    );
                } else if !missing.is_empty() {
                    let names: Vec<String> = missing.iter().map(|n| format!("`{n}`")).collect();
                    let services: Vec<String> =
                        missing.iter().map(|n| format!("`cadvisor-{n}: {{ app: cadvisor, on: {n} }}`")).collect();
                    out.push(
                        Diagnostic::new(
                            Code::ExporterNotDeployed,
                            e.span,
                            format!(
                                "`cadvisor` would be scraped on {}, but no `app: cadvisor` service runs there",
                                names.join(", ")
                            ),
                        )
                        .label("Prometheus would scrape a port nothing serves")
                        .help(format!("add under `services:` {}", services.join(", "))),
                    );
                }
            }
            // A Prometheus that did not resolve (its machine unknown, say) has its own diagnostic,
            // and the Blackbox exporter Hearth would add beside it is left out with it.
            "blackbox"
                if running(model, "blackbox-exporter").is_empty()
                    && m.prometheus.as_ref().is_none_or(|p| model.services.contains_key(&p.value)) =>
            {
                let on = m
                    .prometheus
                    .as_ref()
                    .and_then(|p| model.services.get(&p.value))
                    .filter(|s| !matches!(s.on, Placement::Cluster(_)))
                    .map_or("<machine>", |s| s.on.name());
                out.push(
                    Diagnostic::new(
                        Code::ExporterNotDeployed,
                        e.span,
                        "`blackbox` is named, but no `app: blackbox-exporter` service runs anywhere",
                    )
                    .help(format!("add under `services:` `blackbox: {{ app: blackbox-exporter, on: {on} }}`")),
                );
            }
            _ => {}
        }
    }
}

/// `postgres`, `redis` and `mongodb` add an exporter beside each server of that engine
/// (`resolve/exporters.rs`): naming one with no such server is refused (it would deploy
/// nothing), and a server the resolver could give none (on a cluster) is named, so its metrics
/// are not silently missing.
fn database_exporters(spec: &Spec, catalog: &Catalog, model: &Model, out: &mut Vec<Diagnostic>) {
    let Some(m) = &spec.monitoring else { return };
    for e in &m.exporters {
        let (kind, engine) = match e.value.as_str() {
            "postgres" => (Provides::Postgres, "PostgreSQL"),
            "redis" => (Provides::Redis, "Redis"),
            "mongodb" => (Provides::Mongodb, "MongoDB"),
            _ => continue,
        };
        let provides = |app: Option<&str>| app.and_then(|a| catalog.get(a)).is_some_and(|a| a.provides(kind));
        let servers: Vec<(&String, &crate::model::Service)> =
            model.services.iter().filter(|(_, s)| provides(s.app.as_deref())).collect();
        // A server the spec declares but that did not resolve (its machine unknown, say) has its
        // own diagnostic; the entry is not the mistake then.
        let declared = spec.services.entries.iter().any(|e| provides(e.value.app.as_ref().map(|a| a.value.as_str())));
        if servers.is_empty() && !declared {
            out.push(
                Diagnostic::new(
                    Code::DatabaseExporterWithoutServer,
                    e.span,
                    format!("`{}` adds an exporter beside each {engine} server, but no service runs one", e.value),
                )
                .help(format!("remove `{}` from `monitoring.exporters`", e.value))
                .suggest_removal(e.span),
            );
            continue;
        }
        for (name, s) in servers {
            if model.services.contains_key(&format!("{name}-exporter")) {
                continue;
            }
            let why = if matches!(s.on, Placement::Cluster(_)) {
                "it runs on a cluster"
            } else if model.is_nixos(s.on.name()) {
                "its machine is NixOS, which has no MongoDB exporter module"
            } else {
                continue;
            };
            out.push(
                Diagnostic::new(
                    Code::DatabaseExporterUnplaceable,
                    e.span,
                    format!("{engine} server `{name}` gets no exporter: {why}"),
                )
                .help(format!(
                    "its metrics are not scraped: run an exporter yourself and add it as a service with `uses: [{name}]`"
                )),
            );
        }
    }
}

/// A metrics port that is not published is not on its machine's address; Prometheus is not
/// given it (`derive/monitoring.rs`), and the operator hears why.
fn unscraped(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for u in &model.monitoring.unscraped {
        let Some(s) = model.services.get(&u.service) else { continue };
        let Some(entry) = spec.services.entry(&u.service) else { continue };
        let machine = s.on.name();
        let Some(container) = s.port(&u.port).map(|p| p.listen) else { continue };
        // A host port nothing on the machine holds yet, so the proposed edit passes the checks.
        let taken: BTreeSet<u16> = model
            .services
            .values()
            .filter(|o| o.machines().contains(&machine))
            .flat_map(|o| o.ports.iter().chain(o.companions.iter().flat_map(|c| c.ports.iter())))
            .filter_map(|p| p.host)
            .collect();
        let free = (container..=u16::MAX).find(|p| !taken.contains(p)).unwrap_or(container);
        out.push(
            Diagnostic::new(
                Code::MetricsUnreachable,
                entry.key_span,
                format!(
                    "the metrics of `{}` (port `{}`) are not scraped: the container port is not published on `{machine}`",
                    u.service, u.port
                ),
            )
            .label("not published, so not on the machine's address")
            .help(format!("publish it under the service: `ports: {{ {}: {free} }}`", u.port)),
        );
    }
}

/// Metric-name prefixes of series only a database exporter produces, with the scrape job of the
/// exporters Hearth deploys for them (`monitoring.exporters`), when it does.
const FOREIGN: &[(&str, &str, Option<&str>)] = &[
    ("pg_", "a PostgreSQL exporter", Some("postgres")),
    ("mysql_", "a MySQL exporter", None),
    ("mongodb_", "a MongoDB exporter", Some("mongodb")),
    ("redis_", "a Redis exporter", Some("redis")),
];

/// Every rule reads series some scrape job or agent produces.
fn rules_have_data(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    let Some(alerts) = spec.monitoring.as_ref().and_then(|m| m.alerts.as_ref()) else { return };
    let mon = &model.monitoring;
    let alloy = mon.agent.as_deref() == Some("alloy") && mon.prometheus.is_some();
    let node = alloy || mon.scrape.iter().any(|j| j.job == "node");
    let probes = mon.scrape.iter().any(|j| j.probe.is_some());
    // The certificate-expiry rule reads an HTTP probe's certificate; `probe-failed` the
    // operator's own probes (`probe-<name>` jobs).
    let http_probes = mon.scrape.iter().any(|j| j.probe.as_ref().is_some_and(|p| p.module == "http_2xx"));
    let declared_probes = mon.scrape.iter().any(|j| j.probe.is_some() && j.origin.is_some());
    let containers = mon.scrape.iter().any(|j| j.job == "cadvisor");
    let textfile = |machine: &str| alloy || mon.node_exporter.iter().any(|m| m == machine);
    let no_data = |span: Span, rule: &str, why: String, help: &str| {
        Diagnostic::new(Code::AlertWithoutData, span, format!("alert rule `{rule}` has no data: {why}")).help(help)
    };
    for r in &alerts.rules {
        if let Some(b) = &r.rule {
            let rule = b.value.as_str();
            match rule {
                "high-cpu" | "disk-space-low" | "high-memory" if !node => out.push(no_data(
                    b.span,
                    rule,
                    "no machine's node metrics are collected".into(),
                    "add `agent: node-exporter` (or `alloy`) under `monitoring`, or remove the rule",
                )),
                "probe-failed" if !declared_probes => out.push(no_data(
                    b.span,
                    rule,
                    "no probe under `monitoring.probes` runs".into(),
                    "add the checks under `monitoring.probes` (with `blackbox` in `monitoring.exporters`), or remove the rule",
                )),
                "certificate-expiry" if !http_probes => out.push(no_data(
                    b.span,
                    rule,
                    "no Blackbox exporter probes the routes' certificates".into(),
                    "add `blackbox` to `monitoring.exporters` with a `blackbox-exporter` service, or remove the rule",
                )),
                "backup-stale" => {
                    let jobs = &model.backups.jobs;
                    let blind: BTreeSet<&str> =
                        jobs.iter().map(|j| j.machine.as_str()).filter(|m| !textfile(m)).collect();
                    if jobs.is_empty() {
                        out.push(no_data(
                            b.span,
                            rule,
                            "no backup job writes `hearth_backup_last_success_timestamp_seconds`".into(),
                            "give services `backup: <policy>`, or remove the rule",
                        ));
                    } else if !blind.is_empty() {
                        let names: Vec<String> = blind.iter().map(|m| format!("`{m}`")).collect();
                        out.push(no_data(
                            b.span,
                            rule,
                            format!("no node exporter or Alloy reads the backup metrics on {}", names.join(", ")),
                            "add `agent: node-exporter` (or `alloy`) under `monitoring`, or remove the rule",
                        ));
                    }
                }
                _ => {}
            }
        } else if let (Some(name), Some(expr)) = (&r.name, &r.expr) {
            let mut missing: Vec<String> = Vec::new();
            for metric in metric_names(expr) {
                let source = if let Some((_, exporter, job)) = FOREIGN.iter().find(|(p, ..)| metric.starts_with(p)) {
                    job.is_none_or(|job| !mon.scrape.iter().any(|j| j.job == job)).then_some(*exporter)
                } else if metric.starts_with("node_") && !node {
                    Some("the node exporter")
                } else if metric.starts_with("probe_") && !probes {
                    Some("the Blackbox exporter")
                } else if metric.starts_with("container_") && !containers {
                    Some("cAdvisor")
                } else {
                    None
                };
                if let Some(source) = source {
                    missing.push(format!("`{metric}` ({source})"));
                }
            }
            if !missing.is_empty() {
                out.push(no_data(
                    name.span,
                    &name.value,
                    format!("nothing Hearth deploys exports {}", missing.join(", ")),
                    "deploy the exporter (`postgres`, `redis` and `mongodb` under `monitoring.exporters`, others as a service with metrics), or remove the rule",
                ));
            }
        }
    }
}

/// The metric names a PromQL expression reads (its selectors without their matchers), once each.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for selector in crate::promql::selectors(expr) {
        let name = selector.split('{').next().unwrap_or_default().trim().to_string();
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Rules alert through Alertmanager only: without one, `notify:` reaches no channel.
fn alert_routing(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    let Some(alerts) = spec.monitoring.as_ref().and_then(|m| m.alerts.as_ref()) else { return };
    if model.monitoring.alertmanager.is_some() {
        return;
    }
    if let Some(first) = alerts.notify.first() {
        out.push(
            Diagnostic::new(
                Code::NotifyWithoutAlertmanager,
                first.span,
                "alerts are sent to channels, but `monitoring` names no `alertmanager` to send them",
            )
            .help("add an Alertmanager service and `alertmanager: <service>` under `monitoring`"),
        );
    } else if let Some(rule) = alerts.rules.first() {
        out.push(
            Diagnostic::new(
                Code::AlertsWithoutAlertmanager,
                rule.span,
                "alert rules fire only in Prometheus's UI: `monitoring` names no `alertmanager`",
            )
            .help("add an Alertmanager service and `alertmanager: <service>` under `monitoring` to be notified"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::metric_names;

    #[test]
    fn metric_names_skip_labels_functions_and_strings() {
        assert_eq!(metric_names("pg_up == 0 or mongodb_up == 0"), ["pg_up", "mongodb_up"]);
        assert_eq!(
            metric_names("sum by (instance) (rate(node_cpu_seconds_total{mode=\"idle\", pg_x=\"a b\"}[5m])) > 1"),
            ["node_cpu_seconds_total"]
        );
        assert_eq!(metric_names("up{job=\"node\"} == 0"), ["up"]);
    }
}
