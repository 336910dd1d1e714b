//! A VM's virtual hardware and every guest's passed-through devices, with the defaults of its
//! `os` (see [`crate::hardware`]) filled in where the spec says nothing.

use hearth_spec::ast::{self, DiskBus};
use hearth_spec::{Code, Diagnostic, Sp};

use super::Resolver;
use crate::hardware::{Appliance, DEFAULT_CPU, DEFAULT_MACHINE, DataDisk, Device, VmHardware};
use crate::model::GuestKind;

impl Resolver<'_> {
    /// The VM's hardware; `None` for a container. `storage` is the pool of its boot disk.
    pub(super) fn vm_hardware(&mut self, g: &ast::Guest, host: &str, os: &str, storage: &str) -> Option<VmHardware> {
        let vm = g.vm.as_ref()?;
        let appliance = Appliance::of(os);
        let defaults = appliance.defaults();
        let mut disks = Vec::new();
        for d in &vm.disks {
            let storage = match &d.storage {
                Some(st) => {
                    if let Some(h) = self.spec.hosts.get(host)
                        && !h.storage.is_declared(&st.value)
                    {
                        self.unknown(st.span, "storage pool", &st.value, h.storage.names().collect());
                    }
                    st.value.clone()
                }
                None => storage.to_string(),
            };
            let bus = d.bus.as_ref().map_or(defaults.disk_bus, |b| b.value);
            disks.push(DataDisk {
                size: d.size.value,
                storage,
                bus,
                ssd: d.ssd.unwrap_or(false),
                discard: d.discard.unwrap_or(true),
                // Only SCSI and VirtIO disks have I/O threads; E833 refuses one asked on SATA.
                iothread: d.iothread.as_ref().map_or(bus == DiskBus::Scsi, |i| i.value),
                backup: d.backup.unwrap_or(true),
            });
        }
        Some(VmHardware {
            bios: vm.bios.as_ref().map_or(defaults.bios, |b| b.value),
            machine: vm.machine.as_ref().map_or_else(|| DEFAULT_MACHINE.to_string(), |m| m.value.clone()),
            cpu: vm.cpu.clone().unwrap_or_else(|| DEFAULT_CPU.to_string()),
            tpm: vm.tpm.as_ref().map_or(defaults.tpm, |t| t.value),
            secure_boot: appliance.secure_boot(),
            disks,
        })
    }

    /// The guest's devices, options defaulted: a VM's whole disks on the appliance's bus and
    /// left out of backups, PCI devices as PCIe on a `q35` machine with their option ROM. A
    /// `disk:NAME` of the host's `hardware.disks` becomes its `/dev/disk/by-id/` path; one whose
    /// `id` is not written yet is left out, with W831 saying so.
    pub(super) fn devices(
        &mut self,
        name: &str,
        g: &ast::Guest,
        host: &str,
        kind: GuestKind,
        os: &str,
        vm: Option<&VmHardware>,
    ) -> Vec<Device> {
        let q35 = vm.is_some_and(VmHardware::q35);
        let disks = self.spec.hosts.get(host).and_then(|h| h.hardware.as_ref()).map_or(&[][..], |hw| &hw.disks[..]);
        let mut out = Vec::new();
        for p in &g.devices {
            let mut device = p.device.value.clone();
            if let Some(disk) = device.strip_prefix("disk:") {
                match disks.iter().find(|d| d.name.value == disk) {
                    Some(d) => match &d.id {
                        Some(id) => device = format!("/dev/disk/by-id/{}", id.value),
                        None => {
                            self.diags.push(
                                Diagnostic::new(
                                    Code::HostDiskWithoutId,
                                    p.device.span,
                                    format!("guest `{name}` gets host disk `{disk}` only once its `id` is written"),
                                )
                                .label("Proxmox passes a disk by its path; until then the guest is created without it")
                                .with(d.name.span, "declared here without `id:`")
                                .help(format!(
                                    "give disk `{disk}` of host `{host}` its `id:`, the name `ls -l /dev/disk/by-id/` shows for it"
                                )),
                            );
                            continue;
                        }
                    },
                    None => {
                        let names: Vec<&str> = disks.iter().map(|d| d.name.value.as_str()).collect();
                        self.unknown(p.device.span, "host disk", disk, names);
                        continue;
                    }
                }
            }
            let disk = kind == GuestKind::Vm && device.starts_with('/');
            let flag = |f: &Option<Sp<bool>>, default: bool| f.as_ref().map_or(default, |v| v.value);
            out.push(Device {
                bus: disk.then(|| p.bus.as_ref().map_or(Appliance::of(os).defaults().disk_bus, |b| b.value)),
                device,
                backup: flag(&p.backup, false),
                pcie: flag(&p.pcie, q35),
                rombar: flag(&p.rombar, true),
                x_vga: flag(&p.x_vga, false),
                usb3: flag(&p.usb3, false),
                span: p.device.span,
            });
        }
        out
    }
}
