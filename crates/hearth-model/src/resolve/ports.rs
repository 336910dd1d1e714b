//! Host ports: claimed per machine, then settled (fixed claims keep theirs, movable catalog
//! defaults move to the remembered or next free port).

use std::collections::{BTreeMap, HashSet};

use hearth_catalog::{App, Provides};
use hearth_spec::Span;
use hearth_spec::ast::{self, Protocol};

use super::Resolver;
use crate::model::{Model, Port};

/// A host port a service (or a companion, under its container name) wants, before conflicts
/// are settled.
pub(super) struct Claim {
    pub(super) machine: String,
    pub(super) service: String,
    pub(super) port_name: String,
    pub(super) port: u16,
    pub(super) protocol: Protocol,
    pub(super) span: Span,
    /// A catalog default for an HTTP port only the proxy talks to: moved when taken.
    pub(super) movable: bool,
}

/// The catalog ports the service's `expose:` entries route to: each the port it names, else the
/// app's primary port (as `exposures` resolves them).
fn exposed_ports<'a>(svc: &'a ast::Service, app: &'a App) -> Vec<&'a str> {
    let Some(x) = &svc.expose else { return Vec::new() };
    x.0.iter()
        .filter_map(|ex| {
            ex.port.as_ref().map_or_else(|| app.primary_port().map(|(n, _)| n), |p| Some(p.value.as_str()))
        })
        .collect()
}

