//! A VM's virtual hardware as Proxmox would build it: a machine type it knows (E830), the UEFI
//! and TPM 2.0 that Windows 11 will not install without (E831), and no more disks on a bus than
//! its controller has ports (E836).

use hearth_spec::ast::{Bios, DiskBus};
use hearth_spec::{Code, Diagnostic, Spec};

use crate::hardware::{Appliance, machine_family};
use crate::model::Model;

pub(super) fn hardware(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.guests.entries {
        let (Some(vm), Some(g)) = (&e.value.vm, model.guests.get(&e.name)) else { continue };
        if let Some(m) = &vm.machine
            && machine_family(&m.value).is_none()
        {
            let fix = if machine_family(&m.value.to_ascii_lowercase()).is_some() {
                m.value.to_ascii_lowercase()
            } else {
                "q35".to_string()
            };
            out.push(
                Diagnostic::new(
                    Code::UnknownMachineType,
                    m.span,
                    format!("VM `{}`: no machine type `{}`", e.name, m.value),
                )
                .label("Proxmox knows `q35`, `i440fx` and their pinned versions (`pc-q35-8.1`, `pc-i440fx-8.1`)")
                .help(format!("write `{fix}`"))
                .suggest(m.span, fix),
            );
        }
        if Appliance::of(&g.os) == Appliance::Windows11 {
            let uefi = vm.bios.as_ref().filter(|b| b.value != Bios::Ovmf).map(|b| (b.span, "bios", "ovmf"));
            let tpm = vm.tpm.as_ref().filter(|t| !t.value).map(|t| (t.span, "tpm", "true"));
            for (span, key, fix) in uefi.into_iter().chain(tpm) {
                out.push(
                    Diagnostic::new(
                        Code::WindowsWithoutUefiTpm,
                        span,
                        format!("VM `{}` (os `{}`) would not install without `{key}: {fix}`", e.name, g.os),
                    )
                    .label("Windows 11 and Server 2022 need UEFI with Secure Boot and a TPM 2.0")
                    .help(format!("write `{fix}`"))
                    .suggest(span, fix),
                );
            }
        }
        disk_ports(e.name.as_str(), &e.value, g, out);
    }
}

/// The boot disk on `scsi0`, then data disks, then passed-through disks, each on its bus.
fn disk_ports(name: &str, spec: &hearth_spec::ast::Guest, g: &crate::model::Guest, out: &mut Vec<Diagnostic>) {
    let (Some(hw), Some(vm)) = (&g.vm, &spec.vm) else { return };
    let data = hw.disks.iter().zip(&vm.disks).map(|(d, s)| (Some(d.bus), s.span));
    let devices = g.devices.iter().map(|d| (d.bus, d.span));
    let (mut scsi, mut sata) = (1usize, 0usize);
    for (bus, span) in data.chain(devices) {
        let count = match bus {
            Some(DiskBus::Scsi) => &mut scsi,
            Some(DiskBus::Sata) => &mut sata,
            None => continue,
        };
        *count += 1;
        // Ports per controller: `scsi0`-`scsi30`, `sata0`-`sata5`.
        let (ports, this, other) = match bus.unwrap_or(DiskBus::Scsi) {
            DiskBus::Scsi => (31, "scsi", "sata"),
            DiskBus::Sata => (6, "sata", "scsi"),
        };
        if *count == ports + 1 {
            out.push(
                Diagnostic::new(
                    Code::TooManyDisks,
                    span,
                    format!("VM `{name}` has more disks on `{this}` than its {ports} ports"),
                )
                .label("this disk has no port left")
                .help(format!("put some of its disks on the other bus (`bus: {other}`), or give the VM fewer disks")),
            );
        }
    }
}
