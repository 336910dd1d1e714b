//! `monitoring.watcher`: the watcher as a service of one machine. Its page's port is claimed
//! like a service's host port (so the conflict checks see it), its token joins the secrets, and
//! the model gets the `Watcher` that the flows, firewall, renderers and docs read.

use hearth_spec::ast::Protocol;
use hearth_spec::reference::SecretRef;

use super::Resolver;
use super::ports::Claim;
use crate::model::{FlowSource, Model, Watcher};

impl Resolver<'_> {
    /// Claims the page's port on the watcher's machine; runs before ports are settled, so a
    /// movable catalog default moves away from it and a fixed one conflicts with it.
    pub(super) fn watcher_port(&mut self) {
        let Some(w) = self.spec.monitoring.as_ref().and_then(|m| m.watcher.as_ref()) else { return };
        let machine = &w.on.value;
        if self.spec.guests.get(machine).is_none() && self.spec.hosts.get(machine).is_none() {
            return;
        }
        let (port, span) =
            w.listen.as_ref().map_or((Watcher::DEFAULT_LISTEN.port(), w.on.span), |l| (l.value.0.port(), l.span));
        self.claims.push(Claim {
            machine: machine.clone(),
            service: Watcher::UNIT.to_string(),
            port_name: "page".to_string(),
            port,
            protocol: Protocol::Http,
            span,
            movable: false,
        });
    }

    /// The model's `Watcher`, when its machine exists (the checks report one that does not).
    pub(super) fn watcher(&mut self, model: &mut Model) {
        let Some(w) = self.spec.monitoring.as_ref().and_then(|m| m.watcher.as_ref()) else { return };
        let machine = &w.on.value;
        if !model.guests.contains_key(machine) && !model.hosts.contains_key(machine) {
            return;
        }
        let token = match &w.token {
            // Generated into the store unless `secrets:` says where it comes from; the model keeps
            // the reference its value is read through.
            Some(SecretRef::Named(name)) => {
                let t = self.need_secret(name, 32, Watcher::UNIT);
                t.parts.iter().find_map(|p| match p {
                    crate::model::Part::Secret(s) => Some(s.clone()),
                    crate::model::Part::Text(_) => None,
                })
            }
            Some(other) => Some(other.to_string()),
            None => None,
        };
        let from = w
            .from
            .iter()
            .filter_map(|n| {
                if model.networks.contains_key(&n.value) {
                    Some(FlowSource::Network(n.value.clone()))
                } else if model.guests.contains_key(&n.value) || model.hosts.contains_key(&n.value) {
                    Some(FlowSource::Machine(n.value.clone()))
                } else {
                    None
                }
            })
            .collect();
        let listen = w.listen.as_ref().map_or(Watcher::DEFAULT_LISTEN, |l| l.value.0);
        model.monitoring.watcher = Some(Watcher { machine: machine.clone(), listen, token, from });
    }
}
