//! Passed-through devices: each written in a form Proxmox knows, a PCI or USB device belongs
//! to one guest of its host at a time, PCI and USB passthrough need a VM, and each option fits
//! the kind of device it is written on.
//!
//! A device node (`/dev/dri/renderD128`) is a bind mount that several containers can share; on a
//! VM it becomes a passed-through disk, which only that VM may use.

use std::collections::BTreeMap;

use hearth_spec::ast::Passthrough;
use hearth_spec::{Code, Diagnostic, Span, Spec};

use crate::model::{GuestKind, Model};

pub(super) fn devices(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    forms(spec, out);
    shared(spec, model, out);
    vm_only(spec, out);
    options(spec, model, out);
}

/// Whether `text` is a PCI address: `[DOMAIN:]BUS:SLOT[.FUNCTION]` in hex.
fn pci_address(text: &str) -> bool {
    let hex = |t: &str, n: usize| t.len() == n && t.bytes().all(|b| b.is_ascii_hexdigit());
    let (addr, function) = text.split_once('.').map_or((text, None), |(a, f)| (a, Some(f)));
    let fields: Vec<&str> = addr.split(':').collect();
    let fields_ok = match fields.as_slice() {
        [domain, bus, slot] => hex(domain, 4) && hex(bus, 2) && hex(slot, 2),
        [bus, slot] => hex(bus, 2) && hex(slot, 2),
        _ => false,
    };
    fields_ok && function.is_none_or(|f| f.len() == 1 && f.bytes().all(|b| (b'0'..=b'7').contains(&b)))
}

/// Whether `text` names a USB device: `VENDOR:PRODUCT` (4 hex digits each) or a port
/// `BUS-PORT[.PORT...]`.
fn usb_id(text: &str) -> bool {
    let hex4 = |t: &str| t.len() == 4 && t.bytes().all(|b| b.is_ascii_hexdigit());
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    match (text.split_once(':'), text.split_once('-')) {
        (Some((vendor, product)), _) => hex4(vendor) && hex4(product),
        (None, Some((bus, port))) => digits(bus) && port.split('.').all(digits),
        _ => false,
    }
}

/// A device Proxmox could not pass through as written: it is none of the three forms (E835).
fn forms(spec: &Spec, out: &mut Vec<Diagnostic>) {
    for e in &spec.guests.entries {
        for p in &e.value.devices {
            let d = &p.device;
            let text = d.value.trim();
            let lower = text.to_ascii_lowercase();
            let ok = if let Some(addr) = lower.strip_prefix("pci:") {
                pci_address(addr)
            } else if let Some(id) = lower.strip_prefix("usb:") {
                usb_id(id)
            } else if let Some(disk) = text.strip_prefix("disk:") {
                // A name of the host's `hardware.disks`; the resolver reports an unknown one.
                !disk.is_empty()
            } else {
                text.starts_with("/dev/") && text.len() > "/dev/".len()
            };
            if ok {
                continue;
            }
            out.push(
                Diagnostic::new(Code::UnknownDevice, d.span, format!("guest `{}`: `{}` is no device Proxmox can pass through", e.name, d.value))
                    .label("a device is `/dev/...`, `disk:NAME` of the host's disks, `pci:BUS:SLOT[.FUNCTION]`, or `usb:VENDOR:PRODUCT` or `usb:BUS-PORT`")
                    .help("write the device's node (`/dev/disk/by-id/...`), its PCI address from `lspci` (`pci:01:00.0`) or its USB id from `lsusb` (`usb:1a86:7523`)"),
            );
        }
    }
}

/// A passed-through device, so that two spellings of one device compare equal.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Device {
    /// Bus, device and function (`None` for every function) of a PCI device in domain 0000.
    Pci {
        slot: String,
        function: Option<String>,
    },
    Usb(String),
    /// A `/dev/...` node, and whether it goes to a VM (as a disk) rather than a container.
    Node(String, bool),
}

