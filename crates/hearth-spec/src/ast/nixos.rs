//! A NixOS guest's `nixos:` block: what its system does on its own schedule (garbage
//! collection, upgrades), beside what Hearth deploys to it.

use crate::decode::Sp;
use crate::schedule::Schedule;
use crate::spec_struct;
use crate::units::Duration;

spec_struct! {
    /// Settings of a NixOS guest's own system.
    pub struct NixosSettings {
        /// `nix.gc`: collect the Nix store's garbage on a schedule.
        opt gc: NixGc,
        /// `system.autoUpgrade`: rebuild the guest from its flake with the newest nixpkgs.
        opt upgrade: NixUpgrade,
    }
}

spec_struct! {
    @shorthand every;
    /// Automatic garbage collection of the Nix store.
    pub struct NixGc {
        req every: Sp<Schedule>,
        /// Only generations older than this (`--delete-older-than`, whole days).
        opt older_than: Sp<Duration>,
    }
}

spec_struct! {
    @shorthand every;
    /// Automatic upgrades from the guest's own copy of the flake.
    pub struct NixUpgrade {
        req every: Sp<Schedule>,
        /// Reboot when the new system needs it (a new kernel or initrd); default false.
        opt reboot: bool,
    }
}
