//! Which machines run the monitoring agent (`monitoring.agent`): every managed guest with a
//! runtime, every host with a runtime, and every Proxmox node (its host metrics are the hardware
//! under every guest). The renderer writes the agent's configuration on exactly these machines
//! and the flows open their pushes to Prometheus and Loki from exactly these, so the two cannot
//! disagree.

use hearth_spec::ast::Runtime;

use crate::model::{HostKind, Model};

impl Model {
    /// The machines the agent runs on, by name (guests first, each map in its order), each with
    /// whether it runs Docker (the agent then also reads the containers' logs).
    pub fn agent_machines(&self) -> Vec<(&str, bool)> {
        let guests = self
            .guests
            .iter()
            .filter(|(_, g)| g.managed && g.runtime != Runtime::None)
            .map(|(n, g)| (n.as_str(), g.runtime == Runtime::Docker));
        let hosts = self
            .hosts
            .iter()
            .filter(|(_, h)| h.runtime.is_some() || h.kind == HostKind::Proxmox)
            .map(|(n, h)| (n.as_str(), h.runtime == Some(Runtime::Docker)));
        guests.chain(hosts).collect()
    }
}
