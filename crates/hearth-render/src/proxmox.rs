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
//! - VMs use the guest's resolved hardware (hearth_model::hardware: `machine` `q35`, `cpu`
//!   `x86-64-v2-AES`, Proxmox 8's default for new VMs, `bios` and `tpm` from the `os`: OVMF for
//!   Windows and Home Assistant OS, a TPM 2.0 state disk `tpmstate0` for Windows 11),
//!   `virtio-scsi-single`, a virtio NIC and the QEMU guest agent. A Debian or Ubuntu VM boots
//!   the distribution's cloud image, imported from `local:import/` (`import-from`; Proxmox 8.2+
//!   imports at the image's size, so `<id>-<name>.resize.json` holds the
//!   `PUT /nodes/{node}/qemu/{vmid}/resize` call that grows `scsi0` to the guest's disk), gets
//!   a cloud-init drive, its address through `ipconfig0`, and the user-data snippet that
//!   cloud_init.rs writes (`cicustom`). Other VMs (NixOS, HAOS, DSM) get an empty disk of the
//!   guest's size and boot their installer or image as the operator provides it; OVMF VMs get
//!   an `efidisk0` on the same storage (Microsoft's keys enrolled for Windows only). Data disks
//!   (`vm.disks`) and then `/dev/...` devices take the next ports of their bus (`scsi1`...,
//!   `sata0`...; a passed-through disk with `backup=0` unless asked), `pci:` devices become
//!   `hostpciN` (`pcie=1` on `q35`, `rombar=0`, `x-vga=1` as asked), `usb:` devices `usbN`;
//! - `ostype` follows `os` (`qemu_ostype`): Linux and Linux-based appliances `l26`, Windows its
//!   release, anything else `other`;
//! - `nameserver`/`searchdomain`: the guest's network's `dns:` and the homelab's zone;
//! - a VM's `mounts:` are host folders shared over virtiofs (Proxmox VE 8.4+): one directory
//!   mapping per folder (`mapping-dir-<id>.json`, the `POST /cluster/mapping/dir` body, id
//!   `mapping_id`), `virtiofsN` on the VM, and cloud_init.rs mounts the tag at the guest path;
//! - storage: the guest's `storage`, else `local-lvm`, the default of a Proxmox install.

use std::collections::BTreeMap;
use std::net::IpAddr;

use hearth_model::model::{Guest, GuestKind, Model};
use hearth_model::zones::Interface;
use hearth_spec::ast::{Bios, DiskBus};
use serde_json::{Map, Value, json};

use crate::cloud_init;
use crate::{Context, File, Kind, Output};

/// The storage that holds templates, ISO and import images on a default Proxmox install.
const TEMPLATE_STORAGE: &str = "local";
const DEFAULT_STORAGE: &str = "local-lvm";

/// The API calls that create one guest: the `POST /nodes/{node}/lxc` or `/qemu` body, and for a
/// VM that imports a cloud image, the `PUT /nodes/{node}/qemu/{vmid}/resize` body that grows its
/// disk to the spec's size. `hearth apply` sends exactly these (hearth-proxmox), and the render
/// writes them as files, so the two cannot disagree.
#[derive(Debug, Clone, PartialEq)]
pub struct GuestRequest {
    pub create: Map<String, Value>,
    pub resize: Option<Map<String, Value>>,
}

/// The create (and resize) request of guest `name`.
pub fn guest_request(model: &Model, name: &str, g: &Guest) -> GuestRequest {
    let create = match g.kind {
        GuestKind::Lxc => lxc(model, name, g),
        GuestKind::Vm => qemu(model, name, g),
    };
    let imports = g.kind == GuestKind::Vm
        && create.get("scsi0").and_then(Value::as_str).is_some_and(|d| d.contains("import-from="));
    // `import-from` copies the cloud image at its own size (2-3 GiB); the disk the spec asks for
    // exists only after this `PUT /nodes/{node}/qemu/{vmid}/resize`.
    let resize = imports.then(|| {
        let mut resize = Map::new();
        resize.insert("node".into(), json!(node(model, g)));
        resize.insert("vmid".into(), json!(g.id));
        resize.insert("disk".into(), json!("scsi0"));
        resize.insert("size".into(), json!(format!("{}G", g.disk.gib_ceil().max(1))));
        resize
    });
    GuestRequest { create, resize }
}

