//! References between sections: every name used is declared, and of the right kind.

use hearth_catalog::{Catalog, Provides};
use hearth_spec::ast::{BackupChoice, ClusterKind};
use hearth_spec::{Code, Diagnostic, Span, Spec};

use crate::diagnostics::unknown_reference;

pub(super) fn references(spec: &Spec, catalog: &Catalog, out: &mut Vec<Diagnostic>) {
    let services = &spec.services;
    let unknown = |out: &mut Vec<Diagnostic>, span: Span, what: &str, name: &str, candidates: Vec<&str>| {
        out.push(unknown_reference(span, what, name, &candidates));
    };
    let svc_ref = |out: &mut Vec<Diagnostic>, r: &hearth_spec::Sp<String>| {
        if !services.is_declared(&r.value) {
            unknown(out, r.span, "service", &r.value, services.names().collect());
        }
    };
    for e in &services.entries {
        let s = &e.value;
        for a in s.after.iter().chain(s.via.iter()) {
            svc_ref(out, a);
        }
        for g in &s.also_on {
            if spec.hosts.is_declared(&g.value) && !spec.guests.is_declared(&g.value) {
                out.push(
                    Diagnostic::new(Code::WrongKind, g.span, format!("`{}` is a host, and `also_on` takes guests", g.value))
                        .label("a replica runs on a guest")
                        .help(format!(
                            "name the guests that run replicas of `{}`; to run it on host `{}` itself, use `on: {}` instead",
                            e.name, g.value, g.value
                        )),
                );
            } else if !spec.guests.is_declared(&g.value) {
                unknown(out, g.span, "guest", &g.value, spec.guests.names().collect());
            }
        }
        for p in s.backup.as_ref().map(BackupChoice::policies).unwrap_or_default() {
            policy_ref(spec, &p.policy, out);
        }
    }
    for e in &spec.guests.entries {
        for p in e.value.backup.as_ref().map(BackupChoice::policies).unwrap_or_default() {
            policy_ref(spec, &p.policy, out);
        }
    }
    if let Some(i) = &spec.ingress {
        let roles: [(&Option<hearth_spec::Sp<String>>, Provides); 4] = [
            (&i.proxy, Provides::Proxy),
            (&i.sso, Provides::Sso),
            (&i.tunnel, Provides::Tunnel),
            (&i.vpn, Provides::Vpn),
        ];
        for (r, kind) in roles {
            let Some(r) = r else { continue };
            svc_ref(out, r);
            let app = services.get(&r.value).and_then(|s| s.app.as_ref()).and_then(|a| catalog.get(&a.value));
            if let Some(app) = app
                && !app.provides(kind)
            {
                out.push(
                    Diagnostic::new(
                        Code::WrongKind,
                        r.span,
                        format!(
                            "service `{}` runs `{}`, which is not a {} provider",
                            r.value,
                            app.name.value,
                            kind.as_str()
                        ),
                    )
                    .help(format!("point this at a service whose app provides `{}`", kind.as_str())),
                );
            }
        }
        if let Some(c) = &i.crowdsec {
            svc_ref(out, c);
        }
    }
    if let Some(d) = &spec.dns
        && let Some(s) = &d.server
    {
        svc_ref(out, s);
    }
    if let Some(m) = &spec.monitoring {
        for r in [&m.prometheus, &m.alertmanager, &m.grafana, &m.loki, &m.uptime, &m.dashboard].into_iter().flatten() {
            svc_ref(out, r);
        }
        if let Some(store) = m.logs.as_ref().and_then(|l| l.store.as_ref()) {
            svc_ref(out, store);
        }
        if let Some(a) = &m.alerts {
            for n in &a.notify {
                if !spec.notifications.is_declared(&n.value) {
                    unknown(out, n.span, "notification channel", &n.value, spec.notifications.names().collect());
                }
            }
            for r in &a.rules {
                const BUILTIN: &[&str] = &[
                    "server-down",
                    "high-cpu",
                    "disk-space-low",
                    "high-memory",
                    "certificate-expiry",
                    "backup-stale",
                    "probe-failed",
                ];
                match (&r.rule, &r.name, r.expr.is_some(), r.logql.is_some()) {
                    (Some(rule), ..) if !BUILTIN.contains(&rule.value.as_str()) => {
                        unknown(out, rule.span, "built-in alert rule", &rule.value, BUILTIN.to_vec());
                    }
                    (None, Some(_), true, false) | (None, Some(_), false, true) | (Some(_), ..) => {}
                    _ => out.push(
                        Diagnostic::new(
                            Code::MissingKey,
                            r.span,
                            "an alert rule needs `rule:` (a built-in), or `name:` with one of `expr:` (PromQL) and `logql:` (LogQL)",
                        )
                        .help("write `- server-down`, `- { name: MyAlert, expr: \"up == 0\" }` or `- { name: Errors, logql: 'sum(rate({job=\"docker\"} |= \"error\" [5m])) > 10' }`"),
                    ),
                }
            }
        }
    }
    for e in &spec.notifications.entries {
        let n = &e.value;
        let kinds =
            [n.telegram.is_some(), n.ntfy.is_some(), n.gotify.is_some(), n.email.is_some(), n.webhook.is_some()]
                .iter()
                .filter(|k| **k)
                .count();
        if kinds != 1 {
            out.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    e.key_span,
                    format!("notification `{}` must have exactly one kind, it has {kinds}", e.name),
                )
                .help("use one of `telegram`, `ntfy`, `gotify`, `email`, `webhook` per channel"),
            );
        }
    }
    if let Some(b) = &spec.backups {
        for e in &b.policies.entries {
            for r in &e.value.to {
                if !b.repositories.is_declared(&r.value) {
                    unknown(out, r.span, "backup repository", &r.value, b.repositories.names().collect());
                }
            }
        }
        for e in &b.repositories.entries {
            let r = &e.value;
            let kinds = [r.restic.is_some(), r.pbs.is_some(), r.dir.is_some(), r.rsync.is_some(), r.git.is_some()];
            if kinds.iter().filter(|k| **k).count() != 1 {
                out.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        e.key_span,
                        format!("repository `{}` must be one of `restic:`, `pbs:`, `dir:`, `rsync:` or `git:`", e.name),
                    )
                    .help("give exactly one of them"),
                );
            }
        }
    }
    if let Some(r) = &spec.router {
        for f in &r.forwards {
            let known = spec.guests.is_declared(&f.to.value)
                || spec.hosts.is_declared(&f.to.value)
                || services.is_declared(&f.to.value);
            if !known {
                let mut c: Vec<&str> = spec.guests.names().collect();
                c.extend(spec.hosts.names());
                c.extend(services.names());
                unknown(out, f.to.span, "guest, host or service", &f.to.value, c);
            }
        }
    }
    for e in &spec.clusters.entries {
        if e.value.servers.is_empty() {
            out.push(
                Diagnostic::new(
                    Code::ClusterWithoutServer,
                    e.key_span,
                    format!("cluster `{}` has no server to run its control plane and apply its manifests", e.name),
                )
                .help("name at least one guest in `servers:`"),
            );
        }
        if let Some(t) = e.value.traefik.as_ref().filter(|_| e.value.kind != ClusterKind::K3s) {
            let field = e.value.spans.key("traefik").map_or(t.span, |k| k.to(t.span));
            out.push(
                Diagnostic::new(
                    Code::TraefikNotK3s,
                    t.span,
                    format!(
                        "cluster `{}` is `{}`, which bundles no Traefik to turn on or off",
                        e.name,
                        e.value.kind.as_str()
                    ),
                )
                .label("only k3s deploys Traefik by itself")
                .help("remove `traefik:`")
                .suggest_removal(field),
            );
        }
        for g in e.value.servers.iter().chain(&e.value.agents) {
            if spec.hosts.is_declared(&g.value) {
                // Hearth installs a cluster's nodes as Proxmox guests; a bare-metal node (a
                // Raspberry Pi) is a different install it does not make yet.
                out.push(
                    Diagnostic::new(
                        Code::ClusterNodeIsHost,
                        g.span,
                        format!("`{}` is a host, but a cluster's `servers` and `agents` are guests", g.value),
                    )
                    .label("a bare-metal node")
                    .help(format!(
                        "declare `{}` under `guests:` (a VM or container on a Proxmox host), or leave the cluster out until bare-metal nodes can be stated",
                        g.value
                    )),
                );
            } else if !spec.guests.is_declared(&g.value) {
                unknown(out, g.span, "guest", &g.value, spec.guests.names().collect());
            }
        }
    }
    for e in &spec.hosts.entries {
        let disks: Vec<&str> = e
            .value
            .hardware
            .as_ref()
            .map(|h| h.disks.iter().map(|d| d.name.value.as_str()).collect())
            .unwrap_or_default();
        for (_, pool) in e.value.storage.iter() {
            for d in &pool.disks {
                if !disks.contains(&d.value.as_str()) {
                    unknown(out, d.span, "disk", &d.value, disks.clone());
                }
            }
        }
    }
}

fn policy_ref(spec: &Spec, policy: &hearth_spec::Sp<String>, out: &mut Vec<Diagnostic>) {
    let policies = spec.backups.as_ref().map(|b| &b.policies);
    if policies.is_none_or(|p| !p.is_declared(&policy.value)) {
        let names: Vec<&str> = policies.map(|p| p.names().collect()).unwrap_or_default();
        let mut d = unknown_reference(policy.span, "backup policy", &policy.value, &names);
        if names.is_empty() {
            d = d.help("declare it under `backups: { policies: ... }`");
        }
        out.push(d);
    }
}