impl Device {
    fn parse(text: &str) -> Option<Device> {
        let text = text.trim().to_ascii_lowercase();
        if let Some(addr) = text.strip_prefix("pci:") {
            // `0000:01:00.0`, `01:00.0` and `01:00` (every function) name the same slot.
            let addr = match addr.split(':').count() {
                3 => addr.split_once(':').map_or(addr, |(_, rest)| rest),
                _ => addr,
            };
            let (slot, function) = match addr.split_once('.') {
                Some((slot, f)) => (slot, Some(f.to_string())),
                None => (addr, None),
            };
            return Some(Device::Pci { slot: slot.to_string(), function });
        }
        if text.starts_with("/dev/") || text.starts_with("disk:") {
            return Some(Device::Node(text, false));
        }
        text.strip_prefix("usb:").map(|id| Device::Usb(id.to_string()))
    }

    /// Whether passing both through would hand one device to two guests.
    fn clashes(&self, other: &Device) -> bool {
        match (self, other) {
            (Device::Pci { slot: a, function: fa }, Device::Pci { slot: b, function: fb }) => {
                a == b && (fa.is_none() || fb.is_none() || fa == fb)
            }
            (Device::Usb(a), Device::Usb(b)) => a == b,
            (Device::Node(a, vm_a), Device::Node(b, vm_b)) => a == b && (*vm_a || *vm_b),
            _ => false,
        }
    }
}

fn shared(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    let mut by_host: BTreeMap<&str, Vec<(Device, &str, Span)>> = BTreeMap::new();
    for e in &spec.guests.entries {
        let Some(g) = model.guests.get(&e.name) else { continue };
        let seen = by_host.entry(g.host.as_str()).or_default();
        for p in &e.value.devices {
            let d = &p.device;
            let device = match Device::parse(&d.value) {
                Some(Device::Node(path, _)) => Device::Node(path, e.value.vm.is_some()),
                Some(device) => device,
                None => continue,
            };
            if let Some((_, other, other_span)) =
                seen.iter().find(|(dev, owner, _)| *owner != e.name && dev.clashes(&device))
            {
                out.push(
                    Diagnostic::new(
                        Code::DeviceShared,
                        d.span,
                        format!("device `{}` is passed to guest `{}` and to guest `{other}`", d.value, e.name),
                    )
                    .label("a PCI or USB device, or a disk passed to a VM, goes to one guest at a time")
                    .with(*other_span, format!("already passed to `{other}`"))
                    .help(format!(
                        "remove it from `{}` or from `{other}`; a service that needs it runs on the guest that has it",
                        e.name
                    )),
                );
            }
            seen.push((device, e.name.as_str(), d.span));
        }
    }
}

/// PCI (E713) and USB (E834) devices go to VMs only: a container shares its host's kernel.
fn vm_only(spec: &Spec, out: &mut Vec<Diagnostic>) {
    for e in &spec.guests.entries {
        let Some(lxc) = &e.value.lxc else { continue };
        for p in &e.value.devices {
            let d = &p.device;
            let diag = match Device::parse(&d.value) {
                Some(Device::Pci { .. }) => Diagnostic::new(
                    Code::PciOnLxc,
                    d.span,
                    format!("PCI device `{}` cannot be passed to LXC container `{}`", d.value, e.name),
                )
                .label("PCI passthrough needs a VM: a container shares its host's kernel and drivers"),
                Some(Device::Usb(_)) => Diagnostic::new(
                    Code::UsbOnLxc,
                    d.span,
                    format!("USB device `{}` cannot be passed to LXC container `{}`", d.value, e.name),
                )
                .label("a container gets device nodes, not USB devices"),
                _ => continue,
            };
            // Turning the container into a VM is one edit when nothing LXC-only is set.
            let lxc_only = lxc.unprivileged.is_some() || lxc.nesting.is_some() || lxc.template.is_some();
            let key = e.value.spans.key("lxc");
            out.push(match key {
                Some(key) if !lxc_only && e.value.mounts.is_empty() => diag
                    .help(format!("make `{}` a VM: write `vm:` instead of `lxc:`", e.name))
                    .suggest(key, "vm"),
                _ => diag.help(format!(
                    "make `{}` a VM (`vm:` instead of `lxc:`), or pass the device node the driver makes on the host, such as `/dev/dri/renderD128` or `/dev/ttyUSB0`",
                    e.name
                )),
            });
        }
    }
}

