//! The exporters `monitoring.exporters` names that run as services of their own, added beside
//! the spec's services and resolved exactly like them (host ports claimed and settled, volumes,
//! firewall openings, compose stack, docs):
//!
//! - `cadvisor`: a container on every Docker machine (`cadvisor-<machine>`, in the `monitoring`
//!   stack). Debian has no cAdvisor package, and cAdvisor reads containers through the Docker
//!   socket, so it belongs beside them; a machine already running an `app: cadvisor` service
//!   keeps that one.
//! - `blackbox`: one Blackbox exporter (`blackbox`) on Prometheus's machine, a container on a
//!   Docker machine and Debian's package elsewhere, unless the spec runs a `blackbox-exporter`.
//!
//! - `postgres`, `redis`, `mongodb`: an exporter beside every PostgreSQL, Redis or MongoDB server
//!   (`<server>-exporter`, on the server's machine), which `uses` the server: its login, password
//!   and firewall opening come from that relationship like any consumer's, with the catalog's
//!   `monitor` wiring (a `pg_monitor` login on the maintenance database, a `clusterMonitor` login
//!   in MongoDB's `admin`, no Redis DB of its own).
//!   Servers on a cluster or a NixOS machine get none (the checks say so: W850).
//!
//! The node exporter is not a service: it is Debian's package on every managed machine
//! (`derive/monitoring.rs` lists them, `packages.rs` installs it), Docker machines included.

use hearth_spec::ast::{self, Runtime};
use hearth_spec::decode::{Cx, Decode, FieldSpans};
use hearth_spec::{Sp, Span};

use super::Resolver;
use crate::model::Model;

impl Resolver<'_> {
    /// The services to add, by name, each spanned at the `exporters` entry that asked for it.
    pub(super) fn exporter_services(&self, model: &Model) -> Vec<(String, ast::Service)> {
        let spec = self.spec;
        let Some(m) = &spec.monitoring else { return Vec::new() };
        let runs = |app: &str| -> Vec<&str> {
            spec.services
                .entries
                .iter()
                .filter(|e| e.value.app.as_ref().is_some_and(|a| a.value == app))
                .flat_map(|e| {
                    std::iter::once(e.value.on.value.as_str()).chain(e.value.also_on.iter().map(|a| a.value.as_str()))
                })
                .collect()
        };
        let mut out = Vec::new();
        for e in &m.exporters {
            match e.value.as_str() {
                "cadvisor" => {
                    let present = runs("cadvisor");
                    let guests =
                        model.guests.iter().filter(|(_, g)| g.managed && g.runtime == Runtime::Docker).map(|(n, _)| n);
                    let hosts = model.hosts.iter().filter(|(_, h)| h.runtime == Some(Runtime::Docker)).map(|(n, _)| n);
                    for machine in guests.chain(hosts) {
                        let name = format!("cadvisor-{machine}");
                        if present.contains(&machine.as_str()) || spec.services.is_declared(&name) {
                            continue;
                        }
                        if let Some(svc) = synthesize("cadvisor", machine, None, e.span) {
                            out.push((name, svc));
                        }
                    }
                }
                "blackbox" if runs("blackbox-exporter").is_empty() && !spec.services.is_declared("blackbox") => {
                    // Beside Prometheus, which is the only one to call it.
                    let on = m.prometheus.as_ref().and_then(|p| spec.services.get(&p.value)).map(|p| &p.on.value);
                    if let Some(on) = on.filter(|on| !spec.clusters.contains(on))
                        && let Some(svc) = synthesize("blackbox-exporter", on, None, e.span)
                    {
                        out.push(("blackbox".to_string(), svc));
                    }
                }
                engine => {
                    let Some(exporter) = database_exporter(engine) else { continue };
                    for (server, on) in database_servers(spec, self.catalog, engine) {
                        let name = format!("{server}-exporter");
                        if spec.services.is_declared(&name) {
                            continue;
                        }
                        if let Some(svc) = synthesize(exporter, on, Some(server), e.span) {
                            out.push((name, svc));
                        }
                    }
                }
            }
        }
        out
    }
}

/// The exporter app of a database entry of `monitoring.exporters`.
pub(crate) fn database_exporter(entry: &str) -> Option<&'static str> {
    match entry {
        "postgres" => Some("postgres-exporter"),
        "redis" => Some("redis-exporter"),
        "mongodb" => Some("mongodb-exporter"),
        _ => None,
    }
}

/// The servers an entry of `monitoring.exporters` (`postgres`, `redis`, `mongodb`) watches, with
/// their machine: the spec's services whose app provides that engine, on a guest or host (a NixOS
/// guest's flake enables the NixOS exporter module for PostgreSQL and Redis); a server on a
/// cluster, or a MongoDB server on NixOS, gets none (W850).
pub(crate) fn database_servers<'s>(
    spec: &'s hearth_spec::Spec,
    catalog: &hearth_catalog::Catalog,
    entry: &str,
) -> Vec<(&'s str, &'s str)> {
    let kind = match entry {
        "postgres" => hearth_catalog::Provides::Postgres,
        "redis" => hearth_catalog::Provides::Redis,
        "mongodb" => hearth_catalog::Provides::Mongodb,
        _ => return Vec::new(),
    };
    spec.services
        .entries
        .iter()
        .filter(|e| e.value.app.as_ref().and_then(|a| catalog.get(&a.value)).is_some_and(|a| a.provides(kind)))
        .filter(|e| !spec.clusters.contains(&e.value.on.value))
        // NixOS has exporter modules for PostgreSQL and Redis, not for MongoDB.
        .filter(|e| kind != hearth_catalog::Provides::Mongodb || !nixos(spec, &e.value.on.value))
        .map(|e| (e.name.as_str(), e.value.on.value.as_str()))
        .collect()
}

/// Whether `machine` is a NixOS guest of the spec, as `Model::is_nixos` reads its `os`.
pub(crate) fn nixos(spec: &hearth_spec::Spec, machine: &str) -> bool {
    spec.guests.get(machine).and_then(|g| g.os.as_ref()).is_some_and(|os| os.value.starts_with("nixos"))
}

/// A spec service `{ app, on, uses: [uses] }`, as if written at `span`.
pub(super) fn synthesize(app: &str, on: &str, uses: Option<&str>, span: Span) -> Option<ast::Service> {
    let mut text = format!("app: {}\non: {}\n", json(app), json(on));
    if let Some(u) = uses {
        text.push_str(&format!("uses: [{}]\n", json(u)));
    }
    let (node, _) = hearth_spec::yaml::parse(span.file, &text);
    let mut svc = ast::Service::decode(&node?, &mut Cx::new())?;
    svc.app = Some(Sp::new(app.to_string(), span));
    svc.on = Sp::new(on.to_string(), span);
    svc.span = span;
    svc.spans = FieldSpans::default();
    // Every diagnostic about it points at the `exporters` entry, never into the text above.
    for u in &mut svc.uses {
        u.span = span;
        u.service.span = span;
    }
    Some(svc)
}

/// A double-quoted YAML scalar (JSON string syntax).
fn json(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}
