//! Every rule a careful operator would check by hand, and the ones they never do.
//!
//! Each rule reads the spec (for spans) and the resolved model (for derived facts) and returns
//! diagnostics; none stops the others, so one run reports everything. One module per concern.

mod access;
mod addresses;
mod backups;
mod budgets;
mod capacity;
mod channels;
mod clashes;
mod clusters;
mod conflicts;
mod copies;
mod cycles;
mod devices;
mod discovery;
mod docker;
mod expected;
mod exposure;
mod flows;
mod guests;
mod hardware;
mod images;
mod kinds;
mod logs;
mod middleware;
mod monitoring;
mod names;
mod outposts;
pub mod plans;
mod references;
mod runtimes;
mod scrape;
mod secrets;
mod snapshots;
mod updates;
mod values;
mod watch;
mod watcher;
mod widgets;
mod zones;

use hearth_catalog::Catalog;
use hearth_spec::{Diagnostic, Spec};

use crate::model::Model;
use crate::origins::Origins;

/// `text` cut to 40 characters for a message, so a runaway value does not make a page-long line.
fn short(text: &str) -> String {
    if text.chars().count() <= 40 {
        text.to_string()
    } else {
        format!("{}...", text.chars().take(40).collect::<String>())
    }
}

/// Runs every rule.
pub fn check(spec: &Spec, catalog: &Catalog, model: &Model, origins: &Origins) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    names::names(spec, &mut out);
    names::labels(spec, &mut out);
    addresses::addresses(spec, origins, &mut out);
    names::ids_and_hostnames(spec, model, origins, &mut out);
    conflicts::subdomains_and_redis(origins, &mut out);
    conflicts::ports(origins, &mut out);
    references::references(spec, catalog, &mut out);
    kinds::kinds(spec, catalog, model, &mut out);
    cycles::cycles(spec, &mut out);
    budgets::budgets(spec, model, &mut out);
    runtimes::runtimes(spec, catalog, model, &mut out);
    runtimes::compose_v2(spec, model, &mut out);
    clusters::clusters(spec, model, &mut out);
    addresses::routes_to_nowhere(spec, model, origins, &mut out);
    exposure::acme_reachability(spec, &mut out);
    backups::backups(spec, catalog, model, &mut out);
    backups::unreachable_repositories(spec, model, &mut out);
    backups::nothing_to_back_up(spec, model, &mut out);
    backups::policies_and_folders(spec, &mut out);
    backups::pbs_jobs_elsewhere(spec, &mut out);
    copies::copies(spec, &mut out);
    guests::guests(spec, model, &mut out);
    exposure::exposure(spec, catalog, &mut out);
    exposure::databases(spec, catalog, model, &mut out);
    middleware::middleware(spec, model, &mut out);
    images::images(spec, &mut out);
    secrets::secrets(spec, catalog, model, &mut out);
    flows::flows(spec, model, &mut out);
    zones::zones(spec, model, &mut out);
    monitoring::monitoring(spec, catalog, model, &mut out);
    scrape::scrape(spec, model, &mut out);
    logs::logs(spec, catalog, model, &mut out);
    widgets::widgets(spec, model, &mut out);
    watcher::watcher(spec, model, &mut out);
    discovery::discovery(spec, model, &mut out);
    outposts::outposts(spec, model, &mut out);
    access::cloudflare_access(spec, &mut out);
    channels::channels(spec, &mut out);
    values::values(spec, model, &mut out);
    clashes::clashes(spec, &mut out);
    devices::devices(spec, model, &mut out);
    hardware::hardware(spec, model, &mut out);
    capacity::capacity(spec, catalog, model, &mut out);
    expected::expected(spec, model, &mut out);
    docker::docker(spec, catalog, model, &mut out);
    watch::watch(spec, &mut out);
    updates::updates(spec, model, &mut out);
    snapshots::snapshots(spec, model, &mut out);
    out
}
