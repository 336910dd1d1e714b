//! Catalog companions: the containers an app runs beside its service (Immich's machine
//! learning, Authentik's worker), resolved like the service: image on the service's version,
//! ports claimed on its machine, the service's volumes at their own paths, their environment
//! expanded with the service's placeholders and secrets.

use std::collections::BTreeMap;

use hearth_catalog::{App, image_tag};
use hearth_spec::ast::{self, Protocol};

use super::Resolver;
use super::ports::Claim;
use super::services::replace_tag;
use crate::model::{Companion, Healthcheck, Port, Template, Volume};
use crate::template::Vars;

impl Resolver<'_> {
    /// The app's companions of service `name`, with their environment left for wiring to fill.
    /// Published ports are claimed on `claim_on` (the service's machine; none on a cluster) under
    /// the container's name, so a clash with the service's own ports is reported too.
    pub(super) fn companions(
        &mut self,
        name: &str,
        svc: &ast::Service,
        app: &App,
        image: &str,
        volumes: &[Volume],
        claim_on: Option<&str>,
    ) -> Vec<Companion> {
        let span = svc.app.as_ref().map_or(svc.span, |a| a.span);
        let mut out = Vec::new();
        for (cname, c) in app.companions.iter() {
            let container = format!("{name}-{cname}");
            self.origins.companions.insert(container.clone());
            let mut ports = Vec::new();
            for (pname, p) in c.ports.iter() {
                let protocol = p.protocol.unwrap_or(Protocol::Tcp);
                let host = (p.publish != Some(false)).then_some(p.port);
                if let (Some(h), Some(machine)) = (host, claim_on) {
                    self.claims.push(Claim {
                        machine: machine.to_string(),
                        service: container.clone(),
                        port_name: pname.to_string(),
                        port: h,
                        protocol,
                        span,
                        movable: false,
                    });
                }
                ports.push(Port { name: pname.to_string(), host, container: p.port, protocol });
            }
            let volumes = c
                .volumes
                .iter()
                .filter_map(|(vname, path)| {
                    volumes.iter().find(|v| v.name == vname).map(|v| Volume { target: path.clone(), ..v.clone() })
                })
                .collect();
            out.push(Companion {
                name: cname.to_string(),
                image: companion_image(c.image.as_deref(), app, image, svc.version.as_ref().map(|v| v.value.as_str())),
                command: c.command.clone(),
                user: c.user.clone(),
                env: BTreeMap::new(),
                ports,
                volumes,
                healthcheck: c.healthcheck.as_ref().and_then(Healthcheck::from_spec),
            });
        }
        out
    }

    /// Fills the companions' environment once the service's is final: the service's own (unless
    /// the entry keeps the companion to its `own_env`), then the companion's catalog `env`
    /// expanded with the service's placeholders and secrets.
    pub(super) fn companion_env(
        &self,
        app: &App,
        vars: &Vars,
        env: &BTreeMap<String, Template>,
        out: &mut [Companion],
    ) {
        for c in out {
            let Some(entry) = app.companions.get(&c.name) else { continue };
            c.env = if entry.own_env == Some(true) { BTreeMap::new() } else { env.clone() };
            for (k, v) in entry.env.iter() {
                if let Ok(t) = vars.expand(v) {
                    c.env.insert(k.to_string(), t);
                }
            }
        }
    }
}

/// A companion's image: the service's when it names none; moved to the spec's `version:` when
/// it is released together with the app (it carries the app image's tag); otherwise as the
/// catalog pins it, since it is versioned on its own.
fn companion_image(own: Option<&str>, app: &App, service_image: &str, version: Option<&str>) -> String {
    let Some(own) = own else { return service_image.to_string() };
    match version {
        Some(v) if image_tag(own).is_some() && image_tag(own) == app.tag() => replace_tag(own, v),
        _ => own.to_string(),
    }
}
