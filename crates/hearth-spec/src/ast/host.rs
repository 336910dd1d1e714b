//! `hosts:`: physical machines, their hardware and storage.

use std::collections::BTreeMap;

use crate::decode::{NamedMap, Sp};
use crate::net::Addr;
use crate::reference::SecretRef;
use crate::units::Size;
use crate::{spec_enum, spec_struct};

spec_enum! {
    /// What a machine runs services with.
    pub enum Runtime {
        /// Docker Engine with Compose.
        Docker = "docker",
        /// systemd units (or NixOS modules).
        Native = "native",
        /// Nothing Hearth manages: an appliance such as Home Assistant OS.
        None = "none",
    }
}

spec_struct! {
    /// A physical machine: a Proxmox VE node or a bare-metal host.
    pub struct Host {
        opt address: Sp<Addr>,
        opt network: Sp<String>,
        /// More networks the host is on (`network`/`address` above are the primary interface).
        def interfaces: Vec<super::network::Interface>,
        opt hostname: Sp<String>,
        /// Makes the host a Proxmox VE node.
        opt proxmox: Proxmox,
        /// For a bare-metal host that runs services itself.
        opt runtime: Sp<Runtime>,
        /// The Docker daemon's settings and networks (runtime `docker`).
        opt docker: super::DockerDaemon,
        /// Unattended upgrades (default: the top-level `updates:`).
        opt updates: super::Updates,
        opt os: String,
        opt hardware: Hardware,
        /// Storage pools.
        def storage: NamedMap<Pool>,
        /// Totals a document states for this host's guests, checked against the computed ones.
        opt expect: Expected,
        /// Shares the host mounts: path -> `share:NAME`.
        #[schemars(with = "std::collections::BTreeMap<String, crate::decode::OrScalar<super::Mount>>")]
        def mounts: NamedMap<super::Mount>,
        opt description: String,
        /// `planned` or `future`: checked and documented, not deployed (default `active`).
        opt status: Sp<super::Status>,
        /// Why or when, for a planned item (shown in the docs' Planned section).
        opt note: String,
    }
}

spec_struct! {
    /// What a document states about a host's guests, in its own units: each total is compared
    /// with the one Hearth computes, to the precision the docs print it (W880 when they differ).
    pub struct Expected {
        /// Cores allocated to the guests.
        opt cores: Sp<u32>,
        /// Memory allocated to the guests.
        opt memory: Sp<Size>,
        /// Disk allocated to the guests.
        opt disk: Sp<Size>,
        /// The host's memory left after the guests'.
        opt memory_free: Sp<Size>,
        /// The host's pools' size left after the guests' disks.
        opt disk_free: Sp<Size>,
    }
}

spec_struct! {
    /// Proxmox VE settings of a host.
    pub struct Proxmox {
        /// Node name (default: the host's name).
        opt node: String,
        /// API URL (default `https://<address>:8006`).
        opt api: String,
        opt version: String,
        /// API token used by `hearth apply`.
        opt token: SecretRef,
        /// Snapshots before apply for every guest of this node that does not set its own.
        opt snapshot: super::GuestSnapshot,
    }
}

spec_struct! {
    /// CPU, memory and disks.
    pub struct Hardware {
        opt cpu: String,
        opt cores: Sp<u32>,
        opt threads: Sp<u32>,
        opt memory: Sp<Size>,
        def disks: Vec<Disk>,
    }
}

spec_enum! {
    /// A physical disk's kind.
    pub enum DiskKind { Nvme = "nvme", Ssd = "ssd", Hdd = "hdd", Usb = "usb" }
}

spec_struct! {
    /// A physical disk.
    pub struct Disk {
        req name: Sp<String>,
        req size: Size,
        opt kind: DiskKind,
        /// Its name under `/dev/disk/by-id/` (`ata-WDC_WD120EFBX-68B0EN0_5QG...`), which a
        /// guest's `devices: [disk:NAME]` passes through.
        opt id: Sp<String>,
    }
}

spec_enum! {
    /// A storage pool's technology.
    pub enum PoolKind {
        Zfs = "zfs", LvmThin = "lvm-thin", Lvm = "lvm", Dir = "dir", Nfs = "nfs", Cifs = "cifs",
        Raid = "raid", Shr = "shr", Btrfs = "btrfs", Usb = "usb",
    }
}

spec_struct! {
    /// A storage pool on a host.
    pub struct Pool {
        req kind: PoolKind,
        /// Usable size.
        opt size: Sp<Size>,
        /// Tier label such as `fast` or `bulk`.
        opt tier: String,
        /// vdev layout or RAID level.
        opt layout: String,
        /// Disks (names under `hardware.disks`).
        def disks: Vec<Sp<String>>,
        /// Mount point (default `/<pool>`).
        opt path: String,
        /// Proxmox content types.
        def content: Vec<String>,
        /// ZFS datasets with their properties.
        def datasets: NamedMap<BTreeMap<String, String>>,
        /// For `nfs`/`cifs`: the server.
        opt server: String,
        /// For `nfs`/`cifs`: the export or share.
        opt export: String,
        opt description: String,
    }
}
