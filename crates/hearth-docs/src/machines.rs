//! Machine queries every section shares: a host's guests in id order, a guest's kind label, a
//! machine's name with its address, and the reading order of all machines.

use hearth_model::Model;
use hearth_model::model::{Guest, GuestKind};

/// `LXC 105` or `VM 110`.
pub fn kind_label(g: &Guest) -> String {
    match g.kind {
        GuestKind::Lxc => format!("LXC {}", g.id),
        GuestKind::Vm => format!("VM {}", g.id),
    }
}

pub use hearth_model::totals::guests_of;

/// `name (address)` or `name`.
pub fn machine_label(model: &Model, machine: &str) -> String {
    match model.machine_address(machine) {
        Some(a) => format!("{machine} ({a})"),
        None => machine.to_string(),
    }
}

/// Every machine name in reading order: each host, then its guests by id; then guests on
/// undeclared hosts, then any other name (clusters) in sorted order.
pub fn machine_order(model: &Model) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for h in model.hosts.keys() {
        out.push(h.clone());
        out.extend(guests_of(model, h).into_iter().map(|(n, _)| n.clone()));
    }
    for g in model.guests.keys() {
        if !out.contains(g) {
            out.push(g.clone());
        }
    }
    let mut rest: Vec<String> = model
        .firewall
        .keys()
        .cloned()
        .chain(model.services.values().map(|s| s.on.name().to_string()))
        .filter(|m| !out.contains(m))
        .collect();
    rest.sort();
    rest.dedup();
    out.extend(rest);
    out
}
