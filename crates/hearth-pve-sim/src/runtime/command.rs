//! `CommandRuntime`: an operator's command run for each guest event.

use std::process::Command;

use super::{GuestInfo, Runtime, Started};

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