/// The device's kind, for the options that fit it.
fn kind_of(p: &Passthrough, vm: bool) -> (&'static str, &'static [&'static str]) {
    match Device::parse(&p.device.value) {
        Some(Device::Pci { .. }) => ("a PCI device", &["pcie", "rombar", "x_vga"]),
        Some(Device::Usb(_)) => ("a USB device", &["usb3"]),
        _ if vm => ("a disk passed to a VM", &["bus", "backup"]),
        _ => ("a device node of a container", &[]),
    }
}

/// Options written on a device they do not apply to (E833), `pcie` on a machine without PCI
/// Express (E832), and a VM's whole disk named by its kernel name (W830).
fn options(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    const OPTIONS: [&str; 6] = ["bus", "backup", "pcie", "rombar", "x_vga", "usb3"];
    for e in &spec.guests.entries {
        let Some(g) = model.guests.get(&e.name) else { continue };
        let vm = g.kind == GuestKind::Vm;
        for p in &e.value.devices {
            let (kind, fits) = kind_of(p, vm);
            for option in OPTIONS {
                let (Some(key), Some(value)) = (p.spans.key(option), p.spans.value(option)) else { continue };
                if fits.contains(&option) {
                    continue;
                }
                out.push(
                    Diagnostic::new(
                        Code::DeviceOptionUnfit,
                        key,
                        format!("`{option}` does not apply to `{}` of guest `{}`", p.device.value, e.name),
                    )
                    .label(format!("it is {kind}"))
                    .help(format!("remove `{option}`"))
                    .suggest_removal(key.to(value)),
                );
            }
            if let Some(pcie) = p.pcie.as_ref().filter(|v| v.value)
                && let Some(hw) = g.vm.as_ref().filter(|hw| !hw.q35())
                && fits.contains(&"pcie")
            {
                let key = p.spans.key("pcie").unwrap_or(pcie.span);
                out.push(
                    Diagnostic::new(
                        Code::PcieWithoutQ35,
                        pcie.span,
                        format!("`{}` cannot be PCI Express on VM `{}`", p.device.value, e.name),
                    )
                    .label(format!("machine `{}` has no PCI Express bus; only `q35` has", hw.machine))
                    .help("remove `pcie: true`, or give the VM `machine: q35`")
                    .suggest_removal(key.to(pcie.span)),
                );
            }
            let path = p.device.value.as_str();
            let kernel_name = ["/dev/sd", "/dev/hd", "/dev/vd", "/dev/nvme"].iter().any(|k| path.starts_with(k));
            if vm && kernel_name {
                out.push(
                    Diagnostic::new(
                        Code::DiskByKernelName,
                        p.device.span,
                        format!("VM `{}` gets disk `{path}` by its kernel name", e.name),
                    )
                    .label("kernel names follow the order disks are found and can change at the next boot")
                    .help("name the disk by its id: the `/dev/disk/by-id/...` link that `ls -l /dev/disk/by-id/` on the host shows for it"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: &str, b: &str, clash: bool) {
        let (Some(x), Some(y)) = (Device::parse(a), Device::parse(b)) else { panic!("{a} or {b} is no device") };
        assert_eq!(x.clashes(&y), clash, "{a} / {b}");
    }

    #[test]
    fn clashes() {
        check("pci:0000:01:00.0", "pci:01:00.0", true);
        check("pci:01:00", "pci:01:00.1", true);
        check("pci:01:00.0", "pci:01:00.1", false);
        check("pci:01:00.0", "pci:02:00.0", false);
        check("usb:1a86:7523", "USB:1A86:7523", true);
        check("usb:1a86:7523", "pci:01:00.0", false);
        assert!(pci_address("0000:01:00.0") && pci_address("01:00") && pci_address("0a:1f.7"));
        assert!(!pci_address("01:00.8") && !pci_address("1:00.0") && !pci_address("gpu"));
        assert!(usb_id("1a86:7523") && usb_id("1-4.2") && usb_id("2-1"));
        assert!(!usb_id("1a86") && !usb_id("1a86:75") && !usb_id("1-") && !usb_id("x-1"));
        assert!(
            !Device::Node("/dev/dri/renderd128".into(), false)
                .clashes(&Device::Node("/dev/dri/renderd128".into(), false))
        );
        assert!(Device::Node("/dev/sdb".into(), true).clashes(&Device::Node("/dev/sdb".into(), false)));
    }
}
