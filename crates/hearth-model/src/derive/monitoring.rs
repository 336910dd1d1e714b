//! Scrape targets, alert rules (built-in ones expanded) and notification channels.

use hearth_catalog::Catalog;
use hearth_spec::Spec;
use std::collections::BTreeMap;

use hearth_spec::ast::{Agent, Form};

use super::targets;
use crate::model::{
    AlertRule, BlackboxProbe, Channel, HostKind, LogStore, Model, Placement, ScrapeJob, Tls, Unscraped,
};

/// A built-in rule's expression with its threshold, default duration, severity and summary.
fn builtin(rule: &str, threshold: Option<f64>) -> Option<(String, &'static str, &'static str, &'static str)> {
    let t = |d: f64| {
        let v = threshold.unwrap_or(d);
        if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v}") }
    };
    Some(match rule {
        "server-down" => ("up == 0".to_string(), "5m", "critical", "{{ $labels.instance }} is down"),
        "high-cpu" => (
            format!(
                "100 - (avg by(instance) (irate(node_cpu_seconds_total{{mode=\"idle\"}}[5m])) * 100) > {}",
                t(80.0)
            ),
            "10m",
            "warning",
            "CPU above threshold on {{ $labels.instance }}",
        ),
        "disk-space-low" => (
            format!("(node_filesystem_avail_bytes / node_filesystem_size_bytes) * 100 < {}", t(10.0)),
            "5m",
            "warning",
            "Low disk space on {{ $labels.instance }} {{ $labels.mountpoint }}",
        ),
        "high-memory" => (
            format!("(1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) * 100 > {}", t(90.0)),
            "10m",
            "warning",
            "Memory above threshold on {{ $labels.instance }}",
        ),
        "certificate-expiry" => (
            format!("probe_ssl_earliest_cert_expiry - time() < 86400 * {}", t(14.0)),
            "1h",
            "warning",
            "Certificate for {{ $labels.instance }} expires soon",
        ),
        // The operator's own probes (`monitoring.probes`), not the routes' certificate probes:
        // a route behind basic auth answers 401 to the Blackbox exporter and is not down.
        "probe-failed" => (
            "probe_success{job=~\"probe-.+\"} == 0".to_string(),
            "5m",
            "critical",
            "Probe {{ $labels.job }} of {{ $labels.instance }} fails",
        ),
        // Without a threshold, each policy's own period plus slack (`backup_stale`).
        "backup-stale" => (
            format!("time() - hearth_backup_last_success_timestamp_seconds > 3600 * {}", t(26.0)),
            "1h",
            "warning",
            "Backup {{ $labels.job_name }} has not succeeded recently",
        ),
        _ => return None,
    })
}

/// The CamelCase alert name of a built-in rule: `high-cpu` -> `HighCPU`.
pub(crate) fn alert_name(rule: &str) -> String {
    match rule {
        "high-cpu" => "HighCPU".into(),
        other => other
            .split('-')
            .map(|w| {
                let mut c = w.chars();
                c.next().map_or_else(String::new, |f| f.to_ascii_uppercase().to_string() + c.as_str())
            })
            .collect(),
    }
}

