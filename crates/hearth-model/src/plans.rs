//! Planned items: what the spec declares `status: planned` or `status: future`, and its
//! `decisions:`.
//!
//! A planned item is split out of the spec before resolving ([`split`]), so the resolver, the
//! derived facts (flows, firewall, scrape targets, DNS records, backup jobs) and every renderer
//! never see it: nothing downstream has to remember to skip it. What remains of it is a
//! [`PlannedItem`] in the model for `hearth show` and the docs. The checks still read it: a
//! reference from an active item to a planned one is E760 instead of an unknown name
//! ([`depends_on_planned`]), and the planned item's own references are checked by
//! `check::plans`. A planned item takes no address, id or port; what `hearth.lock` remembers for
//! it is kept ([`keep_allocations`]), so making it active later reuses those values when they are
//! still free.

use std::borrow::Cow;
use std::collections::BTreeMap;

use hearth_spec::ast::{BackupChoice, DecisionStatus, Status};
use hearth_spec::decode::NamedMap;
use hearth_spec::{Code, Diagnostic, Sp, Span, Spec};
use serde::Serialize;

use crate::lock::Allocations;

/// The kinds of item that can be planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    Network,
    Host,
    Guest,
    Cluster,
    Service,
    Share,
    Repository,
    Policy,
    Replication,
}

impl ItemKind {
    /// The word the docs and diagnostics use.
    pub fn word(self) -> &'static str {
        match self {
            ItemKind::Network => "network",
            ItemKind::Host => "host",
            ItemKind::Guest => "guest",
            ItemKind::Cluster => "cluster",
            ItemKind::Service => "service",
            ItemKind::Share => "share",
            ItemKind::Repository => "backup repository",
            ItemKind::Policy => "backup policy",
            ItemKind::Replication => "replication",
        }
    }
}

/// An item declared but not running yet: documented and checked, never rendered or deployed.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedItem {
    pub kind: ItemKind,
    /// Its name; a replication job is named `DATASET -> TARGET`.
    pub name: String,
    /// `planned` or `future`.
    pub status: Status,
    /// Where it will run: a guest's host, a service's machine, a cluster's servers, a policy's
    /// repositories.
    pub on: Option<String>,
    /// The address the spec gives a planned host or guest.
    pub address: Option<std::net::IpAddr>,
    pub description: Option<String>,
    pub note: Option<String>,
    /// A planned policy: the active services and guests whose `backup:` names it beside their
    /// active policies; it covers them once it is active.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub covers: Vec<String>,
}

/// A design decision, open or taken.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub name: String,
    pub title: String,
    pub status: DecisionStatus,
    pub choice: Option<String>,
    pub note: Option<String>,
    /// The items it is about.
    pub about: Vec<String>,
}

/// The spec without its planned items, and those items.
pub struct Split<'a> {
    /// What the resolver reads: the spec itself when nothing is planned.
    pub active: Cow<'a, Spec>,
    pub planned: Vec<PlannedItem>,
    /// Planned items by name (a guest and a service may share one), with the span of their
    /// `status:` value.
    names: BTreeMap<String, Vec<(ItemKind, Status, Span)>>,
}

fn planned(status: &Option<Sp<Status>>) -> Option<&Sp<Status>> {
    status.as_ref().filter(|s| !s.value.is_active())
}

