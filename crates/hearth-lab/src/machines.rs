//! Which machines the lab runs, what it skips on them, and which service images it cannot offer.
//!
//! Pure: reads the lab's resolved model and rendered files only.

use std::collections::BTreeSet;
use std::net::IpAddr;

use hearth_model::Model;
use hearth_model::model::HostKind;
use hearth_render::File;
use hearth_spec::ast::{PoolKind, Runtime};
use serde::Serialize;

/// A machine the lab starts a container for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Machine {
    pub name: String,
    pub network: Option<String>,
    pub address: Option<IpAddr>,
    /// `runtime: docker`: the machine runs a Docker engine.
    pub docker: bool,
}

/// Something the homelab would do on real hardware that the lab does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub machine: String,
    pub what: String,
    pub reason: String,
}

/// A Docker service whose image the machine's engine lacks and cannot pull.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfflineImage {
    pub service: String,
    pub machine: String,
    pub image: String,
}

/// Every managed machine that gets files, sorted by name. Guests with `managed: false` are left
/// out: Hearth never touches them.
pub fn machines(model: &Model, files: &[File]) -> Vec<Machine> {
    let names: BTreeSet<&str> = files.iter().map(|f| f.machine.as_str()).collect();
    let mut out = Vec::new();
    for name in names {
        if let Some(g) = model.guests.get(name) {
            if g.managed {
                let docker = g.runtime == Runtime::Docker;
                out.push(Machine { name: name.to_string(), network: g.network.clone(), address: g.address, docker });
            }
        } else if let Some(h) = model.hosts.get(name) {
            let docker = h.runtime == Some(Runtime::Docker);
            out.push(Machine { name: name.to_string(), network: h.network.clone(), address: h.address, docker });
        }
    }
    out
}

/// What the lab leaves out: hardware (ZFS pools, device passthrough), the Proxmox API (the lab
/// makes guests as containers), NixOS configurations (lab machines run Debian), and machines
/// Hearth does not manage.
pub fn skipped(model: &Model) -> Vec<Skipped> {
    let mut out = Vec::new();
    let skip = |machine: &str, what: String, reason: &str| Skipped {
        machine: machine.to_string(),
        what,
        reason: reason.to_string(),
    };
    for (name, h) in &model.hosts {
        if h.kind == HostKind::Proxmox {
            out.push(skip(name, "Proxmox API (guest creation)".into(), "the lab runs each guest as a container"));
        }
        for (pool, p) in &h.pools {
            if p.kind == PoolKind::Zfs {
                out.push(skip(name, format!("ZFS pool `{pool}`"), "the lab has no disks to pool"));
            }
        }
    }
    for (name, g) in &model.guests {
        if !g.managed {
            out.push(skip(name, "machine".into(), "`managed: false`: Hearth does not touch it"));
            continue;
        }
        for device in &g.devices {
            out.push(skip(name, format!("passthrough of `{device}`"), "the lab has no devices to pass through"));
        }
        if g.os.starts_with("nixos") {
            out.push(skip(name, "NixOS configuration".into(), "lab machines run Debian"));
        }
    }
    out
}

/// The images Docker services need on each lab machine, sorted by machine and service.
pub fn service_images(model: &Model, machines: &[Machine]) -> Vec<OfflineImage> {
    let docker: BTreeSet<&str> = machines.iter().filter(|m| m.docker).map(|m| m.name.as_str()).collect();
    let mut out = Vec::new();
    for (service, s) in &model.services {
        let Some(image) = &s.image else { continue };
        for machine in s.machines() {
            if docker.contains(machine) {
                out.push(OfflineImage { service: service.clone(), machine: machine.to_string(), image: image.clone() });
            }
        }
    }
    out.sort_by(|a, b| (&a.machine, &a.service).cmp(&(&b.machine, &b.service)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loads, resolves and renders a spec, then compares what the lab makes of it.
    fn check(spec: &str, expected_machines: &[(&str, bool)], expected_skipped: &[&str]) {
        let loaded = hearth_spec::load_str("hearth.yaml", spec);
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let catalog = hearth_catalog::builtin();
        let analysis = hearth_model::analyze(&loaded.spec, catalog, &hearth_model::Allocations::default());
        let files = hearth_render::render(&hearth_render::Context { model: &analysis.model, catalog, secrets: None });
        let got = machines(&analysis.model, &files);
        let got: Vec<(&str, bool)> = got.iter().map(|m| (m.name.as_str(), m.docker)).collect();
        assert_eq!(got, expected_machines);
        let skipped: Vec<String> =
            skipped(&analysis.model).iter().map(|s| format!("{}: {}", s.machine, s.what)).collect();
        assert_eq!(skipped, expected_skipped);
    }

    const BASE: &str = "homelab: t\nnetworks: { lan: { cidr: 192.168.1.0/24 } }\n";

    #[test]
    fn machines_and_what_the_lab_skips() {
        check(
            &format!(
                "{BASE}hosts: {{ pve: {{ address: 192.168.1.10, network: lan, proxmox: {{ node: pve }}, storage: {{ tank: {{ kind: zfs }} }} }} }}\n\
                 guests:\n  apps: {{ vm: {{ on: pve }}, network: lan, runtime: docker, size: {{ cores: 1, memory: 1GiB, disk: 8GiB }} }}\n  \
                 ha: {{ vm: {{ on: pve }}, network: lan, runtime: none, size: {{ cores: 1, memory: 1GiB, disk: 8GiB }} }}\n\
                 services: {{ whoami: {{ image: \"traefik/whoami:v1.10.3\", on: apps, ports: {{ http: 80 }} }} }}\n"
            ),
            &[("apps", true), ("pve", false)],
            &["pve: Proxmox API (guest creation)", "pve: ZFS pool `tank`", "ha: machine"],
        );
    }
}
