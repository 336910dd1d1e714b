//! What happens outside the simulator when a guest starts, stops or is destroyed: the `Runtime`
//! trait. `NoRuntime` does nothing (the guest runs only in the simulator's state);
//! `CommandRuntime` runs an operator's command (`--on-start`) with the guest's settings in its
//! environment; `DockerRuntime` makes each started guest a container on the Docker network that
//! holds its address.

mod command;
mod docker;

pub use command::CommandRuntime;
pub use docker::{DockerRuntime, not_runnable};

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
    /// Applies a running guest's changed limits at once (memory, cores), as the real node does
    /// for a container's cgroup; the default does nothing.
    fn update(&self, guest: &GuestInfo) -> Result<(), String> {
        let _ = guest;
        Ok(())
    }
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
