//! A Proxmox guest's lab machine, made when the node's simulator starts the guest: the same
//! container `up` makes for any machine (lab image, network and address, hostname, the lab's SSH
//! key and host key), with the guest's CPU and memory limits, and a VM's cloud-init user-data
//! applied (`cloud_init.rs`). The simulator's runtime calls these; nothing else does.

use std::path::Path;
use std::time::Duration;

use crate::error::Error;
use crate::process::{self, docker};
use crate::state::{LabState, MachineState, Paths};
use crate::{cloud_init, keys, up};

/// What the API says a guest gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub memory_mib: u64,
    pub cores: Option<u32>,
}

impl Limits {
    /// `docker run`/`docker update` arguments: memory without extra swap (the guest's `swap` is
    /// not simulated), and CPUs.
    pub(crate) fn args(&self) -> Vec<String> {
        let memory = format!("{}m", self.memory_mib);
        let mut out = vec!["--memory".to_string(), memory.clone(), "--memory-swap".to_string(), memory];
        if let Some(cores) = self.cores {
            out.extend(["--cpus".to_string(), lab_cpus(cores).to_string()]);
        }
        out
    }
}

/// A guest's cores as the lab can grant them: Docker refuses `--cpus` above the engine's own
/// count, and a lab on a small machine still runs a guest sized for a bigger host (its limit is
/// then every CPU there is).
pub(crate) fn lab_cpus(cores: u32) -> u32 {
    let here = std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX));
    cores.clamp(1, here)
}

/// The lab machine of guest `vmid` on `node`, if the lab has one (a guest that gets no files,
/// or is not managed, has none).
pub fn machine_of(dir: &Path, node: &str, vmid: u32) -> Result<Option<String>, Error> {
    let lab = LabState::load(&Paths::new(dir))?;
    Ok(lab
        .machines
        .iter()
        .find(|(_, m)| m.proxmox.as_ref().is_some_and(|p| p.node == node && p.vmid == vmid))
        .map(|(name, _)| name.clone()))
}

/// Whether the machine's container exists, and runs.
fn container_state(m: &MachineState) -> Result<Option<bool>, Error> {
    let out = process::output(std::process::Command::new("docker").args([
        "container",
        "inspect",
        "--format",
        "{{.State.Running}}",
        &m.container,
    ]))?;
    Ok(out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim() == "true"))
}

/// Starts a guest's machine: creates and provisions its container the first time (with the
/// API's `hostname`, applying `user_data`, a `#cloud-config` document), starts it again after a
/// stop, and waits until it answers SSH through the lab's `ssh_config`.
pub fn start(dir: &Path, machine: &str, hostname: &str, limits: Limits, user_data: Option<&str>) -> Result<(), Error> {
    let paths = Paths::new(dir);
    let lab = LabState::load(&paths)?;
    let m = lab.machine(machine)?;
    match container_state(m)? {
        Some(true) => return Ok(()),
        Some(false) => {
            docker(["start", &m.container])?;
        }
        None => {
            let key = keys::ensure(&paths.key(), &format!("hearth-lab-{}", lab.id))?;
            up::start_machine(&paths, &lab, machine, m, &key, hostname, Some(limits))?;
            if let Some(text) = user_data {
                apply_user_data(m, text)?;
            }
        }
    }
    up::wait_ready(&paths, machine, Duration::from_secs(120))
}

/// Applies `#cloud-config` user-data in a new guest's container, as cloud-init's NoCloud data
/// source would at first boot; what the lab cannot do is logged there, as cloud-init logs it.
fn apply_user_data(m: &MachineState, text: &str) -> Result<(), Error> {
    let script = cloud_init::script(text)
        .map_err(|e| Error::Command { command: format!("cloud-init user-data of `{}`", m.container), stderr: e })?;
    docker(["exec", &m.container, "sh", "-c", &script])?;
    Ok(())
}

/// Applies changed limits to a running guest's container at once.
pub fn update(dir: &Path, machine: &str, limits: Limits) -> Result<(), Error> {
    let lab = LabState::load(&Paths::new(dir))?;
    let m = lab.machine(machine)?;
    if container_state(m)?.is_none() {
        return Ok(());
    }
    let mut args = vec!["update".to_string()];
    args.extend(limits.args());
    args.push(m.container.clone());
    docker(args).map(drop)
}

/// Stops a guest's container (a hard stop within 2 s, as a guest's `stop` is on the node).
pub fn stop(dir: &Path, machine: &str) -> Result<(), Error> {
    let lab = LabState::load(&Paths::new(dir))?;
    let m = lab.machine(machine)?;
    if container_state(m)? == Some(true) {
        docker(["stop", "--time", "2", &m.container])?;
    }
    Ok(())
}

/// Removes a destroyed guest's container and its Docker volume.
pub fn remove(dir: &Path, machine: &str) -> Result<(), Error> {
    let lab = LabState::load(&Paths::new(dir))?;
    let m = lab.machine(machine)?;
    if container_state(m)?.is_some() {
        docker(["rm", "--force", "--volumes", &m.container])?;
    }
    let volume = format!("{}-docker", m.container);
    let _ = process::output(std::process::Command::new("docker").args(["volume", "rm", "-f", &volume]));
    Ok(())
}

/// The node's snippets folder (its host's `/var/lib/vz/snippets`) in the lab in `dir`.
pub fn snippets_dir(dir: &Path, node: &str) -> std::path::PathBuf {
    Paths::new(dir).snippets(node)
}

#[cfg(test)]
mod tests {
    use super::{Limits, lab_cpus};

    #[test]
    fn cores_beyond_this_machine_get_every_cpu_it_has() {
        let here = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        assert_eq!(lab_cpus(1), 1);
        assert_eq!(lab_cpus(0), 1);
        assert_eq!(lab_cpus(4096), here);
        let args = Limits { memory_mib: 512, cores: Some(4096) }.args();
        assert_eq!(args, ["--memory", "512m", "--memory-swap", "512m", "--cpus", &here.to_string()]);
    }
}
