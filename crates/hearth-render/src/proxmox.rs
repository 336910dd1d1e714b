//! `/etc/hearth/proxmox/<id>-<name>.json` on each Proxmox host: per guest, the exact parameters
//! of the Proxmox VE API call that creates it, `POST /nodes/{node}/lxc` for a container and
//! `POST /nodes/{node}/qemu` for a VM (`pvesh create /nodes/<node>/lxc` takes the same names).
//!
//! The object is flat, the request body itself, and carries `node` (the path parameter) so the
//! file alone says where it goes. Values have the types the API schema (`pve-apidata`) gives:
//! integers are JSON numbers, booleans are `0`/`1`, property strings (`net0`, `rootfs`, `mp0`)
//! are Proxmox's own `key=value,...` text. Sizes: memory in MiB, disks in whole GiB rounded up;
//! QEMU's `memory` is a property string in the schema (`[current=]<integer>`), so it is text.
//!
//! Choices where the model says nothing (see the module's gaps in the render report):
//! - node name = the host's `proxmox.node` (its name unless the spec says otherwise);
//! - LXC templates come from the `local` storage, Proxmox's default `vztmpl` store, as the
//!   standard Proxmox image for the guest's `os` (`debian-12` ->
//!   `debian-12-standard_12.7-1_amd64.tar.zst`); an `os` without a standard template gets
//!   `<os>.tar.zst` there, which the operator provides;
//! - `unprivileged`, `swap`, `onboot`, `tags` and `description` come from the guest (defaults:
//!   unprivileged, Proxmox's 512 MiB swap, start on boot); every guest is also tagged `hearth`;
//! - VMs use the guest's `machine`, `bios` and `cpu`, by default `q35`, `seabios` and the
//!   `x86-64-v2-AES` CPU type (Proxmox 8's default for new VMs),
//!   `virtio-scsi-single`, a virtio NIC and the QEMU guest agent. A Debian or Ubuntu VM boots
//!   the distribution's cloud image, imported from `local:import/` (`import-from`; Proxmox 8.2+
//!   imports at the image's size, so deploy grows `scsi0` to the guest's disk afterwards), gets
//!   a cloud-init drive, its address through `ipconfig0`, and the user-data snippet that
//!   cloud_init.rs writes (`cicustom`). Other VMs (NixOS, HAOS, DSM) get an empty disk of the
//!   guest's size and boot their installer or image as the operator provides it;
//! - storage: the guest's `storage`, else `local-lvm`, the default of a Proxmox install.

use std::net::IpAddr;

use hearth_model::model::{Guest, GuestKind, Model};
use serde_json::{Map, Value, json};

use crate::cloud_init;
use crate::{Context, File, Kind, Output};

/// The storage that holds templates, ISO and import images on a default Proxmox install.
const TEMPLATE_STORAGE: &str = "local";
const DEFAULT_STORAGE: &str = "local-lvm";

pub fn render(cx: &Context, out: &mut Output) {
    for (name, g) in &cx.model.guests {
        let params = match g.kind {
            GuestKind::Lxc => lxc(cx.model, name, g),
            GuestKind::Vm => qemu(cx.model, name, g),
        };
        let Ok(mut text) = serde_json::to_string_pretty(&Value::Object(params)) else { continue };
        text.push('\n');
        let path = format!("/etc/hearth/proxmox/{}-{name}.json", g.id);
        let mut file = File::new(&g.host, path, Kind::ProxmoxGuest, text).from(format!("guest/{name}"));
        file = file.from(format!("host/{}", g.host));
        if let Some(n) = &g.network {
            file = file.from(format!("network/{n}"));
        }
        out.push(file);
    }
}

fn storage(g: &Guest) -> &str {
    g.storage.as_deref().unwrap_or(DEFAULT_STORAGE)
}

