//! `hearth lab down`: removes every container, network and volume carrying the lab's label, and
//! stops the proxies it started and the routes between its networks. Nothing without the label
//! is touched.

use std::path::Path;

use serde::Serialize;

use crate::error::Error;
use crate::process::docker;
use crate::state::{self, LABEL, LabState, Paths, ProxyState};
use crate::{proxy, routing};

/// What `down` removed, for the CLI to print.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DownReport {
    pub containers: usize,
    pub networks: usize,
    pub volumes: usize,
    pub proxies: usize,
    pub simulators: usize,
    /// Firewall rules that let the lab's networks reach each other.
    pub routes: usize,
}

/// Takes the lab whose state lives in `dir` down. Safe to run when nothing is up.
pub fn down(dir: &Path) -> Result<DownReport, Error> {
    let paths = Paths::new(dir);
    let report = teardown(dir)?;
    for path in [paths.state(), paths.ssh_config(), paths.known_hosts()] {
        if path.exists() {
            std::fs::remove_file(&path).map_err(Error::io(&path))?;
        }
    }
    Ok(report)
}

/// Removes everything the lab in `dir` created (by its label), and stops the proxies its state
/// records; a missing state only means there are no proxies to stop.
pub(crate) fn teardown(dir: &Path) -> Result<DownReport, Error> {
    let (proxies, simulators) = match LabState::load(&Paths::new(dir)) {
        Ok(s) => (s.proxies, s.simulators),
        Err(Error::NoLab(_)) => (Vec::new(), Vec::new()),
        Err(e) => return Err(e),
    };
    // First, so that no simulator's task makes a guest container after they are removed.
    for s in &simulators {
        crate::pve::stop(s)?;
    }
    let mut report = remove_labelled(&state::lab_id(dir), &proxies)?;
    report.simulators = simulators.len();
    Ok(report)
}

/// Removes what carries the label `hearth.lab=ID`, then stops the given proxies.
fn remove_labelled(id: &str, proxies: &[ProxyState]) -> Result<DownReport, Error> {
    let filter = format!("label={LABEL}={id}");
    let mut report = DownReport::default();
    let containers = ids(&docker(["ps", "-aq", "--filter", &filter])?);
    if !containers.is_empty() {
        docker(["rm", "-f", "-v"].iter().map(|s| s.to_string()).chain(containers.iter().cloned()))?;
    }
    report.containers = containers.len();
    let networks = ids(&docker(["network", "ls", "-q", "--filter", &filter])?);
    if !networks.is_empty() {
        docker(["network", "rm"].iter().map(|s| s.to_string()).chain(networks.iter().cloned()))?;
    }
    report.networks = networks.len();
    let volumes = ids(&docker(["volume", "ls", "-q", "--filter", &filter])?);
    if !volumes.is_empty() {
        docker(["volume", "rm", "-f"].iter().map(|s| s.to_string()).chain(volumes.iter().cloned()))?;
    }
    report.volumes = volumes.len();
    report.routes = routing::close(id)?;
    for p in proxies {
        proxy::stop(p)?;
    }
    report.proxies = proxies.len();
    Ok(report)
}

fn ids(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}
