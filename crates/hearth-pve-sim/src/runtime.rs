//! What happens outside the simulator when a guest starts, stops or is destroyed: the `Runtime`
//! trait. `NoRuntime` does nothing (the guest runs only in the simulator's state);
//! `CommandRuntime` runs an operator's command (`--on-start`) with the guest's settings in its
//! environment, which the lab uses to turn a started guest into a container.

use std::process::Command;

use crate::state::{Guest, Kind};

/// The settings of a guest a runtime needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestInfo {
    pub vmid: u32,
    pub kind: Kind,
    pub name: String,
    pub cores: Option<u32>,
    pub memory_mib: u64,
    pub ostype: Option<String>,
    /// The first interface's address with prefix (`10.0.0.5/24`), when static.
    pub address: Option<String>,
    pub gateway: Option<String>,
    /// The cloud-init user-data volume (`local:snippets/x.yaml`) of a VM.
    pub user_data: Option<String>,
    pub tags: Vec<String>,
}

impl GuestInfo {
    /// Reads the settings from a guest's config.
    pub fn of(guest: &Guest) -> GuestInfo {
        let net = match guest.kind {
            Kind::Lxc => guest.config.get("net0"),
            Kind::Qemu => guest.config.get("ipconfig0"),
        };
        let field = |key: &str| {
            net.and_then(|n| n.split(',').find_map(|p| p.strip_prefix(key)).map(str::to_string))
                .filter(|v| v.contains('.') || v.contains(':'))
        };
        GuestInfo {
            vmid: guest.vmid,
            kind: guest.kind,
            name: guest.name(),
            cores: guest.cores(),
            memory_mib: guest.memory_mib(),
            ostype: guest.config.get("ostype").cloned(),
            address: field("ip="),
            gateway: field("gw="),
            user_data: guest
                .config
                .get("cicustom")
                .and_then(|c| c.split(',').find_map(|p| p.strip_prefix("user=")).map(str::to_string)),
            tags: guest.tags(),
        }
    }
}

/// How a start went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// The guest runs (as a container, or nowhere for `NoRuntime`).
    Running,
    /// The guest exists and is reported running by the API, but its OS cannot run here (an
    /// appliance VM); the reason goes into the task log.
    SimulatedOnly(String),
}

/// The hook between the simulated node and whatever runs its guests.
pub trait Runtime: Send + Sync {
    /// Starts a guest; an error fails the start task with that text.
    fn start(&self, guest: &GuestInfo) -> Result<Started, String>;
    /// Stops a guest.
    fn stop(&self, guest: &GuestInfo) -> Result<(), String>;
    /// Removes whatever the runtime made for a guest.
    fn destroy(&self, guest: &GuestInfo) -> Result<(), String>;
}

/// Guests run only in the simulator's state.
#[derive(Debug, Default)]
pub struct NoRuntime;

impl Runtime for NoRuntime {
    fn start(&self, _: &GuestInfo) -> Result<Started, String> {
        Ok(Started::Running)
    }
    fn stop(&self, _: &GuestInfo) -> Result<(), String> {
        Ok(())
    }
    fn destroy(&self, _: &GuestInfo) -> Result<(), String> {
        Ok(())
    }
}

/// Runs `sh -c COMMAND` for each event with `HEARTH_PVE_EVENT` (`start`, `stop`, `destroy`) and
/// the guest's settings as `HEARTH_PVE_*` variables. A first stdout line `simulated-only: REASON`
/// on start reports the guest as not runnable here; a non-zero exit fails the task with the
/// command's last stderr line.
#[derive(Debug)]
pub struct CommandRuntime {
    pub command: String,
}

impl CommandRuntime {
    fn run(&self, event: &str, g: &GuestInfo) -> Result<String, String> {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let out = Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .env("HEARTH_PVE_EVENT", event)
            .env("HEARTH_PVE_VMID", g.vmid.to_string())
            .env("HEARTH_PVE_KIND", g.kind.word())
            .env("HEARTH_PVE_NAME", &g.name)
            .env("HEARTH_PVE_CORES", g.cores.map(|c| c.to_string()).unwrap_or_default())
            .env("HEARTH_PVE_MEMORY_MIB", g.memory_mib.to_string())
            .env("HEARTH_PVE_OSTYPE", opt(&g.ostype))
            .env("HEARTH_PVE_ADDRESS", opt(&g.address))
            .env("HEARTH_PVE_GATEWAY", opt(&g.gateway))
            .env("HEARTH_PVE_USER_DATA", opt(&g.user_data))
            .env("HEARTH_PVE_TAGS", g.tags.join(";"))
            .output()
            .map_err(|e| format!("cannot run the runtime command `{}`: {e}", self.command))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output");
            return Err(format!("runtime command failed on {event} ({}): {last}", out.status));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Runtime for CommandRuntime {
    fn start(&self, guest: &GuestInfo) -> Result<Started, String> {
        let out = self.run("start", guest)?;
        Ok(match out.lines().next().and_then(|l| l.strip_prefix("simulated-only:")) {
            Some(reason) => Started::SimulatedOnly(reason.trim().to_string()),
            None => Started::Running,
        })
    }
    fn stop(&self, guest: &GuestInfo) -> Result<(), String> {
        self.run("stop", guest).map(drop)
    }
    fn destroy(&self, guest: &GuestInfo) -> Result<(), String> {
        self.run("destroy", guest).map(drop)
    }
}
