//! `ingress.discover.docker`: the read-only Docker socket proxy Traefik's Docker provider reads a
//! remote machine's containers through, added as a service of its own (`docker-socket-proxy-<machine>`)
//! and resolved like any other, so its port is claimed, its container rendered in the machine's
//! compose project and its firewall opening derived from the flow the proxy makes to it.
//!
//! A machine that already runs an `app: docker-socket-proxy` service keeps that one. A machine
//! that is unknown or has no Docker runtime gets none: `check/discovery` reports it.

use hearth_spec::ast::{self, Runtime};

use super::Resolver;
use super::exporters::synthesize;
use crate::model::Model;

/// The catalog app of the socket proxy.
pub(crate) const SOCKET_PROXY_APP: &str = "docker-socket-proxy";

impl Resolver<'_> {
    /// The socket proxy to add, by name, spanned at `discover.docker`.
    pub(super) fn discovery_services(&self, model: &Model) -> Vec<(String, ast::Service)> {
        let Some(d) = self.spec.ingress.as_ref().and_then(|i| i.discover.as_ref()).and_then(|d| d.docker.as_ref())
        else {
            return Vec::new();
        };
        let machine = d.value.as_str();
        let docker = model.guests.get(machine).is_some_and(|g| g.runtime == Runtime::Docker)
            || model.hosts.get(machine).is_some_and(|h| h.runtime == Some(Runtime::Docker));
        if !docker || socket_proxy_of(self.spec, machine).is_some() {
            return Vec::new();
        }
        let name = default_name(machine);
        if self.spec.services.is_declared(&name) {
            return Vec::new();
        }
        synthesize(SOCKET_PROXY_APP, machine, None, d.span).map(|s| vec![(name, s)]).unwrap_or_default()
    }
}

/// The name of the socket proxy Hearth adds on `machine`.
pub(crate) fn default_name(machine: &str) -> String {
    format!("{SOCKET_PROXY_APP}-{machine}")
}

/// The spec's own socket proxy service on `machine`, if it runs one.
pub(crate) fn socket_proxy_of<'s>(spec: &'s hearth_spec::Spec, machine: &str) -> Option<&'s str> {
    spec.services
        .entries
        .iter()
        .find(|e| e.value.on.value == machine && e.value.app.as_ref().is_some_and(|a| a.value == SOCKET_PROXY_APP))
        .map(|e| e.name.as_str())
}
