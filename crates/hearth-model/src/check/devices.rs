//! Passed-through devices: a PCI or USB device belongs to one guest of its host at a time, and
//! PCI passthrough needs a VM.
//!
//! A device node (`/dev/dri/renderD128`) is a bind mount that several containers can share; on a
//! VM it becomes a passed-through disk, which only that VM may use.

use std::collections::BTreeMap;

use hearth_spec::{Code, Diagnostic, Span, Spec};

use crate::model::Model;

pub(super) fn devices(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    shared(spec, model, out);
    pci_on_lxc(spec, out);
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
        if text.starts_with("/dev/") {
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
        for d in &e.value.devices {
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

fn pci_on_lxc(spec: &Spec, out: &mut Vec<Diagnostic>) {
    for e in &spec.guests.entries {
        let Some(lxc) = &e.value.lxc else { continue };
        for d in &e.value.devices {
            if !matches!(Device::parse(&d.value), Some(Device::Pci { .. })) {
                continue;
            }
            let diag = Diagnostic::new(
                Code::PciOnLxc,
                d.span,
                format!("PCI device `{}` cannot be passed to LXC container `{}`", d.value, e.name),
            )
            .label("PCI passthrough needs a VM: a container shares its host's kernel and drivers");
            // Turning the container into a VM is one edit when nothing LXC-only is set.
            let lxc_only = lxc.unprivileged.is_some() || lxc.nesting.is_some() || lxc.template.is_some();
            let key = e.value.spans.key("lxc");
            out.push(match key {
                Some(key) if !lxc_only && e.value.mounts.is_empty() => diag
                    .help(format!("make `{}` a VM: write `vm:` instead of `lxc:`", e.name))
                    .suggest(key, "vm"),
                _ => diag.help(format!(
                    "make `{}` a VM (`vm:` instead of `lxc:`), or pass the device node the driver makes on the host, such as `/dev/dri/renderD128`",
                    e.name
                )),
            });
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
        assert!(
            !Device::Node("/dev/dri/renderd128".into(), false)
                .clashes(&Device::Node("/dev/dri/renderd128".into(), false))
        );
        assert!(Device::Node("/dev/sdb".into(), true).clashes(&Device::Node("/dev/sdb".into(), false)));
    }
}
