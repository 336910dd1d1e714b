//! `guests:`: LXC containers and VMs.

use super::host::Runtime;
use super::service::BackupChoice;
use crate::decode::{NamedMap, OrScalar, Sp};
use crate::net::Addr;
use crate::spec_struct;
use crate::units::Size;

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
        /// Whether Hearth logs into it (default: true unless the runtime is `none`).
        opt managed: bool,
        /// Guest path -> `pool/dataset` on its host, an absolute host path, or `share:NAME`.
        #[schemars(with = "std::collections::BTreeMap<String, OrScalar<Mount>>")]
        def mounts: NamedMap<Mount>,
        /// Passthrough: `/dev/...`, `pci:ADDR`, `usb:VENDOR:PRODUCT`.
        def devices: Vec<Sp<String>>,
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
        /// `seabios` or `ovmf`.
        opt bios: String,
        opt machine: String,
        /// CPU type (default `host`).
        opt cpu: String,
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
