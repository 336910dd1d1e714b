//! Facts about monitoring: each scrape target is up in Prometheus's own API, each alert rule's
//! series exist, and a test alert reaches each notification channel.

use std::net::IpAddr;

use hearth_model::Model;
use hearth_model::model::Channel;

use crate::fact::{Check, Fact};
use crate::{place, promql};

/// Prometheus's machine, address and port, its service name, and why it cannot be asked.
fn server<'m>(model: &'m Model, name: Option<&'m String>) -> Option<(&'m str, IpAddr, u16, &'m str, Option<String>)> {
    let (machine, s) = place::machine_of(model, name)?;
    let address = place::address(model, s, machine)?;
    let port = place::port(s, &["http", "web", "api"])?;
    Some((machine, address, port, name?.as_str(), place::unreachable(model, s, machine)))
}

/// Each target of each scrape job is `up`, asked from Prometheus's machine.
pub(crate) fn scrapes(model: &Model, out: &mut Vec<Fact>) {
    let Some((machine, address, port, name, skip)) = server(model, model.monitoring.prometheus.as_ref()) else {
        return;
    };
    for job in &model.monitoring.scrape {
        for target in &job.targets {
            let (host, target_port) =
                target.rsplit_once(':').map_or((target.as_str(), None), |(h, p)| (h, p.parse().ok()));
            let at = host.parse().ok().and_then(|a| place::machine_at(model, a));
            let about = at.unwrap_or(machine);
            let check = Check::ScrapeUp { address, port, job: job.job.clone(), instance: target.clone() };
            // The operator's own jobs point at their entry under `monitoring.scrape`/`probes`.
            let origin = job.origin.clone().unwrap_or_else(|| "monitoring".into());
            let fact = Fact::new(format!("scrape/{}/{target}", job.job), about, machine, check, origin);
            // A service's own job needs that service running too, and so does a target that is
            // a service's port (an exporter the `postgres` job scrapes beside its database).
            let listening = match (at, target_port) {
                (Some(m), Some(p)) => crate::firewall::listeners(model, m, p),
                _ => Vec::new(),
            };
            let needs: Vec<&str> = std::iter::once(name)
                .chain(model.services.contains_key(&job.job).then_some(job.job.as_str()))
                .chain(listening)
                .collect();
            out.push(fact.needs(&needs).skip(skip.clone()).skip(place::machine_skip(model, about)));
        }
    }
}

/// Each alert rule's series exist in Prometheus, and a test alert reaches each channel alerts
/// go to.
pub(crate) fn alerts(model: &Model, out: &mut Vec<Fact>) {
    if let Some((machine, address, port, name, skip)) = server(model, model.monitoring.prometheus.as_ref()) {
        for rule in &model.monitoring.rules {
            let selectors = promql::selectors(&rule.expr);
            let empty = selectors.is_empty().then(|| format!("the expression `{}` reads no series", rule.expr));
            let check = Check::Series { address, port, alert: rule.name.clone(), selectors };
            let producers = producers(model, &rule.expr);
            let needs: Vec<&str> = std::iter::once(name).chain(producers.iter().map(String::as_str)).collect();
            let fact = Fact::new(
                format!("alert/{}/series", rule.name),
                machine,
                machine,
                check,
                format!("alert/{}", rule.name),
            );
            out.push(fact.needs(&needs).skip(skip.clone()).skip(empty));
        }
    }
    let alertmanager = server(model, model.monitoring.alertmanager.as_ref());
    for channel in &model.monitoring.notify {
        let integration = match model.notifications.get(channel) {
            Some(Channel::Telegram { .. }) => "telegram",
            Some(Channel::Email { .. }) => "email",
            _ => "webhook",
        }
        .to_string();
        let source = format!("notification/{channel}");
        let id = format!("notify/{channel}");
        match &alertmanager {
            Some((machine, address, port, name, skip)) => {
                let check = Check::Notify { address: *address, port: *port, channel: channel.clone(), integration };
                // A webhook at a homelab machine needs the service listening there.
                let receivers = match model.notifications.get(channel) {
                    Some(Channel::Webhook { url }) => webhook_receivers(model, url),
                    _ => Vec::new(),
                };
                let needs: Vec<&str> = std::iter::once(*name).chain(receivers).collect();
                out.push(Fact::new(id, machine, machine, check, source).needs(&needs).skip(skip.clone()));
            }
            None => {
                let machine = model
                    .monitoring
                    .prometheus
                    .as_ref()
                    .and_then(|p| model.services.get(p))
                    .map_or("", |s| s.on.name());
                let check = Check::Notify {
                    address: IpAddr::from([0, 0, 0, 0]),
                    port: 0,
                    channel: channel.clone(),
                    integration,
                };
                let fact = Fact::new(id, machine, machine, check, source);
                out.push(fact.skip(Some("the spec has no Alertmanager, so no alert reaches this channel".into())));
            }
        }
    }
}

/// What an alert expression's series come from, by the names a missing producer is known by: the
/// monitoring agent (`alloy`, which ships node and backup series where it replaces the node
/// exporter), the database exporters for their series, and for `probe_` series the Blackbox
/// exporters and the proxy their probes go through.
fn producers(model: &Model, expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let agent = model.monitoring.agent.as_deref();
    if (expr.contains("node_") || expr.contains("hearth_backup_")) && agent == Some("alloy") {
        out.push("alloy".to_string());
    }
    // A database exporter's series (`pg_up`), by the exporter apps that ship them.
    for (prefix, app) in [("pg_", "postgres-exporter"), ("redis_", "redis-exporter"), ("mongodb_", "mongodb-exporter")]
    {
        if expr.contains(prefix) {
            out.extend(model.services.iter().filter(|(_, s)| s.app.as_deref() == Some(app)).map(|(n, _)| n.clone()));
        }
    }
    if expr.contains("probe_") {
        // The probes go to the routes, through the proxy.
        out.extend(model.ingress.proxy.clone());
        out.extend(
            model
                .services
                .iter()
                .filter(|(_, s)| s.app.as_deref() == Some("blackbox-exporter"))
                .map(|(n, _)| n.clone()),
        );
    }
    out
}

/// The services listening where a webhook URL points, when it names a homelab machine's address.
fn webhook_receivers<'m>(model: &'m Model, url: &str) -> Vec<&'m str> {
    let rest = url.split("://").nth(1).unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()),
        None => (authority, None),
    };
    let port = port.unwrap_or(if url.starts_with("https") { 443 } else { 80 });
    let Some(machine) = host.parse().ok().and_then(|a| place::machine_at(model, a)) else { return Vec::new() };
    crate::firewall::listeners(model, machine, port)
}