pub fn derive(spec: &Spec, catalog: &Catalog, model: &mut Model) {
    // Defaults hold whether or not the spec has a `monitoring:` section.
    model.monitoring.retention = "15d".into();
    model.monitoring.scrape_interval = "30s".into();
    model.monitoring.logs.retention = "15d".into();
    let Some(m) = &spec.monitoring else { return };
    let name = |r: &Option<hearth_spec::Sp<String>>| r.as_ref().map(|r| r.value.clone());
    let stale = backup_stale(spec, model);
    let store = log_store(spec, model);
    let mon = &mut model.monitoring;
    mon.prometheus = name(&m.prometheus);
    mon.alertmanager = name(&m.alertmanager);
    mon.grafana = name(&m.grafana);
    mon.loki = name(&m.loki);
    mon.uptime = name(&m.uptime);
    mon.dashboard = name(&m.dashboard);
    mon.agent = m.agent.map(|a| a.as_str().to_string());
    mon.exporters = m.exporters.iter().map(|e| e.value.clone()).collect();
    if let Some(r) = m.retention {
        mon.retention = r.to_string();
    }
    mon.logs.retention = mon.retention.clone();
    if let Some(logs) = &m.logs {
        if let Some(r) = &logs.retention {
            mon.logs.retention = r.value.to_string();
        }
        mon.logs.local = logs.local.as_ref().map(|l| l.value.to_string());
    }
    mon.logs.store = store;
    if let Some(i) = m.scrape_interval {
        mon.scrape_interval = i.to_string();
    }
    mon.dashboards = m.dashboards.clone();
    mon.watch = m.watch.as_ref().map(crate::model::Watch::from_spec).unwrap_or_default();
    if let Some(alerts) = &m.alerts {
        for r in &alerts.rules {
            let rule = if let Some(b) = &r.rule {
                let Some((mut expr, dflt_for, sev, summary)) = builtin(&b.value, r.threshold) else { continue };
                if b.value == "backup-stale"
                    && r.threshold.is_none()
                    && let Some(per_policy) = &stale
                {
                    expr.clone_from(per_policy);
                }
                AlertRule {
                    name: r.name.as_ref().map_or_else(|| alert_name(&b.value), |n| n.value.clone()),
                    expr,
                    for_: r.r#for.map_or_else(|| dflt_for.to_string(), |d| d.to_string()),
                    severity: r.severity.map_or(sev, |s| s.as_str()).to_string(),
                    summary: r.summary.clone().unwrap_or_else(|| summary.to_string()),
                }
            } else if let (Some(n), Some(logql), None) = (&r.name, &r.logql, &r.expr) {
                mon.log_rules.push(AlertRule {
                    name: n.value.clone(),
                    expr: logql.value.clone(),
                    for_: r.r#for.map_or_else(|| "5m".into(), |d| d.to_string()),
                    severity: r.severity.map_or("warning", |s| s.as_str()).to_string(),
                    summary: r.summary.clone().unwrap_or_else(|| n.value.clone()),
                });
                continue;
            } else {
                let (Some(n), Some(expr), None) = (&r.name, &r.expr, &r.logql) else { continue };
                AlertRule {
                    name: n.value.clone(),
                    expr: expr.clone(),
                    for_: r.r#for.map_or_else(|| "5m".into(), |d| d.to_string()),
                    severity: r.severity.map_or("warning", |s| s.as_str()).to_string(),
                    summary: r.summary.clone().unwrap_or_else(|| n.value.clone()),
                }
            };
            mon.rules.push(rule);
        }
        mon.notify = alerts.notify.iter().map(|n| n.value.clone()).collect();
    }
    // Scrape jobs. Node metrics from every machine Hearth manages, unless Alloy pushes them;
    // each service's own metrics endpoint, the exporters Hearth deploys as services among them
    // (`resolve/exporters.rs`).
    let wants = |e: &str| m.exporters.iter().any(|x| x.value == e);
    let node_port =
        catalog.get("node-exporter").and_then(|a| a.ports.iter().next().map(|(_, p)| p.port)).unwrap_or(9100);
    if wants("node-exporter") || matches!(m.agent, Some(Agent::NodeExporter | Agent::Promtail)) {
        let machines = node_machines(model);
        let mut targets: Vec<String> =
            machines.iter().filter_map(|n| model.machine_address(n)).map(|a| format!("{a}:{node_port}")).collect();
        targets.sort();
        targets.dedup();
        model.monitoring.node_exporter = machines;
        model.monitoring.scrape.push(ScrapeJob::derived("node", targets, "/metrics"));
    }
    let mut jobs = Vec::new();
    for (sname, s) in &model.services {
        let Some(app) = s.app.as_deref().and_then(|a| catalog.get(a)) else { continue };
        let Some(metrics) = &app.metrics else { continue };
        if matches!(s.on, Placement::Cluster(_)) {
            continue;
        }
        let endpoint = s.port(&metrics.port);
        let (Some(port), Some(addr)) = (endpoint.map(|p| p.reachable).or_else(|| metrics.port.parse().ok()), s.address)
        else {
            continue;
        };
        // A container port that is not published is not on the machine's address: scraping
        // it there would reach whatever else holds that port, or nothing. Checks warn (W611).
        if endpoint.is_some_and(|e| !e.published) && s.form == Form::Docker && s.network_mode.as_deref() != Some("host")
        {
            if model.monitoring.prometheus.is_some() {
                model.monitoring.unscraped.push(Unscraped { service: sname.clone(), port: metrics.port.clone() });
            }
            continue;
        }
        // The exporters keep one job each, whichever services run them.
        let job = match app.name.value.as_str() {
            "node-exporter" => "node",
            "cadvisor" => "cadvisor",
            "blackbox-exporter" => "blackbox",
            "postgres-exporter" => "postgres",
            "redis-exporter" => "redis",
            "mongodb-exporter" => "mongodb",
            _ => sname,
        };
        jobs.push(ScrapeJob::derived(
            job,
            vec![format!("{addr}:{port}")],
            metrics.path.clone().unwrap_or_else(|| "/metrics".into()),
        ));
    }
    // Services of one job (a node exporter the spec runs as a service, every cAdvisor) add
    // their targets to it instead of a second job of the same name.
    for job in jobs {
        match model.monitoring.scrape.iter_mut().find(|j| j.job == job.job) {
            Some(existing) => {
                for t in job.targets {
                    if !existing.targets.contains(&t) {
                        existing.targets.push(t);
                    }
                }
                existing.targets.sort();
            }
            None => model.monitoring.scrape.push(job),
        }
    }
    if let Some(job) = https_probes(catalog, model) {
        model.monitoring.scrape.push(job);
    }
    // A name the derived jobs already hold is refused (E853): the first job keeps it.
    for job in declared_jobs(spec, catalog, model) {
        if !model.monitoring.scrape.iter().any(|j| j.job == job.job) {
            model.monitoring.scrape.push(job);
        }
    }
    for e in &spec.notifications.entries {
        let n = &e.value;
        let ch = if let Some(t) = &n.telegram {
            Channel::Telegram { chat: t.chat.value.clone(), token: super::reference(spec, &t.token) }
        } else if let Some(t) = &n.ntfy {
            Channel::Ntfy {
                url: t.url.value.clone(),
                topic: t.topic.clone(),
                token: t.token.as_ref().map(|r| super::reference(spec, r)),
            }
        } else if let Some(t) = &n.gotify {
            Channel::Gotify { url: t.url.value.clone(), token: super::reference(spec, &t.token) }
        } else if let Some(t) = &n.email {
            Channel::Email {
                to: t.to.clone(),
                from: t.from.clone(),
                smarthost: t.smarthost.clone(),
                username: t.username.clone(),
                password: t.password.as_ref().map(|r| super::reference(spec, r)),
            }
        } else if let Some(t) = &n.webhook {
            Channel::Webhook { url: t.url.value.clone() }
        } else {
            continue;
        };
        model.notifications.insert(e.name.clone(), ch);
    }
}