pub fn render(cx: &Context, out: &mut Output) {
    // Directory mappings by host and id: one per shared host folder, however many VMs mount it.
    let mut mappings: BTreeMap<(&str, String), (String, Vec<&str>)> = BTreeMap::new();
    for (name, g) in &cx.model.guests {
        let request = guest_request(cx.model, name, g);
        let path = format!("/etc/hearth/proxmox/{}-{name}.json", g.id);
        out.push(guest_file(g, name, path, &request.create));
        if let Some(resize) = &request.resize {
            let path = format!("/etc/hearth/proxmox/{}-{name}.resize.json", g.id);
            out.push(guest_file(g, name, path, resize));
        }
        if g.kind == GuestKind::Vm {
            for host_path in g.mounts.values() {
                mappings
                    .entry((g.host.as_str(), mapping_id(host_path)))
                    .or_insert_with(|| (host_path.clone(), Vec::new()))
                    .1
                    .push(name);
            }
        }
    }
    for ((host, id), (path, guests)) in mappings {
        // `POST /cluster/mapping/dir`: the host folder virtiofs shares (Proxmox VE 8.4+).
        let node = cx.model.hosts.get(host).and_then(|h| h.node.as_deref()).unwrap_or(host);
        let mut p = Map::new();
        p.insert("id".into(), json!(id));
        p.insert("map".into(), json!([format!("node={node},path={path}")]));
        p.insert("description".into(), json!(format!("{path}, shared with {} by Hearth", guests.join(", "))));
        let Ok(mut text) = serde_json::to_string_pretty(&Value::Object(p)) else { continue };
        text.push('\n');
        let mut file = File::new(host, format!("/etc/hearth/proxmox/mapping-dir-{id}.json"), Kind::ProxmoxGuest, text)
            .from(format!("host/{host}"));
        for g in guests {
            file = file.from(format!("guest/{g}"));
        }
        out.push(file);
    }
}

/// A guest's API request body as a file on its host.
fn guest_file(g: &Guest, name: &str, path: String, params: &Map<String, Value>) -> File {
    let mut text = serde_json::to_string_pretty(params).unwrap_or_default();
    text.push('\n');
    let mut file = File::new(&g.host, path, Kind::ProxmoxGuest, text).from(format!("guest/{name}"));
    file = file.from(format!("host/{}", g.host));
    for i in &g.interfaces {
        file = file.from(format!("network/{}", i.network));
    }
    file
}

/// The id of the directory mapping that shares a host folder with VMs, which is also the
/// virtiofs tag the VM mounts: `hearth-` and the path's characters, the rest as `-`
/// (`/tank/services/infra` -> `hearth-tank-services-infra`), a valid `pve-configid`.
pub(crate) fn mapping_id(host_path: &str) -> String {
    let mut id = String::from("hearth");
    for part in host_path.split(|c: char| !c.is_ascii_alphanumeric()).filter(|p| !p.is_empty()) {
        id.push('-');
        id.push_str(&part.to_ascii_lowercase());
    }
    id
}

/// `nameserver` and `searchdomain` of a guest: its network's resolvers and the homelab's zone.
/// Without them Proxmox copies the host's `/etc/resolv.conf` into the guest.
fn resolvers(model: &Model, g: &Guest, p: &mut Map<String, Value>) {
    let Some(network) = g.network.as_ref().and_then(|n| model.networks.get(n)) else { return };
    if network.dns.is_empty() {
        return;
    }
    let servers: Vec<String> = network.dns.iter().map(ToString::to_string).collect();
    p.insert("nameserver".into(), json!(servers.join(" ")));
    p.insert("searchdomain".into(), json!(model.dns.zone));
}

fn storage(g: &Guest) -> &str {
    g.storage.as_deref().unwrap_or(DEFAULT_STORAGE)
}

/// The guest's interfaces, primary first; a guest on no network gets one DHCP interface on
/// `vmbr0`.
fn interfaces(g: &Guest) -> Vec<Interface> {
    if g.interfaces.is_empty() {
        let dhcp =
            Interface { network: String::new(), address: None, bridge: "vmbr0".into(), vlan: None, primary: true };
        return vec![dhcp];
    }
    g.interfaces.clone()
}