impl Resolver<'_> {
    pub(super) fn ports(
        &mut self,
        name: &str,
        svc: &ast::Service,
        app: Option<&App>,
        machine: &str,
        claim: bool,
    ) -> Vec<Port> {
        // Under `network_mode: host` the process binds the machine's own ports: each port is on
        // the machine at its container number, fixed (nothing can move it), and claimed like a
        // published one. Under `none` nothing is reachable, so nothing is claimed.
        let mode = super::docker::network_mode(svc, app);
        let host_mode = mode.as_deref() == Some("host");
        let no_network = mode.as_deref() == Some("none");
        let mut out = Vec::new();
        if let Some(app) = app {
            for (pname, p) in app.ports.iter() {
                let over = svc.ports.get(pname);
                let protocol = over.and_then(|o| o.protocol).or(p.protocol).unwrap_or(Protocol::Tcp);
                // A port that serves only metrics is published when Prometheus must reach it
                // (the firewall opens it to Prometheus alone); otherwise `publish: false` holds.
                let for_prometheus = self.spec.monitoring.as_ref().is_some_and(|m| m.prometheus.is_some())
                    && app.metrics_only_port() == Some(pname)
                    && !host_mode;
                // A port the proxy routes to is published the same way: the proxy reaches every
                // upstream at its machine's address, and the firewall opens it to the proxy alone.
                let for_proxy = !host_mode && exposed_ports(svc, app).contains(&pname);
                let container = over.and_then(|o| o.container.as_ref()).map_or(p.port, |c| c.value);
                let publish = over.and_then(|o| o.publish.as_ref()).map(|p| p.value);
                let host = match over.and_then(|o| o.host.as_ref()) {
                    _ if no_network => None,
                    _ if host_mode => Some(container),
                    _ if publish == Some(false) => None,
                    Some(h) => Some(h.value),
                    None if p.publish == Some(false) && publish.is_none() && !for_prometheus && !for_proxy => None,
                    None => Some(p.port),
                };
                let written = over.and_then(|o| o.host.as_ref().or(o.container.as_ref()));
                let span = written.map_or_else(|| svc.app.as_ref().map_or(svc.span, |a| a.span), |w| w.span);
                if let Some(h) = host.filter(|_| claim) {
                    let movable = over.is_none()
                        && matches!(protocol, Protocol::Http | Protocol::Https)
                        && !host_mode
                        && !app.provides(Provides::Proxy);
                    self.claims.push(Claim {
                        machine: machine.to_string(),
                        service: name.to_string(),
                        port_name: pname.to_string(),
                        port: h,
                        protocol,
                        span,
                        movable,
                    });
                }
                out.push(Port { name: pname.to_string(), host, container, protocol });
            }
        }
        for e in &svc.ports.entries {
            if app.is_some_and(|a| a.ports.contains(&e.name)) {
                continue;
            }
            let p = &e.value;
            // A port with no number at all is reported by the checks (E807).
            let Some(number) = p.container.as_ref().or(p.host.as_ref()) else { continue };
            let container = number.value;
            let unpublished = p.publish.as_ref().is_some_and(|p| !p.value);
            let host = match &p.host {
                _ if no_network => None,
                _ if host_mode => Some(container),
                _ if unpublished => None,
                Some(h) => Some(h.value),
                None => Some(container),
            };
            let protocol = p.protocol.unwrap_or(Protocol::Tcp);
            if let Some(h) = host.filter(|_| claim) {
                self.claims.push(Claim {
                    machine: machine.to_string(),
                    service: name.to_string(),
                    port_name: e.name.clone(),
                    port: h,
                    protocol,
                    span: number.span,
                    movable: false,
                });
            }
            out.push(Port { name: e.name.clone(), host, container, protocol });
        }
        out
    }

    /// Settles host ports per machine: fixed claims keep their port (conflicts among them are
    /// reported by the checker); movable ones take the remembered or next free port when theirs
    /// is taken, so adding a service never moves another.
    pub(super) fn settle_ports(&mut self, model: &mut Model) {
        let claims = std::mem::take(&mut self.claims);
        let mut taken: HashSet<(String, u16)> =
            claims.iter().filter(|c| !c.movable).map(|c| (c.machine.clone(), c.port)).collect();
        // What monitoring adds comes last, so it never moves a port the spec's services had
        // without it: the exporters Hearth adds as services, and metrics ports published only
        // for Prometheus.
        let late = |c: &Claim| {
            let app = model.services.get(&c.service).and_then(|s| s.app.as_deref()).and_then(|a| self.catalog.get(a));
            !self.spec.services.is_declared(&c.service)
                || app.is_some_and(|a| {
                    a.metrics_only_port() == Some(c.port_name.as_str())
                        && a.ports.get(&c.port_name).is_some_and(|p| p.publish == Some(false))
                })
        };
        let mut order: Vec<(bool, &Claim)> = claims.iter().filter(|c| c.movable).map(|c| (late(c), c)).collect();
        order.sort_by(|(la, a), (lb, b)| {
            (&a.machine, la, &a.service, &a.port_name).cmp(&(&b.machine, lb, &b.service, &b.port_name))
        });
        let order: Vec<&Claim> = order.into_iter().map(|(_, c)| c).collect();
        let mut moved: BTreeMap<(String, String), u16> = BTreeMap::new();
        // A port a movable claim was moved to before stays reserved for it.
        for c in &order {
            let key = format!("service/{}/port/{}", c.service, c.port_name);
            if let Some(p) = self.previous.get(&key).and_then(|v| v.parse::<u16>().ok())
                && !taken.contains(&(c.machine.clone(), p))
            {
                taken.insert((c.machine.clone(), p));
                moved.insert((c.service.clone(), c.port_name.clone()), p);
                self.allocations.set(key, p.to_string());
            }
        }
        for c in order {
            if moved.contains_key(&(c.service.clone(), c.port_name.clone())) {
                continue;
            }
            let key = format!("service/{}/port/{}", c.service, c.port_name);
            let port = if !taken.contains(&(c.machine.clone(), c.port)) {
                c.port
            } else {
                let p = (c.port.saturating_add(1)..u16::MAX)
                    .find(|p| !taken.contains(&(c.machine.clone(), *p)))
                    .unwrap_or(c.port);
                self.allocations.set(key, p.to_string());
                moved.insert((c.service.clone(), c.port_name.clone()), p);
                p
            };
            taken.insert((c.machine.clone(), port));
        }
        for c in &claims {
            let port = moved.get(&(c.service.clone(), c.port_name.clone())).copied().unwrap_or(c.port);
            self.origins.ports.push((
                c.machine.clone(),
                port,
                c.protocol,
                c.service.clone(),
                c.port_name.clone(),
                c.span,
            ));
        }
        for ((service, port_name), port) in moved {
            if let Some(p) =
                model.services.get_mut(&service).and_then(|s| s.ports.iter_mut().find(|p| p.name == port_name))
            {
                p.host = Some(port);
            }
        }
    }
}