/// `bridge=..,tag=..` of the guest's network, and the `ip=`/`gw=` (or `ip6=`/`gw6=`) pair.
fn net_parts(model: &Model, g: &Guest) -> (Vec<String>, Vec<String>) {
    let network = g.network.as_ref().and_then(|n| model.networks.get(n));
    let mut link = vec![format!("bridge={}", network.map_or("vmbr0", |n| n.bridge.as_str()))];
    if let Some(tag) = network.and_then(|n| n.vlan) {
        link.push(format!("tag={tag}"));
    }
    let prefix = network.and_then(|n| n.cidr.split_once('/')).map(|(_, p)| p.to_string());
    let mut ip = Vec::new();
    match (g.address, prefix) {
        (Some(a @ IpAddr::V4(_)), Some(p)) => {
            ip.push(format!("ip={a}/{p}"));
            if let Some(gw @ IpAddr::V4(_)) = network.and_then(|n| n.gateway) {
                ip.push(format!("gw={gw}"));
            }
        }
        (Some(a @ IpAddr::V6(_)), Some(p)) => {
            ip.push(format!("ip6={a}/{p}"));
            if let Some(gw @ IpAddr::V6(_)) = network.and_then(|n| n.gateway) {
                ip.push(format!("gw6={gw}"));
            }
        }
        _ => ip.push("ip=dhcp".to_string()),
    }
    (link, ip)
}

/// The standard Proxmox LXC template for an `os` label.
fn ostemplate(os: &str) -> String {
    let file = match os {
        "debian-12" => "debian-12-standard_12.7-1_amd64.tar.zst".to_string(),
        "debian-11" => "debian-11-standard_11.7-1_amd64.tar.zst".to_string(),
        "ubuntu-24.04" => "ubuntu-24.04-standard_24.04-2_amd64.tar.zst".to_string(),
        "ubuntu-22.04" => "ubuntu-22.04-standard_22.04-1_amd64.tar.zst".to_string(),
        other => format!("{other}.tar.zst"),
    };
    format!("{TEMPLATE_STORAGE}:vztmpl/{file}")
}

/// LXC `ostype`: the distribution part of `os` when Proxmox knows it, else `unmanaged`.
fn lxc_ostype(os: &str) -> &'static str {
    const KNOWN: [&str; 10] =
        ["debian", "devuan", "ubuntu", "centos", "fedora", "opensuse", "archlinux", "alpine", "gentoo", "nixos"];
    let distro = os.split('-').next().unwrap_or(os);
    KNOWN.into_iter().find(|k| *k == distro).unwrap_or("unmanaged")
}

/// The Proxmox node a guest goes on.
fn node<'a>(model: &'a Model, g: &'a Guest) -> &'a str {
    model.hosts.get(&g.host).and_then(|h| h.node.as_deref()).unwrap_or(&g.host)
}

/// Tags: `hearth`, which marks the guests Hearth manages, then the guest's own.
fn tags(g: &Guest) -> String {
    let mut tags = vec!["hearth"];
    tags.extend(g.tags.iter().map(String::as_str).filter(|t| *t != "hearth"));
    tags.join(";")
}

fn description(name: &str, g: &Guest) -> String {
    match &g.description {
        Some(d) => format!("{name}: {d} (managed by Hearth)"),
        None => format!("{name}: managed by Hearth"),
    }
}

