//! Protocol probes: small clients that log in to a service or ask it one question, each taking a
//! socket address on which the service answers (the caller sets up any SSH forward first, so the
//! address is normally on loopback) and a timeout that bounds the whole probe.
//!
//! Every probe is an `async fn` returning `Result<_, ProbeError>`. Error texts say what failed
//! (which user, which database, which answer) and never carry a password, key or signature:
//! credentials travel in [`Secret`], whose `Debug` prints nothing of the value.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use thiserror::Error;

pub mod alertmanager;
mod bson;
mod clock;
pub mod dns;
pub mod http;
pub mod mongo;
pub mod mysql;
pub mod postgres;
pub mod prometheus;
pub mod redis;
pub mod s3;
mod scram;
pub mod tls;
mod web;

/// Why a probe did not get the answer it needed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProbeError {
    /// The connection could not be made, or broke before the answer came.
    #[error("cannot connect to {addr}: {reason}")]
    Connect { addr: SocketAddr, reason: String },
    /// No answer within the probe's timeout.
    #[error("no answer from {addr} within {}s", after.as_secs_f64())]
    Timeout { addr: SocketAddr, after: Duration },
    /// The credentials were refused (wrong password, unknown user, bad signature).
    #[error("login as `{user}` refused: {reason}")]
    Auth { user: String, reason: String },
    /// The login worked but the database (or bucket) it names does not exist.
    #[error("`{name}` does not exist: {reason}")]
    Missing { name: String, reason: String },
    /// The server's access rules refuse this client before any password is checked (pg_hba,
    /// MariaDB's host table, an S3 policy, a Redis ACL without the command).
    #[error("access for `{user}` denied by the server's rules: {reason}")]
    Denied { user: String, reason: String },
    /// TLS could not be set up at all (the handshake failed for a reason other than the chain).
    #[error("TLS: {0}")]
    Tls(String),
    /// The service answered something the probe does not understand or did not expect.
    #[error("{0}")]
    Protocol(String),
}

/// A credential (password, secret key). `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the protocol code that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_string())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// A database login: user, password and the database to open (PostgreSQL, MariaDB/MySQL,
/// MongoDB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    pub password: Secret,
    pub database: String,
}

/// Runs `fut` with the probe's timeout; on expiry the error names the address and the time.
pub(crate) async fn within<T>(
    addr: SocketAddr,
    timeout: Duration,
    fut: impl std::future::Future<Output = Result<T, ProbeError>>,
) -> Result<T, ProbeError> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(result) => result,
        Err(_) => Err(ProbeError::Timeout { addr, after: timeout }),
    }
}

/// A server's message as a reason: trimmed, without a closing period (user messages end
/// without one).
pub(crate) fn tidy(text: &str) -> String {
    text.trim().trim_end_matches('.').trim_end().to_string()
}

/// Opens a TCP connection, turning the failure into [`ProbeError::Connect`].
pub(crate) async fn connect(addr: SocketAddr) -> Result<tokio::net::TcpStream, ProbeError> {
    tokio::net::TcpStream::connect(addr).await.map_err(|e| ProbeError::Connect { addr, reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_a_credential() {
        let login = Login { user: "app".into(), password: Secret::new("pw-canary"), database: "appdb".into() };
        let shown = format!("{login:?}");
        assert!(shown.contains("app") && !shown.contains("pw-canary"), "{shown}");
        assert_eq!(login.password.expose(), "pw-canary");
    }

    #[test]
    fn server_messages_lose_their_closing_period() {
        assert_eq!(tidy(" Authentication failed. "), "Authentication failed");
        assert_eq!(tidy("DB index is out of range"), "DB index is out of range");
    }
}
