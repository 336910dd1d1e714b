//! Planned items and decisions held to the rest of the spec, and backups nobody would run.
//!
//! The resolver never sees a planned item (see [`crate::plans`]), so the rules that check names,
//! references, images and secrets run here once more on the whole spec, keeping what they say
//! inside planned items; the references the resolver checks for active items (placement, `uses`, networks, the
//! catalog app) are checked here directly, and so are the addresses and ids planned items write
//! against those of active machines (planned items themselves claim nothing). A `note:` shows only in the docs' Planned section, so
//! one on an active item is a warning (W761), as is a decision taken without its choice (W762).
//! A service on a guest Hearth does not manage gets no backup job (W760).

use hearth_catalog::Catalog;
use hearth_spec::ast::{DecisionStatus, Status};
use hearth_spec::decode::FieldSpans;
use hearth_spec::{Code, Diagnostic, Sp, Span, Spec};

use crate::diagnostics::unknown_reference;
use crate::model::Model;

/// Runs every rule of this module. `spec` is the whole spec, planned items included.
pub fn check(spec: &Spec, catalog: &Catalog, model: &Model) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    planned_items(spec, catalog, model, &mut out);
    planned_claims(spec, model, &mut out);
    notes_on_active(spec, &mut out);
    decisions(spec, &mut out);
    unmanaged_backups(spec, model, &mut out);
    out
}

fn is_planned(status: &Option<Sp<Status>>) -> bool {
    status.as_ref().is_some_and(|s| !s.value.is_active())
}

/// The spans of the planned items' values.
fn planned_regions(spec: &Spec) -> Vec<Span> {
    let mut regions = Vec::new();
    regions.extend(spec.networks.iter().filter(|(_, n)| is_planned(&n.status)).map(|(_, n)| n.span));
    regions.extend(spec.hosts.iter().filter(|(_, h)| is_planned(&h.status)).map(|(_, h)| h.span));
    regions.extend(spec.guests.iter().filter(|(_, g)| is_planned(&g.status)).map(|(_, g)| g.span));
    regions.extend(spec.clusters.iter().filter(|(_, c)| is_planned(&c.status)).map(|(_, c)| c.span));
    regions.extend(spec.services.iter().filter(|(_, s)| is_planned(&s.status)).map(|(_, s)| s.span));
    if let Some(b) = &spec.backups {
        regions.extend(b.repositories.iter().filter(|(_, r)| is_planned(&r.status)).map(|(_, r)| r.span));
        regions.extend(b.policies.iter().filter(|(_, p)| is_planned(&p.status)).map(|(_, p)| p.span));
        regions.extend(b.replication.iter().filter(|r| is_planned(&r.status)).map(|r| r.span));
    }
    regions
}

fn inside(span: Span, region: Span) -> bool {
    span.file == region.file && span.start >= region.start && span.end <= region.end
}

fn planned_items(spec: &Spec, catalog: &Catalog, model: &Model, out: &mut Vec<Diagnostic>) {
    let regions = planned_regions(spec);
    if regions.is_empty() {
        return;
    }
    // The rules that read only the spec, plus the secrets rule (a plain-text secret is one whatever
    // the item's status; a reference to a secret only a planned app would generate is reported
    // too, since nothing generates it yet).
    let mut found = Vec::new();
    super::references::references(spec, catalog, &mut found);
    super::images::images(spec, &mut found);
    super::secrets::secrets(spec, catalog, model, &mut found);
    out.extend(found.into_iter().filter(|d| regions.iter().any(|r| inside(d.primary.span, *r))));
    let mut found = Vec::new();
    super::names::names(spec, &mut found);
    // A name's own key sits outside its value's span: keep the invalid names of planned items.
    let planned_keys: Vec<Span> = [
        spec.hosts.entries.iter().filter(|e| is_planned(&e.value.status)).map(|e| e.key_span).collect::<Vec<_>>(),
        spec.guests.entries.iter().filter(|e| is_planned(&e.value.status)).map(|e| e.key_span).collect(),
        spec.services.entries.iter().filter(|e| is_planned(&e.value.status)).map(|e| e.key_span).collect(),
    ]
    .concat();
    out.extend(found.into_iter().filter(|d| planned_keys.contains(&d.primary.span)));

    let unknown = |out: &mut Vec<Diagnostic>, r: &Sp<String>, what: &str, names: Vec<&str>| {
        out.push(unknown_reference(r.span, what, &r.value, &names));
    };
    let network = |out: &mut Vec<Diagnostic>, n: &Option<Sp<String>>| {
        if let Some(n) = n
            && !spec.networks.is_declared(&n.value)
        {
            unknown(out, n, "network", spec.networks.names().collect());
        }
    };
    for (_, h) in spec.hosts.iter().filter(|(_, h)| is_planned(&h.status)) {
        network(out, &h.network);
    }
    for (_, g) in spec.guests.iter().filter(|(_, g)| is_planned(&g.status)) {
        network(out, &g.network);
        let on = g.lxc.as_ref().map(|l| &l.on).or(g.vm.as_ref().map(|v| &v.on));
        if let Some(on) = on
            && !spec.hosts.is_declared(&on.value)
        {
            unknown(out, on, "host", spec.hosts.names().collect());
        }
    }
    for (_, s) in spec.services.iter().filter(|(_, s)| is_planned(&s.status)) {
        let placed = [spec.guests.is_declared(&s.on.value), spec.hosts.is_declared(&s.on.value)];
        if !placed.contains(&true) && !spec.clusters.is_declared(&s.on.value) {
            let names = spec.guests.names().chain(spec.hosts.names()).chain(spec.clusters.names()).collect();
            unknown(out, &s.on, "guest, host or cluster", names);
        }
        for u in &s.uses {
            if !spec.services.is_declared(&u.service.value) {
                unknown(out, &u.service, "service", spec.services.names().collect());
            }
        }
        if let Some(app) = &s.app
            && catalog.get(&app.value).is_none()
        {
            unknown(out, app, "app", catalog.names().collect());
        }
    }
}

