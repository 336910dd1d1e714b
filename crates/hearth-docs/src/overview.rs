//! Overview: a tree of hosts, their guests and the services on each, with addresses and sizes,
//! like the diagrams operators draw by hand; then the way in from the internet.

use hearth_catalog::Catalog;
use hearth_model::Model;
use hearth_model::model::{Guest, Host, HostKind, Placement, Service};
use hearth_spec::ast::Runtime;

use crate::machines::{guests_of, kind_label};

pub fn write(model: &Model, _catalog: &Catalog, out: &mut String) {
    out.push_str("## Overview\n\n");
    if model.hosts.is_empty() && model.services.is_empty() {
        out.push_str("The spec declares no hosts and no services.\n\n");
        return;
    }
    out.push_str("```text\n");
    for (name, host) in &model.hosts {
        out.push_str(&host_line(name, host));
        out.push('\n');
        let mut items: Vec<(String, Vec<String>)> = Vec::new();
        for s in services_on(model, name) {
            items.push((s, Vec::new()));
        }
        for (gname, g) in guests_of(model, name) {
            items.push((guest_line(gname, g), services_on(model, gname)));
        }
        tree(&items, "", out);
    }
    let clusters: std::collections::BTreeSet<&str> = model
        .services
        .values()
        .filter_map(|s| match &s.on {
            Placement::Cluster(c) => Some(c.as_str()),
            _ => None,
        })
        .collect();
    for c in clusters {
        out.push_str(&format!("cluster {c}\n"));
        let items: Vec<(String, Vec<String>)> = services_on(model, c).into_iter().map(|s| (s, Vec::new())).collect();
        tree(&items, "", out);
    }
    let orphans: Vec<(&String, &Guest)> =
        model.guests.iter().filter(|(_, g)| !model.hosts.contains_key(&g.host)).collect();
    for (gname, g) in orphans {
        out.push_str(&format!("{} (on undeclared host {})\n", guest_line(gname, g), g.host));
    }
    let gateways: Vec<String> =
        model.networks.iter().filter_map(|(n, net)| net.gateway.map(|g| format!("{g} ({n})"))).collect();
    if !model.forwards.is_empty() || !gateways.is_empty() {
        out.push('\n');
        if gateways.is_empty() {
            out.push_str("router\n");
        } else {
            out.push_str(&format!("router - gateway {}\n", gateways.join(", ")));
        }
        let forwards: Vec<(String, Vec<String>)> = model
            .forwards
            .iter()
            .map(|f| {
                let to = f.to_address.map(|a| a.to_string()).unwrap_or_else(|| f.to.clone());
                (format!("internet :{}/{} -> {} ({to}:{})", f.port, f.protocol, f.to, f.to_port), Vec::new())
            })
            .collect();
        if forwards.is_empty() {
            tree(&[("no port forwards from the internet".to_string(), Vec::new())], "", out);
        } else {
            tree(&forwards, "", out);
        }
    }
    out.push_str("```\n\n");
}

/// Writes `(line, children)` items as a tree with box-drawing branches.
fn tree(items: &[(String, Vec<String>)], indent: &str, out: &mut String) {
    for (i, (line, children)) in items.iter().enumerate() {
        let last = i + 1 == items.len();
        out.push_str(&format!("{indent}{}{line}\n", if last { "└── " } else { "├── " }));
        let child_indent = format!("{indent}{}", if last { "    " } else { "│   " });
        for (j, c) in children.iter().enumerate() {
            let clast = j + 1 == children.len();
            out.push_str(&format!("{child_indent}{}{c}\n", if clast { "└── " } else { "├── " }));
        }
    }
}

