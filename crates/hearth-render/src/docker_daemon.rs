//! The Docker daemon of each machine with a `docker:` block: `/etc/docker/daemon.json` (storage
//! driver, log driver and rotation) and a `hearth-docker-prune` timer.
//!
//! Choices, and why:
//! - `daemon.json` holds only what the spec sets; Docker's defaults stay Docker's. A change
//!   restarts `docker.service`, which is what makes the daemon read it (it restarts the
//!   containers too: a storage driver cannot change under running ones).
//! - Log sizes are written in bytes with Docker's `k`/`m`/`g` suffixes, which its `json-file` and
//!   `local` drivers read as powers of 1024, so `10MiB` stays exact.
//! - Pruning is `docker system prune --force` from a oneshot unit on a timer, like Hearth's other
//!   scheduled jobs, so `systemctl list-timers` shows it and a missed run catches up.
//! - NixOS guests get the same settings from the flake (`virtualisation.docker`), so these files
//!   are superseded there.

use hearth_model::docker::{Daemon, Prune};

use crate::systemd::{self, timer};
use crate::{Activation, Context, File, Kind, Output};

/// The prune unit's name (`.service` and `.timer`).
pub const PRUNE_UNIT: &str = "hearth-docker-prune";

pub fn render(cx: &Context, out: &mut Output) {
    for (machine, daemon) in &cx.model.docker {
        let source = if cx.model.guests.contains_key(machine) { "guest" } else { "host" };
        let source = format!("{source}/{machine}");
        if daemon.has_settings() {
            out.push(
                File::new(machine, "/etc/docker/daemon.json", Kind::DockerDaemon, daemon_json(daemon))
                    .activate(Activation::Restart { unit: "docker.service".into() })
                    .from(&source),
            );
        }
        if let Some(prune) = &daemon.prune {
            let service = format!(
                "# Rendered by Hearth.\n\
                 [Unit]\n\
                 Description=Remove unused Docker data\n\
                 Requires=docker.service\n\
                 After=docker.service\n\n\
                 [Service]\n\
                 Type=oneshot\n\
                 ExecStart={}\n",
                prune_command(prune).join(" ")
            );
            let timer = timer(&format!("{PRUNE_UNIT}.service"), &prune.every.on_calendar());
            for file in systemd::timed(machine, PRUNE_UNIT, service, timer) {
                out.push(file.from(&source));
            }
        }
    }
}

/// `daemon.json` with the settings the spec gives, keys sorted.
pub fn daemon_json(d: &Daemon) -> String {
    let mut m = serde_json::Map::new();
    if let Some(driver) = &d.storage_driver {
        m.insert("storage-driver".into(), driver.clone().into());
    }
    if let Some(driver) = &d.log_driver {
        m.insert("log-driver".into(), driver.clone().into());
    }
    let mut opts = serde_json::Map::new();
    if let Some(size) = d.log_max_size {
        opts.insert("max-size".into(), docker_bytes(size.bytes).into());
    }
    if let Some(files) = d.log_max_files {
        opts.insert("max-file".into(), files.to_string().into());
    }
    if !opts.is_empty() {
        m.insert("log-opts".into(), opts.into());
    }
    let mut text = serde_json::to_string_pretty(&serde_json::Value::Object(m)).unwrap_or_default();
    text.push('\n');
    text
}

/// The prune command line, absolute program first.
pub fn prune_command(p: &Prune) -> Vec<String> {
    let mut argv = vec!["/usr/bin/docker".to_string(), "system".into(), "prune".into(), "--force".into()];
    if p.all {
        argv.push("--all".into());
    }
    if p.volumes {
        argv.push("--volumes".into());
    }
    if let Some(age) = p.older_than {
        // Docker's `until` filter takes Go durations; hours are the largest unit it reads.
        argv.push(format!("--filter=until={}h", age.millis.div_ceil(3_600_000)));
    }
    argv
}

/// A byte count with the largest of Docker's binary suffixes that keeps it exact.
fn docker_bytes(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "g"), (1 << 20, "m"), (1 << 10, "k")];
    UNITS
        .iter()
        .find(|(size, _)| bytes > 0 && bytes.is_multiple_of(*size))
        .map_or_else(|| bytes.to_string(), |(size, unit)| format!("{}{unit}", bytes / size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(docker_bytes(10 << 20), "10m");
        assert_eq!(docker_bytes(10_000_000), "10000000");
        assert_eq!(docker_bytes(1 << 30), "1g");
    }
}
