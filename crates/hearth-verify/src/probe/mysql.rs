//! MariaDB/MySQL: log in with a user and password to a database (`mysql_native_password` and
//! `caching_sha2_password`) over plain TCP and run `select current_user(), database()`.

use std::net::SocketAddr;
use std::time::Duration;

use super::{Login, ProbeError};

/// What the server said the session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `current_user()`: the account matched, `user@host`.
    pub user: String,
    pub database: String,
    /// The server's version string from its greeting.
    pub server_version: String,
}

/// Logs in and asks the server who and where the session is.
pub async fn login(addr: SocketAddr, login: &Login, timeout: Duration) -> Result<Session, ProbeError> {
    let _ = (addr, login, timeout);
    todo!()
}