/// Splits the planned items out of a spec.
pub fn split(spec: &Spec) -> Split<'_> {
    let mut items = Vec::new();
    let mut names = BTreeMap::new();
    let mut note = |kind, name: String, status: &Sp<Status>, on, description: &Option<String>, n: &Option<String>| {
        names.entry(name.clone()).or_insert_with(Vec::new).push((kind, status.value, status.span));
        let address = match kind {
            ItemKind::Host => spec.hosts.get(&name).and_then(|h| h.address.as_ref()),
            ItemKind::Guest => spec.guests.get(&name).and_then(|g| g.address.as_ref()),
            _ => None,
        };
        items.push(PlannedItem {
            kind,
            name,
            status: status.value,
            on,
            address: address.map(|a| a.value.0),
            description: description.clone(),
            note: n.clone(),
            covers: Vec::new(),
        });
    };
    for (name, n) in spec.networks.iter() {
        if let Some(s) = planned(&n.status) {
            note(ItemKind::Network, name.to_string(), s, Some(n.cidr.value.to_string()), &n.description, &n.note);
        }
    }
    for (name, h) in spec.hosts.iter() {
        if let Some(s) = planned(&h.status) {
            note(ItemKind::Host, name.to_string(), s, None, &h.description, &h.note);
        }
    }
    for (name, g) in spec.guests.iter() {
        if let Some(s) = planned(&g.status) {
            let on = g.lxc.as_ref().map(|l| &l.on).or(g.vm.as_ref().map(|v| &v.on)).map(|o| o.value.clone());
            note(ItemKind::Guest, name.to_string(), s, on, &g.description, &g.note);
        }
    }
    for (name, c) in spec.clusters.iter() {
        if let Some(s) = planned(&c.status) {
            let on = c.servers.iter().chain(&c.agents).map(|g| g.value.as_str()).collect::<Vec<_>>().join(", ");
            note(ItemKind::Cluster, name.to_string(), s, Some(on), &c.description, &c.note);
        }
    }
    for (name, svc) in spec.services.iter() {
        if let Some(s) = planned(&svc.status) {
            note(ItemKind::Service, name.to_string(), s, Some(svc.on.value.clone()), &svc.description, &svc.note);
        }
    }
    for (name, sh) in spec.shares.iter() {
        if let Some(s) = planned(&sh.status) {
            note(ItemKind::Share, name.to_string(), s, Some(sh.server.value.clone()), &sh.description, &sh.note);
        }
    }
    if let Some(b) = &spec.backups {
        for (name, r) in b.repositories.iter() {
            if let Some(s) = planned(&r.status) {
                note(ItemKind::Repository, name.to_string(), s, None, &r.description, &r.note);
            }
        }
        for (name, p) in b.policies.iter() {
            if let Some(s) = planned(&p.status) {
                let to = p.to.iter().map(|t| t.value.as_str()).collect::<Vec<_>>().join(", ");
                note(ItemKind::Policy, name.to_string(), s, Some(to), &None, &p.note);
            }
        }
        for r in &b.replication {
            if let Some(s) = planned(&r.status) {
                let name = format!("{} -> {}", r.dataset.value, r.to);
                note(ItemKind::Replication, name, s, None, &None, &r.note);
            }
        }
    }
    if items.is_empty() {
        return Split { active: Cow::Borrowed(spec), planned: items, names };
    }
    let mut active = spec.clone();
    let is_active = |s: &Option<Sp<Status>>| planned(s).is_none();
    // An active service or guest may name a planned policy in `backup:` (PBS's datastore copied
    // offsite once the cloud repository exists): the policy's job is left out with the policy,
    // and the policy lists what it will cover.
    let planned_policies: Vec<String> =
        items.iter().filter(|i| i.kind == ItemKind::Policy).map(|i| i.name.clone()).collect();
    if !planned_policies.is_empty() {
        let mut covers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut strip = |name: &str, choice: &mut Option<BackupChoice>| {
            if let Some(BackupChoice::Policies(list)) = choice {
                list.retain(|b| {
                    let planned = planned_policies.contains(&b.policy.value);
                    if planned {
                        covers.entry(b.policy.value.clone()).or_default().push(name.to_string());
                    }
                    !planned
                });
            }
        };
        for e in active.services.entries.iter_mut().filter(|e| is_active(&e.value.status)) {
            strip(&e.name, &mut e.value.backup);
        }
        for e in active.guests.entries.iter_mut().filter(|e| is_active(&e.value.status)) {
            strip(&e.name, &mut e.value.backup);
        }
        for item in items.iter_mut().filter(|i| i.kind == ItemKind::Policy) {
            item.covers = covers.remove(&item.name).unwrap_or_default();
        }
    }
    keep(&mut active.networks, |n| is_active(&n.status));
    keep(&mut active.hosts, |h| is_active(&h.status));
    keep(&mut active.guests, |g| is_active(&g.status));
    keep(&mut active.clusters, |c| is_active(&c.status));
    keep(&mut active.services, |s| is_active(&s.status));
    keep(&mut active.shares, |s| is_active(&s.status));
    if let Some(b) = &mut active.backups {
        keep(&mut b.repositories, |r| is_active(&r.status));
        keep(&mut b.policies, |p| is_active(&p.status));
        b.replication.retain(|r| is_active(&r.status));
    }
    Split { active: Cow::Owned(active), planned: items, names }
}

/// Keeps the entries `f` accepts, rebuilding the map so its name index forgets the others.
fn keep<T>(map: &mut NamedMap<T>, f: impl Fn(&T) -> bool) {
    let old = std::mem::take(map);
    let entries = old.entries.into_iter().filter(|e| f(&e.value)).collect();
    *map = NamedMap::new(entries, old.broken);
}

/// The spec's decisions, in source order.
pub fn decisions(spec: &Spec) -> Vec<Decision> {
    spec.decisions
        .iter()
        .map(|(name, d)| Decision {
            name: name.to_string(),
            title: d.title.clone(),
            status: d.status.as_ref().map_or(DecisionStatus::Open, |s| s.value),
            choice: d.choice.clone(),
            note: d.note.clone(),
            about: d.about.iter().map(|a| a.value.clone()).collect(),
        })
        .collect()
}

/// Turns each "unknown KIND `NAME`" the resolver and checks reported about a planned item of that
/// kind into E760: the item exists, but nothing active can depend on what is not deployed.
pub fn depends_on_planned(split: &Split, diagnostics: &mut [Diagnostic]) {
    if split.names.is_empty() {
        return;
    }
    for d in diagnostics.iter_mut().filter(|d| matches!(d.code, Code::UnknownReference | Code::UnknownEnvReference)) {
        let Some((kinds, name)) = crate::diagnostics::unknown_parts(d) else { continue };
        // A planned guest does not explain an unknown service of the same name.
        let planned = split.names.get(name).and_then(|items| items.iter().find(|(k, _, _)| kinds.contains(&k.word())));
        let Some((kind, status, status_span)) = planned else { continue };
        let kind = kind.word();
        *d = Diagnostic::new(
            Code::DependsOnPlanned,
            d.primary.span,
            format!("`{name}` is a {status} {kind}: nothing active can depend on it before it is deployed"),
        )
        .label(format!("refers to the {status} {kind} `{name}`"))
        .with(*status_span, format!("`{name}` is {status} here"))
        .help(format!("give this item `status: {status}` too, or make `{name}` active by removing its `status:`"));
    }
}

/// The new allocations plus what the previous ones remembered for planned guests and services,
/// which the resolver never saw.
pub fn keep_allocations(split: &Split, previous: &Allocations, mut new: Allocations) -> Allocations {
    for (name, kind) in split.names.iter().flat_map(|(n, items)| items.iter().map(move |(k, _, _)| (n, k))) {
        let prefix = match kind {
            ItemKind::Guest => format!("guest/{name}/"),
            ItemKind::Service => format!("service/{name}/"),
            _ => continue,
        };
        for (key, value) in previous.values.range(prefix.clone()..) {
            if !key.starts_with(&prefix) {
                break;
            }
            if new.get(key).is_none() {
                new.set(key.clone(), value.clone());
            }
        }
    }
    new
}
