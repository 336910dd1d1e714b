//! Redis: `AUTH` (password alone, or ACL user and password), `SELECT` of a DB and `PING`, in
//! hand-written RESP.

use std::net::SocketAddr;
use std::time::Duration;

use super::{ProbeError, Secret};

/// How to log in and which DB to select.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Auth {
    /// ACL user; `None` sends `AUTH password` (the `default` user).
    pub user: Option<String>,
    /// `None` sends no `AUTH` at all.
    pub password: Option<Secret>,
    pub db: u32,
}

/// Logs in, selects the DB and checks that `PING` answers `PONG`.
pub async fn ping(addr: SocketAddr, auth: &Auth, timeout: Duration) -> Result<(), ProbeError> {
    let _ = (addr, auth, timeout);
    todo!()
}