/// Loki's bucket on `monitoring.logs.store`: the bucket of Loki's `uses:` entry for that
/// service (the resolver adds `{ service: <store>, bucket: loki }` when Loki has none, see
/// `resolve/wiring.rs`). `None` without a store, or when the store is no S3 service (E856).
fn log_store(spec: &Spec, model: &Model) -> Option<LogStore> {
    let m = spec.monitoring.as_ref()?;
    let store = m.logs.as_ref()?.store.as_ref()?;
    let loki = m.loki.as_ref()?;
    let svc = model.services.get(&loki.value)?;
    let u = svc.uses.iter().find(|u| u.service == store.value && u.bucket.is_some())?;
    let url = u.url.as_ref()?.to_string();
    Some(LogStore {
        service: store.value.clone(),
        bucket: u.bucket.clone()?,
        endpoint: url.trim_start_matches("http://").to_string(),
        access_key: loki.value.clone(),
    })
}

/// The machines whose node metrics Prometheus scrapes: managed guests, and hosts Hearth deploys
/// to (Proxmox nodes and hosts with a container runtime), each with an address.
/// A machine already running the node exporter as a service keeps that one (its job merges
/// into `node`): a second one from the package would fight it for the port.
fn node_machines(model: &Model) -> Vec<String> {
    let served: Vec<&str> = model
        .services
        .values()
        .filter(|s| s.app.as_deref() == Some("node-exporter"))
        .flat_map(|s| s.machines())
        .collect();
    let guests = model.guests.iter().filter(|(_, g)| g.managed && g.address.is_some()).map(|(n, _)| n.clone());
    let hosts = model
        .hosts
        .iter()
        .filter(|(_, h)| h.address.is_some() && (h.kind == HostKind::Proxmox || h.runtime.is_some()))
        .map(|(n, _)| n.clone());
    let mut machines: Vec<String> = guests.chain(hosts).filter(|m| !served.contains(&m.as_str())).collect();
    machines.sort();
    machines
}

