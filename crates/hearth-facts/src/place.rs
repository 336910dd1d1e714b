//! Where things are: machine and service addresses, the machines checks can run from, and why a
//! machine's facts cannot be checked.

use std::net::IpAddr;

use hearth_model::Model;
use hearth_model::model::{Placement, Service};

/// The machines Hearth reaches over SSH: managed guests and every host, by name.
pub(crate) fn machines(model: &Model) -> Vec<&str> {
    let mut all: Vec<&str> = model
        .guests
        .iter()
        .filter(|(_, g)| g.managed)
        .map(|(n, _)| n.as_str())
        .chain(model.hosts.keys().map(String::as_str))
        .collect();
    all.sort_unstable();
    all
}

/// Where other machines reach a service running on `machine`: its own address (a container on a
/// macvlan network), else the machine's.
pub(crate) fn address(model: &Model, s: &Service, machine: &str) -> Option<IpAddr> {
    if machine == s.on.name() {
        s.address.or_else(|| model.machine_address(machine))
    } else {
        model.machine_address(machine)
    }
}

/// The service's first port with one of `names`, else its first port, as other machines reach it.
pub(crate) fn port(s: &Service, names: &[&str]) -> Option<u16> {
    s.port_or_first(names).map(|e| e.reachable)
}

/// Why facts about a service on `machine` cannot be checked, if they cannot.
pub(crate) fn unreachable(model: &Model, s: &Service, machine: &str) -> Option<String> {
    if let Placement::Cluster(c) = &s.on {
        return Some(format!("runs in Kubernetes cluster `{c}`; verify does not check in-cluster services"));
    }
    machine_skip(model, machine)
}

/// Why facts checked on `machine` cannot be, if they cannot: a NixOS guest (its flake names its
/// units and paths), an unmanaged guest.
pub(crate) fn machine_skip(model: &Model, machine: &str) -> Option<String> {
    if model.is_nixos(machine) {
        return Some(format!("`{machine}` is a NixOS guest; verify does not check NixOS configurations"));
    }
    if model.guests.get(machine).is_some_and(|g| !g.managed) {
        return Some(format!("`{machine}` is not managed by Hearth"));
    }
    None
}

/// The machine a service named by the model runs on.
pub(crate) fn machine_of<'m>(model: &'m Model, service: Option<&String>) -> Option<(&'m str, &'m Service)> {
    let s = model.services.get(service?)?;
    Some((s.on.name(), s))
}

/// The machine with address `a`.
pub(crate) fn machine_at(model: &Model, a: IpAddr) -> Option<&str> {
    model
        .guests
        .iter()
        .find(|(_, g)| g.address == Some(a))
        .map(|(n, _)| n.as_str())
        .or_else(|| model.hosts.iter().find(|(_, h)| h.address == Some(a)).map(|(n, _)| n.as_str()))
}

/// The spec entity of a machine: `guest/NAME` or `host/NAME`.
pub(crate) fn machine_key(model: &Model, machine: &str) -> String {
    if model.guests.contains_key(machine) { format!("guest/{machine}") } else { format!("host/{machine}") }
}
