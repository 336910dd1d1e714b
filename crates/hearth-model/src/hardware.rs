//! A VM's virtual hardware: firmware, machine type, CPU, TPM, data disks and passed-through
//! devices, with the defaults each kind of appliance needs (its `os` label decides: Windows
//! 11 wants UEFI and a TPM, Home Assistant OS boots only with UEFI, Xpenology's loader finds
//! its disks on SATA). The operator overrides any of them under `vm:`; the resolver writes the
//! result into the model, so `hearth show` prints what Proxmox will be asked for. Pure.

use hearth_spec::ast::{Bios, DiskBus};
use serde::Serialize;

use hearth_spec::units::Size;

/// What a VM of a given `os` gets when the spec says nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaults {
    pub bios: Bios,
    pub tpm: bool,
    /// The bus of passed-through disks and data disks.
    pub disk_bus: DiskBus,
}

/// The kind of appliance an `os` label names, for its defaults and its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appliance {
    /// Windows 11 or Windows Server 2022 and later: UEFI with Secure Boot and TPM 2.0 required.
    Windows11,
    /// Older Windows: UEFI by default, no TPM needed.
    Windows,
    /// Home Assistant OS: its image boots with UEFI only.
    HomeAssistant,
    /// Synology DSM through an Xpenology loader, which maps SATA ports to drive slots.
    Dsm,
    /// Anything else (Linux, the BSD firewalls, TrueNAS): Proxmox's own defaults.
    Other,
}

impl Appliance {
    pub fn of(os: &str) -> Appliance {
        let os = os.to_ascii_lowercase();
        if let Some(release) = os.strip_prefix("windows-").or_else(|| os.strip_prefix("win")) {
            let release = release.trim_start_matches("server-");
            return match release {
                "11" | "2022" | "2025" => Appliance::Windows11,
                _ => Appliance::Windows,
            };
        }
        let family = |name: &str| os == name || os.starts_with(&format!("{name}-"));
        if family("haos") || family("homeassistant") {
            Appliance::HomeAssistant
        } else if family("dsm") || family("xpenology") {
            Appliance::Dsm
        } else {
            Appliance::Other
        }
    }

    pub fn defaults(self) -> Defaults {
        let (bios, tpm, disk_bus) = match self {
            Appliance::Windows11 => (Bios::Ovmf, true, DiskBus::Scsi),
            Appliance::Windows | Appliance::HomeAssistant => (Bios::Ovmf, false, DiskBus::Scsi),
            Appliance::Dsm => (Bios::Seabios, false, DiskBus::Sata),
            Appliance::Other => (Bios::Seabios, false, DiskBus::Scsi),
        };
        Defaults { bios, tpm, disk_bus }
    }

    /// Whether the system checks for Secure Boot keys at install (Windows): its EFI disk is
    /// created with Microsoft's keys enrolled.
    pub fn secure_boot(self) -> bool {
        matches!(self, Appliance::Windows11 | Appliance::Windows)
    }
}

/// The default machine type of a VM, Proxmox's recommendation for new VMs.
pub const DEFAULT_MACHINE: &str = "q35";
/// The default CPU type (Proxmox 8's default for new VMs: migratable, with AES-NI).
pub const DEFAULT_CPU: &str = "x86-64-v2-AES";

/// Machine types Proxmox accepts: `q35` and `i440fx` (Proxmox's `pc`), or a pinned version of
/// either (`pc-q35-8.1`, `pc-i440fx-7.2`, optionally `+pveN`). `None` when it is none of them.
pub fn machine_family(machine: &str) -> Option<Machine> {
    let pinned = |rest: &str| {
        let version = rest
            .split_once("+pve")
            .map_or(rest, |(v, pve)| if pve.is_empty() || !pve.bytes().all(|b| b.is_ascii_digit()) { "" } else { v });
        version.split('.').count() >= 2
            && version.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    match machine {
        "q35" => Some(Machine::Q35),
        "i440fx" | "pc" => Some(Machine::I440fx),
        m => {
            if let Some(rest) = m.strip_prefix("pc-q35-") {
                pinned(rest).then_some(Machine::Q35)
            } else if let Some(rest) = m.strip_prefix("pc-i440fx-").or_else(|| m.strip_prefix("pc-")) {
                pinned(rest).then_some(Machine::I440fx)
            } else {
                None
            }
        }
    }
}

/// A machine type's chipset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    /// Has PCI Express: passed-through PCI devices attach as PCIe.
    Q35,
    I440fx,
}