/// The probe job of the Blackbox exporter: the HTTPS name of every route, so
/// `probe_ssl_earliest_cert_expiry` (the certificate-expiry rule) has a series per certificate.
fn https_probes(catalog: &Catalog, model: &Model) -> Option<ScrapeJob> {
    if model.ingress.tls == Tls::None {
        return None;
    }
    let exporter = blackbox_exporter(catalog, model)?;
    let mut targets: Vec<String> = model.routes.iter().map(|r| format!("https://{}", r.fqdn)).collect();
    targets.sort();
    targets.dedup();
    if targets.is_empty() {
        return None;
    }
    Some(ScrapeJob {
        probe: Some(BlackboxProbe { exporter, module: "http_2xx".into() }),
        ..ScrapeJob::derived("blackbox-https", targets, "/probe")
    })
}

/// The Blackbox exporter's address, `address:port`: the one the probe jobs send their targets to.
fn blackbox_exporter(catalog: &Catalog, model: &Model) -> Option<String> {
    let (_, blackbox) = model.services.iter().find(|(_, s)| s.app.as_deref() == Some("blackbox-exporter"))?;
    let port_name = catalog.get("blackbox-exporter")?.primary_port()?.0.to_string();
    Some(format!("{}:{}", blackbox.address?, blackbox.port(&port_name)?.reachable))
}

/// The operator's own jobs: `monitoring.scrape` as written (spec names resolved to addresses),
/// then one job per `monitoring.probes` entry (`probe-<name>`) through the Blackbox exporter.
/// Entries the checks refuse (E851-E854) are left out rather than half-written.
fn declared_jobs(spec: &Spec, catalog: &Catalog, model: &Model) -> Vec<ScrapeJob> {
    let Some(m) = &spec.monitoring else { return Vec::new() };
    let mut jobs = Vec::new();
    for e in &m.scrape {
        let targets = targets::scrape_targets(model, e);
        if targets.len() != e.targets.len() || targets.is_empty() {
            continue;
        }
        jobs.push(ScrapeJob {
            interval: e.interval.map(|i| i.to_string()),
            scheme: targets::scheme(e),
            origin: Some(format!("monitoring/scrape/{}", e.job.value)),
            ..ScrapeJob::derived(e.job.value.clone(), targets, e.path.clone().unwrap_or_else(|| "/metrics".into()))
        });
    }
    let Some(exporter) = blackbox_exporter(catalog, model) else { return jobs };
    for p in &m.probes {
        let kinds = targets::probe_kinds(p);
        let [(kind, value)] = kinds[..] else { continue };
        let Some(target) = targets::probe_target(model, kind, &value.value) else { continue };
        jobs.push(ScrapeJob {
            probe: Some(BlackboxProbe { exporter: exporter.clone(), module: kind.module().into() }),
            origin: Some(format!("monitoring/probes/{}", p.name.value)),
            ..ScrapeJob::derived(targets::probe_job(&p.name.value), vec![target], "/probe")
        });
    }
    jobs
}

/// How long a backup may be old before `backup-stale` fires: the policy's longest gap between
/// runs plus slack for a slow run (2 h up to daily, a day beyond: 26 h daily, 8 days weekly).
fn stale_after(period: u64) -> u64 {
    period + if period <= 86_400 { 7_200 } else { 86_400 }
}

/// The `backup-stale` expression: each backup job measured against its own policy's period,
/// one term per distinct threshold. `None` when no backup job writes the metric.
pub(crate) fn backup_stale(spec: &Spec, model: &Model) -> Option<String> {
    let periods: BTreeMap<&str, u64> = spec
        .backups
        .as_ref()
        .map(|b| {
            b.policies.entries.iter().map(|e| (e.name.as_str(), e.value.at.value.max_interval_seconds())).collect()
        })
        .unwrap_or_default();
    let mut by_threshold: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    for job in &model.backups.jobs {
        let Some(period) = periods.get(job.policy.as_str()) else { continue };
        by_threshold.entry(stale_after(*period)).or_default().push(&job.name);
    }
    if by_threshold.is_empty() {
        return None;
    }
    let terms: Vec<String> = by_threshold
        .iter()
        .map(|(seconds, jobs)| {
            format!(
                "(time() - hearth_backup_last_success_timestamp_seconds{{job_name=~\"{}\"}} > {seconds})",
                jobs.join("|")
            )
        })
        .collect();
    Some(terms.join(" or "))
}
