//! Which machines the lab runs, what it skips on them, and which service images it cannot offer.
//!
//! Pure: reads the lab's resolved model and rendered files only.

use std::collections::BTreeSet;
use std::net::IpAddr;

use hearth_model::Model;
use hearth_model::model::HostKind;
use hearth_render::{File, Kind};
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
    /// Its further interfaces (`interfaces:`) with an address: network name and address.
    pub interfaces: Vec<(String, IpAddr)>,
    /// A guest of a Proxmox host: its node and id, for the node's simulator to create.
    pub proxmox: Option<crate::state::ProxmoxGuest>,
}

/// The further interfaces of a machine that have an address.
fn further(interfaces: &[hearth_model::zones::Interface]) -> Vec<(String, IpAddr)> {
    interfaces.iter().filter(|i| !i.primary).filter_map(|i| Some((i.network.clone(), i.address?))).collect()
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
                let interfaces = further(&g.interfaces);
                let proxmox = model.hosts.get(&g.host).filter(|h| h.kind == HostKind::Proxmox).map(|h| {
                    crate::state::ProxmoxGuest {
                        node: h.node.clone().unwrap_or_else(|| g.host.clone()),
                        host: g.host.clone(),
                        vmid: g.id,
                    }
                });
                let (network, address) = (g.network.clone(), g.address);
                out.push(Machine { name: name.to_string(), network, address, docker, interfaces, proxmox });
            }
        } else if let Some(h) = model.hosts.get(name) {
            let docker = h.runtime == Some(Runtime::Docker);
            let interfaces = further(&h.interfaces);
            let (network, address) = (h.network.clone(), h.address);
            out.push(Machine { name: name.to_string(), network, address, docker, interfaces, proxmox: None });
        }
    }
    out
}

/// A file the lab does not deploy because it belongs to something the lab skips.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedFile {
    pub machine: String,
    pub path: String,
    /// The skipped item it belongs to, as [`skipped`] lists it.
    pub what: String,
    pub reason: String,
}

/// The kinds of thing the lab skips; a skipped item and the files that belong to it share one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    ProxmoxApi,
    ZfsPools,
    Passthrough,
    Nixos,
    Unmanaged,
    ShareMounts,
}

/// What the lab leaves out: hardware (ZFS pools, device passthrough), NFS and SMB share mounts,
/// the Proxmox API when the lab runs no simulator (`up` then makes guests as containers itself),
/// NixOS configurations (lab machines run Debian), and machines Hearth does not manage. The Proxmox hosts' files (the
/// guests' API parameters, cloud-init snippets) are deployed either way: a simulator reads the
/// snippets from its host's `/var/lib/vz/snippets`.
pub fn skipped(model: &Model) -> Vec<Skipped> {
    skipped_items(model).into_iter().map(|(_, item)| item).collect()
}

/// Whether a skipped item is the Proxmox API's (which a lab with simulators does not skip).
pub fn is_proxmox_api(item: &Skipped) -> bool {
    item.what == PROXMOX_API
}

const PROXMOX_API: &str = "Proxmox API (guest creation)";

/// The files of `files` that belong to an item of [`skipped`], in the order given. Deploy in the
/// lab leaves these out, so that `lab up`'s list and what deploy omits cannot disagree.
pub fn skipped_files(model: &Model, files: &[File]) -> Vec<SkippedFile> {
    let items = skipped_items(model);
    files
        .iter()
        .filter_map(|f| {
            // Every file of a NixOS machine belongs to its configuration, which the lab does
            // not apply (its users and services do not exist on the lab's Debian).
            let cause = if model.is_nixos(&f.machine) { Some(Cause::Nixos) } else { cause_of(f) }?;
            let (_, item) = items.iter().find(|(c, item)| *c == cause && item.machine == f.machine)?;
            Some(SkippedFile {
                machine: f.machine.clone(),
                path: f.path.clone(),
                what: item.what.clone(),
                reason: item.reason.clone(),
            })
        })
        .collect()
}

/// What a file is part of, from its kind (and, for the ZFS snapshot and replication units, the
/// unit name the ZFS renderer gives them). Files of no skipped kind return `None`.
fn cause_of(file: &File) -> Option<Cause> {
    match file.kind {
        Kind::Zfs => Some(Cause::ZfsPools),
        Kind::SystemdUnit if file.path.starts_with("/etc/systemd/system/hearth-zfs-") => Some(Cause::ZfsPools),
        Kind::Nixos => Some(Cause::Nixos),
        // A share's mount and automount units and its SMB login file on the machine that
        // mounts it (the server's export list is the server's, and stays).
        Kind::SystemdUnit | Kind::EnvSecret
            if file.sources.iter().any(|s| s.starts_with("share/"))
                && [".mount", ".automount", ".cred"].iter().any(|e| file.path.ends_with(e)) =>
        {
            Some(Cause::ShareMounts)
        }
        _ => None,
    }
}

