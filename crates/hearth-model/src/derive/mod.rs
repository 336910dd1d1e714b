//! Derived operations: what the homelab needs beyond its machines and services, computed from
//! the resolved services. Ingress and DNS, monitoring, backups, the flows between machines and
//! the firewall that opens them, provenance.

pub(crate) mod backups;
mod dashboard;
mod firewall;
pub(crate) mod flows;
pub mod ingress;
mod monitoring;
pub(crate) mod targets;

use hearth_catalog::Catalog;
use hearth_spec::Spec;

use crate::model::Model;

pub(crate) use firewall::firewalled;

/// A secret reference as the model records it: `secret:NAME` of a secret declared with an
/// outside source becomes that source (`env:VAR`, `op://...`), so every later stage looks the
/// value up where it really is.
pub fn reference(spec: &Spec, r: &hearth_spec::reference::SecretRef) -> String {
    use hearth_spec::reference::SecretRef;
    match r {
        SecretRef::Named(n) => {
            spec.secrets.get(n).and_then(|d| d.source()).map_or_else(|| r.to_string(), |s| s.to_string())
        }
        _ => r.to_string(),
    }
}

/// Fills every derived section of the model. Runs after services are resolved.
pub fn derive(spec: &Spec, catalog: &Catalog, model: &mut Model) {
    ingress::derive(spec, catalog, model);
    // Backups first: the backup-stale rule measures each backup job against its policy.
    backups::derive(spec, catalog, model);
    monitoring::derive(spec, catalog, model);
    dashboard::derive(spec, model);
    flows::derive(catalog, model);
    firewall::derive(catalog, model);
    provenance(spec, model);
}

fn provenance(spec: &Spec, model: &mut Model) {
    let spans = &mut model.spans;
    let mut add = |key: String, span: hearth_spec::Span| spans.entry(key).or_default().push(span);
    for e in &spec.networks.entries {
        add(format!("network/{}", e.name), e.key_span.to(e.value.span));
    }
    for e in &spec.hosts.entries {
        add(format!("host/{}", e.name), e.key_span.to(e.value.span));
    }
    for e in &spec.guests.entries {
        add(format!("guest/{}", e.name), e.key_span.to(e.value.span));
    }
    for e in &spec.services.entries {
        add(format!("service/{}", e.name), e.key_span.to(e.value.span));
        // Finer places for `hearth verify`, whose checks each name the line they come from: a
        // connection, the exposure and the backup choice of a service.
        let s = &e.value;
        for u in &s.uses {
            add(format!("service/{}/uses/{}", e.name, u.service.value), u.service.span);
        }
        for (field, name) in [("expose", "expose"), ("backup", "backup"), ("image", "image"), ("version", "version")] {
            if let Some(span) = s.spans.key(field) {
                add(format!("service/{}/{name}", e.name), span);
            }
        }
    }
    for e in &spec.shares.entries {
        add(format!("share/{}", e.name), e.key_span.to(e.value.span));
    }
    for e in spec.backups.iter().flat_map(|b| &b.repositories.entries) {
        add(format!("repository/{}", e.name), e.key_span.to(e.value.span));
    }
    for e in spec.backups.iter().flat_map(|b| &b.policies.entries) {
        add(format!("policy/{}", e.name), e.key_span.to(e.value.span));
    }
    for r in spec.monitoring.iter().flat_map(|m| &m.alerts).flat_map(|a| &a.rules) {
        let name = match (&r.name, &r.rule) {
            (Some(n), _) => Some((n.value.clone(), n.span)),
            (None, Some(b)) => Some((monitoring::alert_name(&b.value), b.span)),
            (None, None) => None,
        };
        if let Some((name, span)) = name {
            add(format!("alert/{name}"), span);
        }
    }
    // The exporters Hearth adds as services (`resolve/exporters.rs`) come from their entry
    // under `monitoring.exporters`.
    if let Some(m) = &spec.monitoring {
        for (name, s) in &model.services {
            if spec.services.is_declared(name) {
                continue;
            }
            let exporter = match s.app.as_deref() {
                Some("cadvisor") => "cadvisor",
                Some("blackbox-exporter") => "blackbox",
                Some("postgres-exporter") => "postgres",
                Some("redis-exporter") => "redis",
                Some("mongodb-exporter") => "mongodb",
                _ => continue,
            };
            if let Some(e) = m.exporters.iter().find(|e| e.value == exporter) {
                model.spans.entry(format!("service/{name}")).or_default().push(e.span);
            }
        }
    }
    // The socket proxy `ingress.discover.docker` adds (`resolve/discovery.rs`) comes from it.
    if let Some(d) = spec.ingress.as_ref().and_then(|i| i.discover.as_ref()).and_then(|d| d.docker.as_ref())
        && let Some(sp) = model.ingress.discover.as_ref().map(|x| x.socket_proxy.clone())
        && !spec.services.is_declared(&sp)
    {
        model.spans.entry(format!("service/{sp}")).or_default().push(d.span);
    }
    let mut add = |key: String, span: hearth_spec::Span| model.spans.entry(key).or_default().push(span);
    if let Some(w) = spec.monitoring.as_ref().and_then(|m| m.watcher.as_ref()) {
        add("monitoring/watcher".to_string(), w.span);
    }
    for e in spec.monitoring.iter().flat_map(|m| &m.scrape) {
        add(format!("monitoring/scrape/{}", e.job.value), e.span);
    }
    for p in spec.monitoring.iter().flat_map(|m| &m.probes) {
        add(format!("monitoring/probes/{}", p.name.value), p.span);
    }
    for e in &spec.notifications.entries {
        add(format!("notification/{}", e.name), e.key_span.to(e.value.span));
    }
    let sections = [
        ("ingress", spec.ingress.as_ref().map(|s| s.span)),
        ("dns", spec.dns.as_ref().map(|s| s.span)),
        ("monitoring", spec.monitoring.as_ref().map(|s| s.span)),
        ("backups", spec.backups.as_ref().map(|s| s.span)),
        ("router", spec.router.as_ref().map(|s| s.span)),
    ];
    for (name, span) in sections {
        if let Some(span) = span {
            let key_span = spec.spans.key(name).unwrap_or(span);
            add(name.to_string(), key_span.to(span));
        }
    }
}
