//! The facts a resolved model implies about the running homelab: each service runs, each route
//! answers through the proxy, each DNS name resolves, each `uses` edge logs in, each scrape target
//! is up, each alert rule has its series, each channel gets a test alert, each firewall edge is
//! open or closed as the model says, each backup job has a snapshot that restores, each share's
//! clients reach its server, each copy job's timer is on and its last run did not fail, each job of
//! a cluster is a CronJob there.
//!
//! Pure: no I/O, no network, no async. `hearth-verify` runs the facts; this crate only says what
//! must hold, about which machine, from which machine it must be checked (where the source address
//! matters), and which spec line it comes from.

pub mod fact;
mod firewall;
mod monitoring;
mod place;
pub use hearth_model::promql;
mod schedules;
mod services;
mod shares;

pub use fact::{Check, Expect, Fact, Trust, dns_answer};

use hearth_catalog::Catalog;
use std::collections::BTreeMap;

use hearth_model::Model;

/// Every fact the model implies, sorted by the machine it is about, then by id.
pub fn facts(model: &Model, catalog: &Catalog) -> Vec<Fact> {
    let mut out = Vec::new();
    services::runs(model, catalog, &mut out);
    services::logins(model, &mut out);
    services::routes(model, &mut out);
    services::dns(model, &mut out);
    monitoring::scrapes(model, &mut out);
    monitoring::alerts(model, &mut out);
    firewall::edges(model, &mut out);
    services::backups(model, &mut out);
    shares::reach(model, &mut out);
    schedules::copies(model, &mut out);
    schedules::cron_jobs(model, &mut out);
    for f in &mut out {
        f.span = span(&model.spans, &f.source);
    }
    out.sort_by(|a, b| (&a.machine, &a.id).cmp(&(&b.machine, &b.id)));
    out.dedup_by(|a, b| a.id == b.id && a.machine == b.machine);
    out
}

/// The first span of `key` in the model, else of its nearest parent (`service/n8n/backup`, then
/// `service/n8n`): a finer place when the spec wrote one, the entity otherwise.
/// The lab's re-addressed model has other byte offsets than the operator's spec, so the binary
/// looks a fact's `source` up in the operator's model with this.
pub fn span(spans: &BTreeMap<String, Vec<hearth_spec::Span>>, key: &str) -> Option<hearth_spec::Span> {
    let mut key = key;
    loop {
        if let Some(span) = spans.get(key).and_then(|s| s.first()) {
            return Some(*span);
        }
        key = key.rsplit_once('/')?.0;
    }
}
