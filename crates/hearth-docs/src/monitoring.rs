//! Monitoring: the components and where they run, scrape targets, the operator's probes, alert
//! rules, and the notification channels alerts go to.

use hearth_model::Model;
use hearth_model::model::Channel;

use crate::machines;
use crate::md::{self, Table};

pub fn write(model: &Model, out: &mut String) {
    out.push_str("## Monitoring\n\n");
    let m = &model.monitoring;
    let mut parts = Table::new(&["Role", "Service", "Machine"]);
    for (role, svc) in [
        ("metrics", &m.prometheus),
        ("alert routing", &m.alertmanager),
        ("dashboards", &m.grafana),
        ("logs", &m.loki),
        ("uptime checks", &m.uptime),
        ("start page", &m.dashboard),
    ] {
        if let Some(s) = svc {
            let machine =
                model.services.get(s).map(|x| machines::machine_label(model, x.on.name())).unwrap_or_default();
            parts.row(&[role.to_string(), s.clone(), machine]);
        }
    }
    if parts.is_empty()
        && m.scrape.is_empty()
        && m.rules.is_empty()
        && m.log_rules.is_empty()
        && model.notifications.is_empty()
    {
        out.push_str("No monitoring is declared.\n\n");
        return;
    }
    if !parts.is_empty() {
        parts.write(out);
    }
    let mut facts = Vec::new();
    if let Some(a) = &m.agent {
        facts.push(format!("agent on every managed machine: `{a}`"));
    }
    if !m.exporters.is_empty() {
        facts.push(format!("exporters: {}", m.exporters.join(", ")));
    }
    if !m.node_exporter.is_empty() {
        facts.push(format!("node exporter (Debian's `prometheus-node-exporter`) on {}", m.node_exporter.join(", ")));
    }
    facts.push(format!("retention {}", m.retention));
    if m.loki.is_some() {
        let mut logs = format!("logs kept {}", m.logs.retention);
        if let Some(store) = &m.logs.store {
            logs.push_str(&format!(" in bucket {} of {}", md::code(&store.bucket), store.service));
            if let Some(local) = &m.logs.local {
                logs.push_str(&format!(", their index on Loki's disk for {local}"));
            }
        } else {
            logs.push_str(" on Loki's disk");
        }
        facts.push(logs);
    }
    facts.push(format!("scrape interval {}", m.scrape_interval));
    if !m.dashboards.is_empty() {
        facts.push(format!("dashboards: {}", m.dashboards.join(", ")));
    }
    if !m.widgets.is_empty() {
        let list: Vec<String> = m.widgets.iter().map(|(s, w)| format!("{s} ({})", md::code(&w.kind))).collect();
        facts.push(format!("start page widgets: {}", list.join(", ")));
    }
    out.push_str(&format!("{}.\n\n", capitalize(&facts.join("; "))));
    if !m.scrape.is_empty() {
        out.push_str("### Scrape targets\n\n");
        let mut t = Table::new(&["Job", "Targets", "Path"]);
        for j in m.scrape.iter().filter(|j| !declared_probe(j)) {
            // A job of `monitoring.scrape` may have its own interval and scheme.
            let own: Vec<String> =
                j.interval.iter().map(|i| format!("every {i}")).chain(j.scheme.iter().cloned()).collect();
            let job = if own.is_empty() { j.job.clone() } else { format!("{} ({})", j.job, own.join(", ")) };
            t.row(&[job, j.targets.join(", "), md::code(&j.path)]);
        }
        t.write(out);
    }
    if m.scrape.iter().any(declared_probe) {
        out.push_str(
            "### Probes

",
        );
        let mut t = Table::new(&["Job", "Check", "Target", "Blackbox exporter"]);
        for j in m.scrape.iter().filter(|j| declared_probe(j)) {
            let Some(p) = &j.probe else { continue };
            let check = match p.module.as_str() {
                "tcp_connect" => "TCP connect",
                "icmp" => "ping",
                _ => "HTTP 2xx",
            };
            t.row(&[j.job.clone(), check.to_string(), j.targets.join(", "), p.exporter.clone()]);
        }
        t.write(out);
    }
    if !m.unscraped.is_empty() {
        let list: Vec<String> =
            m.unscraped.iter().map(|u| format!("{} (port {})", u.service, md::code(&u.port))).collect();
        out.push_str(&format!("Not scraped, their metrics port being unpublished: {}.\n\n", list.join(", ")));
    }
    if !m.rules.is_empty() {
        out.push_str("### Alert rules\n\n");
        let mut t = Table::new(&["Alert", "Severity", "For", "Expression", "Summary"]);
        for r in &m.rules {
            t.row(&[r.name.clone(), r.severity.clone(), r.for_.clone(), md::code(&r.expr), r.summary.clone()]);
        }
        t.write(out);
    }
    if !m.log_rules.is_empty() {
        out.push_str("### Log alert rules\n\n");
        out.push_str("Evaluated by Loki's ruler, sent to the same Alertmanager.\n\n");
        let mut t = Table::new(&["Alert", "Severity", "For", "LogQL", "Summary"]);
        for r in &m.log_rules {
            t.row(&[r.name.clone(), r.severity.clone(), r.for_.clone(), md::code(&r.expr), r.summary.clone()]);
        }
        t.write(out);
    }
    out.push_str("### Notification channels\n\n");
    if m.alertmanager.is_none() && !(m.rules.is_empty() && m.log_rules.is_empty()) {
        out.push_str("No Alertmanager is declared: alerts fire only in Prometheus's UI and reach no channel.\n\n");
    }
    if model.notifications.is_empty() {
        out.push_str("No notification channels are declared");
        if m.alertmanager.is_some() {
            out.push_str(": alerts reach Alertmanager but no receiver");
        }
        out.push_str(".\n\n");
    } else {
        let mut t = Table::new(&["Channel", "Kind", "Destination", "Secrets", "Gets alerts"]);
        for (name, c) in &model.notifications {
            let (kind, dest, secrets) = channel(c);
            // Alertmanager routes to the `notify` channels, or to every channel when none is
            // named; without Alertmanager nothing is sent.
            let routed = m.notify.is_empty() || m.notify.iter().any(|n| n == name);
            let alerts = match (m.alertmanager.is_some(), routed) {
                (true, true) => "yes",
                (true, false) => "no",
                (false, _) => "no (no Alertmanager)",
            };
            t.row(&[name.clone(), kind.to_string(), dest, secrets.join(", "), alerts.to_string()]);
        }
        t.write(out);
    }
}

/// A probe of `monitoring.probes` (the routes' certificate probes are a derived scrape job).
fn declared_probe(j: &hearth_model::model::ScrapeJob) -> bool {
    j.probe.is_some() && j.origin.is_some()
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Kind, destination and the secret names a channel uses (never values).
pub(crate) fn channel(c: &Channel) -> (&'static str, String, Vec<String>) {
    let refs = |vals: &[Option<&String>]| -> Vec<String> {
        vals.iter()
            .flatten()
            .map(|v| if md::is_reference(v) { md::code(&md::secret_name(v)) } else { "****".to_string() })
            .collect()
    };
    match c {
        Channel::Telegram { chat, token } => ("telegram", format!("chat {chat}"), refs(&[Some(token)])),
        Channel::Ntfy { url, topic, token } => ("ntfy", format!("{url} topic {topic}"), refs(&[token.as_ref()])),
        Channel::Gotify { url, token } => ("gotify", url.clone(), refs(&[Some(token)])),
        Channel::Email { to, smarthost, password, .. } => {
            ("email", format!("{to} via {smarthost}"), refs(&[password.as_ref()]))
        }
        Channel::Webhook { url } => ("webhook", url.clone(), Vec::new()),
    }
}