/// An address or guest id a planned item writes that an active machine already has: it would
/// collide the day the item is made active, so it is reported now (E301, E302).
fn planned_claims(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    let holder = |addr: std::net::IpAddr| {
        let guests = model.guests.iter().filter(|(_, g)| g.address == Some(addr)).map(|(n, _)| format!("guest `{n}`"));
        let hosts = model.hosts.iter().filter(|(_, h)| h.address == Some(addr)).map(|(n, _)| format!("host `{n}`"));
        guests.chain(hosts).next()
    };
    let mut address = |what: &str, name: &str, a: &Option<Sp<hearth_spec::net::Addr>>| {
        let Some(a) = a else { return };
        if let Some(other) = holder(a.value.0) {
            out.push(
                Diagnostic::new(
                    Code::DuplicateAddress,
                    a.span,
                    format!("address {} of planned {what} `{name}` is already {other}'s", a.value.0),
                )
                .label("taken by an active machine")
                .help("give the planned item an address of its own, or leave `address:` out until it is active"),
            );
        }
    };
    for (name, h) in spec.hosts.iter().filter(|(_, h)| is_planned(&h.status)) {
        address("host", name, &h.address);
    }
    for (name, g) in spec.guests.iter().filter(|(_, g)| is_planned(&g.status)) {
        address("guest", name, &g.address);
    }
    for (name, g) in spec.guests.iter().filter(|(_, g)| is_planned(&g.status)) {
        let id = g.lxc.as_ref().and_then(|l| l.id.as_ref()).or(g.vm.as_ref().and_then(|v| v.id.as_ref()));
        let Some(id) = id else { continue };
        let Some((other, _)) = model.guests.iter().find(|(_, a)| a.id == id.value) else { continue };
        out.push(
            Diagnostic::new(
                Code::DuplicateVmId,
                id.span,
                format!("id {} of planned guest `{name}` is already guest `{other}`'s", id.value),
            )
            .label("taken by an active guest")
            .help("give the planned guest an id of its own, or leave `id:` out until it is active"),
        );
    }
}

/// `note:` on an item that is not planned: the note would show nowhere.
fn notes_on_active(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let mut check = |what: &str, name: &str, status: &Option<Sp<Status>>, spans: &FieldSpans| {
        if is_planned(status) {
            return;
        }
        let Some(span) = spans.key("note") else { return };
        out.push(
            Diagnostic::new(
                Code::NoteOnActive,
                span,
                format!("{what} `{name}` is active, so its `note:` shows nowhere"),
            )
            .label("shown only for planned items")
            .help("write it as `description:`, or mark the item `status: planned` or `status: future`"),
        );
    };
    for (n, net) in spec.networks.iter() {
        check("network", n, &net.status, &net.spans);
    }
    for (n, h) in spec.hosts.iter() {
        check("host", n, &h.status, &h.spans);
    }
    for (n, g) in spec.guests.iter() {
        check("guest", n, &g.status, &g.spans);
    }
    for (n, c) in spec.clusters.iter() {
        check("cluster", n, &c.status, &c.spans);
    }
    for (n, s) in spec.services.iter() {
        check("service", n, &s.status, &s.spans);
    }
    if let Some(b) = &spec.backups {
        for (n, r) in b.repositories.iter() {
            check("backup repository", n, &r.status, &r.spans);
        }
        for (n, p) in b.policies.iter() {
            check("backup policy", n, &p.status, &p.spans);
        }
        for r in &b.replication {
            check("replication of", &r.dataset.value, &r.status, &r.spans);
        }
    }
}

/// A decision's `about:` names items of the spec, and a decision taken says what was chosen.
fn decisions(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let backups = spec.backups.as_ref();
    let mut names: Vec<&str> = Vec::new();
    names.extend(spec.hosts.names());
    names.extend(spec.guests.names());
    names.extend(spec.clusters.names());
    names.extend(spec.services.names());
    names.extend(spec.networks.names());
    if let Some(b) = backups {
        names.extend(b.repositories.names());
        names.extend(b.policies.names());
    }
    for (name, d) in spec.decisions.iter() {
        for a in &d.about {
            if !names.contains(&a.value.as_str()) {
                out.push(unknown_reference(a.span, "item", &a.value, &names));
            }
        }
        if let Some(status) = &d.status
            && status.value == DecisionStatus::Decided
            && d.choice.is_none()
        {
            out.push(
                Diagnostic::new(
                    Code::DecidedWithoutChoice,
                    status.span,
                    format!("decision `{name}` is decided but does not say what was chosen"),
                )
                .label("decided")
                .help("add `choice:` with what was decided, or make it `status: open`"),
            );
        }
    }
}

/// A service with a backup policy on a guest Hearth does not manage: Hearth writes nothing there,
/// so no job would run.
fn unmanaged_backups(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for (name, s) in spec.services.iter() {
        let Some(p) = s.backup.as_ref().and_then(|b| b.policies().first()) else { continue };
        let Some(guest) = model.guests.get(&s.on.value) else { continue };
        if guest.managed || is_planned(&s.status) {
            continue;
        }
        out.push(
            Diagnostic::new(
                Code::UnmanagedBackup,
                p.policy.span,
                format!("service `{name}` is on `{}`, which Hearth does not manage, so no backup job runs for it", s.on.value),
            )
            .label("no job is written for this policy")
            .help(format!(
                "back the guest up whole with `backup:` on guest `{}`, or write `backup: false` and back it up from the appliance",
                s.on.value
            )),
        );
    }
}