/// `bridge=..,tag=..` of an interface, and the `ip=`/`gw=` (or `ip6=`/`gw6=`) pair. Only the
/// primary interface carries the gateway: it holds the default route.
fn net_parts(model: &Model, i: &Interface) -> (Vec<String>, Vec<String>) {
    let network = model.networks.get(&i.network);
    let mut link = vec![format!("bridge={}", i.bridge)];
    if let Some(tag) = i.vlan {
        link.push(format!("tag={tag}"));
    }
    let prefix = network.and_then(|n| n.cidr.split_once('/')).map(|(_, p)| p.to_string());
    let gateway = network.and_then(|n| n.gateway).filter(|_| i.primary);
    let mut ip = Vec::new();
    match (i.address, prefix) {
        (Some(a @ IpAddr::V4(_)), Some(p)) => {
            ip.push(format!("ip={a}/{p}"));
            if let Some(gw @ IpAddr::V4(_)) = gateway {
                ip.push(format!("gw={gw}"));
            }
        }
        (Some(a @ IpAddr::V6(_)), Some(p)) => {
            ip.push(format!("ip6={a}/{p}"));
            if let Some(gw @ IpAddr::V6(_)) = gateway {
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

/// QEMU `ostype` of a VM's `os`: `l26` for Linux systems, appliances built on Linux included
/// (Home Assistant OS, Synology DSM, TrueNAS SCALE), the Windows release for `windows-*`, and
/// `other` for the BSDs and anything not known to run Linux, where Linux-specific tuning
/// would be wrong.
pub(crate) fn qemu_ostype(os: &str) -> &'static str {
    const LINUX: [&str; 22] = [
        "debian",
        "ubuntu",
        "nixos",
        "fedora",
        "centos",
        "rocky",
        "alma",
        "almalinux",
        "rhel",
        "opensuse",
        "arch",
        "archlinux",
        "alpine",
        "gentoo",
        "devuan",
        "haos",
        "homeassistant",
        "dsm",
        "xpenology",
        "truenas-scale",
        "unraid",
        "talos",
    ];
    let lower = os.to_ascii_lowercase();
    if let Some(release) = lower.strip_prefix("windows-").or_else(|| lower.strip_prefix("win")) {
        let release = release.trim_start_matches("server-");
        return match release {
            "11" | "2022" | "2025" => "win11",
            "10" | "2016" | "2019" => "win10",
            "8" | "8.1" | "2012" => "win8",
            "7" | "2008r2" => "win7",
            _ => "other",
        };
    }
    let known = LINUX.iter().any(|l| lower == *l || lower.starts_with(&format!("{l}-")));
    if known { "l26" } else { "other" }
}

/// The Proxmox node a guest goes on.
fn node<'a>(model: &'a Model, g: &'a Guest) -> &'a str {
    model.hosts.get(&g.host).and_then(|h| h.node.as_deref()).unwrap_or(&g.host)
}

/// Tags: `hearth`, which marks the guests Hearth creates, then the guest's own.
fn tags(g: &Guest) -> String {
    let mut tags = vec!["hearth"];
    tags.extend(g.tags.iter().map(String::as_str).filter(|t| *t != "hearth"));
    tags.join(";")
}

/// The guest's note in the Proxmox UI. Only a guest Hearth logs into is "managed by Hearth": an
/// appliance's note must not promise that Hearth keeps what runs inside it.
fn description(name: &str, g: &Guest) -> String {
    if !g.managed {
        return match &g.description {
            Some(d) => format!("{name}: {d}"),
            None => name.to_string(),
        };
    }
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
    for (n, i) in interfaces(g).iter().enumerate() {
        let (link, ip) = net_parts(model, i);
        let net = std::iter::once(format!("name=eth{n}")).chain(link).chain(ip).collect::<Vec<_>>().join(",");
        p.insert(format!("net{n}"), json!(net));
    }
    resolvers(model, g, &mut p);
    if !model.admin.ssh_keys.is_empty() {
        // The admin's keys for root, so a managed container can be reached before anything else
        // is set up in it.
        p.insert("ssh-public-keys".into(), json!(model.admin.ssh_keys.join("\n")));
    }
    if !g.features.is_empty() {
        let mut features = g.features.clone();
        features.sort();
        p.insert("features".into(), json!(features.join(",")));
    }
    for (i, (inside, host)) in g.mounts.iter().enumerate() {
        p.insert(format!("mp{i}"), json!(format!("{host},mp={inside}")));
    }
    // Only device nodes can be passed to a container; PCI and USB addresses are VM-only.
    for (i, dev) in g.devices.iter().filter(|d| d.device.starts_with('/')).enumerate() {
        p.insert(format!("dev{i}"), json!(dev.device));
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
    let hw = g.vm.clone().unwrap_or_default();
    p.insert("node".into(), json!(node(model, g)));
    p.insert("vmid".into(), json!(g.id));
    p.insert("name".into(), json!(g.hostname));
    p.insert("ostype".into(), json!(qemu_ostype(&g.os)));
    p.insert("machine".into(), json!(hw.proxmox_machine()));
    p.insert("bios".into(), json!(bios_name(hw.bios)));
    p.insert("cpu".into(), json!(hw.cpu));
    p.insert("cores".into(), json!(g.cores));
    p.insert("memory".into(), json!(g.memory.mib().to_string()));
    p.insert("agent".into(), json!("enabled=1"));
    p.insert("scsihw".into(), json!("virtio-scsi-single"));
    let nics: Vec<(Vec<String>, Vec<String>)> = interfaces(g).iter().map(|i| net_parts(model, i)).collect();
    for (n, (link, _)) in nics.iter().enumerate() {
        let net = std::iter::once("virtio".to_string()).chain(link.iter().cloned()).collect::<Vec<_>>().join(",");
        p.insert(format!("net{n}"), json!(net));
    }
    if hw.bios == Bios::Ovmf {
        // UEFI keeps its variables (boot entries) on this disk; without it OVMF forgets them at
        // every start. Microsoft's Secure Boot keys are enrolled only for Windows: Home
        // Assistant OS and most other appliances do not boot with Secure Boot on.
        let keys = u8::from(hw.secure_boot);
        p.insert("efidisk0".into(), json!(format!("{storage}:1,efitype=4m,pre-enrolled-keys={keys}")));
    }
    if hw.tpm {
        p.insert("tpmstate0".into(), json!(format!("{storage}:1,version=v2.0")));
    }
    match g.cloud_image() {
        Some(image) => {
            p.insert(
                "scsi0".into(),
                json!(format!("{storage}:0,import-from={TEMPLATE_STORAGE}:import/{image},discard=on,iothread=1")),
            );
            p.insert("ide2".into(), json!(format!("{storage}:cloudinit")));
            p.insert("boot".into(), json!("order=scsi0"));
            for (n, (_, ip)) in nics.iter().enumerate() {
                p.insert(format!("ipconfig{n}"), json!(ip.join(",")));
            }
            resolvers(model, g, &mut p);
            p.insert("ciuser".into(), json!(model.admin.user));
            p.insert("cicustom".into(), json!(format!("user={}", cloud_init::snippet_volume(name))));
        }
        _ => {
            p.insert("scsi0".into(), json!(format!("{storage}:{},discard=on,iothread=1", g.disk.gib_ceil().max(1))));
            p.insert("boot".into(), json!("order=scsi0"));
        }
    }
    for (i, host_path) in g.mounts.values().enumerate() {
        p.insert(format!("virtiofs{i}"), json!(mapping_id(host_path)));
    }
    // Data disks, then whole passed-through disks, each on the next free port of its bus
    // (`scsi0` is the boot disk).
    let mut ports = Ports { scsi: 1, sata: 0 };
    for d in &hw.disks {
        let mut value = vec![format!("{}:{}", d.storage, d.size.gib_ceil().max(1))];
        if d.discard {
            value.push("discard=on".into());
        }
        if d.iothread && d.bus == DiskBus::Scsi {
            value.push("iothread=1".into());
        }
        if d.ssd {
            value.push("ssd=1".into());
        }
        if !d.backup {
            value.push("backup=0".into());
        }
        p.insert(ports.next(d.bus), json!(value.join(",")));
    }
    let mut pci = 0;
    let mut usb = 0;
    for dev in &g.devices {
        if let Some(bus) = dev.bus {
            let backup = if dev.backup { "" } else { ",backup=0" };
            p.insert(ports.next(bus), json!(format!("{}{backup}", dev.device)));
        } else if let Some(addr) = dev.device.strip_prefix("pci:") {
            let mut value = format!("host={addr}");
            if dev.pcie {
                value.push_str(",pcie=1");
            }
            if !dev.rombar {
                value.push_str(",rombar=0");
            }
            if dev.x_vga {
                value.push_str(",x-vga=1");
            }
            p.insert(format!("hostpci{pci}"), json!(value));
            pci += 1;
        } else if let Some(id) = dev.device.strip_prefix("usb:") {
            let usb3 = if dev.usb3 { ",usb3=1" } else { "" };
            p.insert(format!("usb{usb}"), json!(format!("host={id}{usb3}")));
            usb += 1;
        }
    }
    p.insert("onboot".into(), json!(u8::from(g.onboot)));
    p.insert("tags".into(), json!(tags(g)));
    p.insert("description".into(), json!(description(name, g)));
    p
}

/// The next free port of each disk bus of a VM.
struct Ports {
    scsi: usize,
    sata: usize,
}

impl Ports {
    fn next(&mut self, bus: DiskBus) -> String {
        let (name, n) = match bus {
            DiskBus::Scsi => ("scsi", &mut self.scsi),
            DiskBus::Sata => ("sata", &mut self.sata),
        };
        *n += 1;
        format!("{name}{}", *n - 1)
    }
}

fn bios_name(bios: Bios) -> &'static str {
    match bios {
        Bios::Seabios => "seabios",
        Bios::Ovmf => "ovmf",
    }
}
