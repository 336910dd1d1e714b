//! `hearth lab`: the homelab on the local Docker engine, one booted Debian container per managed
//! machine, on internal networks re-addressed into subnets of the lab's own.
//!
//! One function per subcommand, each taking the lab's state folder ([`state_dir`]: `.hearth/lab/`
//! beside the spec) and returning data for the CLI to print:
//!
//! - `up`: [`prepare`] (load, re-address, resolve, render) then [`up`] → [`UpReport`];
//! - `status`: [`status`] → [`MachineStatus`] per machine;
//! - `exec MACHINE -- CMD…`: [`exec`] → CMD's exit status;
//! - `ssh MACHINE`: [`ssh`] (or [`ssh_command`] to run it yourself) → ssh's exit status;
//! - `down`: [`down`] → [`DownReport`].
//!
//! Deploy reaches machines through the `ssh_config` in the state folder ([`ssh_config_path`]);
//! [`load_image`] puts a locally built image into a machine's Docker engine, and
//! [`offline_images`] lists the service images still missing.
//!
//! `up` and `down` run as root on a machine with a Docker engine and what `scripts/lab-deps.sh`
//! installs: `debootstrap` builds the image, `iptables` routes between the lab's networks, and
//! tinyproxy drops to `nobody` after binding. Errors are
//! [`Error`], worded for the operator.

mod cloud_init;
mod down;
mod error;
pub mod guest;
mod image;
mod keys;
mod limits;
mod machines;
mod offline;
mod ops;
mod packages;
mod parallel;
mod placement;
mod prepare;
mod process;
mod proxy;
mod pve;
pub mod readdress;
mod routing;
mod state;
mod tokens;
mod up;

use std::path::{Path, PathBuf};

pub use down::{DownReport, down};
pub use error::Error;
pub use image::{BUILDER_VERSION, DEFAULT_MIRROR, PACKAGES, SUITE};
pub use machines::{Machine, OfflineImage, Skipped, SkippedFile, skipped_files};
pub use offline::{NotStarted, StackStart, limit_files, startable};
pub use ops::{
    Fitted, MachineStatus, exec, exec_output, fit, load_image, not_in_lab, offline_images, ssh, ssh_command,
    stack_starts, status,
};
pub use packages::{Plan as PackagePlan, limit_to_debian};
pub use prepare::{LabInput, prepare};
pub use pve::{Simulator, SimulatorStatus, TOKEN_ID, simulators, token as simulator_token};
pub use readdress::AddressMap;
pub use state::{
    LABEL, LabState, MachineState, NetworkState, ProxmoxGuest, SimulatorState, dir_for as state_dir, lab_id,
};
pub use up::{UpOptions, UpReport, up};

/// The lab's `ssh_config` in a state folder: `ssh -F PATH MACHINE` reaches a machine as the
/// admin user with the lab's key, host keys checked against the lab's `known_hosts`.
pub fn ssh_config_path(dir: &Path) -> PathBuf {
    state::absolute(&state::Paths::new(dir).ssh_config())
}

/// The lab's state (machines, addresses, networks) as `up` left it.
pub fn load_state(dir: &Path) -> Result<LabState, Error> {
    LabState::load(&state::Paths::new(dir))
}

/// Builds the lab image unless an image of the same recipe exists; returns its tag and whether
/// this call built it.
pub fn ensure_image(mirror: &str) -> Result<(String, bool), Error> {
    let image = image::ensure(mirror)?;
    Ok((image.tag, image.built))
}

/// Whether a Docker engine answers `docker info`: the one thing a lab cannot do without.
pub fn engine_answers() -> bool {
    std::process::Command::new("docker")
        .arg("info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
