//! Renderers: pure, deterministic functions from the resolved [`Model`] to the exact files each
//! machine needs, each in its upstream tool's own format.
//!
//! Entry point: [`render`]. Each target format is one module with
//! `pub fn render(cx: &Context, out: &mut Output)`. Renderers never read the spec or the clock
//! and never see secret values unless the caller passes them: secrets reach files only of kind
//! [`Kind::EnvSecret`] (mode 0600), as `{{secret:NAME}}` placeholders by default.

mod alerting;
mod bcrypt;
mod file;
mod logins;
mod native;
mod query;
mod reader;
mod scrape;
mod secrets;
mod shell;
mod sites;
mod systemd;
mod traefik_routers;

pub mod adguard;
pub mod agents;
pub mod alertmanager;
pub mod backup;
pub mod blackbox;
pub mod caddy;
pub mod cloud_init;
pub mod cloudflared;
pub mod compose;
pub mod copy;
pub mod crowdsec;
pub mod dnsmasq;
pub mod docker_daemon;
pub mod grafana;
pub mod homepage;
pub mod k3s;
pub mod kubernetes;
pub mod loki;
pub mod minio;
pub mod mongo;
pub mod mysql;
pub mod native_env;
pub mod nftables;
pub mod nginx;
pub mod nixos;
pub mod packages;
pub mod pbs;
pub mod pbs_server;
pub mod postgres;
pub mod prometheus;
pub mod proxmox;
pub mod redis;
pub mod shares;
pub mod traefik;
pub mod unbound;
pub mod updates;
pub mod watcher;
pub mod wireguard;
pub mod zfs;

pub use file::{Activation, File, Kind, Output};
pub use secrets::{SecretValues, fill, placeholder};
pub use shell::sh_quote;

use hearth_catalog::Catalog;
use hearth_model::Model;
/// The YAML writer every YAML renderer uses (`hearth_spec::emit`).
use hearth_spec::emit as yaml;

/// What every renderer reads.
pub struct Context<'a> {
    pub model: &'a Model,
    pub catalog: &'a Catalog,
    /// Secret values, when the caller asked for them (`--with-secrets`); otherwise placeholders.
    pub secrets: Option<&'a dyn SecretValues>,
}

/// Renders every file of the homelab, sorted by machine and path.
pub fn render(cx: &Context) -> Vec<File> {
    let mut out = Output::default();
    compose::render(cx, &mut out);
    docker_daemon::render(cx, &mut out);
    traefik::render(cx, &mut out);
    caddy::render(cx, &mut out);
    nginx::render(cx, &mut out);
    adguard::render(cx, &mut out);
    dnsmasq::render(cx, &mut out);
    unbound::render(cx, &mut out);
    prometheus::render(cx, &mut out);
    blackbox::render(cx, &mut out);
    alertmanager::render(cx, &mut out);
    grafana::render(cx, &mut out);
    loki::render(cx, &mut out);
    agents::render(cx, &mut out);
    homepage::render(cx, &mut out);
    postgres::render(cx, &mut out);
    redis::render(cx, &mut out);
    mongo::render(cx, &mut out);
    mysql::render(cx, &mut out);
    crowdsec::render(cx, &mut out);
    minio::render(cx, &mut out);
    native_env::render(cx, &mut out);
    backup::render(cx, &mut out);
    copy::render(cx, &mut out);
    zfs::render(cx, &mut out);
    pbs::render(cx, &mut out);
    pbs_server::render(cx, &mut out);
    nftables::render(cx, &mut out);
    proxmox::render(cx, &mut out);
    cloud_init::render(cx, &mut out);
    cloudflared::render(cx, &mut out);
    wireguard::render(cx, &mut out);
    shares::render(cx, &mut out);
    nixos::render(cx, &mut out);
    kubernetes::render(cx, &mut out);
    k3s::render(cx, &mut out);
    watcher::render(cx, &mut out);
    updates::render(cx, &mut out);
    let mut files = out.finish();
    kubernetes::relocate(cx.model, &mut files);
    files.sort_by(|a, b| (&a.machine, &a.path).cmp(&(&b.machine, &b.path)));
    files.retain(|f| !superseded_by_nixos(cx.model, f));
    let needs = packages::render(cx, &files);
    files.extend(needs);
    files.sort_by(|a, b| (&a.machine, &a.path).cmp(&(&b.machine, &b.path)));
    files.retain(|f| !on_unmanaged_guest(cx.model, f));
    files
}

/// A guest Hearth does not manage (`managed: false`, or an appliance) is never logged into, so
/// nothing is written for it, whichever renderer produced it: compose stacks and native
/// configuration of the services placed on it, backup units, a NixOS flake. Files about it on
/// other machines (its Proxmox parameters on its host, routes to it) stay.
fn on_unmanaged_guest(model: &Model, file: &File) -> bool {
    model.guests.get(&file.machine).is_some_and(|g| !g.managed)
}

/// On a NixOS guest the flake configures services, units, the firewall and containers itself, so
/// other renderers' files for those would fight it. What it relies on stays: its own files, the
/// data-tier init scripts it calls, and the secret files under `/etc/hearth/`.
fn superseded_by_nixos(model: &Model, file: &File) -> bool {
    if !model.is_nixos(&file.machine) {
        return false;
    }
    match file.kind {
        // The manifests of a cluster whose server runs NixOS are applied with kubectl there like
        // anywhere else; the flake does not hold them.
        Kind::Nixos | Kind::PostgresInit | Kind::MongoInit | Kind::MysqlInit | Kind::MinioInit | Kind::Kubernetes => {
            false
        }
        Kind::EnvSecret => !file.path.starts_with("/etc/hearth/") && !file.path.starts_with("/var/lib/hearth/k8s/"),
        _ => true,
    }
}
