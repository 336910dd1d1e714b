//! MongoDB: SCRAM-SHA-256 login over OP_MSG, then `listCollections` on the database.

use std::net::SocketAddr;
use std::time::Duration;

use super::{Login, ProbeError};

/// Authenticates `login.user` against `auth_source` (the database holding the user, `admin`
/// for most) and lists the collection names of `login.database`, which needs read access.
pub async fn login(
    addr: SocketAddr,
    login: &Login,
    auth_source: &str,
    timeout: Duration,
) -> Result<Vec<String>, ProbeError> {
    let _ = (addr, login, auth_source, timeout);
    todo!()
}
