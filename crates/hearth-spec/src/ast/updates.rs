//! `updates:`: the operating system's own unattended upgrades, as a top-level default and per
//! host or guest.

use crate::decode::Sp;
use crate::{spec_enum, spec_struct};

spec_enum! {
    /// Which updates a machine installs on its own.
    pub enum UpdateScope {
        /// Security updates only (Debian-Security, Ubuntu's `-security` pocket).
        Security = "security",
        /// Every update of the distribution's stable release (point releases and `-updates`).
        All = "all",
        /// None: unattended upgrades are switched off.
        None = "none",
    }
}

spec_struct! {
    /// Unattended upgrades: `unattended-upgrades` on Debian, Ubuntu and Proxmox VE,
    /// `system.autoUpgrade` on NixOS.
    pub struct Updates {
        /// `security` (default), `all` or `none`.
        opt install: Sp<UpdateScope>,
        /// `never` (default), or the time of day (`04:00`) to reboot at when an update needs it.
        opt reboot: Sp<String>,
    }
}