/// Every skipped item with its cause. A host's ZFS pools are one item: its ZFS files serve all
/// of them at once.
fn skipped_items(model: &Model) -> Vec<(Cause, Skipped)> {
    let mut out = Vec::new();
    let skip = |machine: &str, what: String, reason: &str| Skipped {
        machine: machine.to_string(),
        what,
        reason: reason.to_string(),
    };
    for (name, h) in &model.hosts {
        if h.kind == HostKind::Proxmox {
            let item = skip(name, PROXMOX_API.into(), "the lab runs each guest as a container");
            out.push((Cause::ProxmoxApi, item));
        }
        let pools: Vec<String> =
            h.pools.iter().filter(|(_, p)| p.kind == PoolKind::Zfs).map(|(pool, _)| format!("`{pool}`")).collect();
        if !pools.is_empty() {
            let noun = if pools.len() == 1 { "ZFS pool" } else { "ZFS pools" };
            let item = skip(name, format!("{noun} {}", pools.join(", ")), "the lab has no disks to pool");
            out.push((Cause::ZfsPools, item));
        }
    }
    // Mounts, per mounting machine: lab containers share the machine's kernel, which may lack
    // `nfs` and `cifs` (and may not let a container mount), and an appliance serving the share
    // is never started.
    let mut mounts: std::collections::BTreeMap<&str, Vec<String>> = std::collections::BTreeMap::new();
    for m in model.share_mounts.iter().filter(|m| !model.is_nixos(&m.machine)) {
        let shares = mounts.entry(m.machine.as_str()).or_default();
        let share = format!("`{}`", m.share);
        if !shares.contains(&share) {
            shares.push(share);
        }
    }
    for (machine, shares) in mounts {
        let noun = if shares.len() == 1 { "mount of share" } else { "mounts of shares" };
        let reason = "lab machines share this machine's kernel and mount no NFS or SMB share";
        out.push((Cause::ShareMounts, skip(machine, format!("{noun} {}", shares.join(", ")), reason)));
    }
    for (name, g) in &model.guests {
        if !g.managed {
            out.push((Cause::Unmanaged, skip(name, "machine".into(), "`managed: false`: Hearth does not touch it")));
            continue;
        }
        for device in &g.devices {
            let item = skip(name, format!("passthrough of `{device}`"), "the lab has no devices to pass through");
            out.push((Cause::Passthrough, item));
        }
        if g.os.starts_with("nixos") {
            out.push((Cause::Nixos, skip(name, "NixOS configuration".into(), "lab machines run Debian")));
        }
    }
    out
}

/// The images Docker services need on each lab machine, sorted by machine and service.
pub fn service_images(model: &Model, machines: &[Machine]) -> Vec<OfflineImage> {
    let docker: BTreeSet<&str> = machines.iter().filter(|m| m.docker).map(|m| m.name.as_str()).collect();
    crate::offline::images(model, &docker)
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

    /// The files the lab leaves out of `example`, summed up per skipped item as
    /// `machine: what: N file(s)`. Each must belong to an item `skipped` lists, and no file of a
    /// skipped kind may be kept.
    fn check_files(example: &str, text: &str, expected: &[&str]) {
        let loaded = hearth_spec::load_str(example, text);
        assert!(!loaded.has_errors(), "{example}: {:?}", loaded.diagnostics);
        let catalog = hearth_catalog::builtin();
        let analysis = hearth_model::analyze(&loaded.spec, catalog, &hearth_model::Allocations::default());
        let files = hearth_render::render(&hearth_render::Context { model: &analysis.model, catalog, secrets: None });
        let items = skipped(&analysis.model);
        let left_out = skipped_files(&analysis.model, &files);
        let mut counts = std::collections::BTreeMap::new();
        for f in &left_out {
            assert!(
                items.iter().any(|i| i.machine == f.machine && i.what == f.what && i.reason == f.reason),
                "{example}: {f:?} belongs to no skipped item"
            );
            *counts.entry(format!("{}: {}", f.machine, f.what)).or_insert(0) += 1;
        }
        let kept = files.iter().filter(|f| !left_out.iter().any(|s| s.machine == f.machine && s.path == f.path));
        for f in kept {
            assert!(cause_of(f).is_none(), "{example}: {} {} is of a skipped kind but kept", f.machine, f.path);
        }
        let got: Vec<String> = counts.iter().map(|(k, n)| format!("{k}: {n} file(s)")).collect();
        assert_eq!(got, expected, "{example}");
    }

    #[test]
    fn the_lab_leaves_out_exactly_the_files_of_skipped_items() {
        let examples: &[(&str, &str, &[&str])] = &[
            ("lxc-media-apps-tunnel.yaml", include_str!("../../../examples/lxc-media-apps-tunnel.yaml"), &[]),
            ("minimal.yaml", include_str!("../../../examples/minimal.yaml"), &[]),
            (
                "nixos-proxmox-five-vms.yaml",
                include_str!("../../../examples/nixos-proxmox-five-vms.yaml"),
                &[
                    "database-server: NixOS configuration: 15 file(s)",
                    "docker-host: NixOS configuration: 9 file(s)",
                    "monitoring: NixOS configuration: 8 file(s)",
                    "storage-server: NixOS configuration: 7 file(s)",
                    "web-server: NixOS configuration: 7 file(s)",
                ],
            ),
            (
                "ryzen-tiered-lxc-platform.yaml",
                include_str!("../../../examples/ryzen-tiered-lxc-platform.yaml"),
                &["vm3-docker: mount of share `media`: 1 file(s)"],
            ),
            (
                "two-node-docker-pbs.yaml",
                include_str!("../../../examples/two-node-docker-pbs.yaml"),
                &["srv-1: ZFS pool `ssd`: 4 file(s)", "srv-2: ZFS pool `rpool`: 4 file(s)"],
            ),
            (
                "zfs-proxmox-media-cloud.yaml",
                include_str!("../../../examples/zfs-proxmox-media-cloud.yaml"),
                &["pve: ZFS pool `tank`: 8 file(s)"],
            ),
        ];
        for (name, text, expected) in examples {
            check_files(name, text, expected);
        }
    }
}
