//! Prometheus's HTTP API: the scrape targets (`/api/v1/targets`) and whether a selector has
//! series (`/api/v1/series`).

use std::net::SocketAddr;
use std::time::Duration;

use super::ProbeError;

/// A target's health as Prometheus reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Up,
    Down,
    Unknown,
}

/// One active scrape target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The `job` label.
    pub job: String,
    /// The `instance` label.
    pub instance: String,
    pub scrape_url: String,
    pub health: Health,
    /// Empty when the last scrape worked.
    pub last_error: String,
}

/// The active targets, in Prometheus's order.
pub async fn targets(addr: SocketAddr, timeout: Duration) -> Result<Vec<Target>, ProbeError> {
    let _ = (addr, timeout);
    todo!()
}

/// Whether `selector` (a series selector such as `up{job="node"}`) matches any series in the
/// server's head (the last few hours).
pub async fn has_series(addr: SocketAddr, selector: &str, timeout: Duration) -> Result<bool, ProbeError> {
    let _ = (addr, selector, timeout);
    todo!()
}