/// A VM's virtual hardware, defaults applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VmHardware {
    pub bios: Bios,
    /// As written (`q35`, `i440fx`, `pc-q35-8.1`); Proxmox calls `i440fx` `pc`.
    pub machine: String,
    pub cpu: String,
    pub tpm: bool,
    /// Windows' EFI disk has Microsoft's Secure Boot keys enrolled.
    pub secure_boot: bool,
    pub disks: Vec<DataDisk>,
}

impl Default for VmHardware {
    /// A plain Linux VM's: what the resolver gives an `os` that is no appliance.
    fn default() -> Self {
        VmHardware {
            bios: Bios::Seabios,
            machine: DEFAULT_MACHINE.into(),
            cpu: DEFAULT_CPU.into(),
            tpm: false,
            secure_boot: false,
            disks: Vec::new(),
        }
    }
}

impl VmHardware {
    pub fn q35(&self) -> bool {
        machine_family(&self.machine) == Some(Machine::Q35)
    }

    /// The `machine` value of Proxmox's API.
    pub fn proxmox_machine(&self) -> &str {
        if self.machine == "i440fx" { "pc" } else { &self.machine }
    }
}

/// An empty data disk created on a Proxmox storage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataDisk {
    pub size: Size,
    pub storage: String,
    pub bus: DiskBus,
    pub ssd: bool,
    pub discard: bool,
    pub iothread: bool,
    pub backup: bool,
}

/// A device passed to a guest, with its options resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Device {
    /// `/dev/...`, `pci:ADDR`, `usb:ID`.
    pub device: String,
    /// A whole disk to a VM: its bus and whether backups include it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bus: Option<DiskBus>,
    pub backup: bool,
    /// PCI: PCI Express, option ROM, primary GPU.
    pub pcie: bool,
    pub rombar: bool,
    pub x_vga: bool,
    /// USB: on a USB 3 controller.
    pub usb3: bool,
    /// Where the spec writes it, for the checks.
    #[serde(skip)]
    pub span: hearth_spec::Span,
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(os: &str, expected: Appliance) {
        assert_eq!(Appliance::of(os), expected, "{os}");
    }

    #[test]
    fn appliances() {
        check("windows-11", Appliance::Windows11);
        check("windows-server-2022", Appliance::Windows11);
        check("win10", Appliance::Windows);
        check("haos", Appliance::HomeAssistant);
        check("haos-13", Appliance::HomeAssistant);
        check("dsm", Appliance::Dsm);
        check("xpenology-7.2", Appliance::Dsm);
        check("pfsense", Appliance::Other);
        check("debian-12", Appliance::Other);
        check("haosx", Appliance::Other);
    }

    fn machine(text: &str, expected: Option<Machine>) {
        assert_eq!(machine_family(text), expected, "{text}");
    }

    #[test]
    fn machines() {
        machine("q35", Some(Machine::Q35));
        machine("i440fx", Some(Machine::I440fx));
        machine("pc", Some(Machine::I440fx));
        machine("pc-q35-8.1", Some(Machine::Q35));
        machine("pc-q35-8.1+pve0", Some(Machine::Q35));
        machine("pc-i440fx-7.2", Some(Machine::I440fx));
        machine("pc-2.12", Some(Machine::I440fx));
        machine("q36", None);
        machine("pc-q35-", None);
        machine("pc-q35-8", None);
        machine("pc-q35-8.1+pve", None);
        machine("virt", None);
    }
}