fn lxc(model: &Model, name: &str, g: &Guest) -> Map<String, Value> {
    let mut p = Map::new();
    p.insert("node".into(), json!(node(model, g)));
    p.insert("vmid".into(), json!(g.id));
    p.insert("hostname".into(), json!(g.hostname));
    p.insert("ostemplate".into(), json!(ostemplate(&g.os)));
    p.insert("ostype".into(), json!(lxc_ostype(&g.os)));
    p.insert("cores".into(), json!(g.cores));
    p.insert("memory".into(), json!(g.memory.mib()));
    p.insert("swap".into(), json!(g.swap.map_or(512, |s| s.mib())));
    p.insert("rootfs".into(), json!(format!("{}:{}", storage(g), g.disk.gib_ceil().max(1))));
    let (link, ip) = net_parts(model, g);
    let net = std::iter::once("name=eth0".to_string()).chain(link).chain(ip).collect::<Vec<_>>().join(",");
    p.insert("net0".into(), json!(net));
    if !g.features.is_empty() {
        let mut features = g.features.clone();
        features.sort();
        p.insert("features".into(), json!(features.join(",")));
    }
    for (i, (inside, host)) in g.mounts.iter().enumerate() {
        p.insert(format!("mp{i}"), json!(format!("{host},mp={inside}")));
    }
    // Only device nodes can be passed to a container; PCI and USB addresses are VM-only.
    for (i, dev) in g.devices.iter().filter(|d| d.starts_with('/')).enumerate() {
        p.insert(format!("dev{i}"), json!(dev));
    }
    p.insert("unprivileged".into(), json!(u8::from(g.unprivileged)));
    p.insert("onboot".into(), json!(u8::from(g.onboot)));
    p.insert("tags".into(), json!(tags(g)));
    p.insert("timezone".into(), json!(model.timezone));
    p.insert("description".into(), json!(description(name, g)));
    p
}

fn qemu(model: &Model, name: &str, g: &Guest) -> Map<String, Value> {
    let mut p = Map::new();
    let storage = storage(g);
    p.insert("node".into(), json!(node(model, g)));
    p.insert("vmid".into(), json!(g.id));
    p.insert("name".into(), json!(g.hostname));
    p.insert("ostype".into(), json!("l26"));
    p.insert("machine".into(), json!(g.machine.as_deref().unwrap_or("q35")));
    p.insert("bios".into(), json!(g.bios.as_deref().unwrap_or("seabios")));
    p.insert("cpu".into(), json!(g.cpu.as_deref().unwrap_or("x86-64-v2-AES")));
    p.insert("cores".into(), json!(g.cores));
    p.insert("memory".into(), json!(g.memory.mib().to_string()));
    p.insert("agent".into(), json!("enabled=1"));
    p.insert("scsihw".into(), json!("virtio-scsi-single"));
    let (link, ip) = net_parts(model, g);
    p.insert("net0".into(), json!(std::iter::once("virtio".to_string()).chain(link).collect::<Vec<_>>().join(",")));
    match cloud_init::cloud_image(&g.os) {
        Some(image) if g.managed => {
            p.insert(
                "scsi0".into(),
                json!(format!("{storage}:0,import-from={TEMPLATE_STORAGE}:import/{image},discard=on,iothread=1")),
            );
            p.insert("ide2".into(), json!(format!("{storage}:cloudinit")));
            p.insert("boot".into(), json!("order=scsi0"));
            p.insert("ipconfig0".into(), json!(ip.join(",")));
            p.insert("ciuser".into(), json!(model.admin.user));
            p.insert("cicustom".into(), json!(format!("user={}", cloud_init::snippet_volume(name))));
        }
        _ => {
            p.insert("scsi0".into(), json!(format!("{storage}:{},discard=on,iothread=1", g.disk.gib_ceil().max(1))));
            p.insert("boot".into(), json!("order=scsi0"));
        }
    }
    let mut pci = 0;
    let mut usb = 0;
    for dev in &g.devices {
        if let Some(addr) = dev.strip_prefix("pci:") {
            p.insert(format!("hostpci{pci}"), json!(format!("host={addr},pcie=1")));
            pci += 1;
        } else if let Some(id) = dev.strip_prefix("usb:") {
            p.insert(format!("usb{usb}"), json!(format!("host={id}")));
            usb += 1;
        }
    }
    p.insert("onboot".into(), json!(u8::from(g.onboot)));
    p.insert("tags".into(), json!(tags(g)));
    p.insert("description".into(), json!(description(name, g)));
    p
}
