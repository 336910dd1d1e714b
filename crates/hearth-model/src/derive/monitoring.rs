//! Scrape targets, alert rules (built-in ones expanded) and notification channels.

use hearth_catalog::Catalog;
use hearth_spec::Spec;
use hearth_spec::ast::{Agent, Runtime};

use crate::model::{AlertRule, Channel, Model, Placement, ScrapeJob};

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
    let Some(m) = &spec.monitoring else { return };
    let name = |r: &Option<hearth_spec::Sp<String>>| r.as_ref().map(|r| r.value.clone());
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
    if let Some(i) = m.scrape_interval {
        mon.scrape_interval = i.to_string();
    }
    mon.dashboards = m.dashboards.clone();
    if let Some(alerts) = &m.alerts {
        for r in &alerts.rules {
            let rule = if let Some(b) = &r.rule {
                let Some((expr, dflt_for, sev, summary)) = builtin(&b.value, r.threshold) else { continue };
                AlertRule {
                    name: r.name.as_ref().map_or_else(|| alert_name(&b.value), |n| n.value.clone()),
                    expr,
                    for_: r.r#for.map_or_else(|| dflt_for.to_string(), |d| d.to_string()),
                    severity: r.severity.map_or(sev, |s| s.as_str()).to_string(),
                    summary: r.summary.clone().unwrap_or_else(|| summary.to_string()),
                }
            } else {
                let (Some(n), Some(expr)) = (&r.name, &r.expr) else { continue };
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
    // Scrape jobs. Node metrics from every managed machine with an address, unless Alloy
    // pushes them; cAdvisor on Docker machines; each service's own metrics endpoint.
    let wants = |e: &str| m.exporters.iter().any(|x| x.value == e);
    let node_port =
        catalog.get("node-exporter").and_then(|a| a.ports.iter().next().map(|(_, p)| p.port)).unwrap_or(9100);
    if wants("node-exporter") || matches!(m.agent, Some(Agent::NodeExporter | Agent::Promtail)) {
        let mut targets: Vec<String> = model
            .guests
            .values()
            .filter(|g| g.managed)
            .filter_map(|g| g.address)
            .chain(model.hosts.values().filter_map(|h| h.address))
            .map(|a| format!("{a}:{node_port}"))
            .collect();
        targets.sort();
        targets.dedup();
        model.monitoring.scrape.push(ScrapeJob { job: "node".into(), targets, path: "/metrics".into() });
    }
    if wants("cadvisor") {
        let port = catalog.get("cadvisor").and_then(|a| a.primary_port().map(|(_, p)| p.port)).unwrap_or(8080);
        let mut targets: Vec<String> = model
            .guests
            .values()
            .filter(|g| g.runtime == Runtime::Docker)
            .filter_map(|g| g.address)
            .chain(model.hosts.values().filter(|h| h.runtime == Some(Runtime::Docker)).filter_map(|h| h.address))
            .map(|a| format!("{a}:{port}"))
            .collect();
        targets.sort();
        model.monitoring.scrape.push(ScrapeJob { job: "cadvisor".into(), targets, path: "/metrics".into() });
    }
    let mut jobs = Vec::new();
    for (sname, s) in &model.services {
        let Some(app) = s.app.as_deref().and_then(|a| catalog.get(a)) else { continue };
        let Some(metrics) = &app.metrics else { continue };
        let port = s.port(&metrics.port).map(|p| p.reachable);
        let (Some(port), Some(addr)) = (port.or_else(|| metrics.port.parse().ok()), s.address) else { continue };
        if matches!(s.on, Placement::Cluster(_)) {
            continue;
        }
        jobs.push(ScrapeJob {
            job: sname.clone(),
            targets: vec![format!("{addr}:{port}")],
            path: metrics.path.clone().unwrap_or_else(|| "/metrics".into()),
        });
    }
    // A service whose job name an exporter job already has (a `cadvisor` service, say) adds its
    // targets there instead of a second job of the same name.
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