fn host_line(name: &str, h: &Host) -> String {
    let kind = match h.kind {
        HostKind::Proxmox => "Proxmox host".to_string(),
        HostKind::BareMetal => match &h.runtime {
            Some(r) => format!("bare-metal host, {r}"),
            None => "bare-metal host".to_string(),
        },
    };
    let mut parts = vec![format!("{name} [{kind}]")];
    if let Some(a) = h.address {
        parts.push(a.to_string());
    }
    let mut size = Vec::new();
    match (h.cores, h.threads) {
        (Some(c), Some(t)) if t != c => size.push(format!("{c} cores / {t} threads")),
        (Some(c), _) => size.push(format!("{c} cores")),
        (None, Some(t)) => size.push(format!("{t} threads")),
        (None, None) => {}
    }
    if let Some(m) = h.memory {
        size.push(format!("{m} RAM"));
    }
    if !size.is_empty() {
        parts.push(size.join(", "));
    }
    parts.join(" - ")
}

fn guest_line(name: &str, g: &Guest) -> String {
    let mut parts = vec![format!("{name} [{}]", kind_label(g))];
    if let Some(a) = g.address {
        parts.push(a.to_string());
    }
    parts.push(format!("{}, {} RAM, {} disk", crate::md::count(g.cores as usize, "core", "cores"), g.memory, g.disk));
    let hardware = hardware(g);
    if !hardware.is_empty() {
        parts.push(hardware.join(", "));
    }
    let mut line = parts.join(" - ");
    if g.hostname != name {
        line.push_str(&format!(" (hostname {})", g.hostname));
    }
    // An appliance is never managed; any other guest Hearth does not log into says so.
    match (g.runtime, g.managed) {
        (Runtime::None, _) => line.push_str(" (appliance)"),
        (Runtime::Native, true) => {}
        (Runtime::Native, false) => line.push_str(" (unmanaged)"),
        (r, true) => line.push_str(&format!(" ({r})")),
        (r, false) => line.push_str(&format!(" ({r}, unmanaged)")),
    }
    line
}

/// What a VM has beyond a plain Linux VM's hardware (UEFI, TPM, data disks), and the devices
/// any guest is passed.
fn hardware(g: &Guest) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(hw) = &g.vm {
        if hw.bios == hearth_spec::ast::Bios::Ovmf {
            out.push("UEFI".to_string());
        }
        if hw.tpm {
            out.push("TPM 2.0".to_string());
        }
        for d in &hw.disks {
            out.push(format!("data disk {} on {}", d.size, d.storage));
        }
    }
    for d in &g.devices {
        out.push(format!("passes `{}`", d.device));
    }
    out
}

/// One line per service placed on (or replicated to) a machine, the watcher among them.
fn services_on(model: &Model, machine: &str) -> Vec<String> {
    let watcher = model.monitoring.watcher.as_ref().filter(|w| w.machine == machine).map(|w| {
        format!(
            "{} (hearth watch, native) :{} [status page on {}]",
            hearth_model::model::Watcher::UNIT,
            w.listen.port(),
            w.listen
        )
    });
    model
        .services
        .iter()
        .filter_map(|(name, s)| {
            if s.on.name() == machine {
                Some(service_line(name, s, false))
            } else if s.also_on.iter().any(|m| m == machine) {
                Some(service_line(name, s, true))
            } else {
                None
            }
        })
        .chain(watcher)
        .collect()
}

fn service_line(name: &str, s: &Service, replica: bool) -> String {
    let what = match (&s.app, &s.image) {
        (Some(app), _) => app.clone(),
        (None, Some(image)) => image.clone(),
        (None, None) => "-".to_string(),
    };
    let mut line = format!("{name} ({what}, {})", s.form.as_str());
    let ports: Vec<String> = s.ports.iter().filter_map(|p| p.host.map(|h| format!(":{h}"))).collect();
    if !ports.is_empty() {
        line.push_str(&format!(" {}", ports.join(" ")));
    }
    if replica {
        line.push_str(" [replica]");
    }
    if let Some(v) = &s.via {
        line.push_str(&format!(" via {v}"));
    }
    // A job runs at its schedule and exits; a placed pod runs only on the nodes named.
    if let Some(schedule) = &s.schedule {
        line.push_str(&format!(" [job at {schedule}]"));
    }
    if !s.nodes.is_empty() {
        line.push_str(&format!(" [on nodes {}]", s.nodes.join(", ")));
    }
    line
}
