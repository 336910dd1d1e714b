//! `DockerRuntime`: each started guest becomes a container, through the docker CLI as the lab
//! drives it: named `PREFIX<vmid>`, labelled, with the guest's hostname, `--cpus` from its cores
//! and `--memory` from its memory, on the Docker network whose subnet holds its address, at that
//! address. A guest whose OS cannot run as a container (Windows, an appliance) is reported as
//! simulated only.

use std::process::Command;

use ipnet::Ipv4Net;

use super::{GuestInfo, Runtime, Started};
use crate::state::Kind;

/// Guests as containers of one image.
#[derive(Debug, Clone)]
pub struct DockerRuntime {
    pub image: String,
    /// The network to attach; `None`: the one whose subnet holds the guest's address.
    pub network: Option<String>,
    /// `KEY=VALUE` put on every container; only containers carrying it are stopped or removed.
    pub label: String,
    /// Containers are named `PREFIX<vmid>`.
    pub prefix: String,
    /// Extra `docker run` arguments before the image (capabilities, tmpfs mounts, …).
    pub run_args: Vec<String>,
    /// The command after the image (empty: the image's own).
    pub command: Vec<String>,
}

/// Why a guest's OS cannot run as a container, if it cannot.
pub fn not_runnable(g: &GuestInfo) -> Option<String> {
    let ostype = g.ostype.as_deref().unwrap_or("");
    if g.kind == Kind::Qemu && ostype.starts_with("win") {
        return Some(format!("Windows (`ostype: {ostype}`) does not run as a container"));
    }
    if g.tags.iter().any(|t| t == "appliance") {
        return Some("an appliance's own OS image does not run as a container".into());
    }
    if g.kind == Kind::Qemu && ostype == "other" {
        return Some("an OS of type `other` does not run as a container".into());
    }
    None
}

fn docker(args: &[String]) -> Result<String, String> {
    let out = Command::new("docker").args(args).output().map_err(|e| format!("cannot run `docker`: {e}"))?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output");
    Err(format!("`docker {}` failed: {last}", args.first().map(String::as_str).unwrap_or("")))
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl DockerRuntime {
    fn name(&self, g: &GuestInfo) -> String {
        format!("{}{}", self.prefix, g.vmid)
    }

    /// The container's label value, when it exists (`None`: no such container).
    fn existing(&self, name: &str) -> Option<(String, bool)> {
        let (key, _) = self.label.split_once('=').unwrap_or((&self.label, ""));
        let format = format!("{{{{index .Config.Labels \"{key}\"}}}} {{{{.State.Running}}}}");
        let out = docker(&strings(&["inspect", "--format", &format, name])).ok()?;
        let (label, running) = out.rsplit_once(' ')?;
        Some((label.to_string(), running == "true"))
    }

    /// Whether an existing container is one of ours (carries our label's value).
    fn ours(&self, label: &str) -> bool {
        self.label.split_once('=').is_none_or(|(_, v)| v == label)
    }

    /// The Docker network whose IPv4 subnet holds `address`.
    fn network_for(&self, address: &str) -> Result<Option<String>, String> {
        if let Some(n) = &self.network {
            return Ok(Some(n.clone()));
        }
        let Ok(ip) = address.split('/').next().unwrap_or("").parse::<std::net::Ipv4Addr>() else {
            return Ok(None);
        };
        let ids = docker(&strings(&["network", "ls", "--quiet"]))?;
        for id in ids.lines().filter(|l| !l.is_empty()) {
            let out = docker(&strings(&[
                "network",
                "inspect",
                "--format",
                "{{.Name}} {{range .IPAM.Config}}{{.Subnet}} {{end}}",
                id,
            ]))?;
            let mut words = out.split_whitespace();
            let Some(name) = words.next() else { continue };
            if words.filter_map(|w| w.parse::<Ipv4Net>().ok()).any(|net| net.contains(&ip)) {
                return Ok(Some(name.to_string()));
            }
        }
        Err(format!("no Docker network holds {ip}: start the lab (or pass `--docker-network`) first"))
    }
}

impl Runtime for DockerRuntime {
    fn start(&self, g: &GuestInfo) -> Result<Started, String> {
        if let Some(reason) = not_runnable(g) {
            return Ok(Started::SimulatedOnly(reason));
        }
        let name = self.name(g);
        if let Some((label, running)) = self.existing(&name) {
            if !self.ours(&label) {
                return Err(format!("a container named `{name}` exists and is not the simulator's"));
            }
            if !running {
                docker(&strings(&["start", &name]))?;
            }
            return Ok(Started::Running);
        }
        let mut args = strings(&["run", "--detach", "--name", &name, "--hostname", &g.name, "--label", &self.label]);
        args.extend(strings(&["--memory", &format!("{}m", g.memory_mib)]));
        if let Some(cores) = g.cores {
            // Docker refuses more CPUs than the engine has; a guest sized for a bigger node
            // gets all of them.
            let here = std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX));
            args.extend(strings(&["--cpus", &cores.clamp(1, here).to_string()]));
        }
        if let Some(address) = &g.address
            && let Some(network) = self.network_for(address)?
        {
            args.extend(strings(&["--network", &network, "--ip", address.split('/').next().unwrap_or("")]));
        }
        args.extend(self.run_args.iter().cloned());
        args.push(self.image.clone());
        args.extend(self.command.iter().cloned());
        docker(&args)?;
        Ok(Started::Running)
    }

    /// Stops the container within 2 s (a guest's `stop` is a hard stop on the real node too;
    /// systemd as PID 1 ignores the SIGTERM `docker stop` sends first).
    fn stop(&self, g: &GuestInfo) -> Result<(), String> {
        let name = self.name(g);
        match self.existing(&name) {
            Some((label, true)) if self.ours(&label) => docker(&strings(&["stop", "--time", "2", &name])).map(drop),
            _ => Ok(()),
        }
    }

    fn destroy(&self, g: &GuestInfo) -> Result<(), String> {
        let name = self.name(g);
        match self.existing(&name) {
            Some((label, _)) if self.ours(&label) => docker(&strings(&["rm", "--force", &name])).map(drop),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guest(kind: Kind, ostype: &str, tags: &[&str]) -> GuestInfo {
        GuestInfo {
            vmid: 100,
            kind,
            name: "g".into(),
            cores: None,
            memory_mib: 512,
            ostype: Some(ostype.into()),
            address: None,
            gateway: None,
            user_data: None,
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn appliances_and_windows_are_simulated_only() {
        assert!(not_runnable(&guest(Kind::Qemu, "win11", &[])).is_some());
        assert!(not_runnable(&guest(Kind::Qemu, "l26", &["hearth", "appliance"])).is_some());
        assert!(not_runnable(&guest(Kind::Qemu, "other", &[])).is_some());
        assert!(not_runnable(&guest(Kind::Qemu, "l26", &["hearth"])).is_none());
        assert!(not_runnable(&guest(Kind::Lxc, "debian", &[])).is_none());
    }
}
