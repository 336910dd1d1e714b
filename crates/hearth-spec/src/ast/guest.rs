//! `guests:`: LXC containers and VMs.

use super::host::Runtime;
use super::service::BackupChoice;
use crate::decode::{NamedMap, OrScalar, Sp};
use crate::net::Addr;
use crate::units::Size;
use crate::{spec_enum, spec_struct};

spec_struct! {
    /// An LXC container or VM on a Proxmox host.
    pub struct Guest {
        /// Makes it an LXC container.
        opt lxc: Lxc,
        /// Makes it a VM.
        opt vm: Vm,
        /// OS label or template (`debian-12`, `ubuntu-24.04`, `nixos`, `haos`, `dsm`).
        opt os: Sp<String>,
        opt network: Sp<String>,
        /// Allocated inside the network when left out.
        opt address: Sp<Addr>,
        /// More networks the guest is on (`network`/`address` above are the primary interface:
        /// SSH and the default route).
        def interfaces: Vec<super::network::Interface>,
        /// Default: the guest's name.
        opt hostname: Sp<String>,
        opt size: GuestSize,
        opt runtime: Sp<Runtime>,
        /// The Docker daemon's settings and networks (runtime `docker`).
        opt docker: super::DockerDaemon,
        /// A NixOS guest's own garbage collection and upgrades.
        opt nixos: super::NixosSettings,
        /// Unattended upgrades (default: the top-level `updates:`).
        opt updates: super::Updates,
        /// A Proxmox snapshot before `hearth apply` changes it (default: its host's `proxmox.snapshot`).
        opt snapshot: GuestSnapshot,
        /// Whether Hearth logs into it (default: true unless the runtime is `none`).
        opt managed: bool,
        /// Guest path -> `pool/dataset` on its host, an absolute host path, or `share:NAME`.
        #[schemars(with = "std::collections::BTreeMap<String, OrScalar<Mount>>")]
        def mounts: NamedMap<Mount>,
        /// Passthrough: `/dev/...`, `pci:ADDR`, `usb:VENDOR:PRODUCT` or `usb:BUS-PORT`, each
        /// alone or as `{ device, ... }` with its options.
        #[schemars(with = "Vec<OrScalar<Passthrough>>")]
        def devices: Vec<Passthrough>,
        opt onboot: bool,
        /// Backup policies for the whole guest (vzdump / PBS): a name, or a list.
        #[schemars(with = "Option<OrScalar<BackupChoice>>")]
        opt backup: BackupChoice,
        def tags: Vec<String>,
        opt description: String,
        /// `planned` or `future`: checked and documented, not deployed (default `active`).
        opt status: Sp<super::Status>,
        /// Why or when, for a planned item (shown in the docs' Planned section).
        opt note: String,
    }
}

spec_struct! {
    /// Proxmox snapshots `hearth apply` takes of a guest before it changes it, named
    /// `hearth-YYYYMMDD-HHMMSS` (UTC), so `pct rollback`/`qm rollback` undoes the change.
    pub struct GuestSnapshot {
        /// Take one before each apply that changes the guest (its settings or its files).
        req before_apply: Sp<bool>,
        /// How many of Hearth's own snapshots to keep (default 3); older ones are deleted, and
        /// snapshots Hearth did not take are never touched.
        opt keep: Sp<u32>,
    }
}

spec_struct! {
    /// LXC placement and options.
    pub struct Lxc {
        /// The Proxmox host.
        req on: Sp<String>,
        /// CT id (allocated from 100 when left out).
        opt id: Sp<u32>,
        opt unprivileged: bool,
        opt nesting: bool,
        /// Pool for the root disk.
        opt storage: Sp<String>,
        /// Template volume (default from `os`).
        opt template: String,
    }
}

spec_struct! {
    /// VM placement and options.
    pub struct Vm {
        /// The Proxmox host.
        req on: Sp<String>,
        /// VM id (allocated from 100 when left out).
        opt id: Sp<u32>,
        /// Pool for the disks.
        opt storage: Sp<String>,
        /// Firmware (default from `os`: `ovmf` for Windows and Home Assistant OS, else `seabios`).
        opt bios: Sp<Bios>,
        /// Machine type: `q35` (default), `i440fx`, or a pinned version (`pc-q35-8.1`).
        opt machine: Sp<String>,
        /// CPU type (default `x86-64-v2-AES`; `host` for Windows).
        opt cpu: String,
        /// A TPM 2.0 (default: on for Windows).
        opt tpm: Sp<bool>,
        /// Data disks apart from the boot disk.
        #[schemars(with = "Vec<OrScalar<VmDisk>>")]
        def disks: Vec<VmDisk>,
    }
}

spec_enum! {
    /// A VM's firmware.
    pub enum Bios {
        /// Legacy BIOS.
        Seabios = "seabios",
        /// UEFI, with an EFI disk for its variables.
        Ovmf = "ovmf",
    }
}

spec_enum! {
    /// The controller a VM disk is attached to.
    pub enum DiskBus {
        /// VirtIO SCSI (default).
        Scsi = "scsi",
        /// SATA (AHCI): what appliance loaders such as Xpenology's expect.
        Sata = "sata",
    }
}

spec_struct! {
    @shorthand size;
    /// A VM data disk, created empty on a Proxmox storage.
    pub struct VmDisk {
        req size: Sp<Size>,
        /// Storage pool (default: the VM's `storage`).
        opt storage: Sp<String>,
        /// Default `scsi` (or the appliance's: `sata` for DSM).
        opt bus: Sp<DiskBus>,
        /// Tell the guest it is an SSD (default false).
        opt ssd: bool,
        /// Pass TRIM through to a thin pool (default true).
        opt discard: bool,
        /// Its own I/O thread (SCSI only; default true).
        opt iothread: Sp<bool>,
        /// Included in the guest's backups (default true).
        opt backup: bool,
    }
}

spec_struct! {
    @shorthand device;
    /// A device passed to a guest, and its options.
    pub struct Passthrough {
        /// `/dev/...` (a whole disk to a VM, a device node to a container), `pci:ADDR`,
        /// `usb:VENDOR:PRODUCT` or `usb:BUS-PORT`.
        req device: Sp<String>,
        /// A disk to a VM: `scsi` or `sata` (default `scsi`, `sata` for DSM).
        opt bus: Sp<DiskBus>,
        /// A disk to a VM: included in the guest's backups (default false: vzdump would copy
        /// the whole physical disk).
        opt backup: Sp<bool>,
        /// PCI: attach as PCI Express (default true on `q35`).
        opt pcie: Sp<bool>,
        /// PCI: expose the device's option ROM (default true).
        opt rombar: Sp<bool>,
        /// PCI: the VM's primary GPU (`x-vga`).
        opt x_vga: Sp<bool>,
        /// USB: attach to a USB 3 controller.
        opt usb3: Sp<bool>,
    }
}

spec_struct! {
    /// Resources of a guest.
    pub struct GuestSize {
        opt cores: Sp<u32>,
        opt memory: Sp<Size>,
        opt disk: Sp<Size>,
        opt swap: Sp<Size>,
    }
}

spec_struct! {
    @shorthand from;
    /// A bind mount from a dataset or host path, or a mount of a share.
    pub struct Mount {
        /// `pool/dataset` on the host, an absolute host path, or `share:NAME`.
        req from: Sp<String>,
        opt readonly: Sp<bool>,
        /// For a share: mounted on first access rather than at boot (default false).
        opt automount: bool,
    }
}
