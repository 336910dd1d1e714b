//! The client's errors. Each says what failed in the operator's words (the guest, the call, the
//! node's own message) and, where there is one, how to fix it. None carries the token's secret.

use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the API token is not `USER@REALM!TOKENID=SECRET`: {0}")]
    Token(String),
    #[error("cannot reach the Proxmox API at `{url}`: {reason}")]
    Connect { url: String, reason: String },
    #[error("the Proxmox API at `{url}` did not answer within {secs} s")]
    Timeout { url: String, secs: u64 },
    #[error("the answer of the Proxmox API at `{url}` was cut off: {reason}")]
    Transport { url: String, reason: String },
    #[error(
        "refusing to send the API token over plain HTTP to `{url}`; use `https://` (plain HTTP is allowed to loopback only)"
    )]
    PlainHttp { url: String },
    #[error("TLS setup for `{url}`: {reason}")]
    Tls { url: String, reason: String },
    #[error(
        "the certificate of node `{node}` ({url}) is not trusted yet (SHA-256 `{fingerprint}`); check it against `pvenode cert info` on the node, then pin it with `--proxmox-pin`, or give the CA with `--proxmox-ca FILE`"
    )]
    Untrusted { node: String, url: String, fingerprint: String },
    #[error(
        "the certificate of node `{node}` ({url}) is not the pinned one: pinned `{pinned}`, presented `{presented}`; if the node's certificate was renewed, delete `{file}` and pin again with `--proxmox-pin`"
    )]
    PinMismatch { node: String, url: String, pinned: String, presented: String, file: String },
    #[error("cannot read or write the pinned fingerprint `{file}`: {reason}")]
    PinFile { file: String, reason: String },
    #[error(
        "the API token was refused by node `{node}` (HTTP 401); check the token's name and secret and that it is not expired"
    )]
    Auth { node: String },
    #[error("{method} {path} failed with HTTP {status}: {message}{}", details(errors))]
    Api { method: String, path: String, status: u16, message: String, errors: BTreeMap<String, String> },
    #[error("task `{upid}` failed: {exitstatus}{}", log_tail(log))]
    Task { upid: String, exitstatus: String, log: Vec<String> },
    #[error("task `{upid}` was still running after {secs} s")]
    TaskTimeout { upid: String, secs: u64 },
    #[error("unexpected answer to {what}: {reason}")]
    Protocol { what: String, reason: String },
    #[error("setting what only root may set (`pct set`) on the node failed: {0}")]
    Shell(String),
    #[error("the snapshot before changes failed, so the guest was not changed: {reason}")]
    Snapshot { reason: String },
    #[error("cannot fetch `{volume}` onto the node: {reason}")]
    Fetch { volume: String, reason: String },
    #[error("guest `{guest}` ({vmid}): {source}")]
    Guest {
        guest: String,
        vmid: u32,
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// Whether trying again may succeed: the node was busy (a lock held by another task, its
    /// proxy timing out, a 5xx), as opposed to a request it refuses whatever the timing.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Connect { .. } | Error::Timeout { .. } | Error::Transport { .. } => true,
            Error::Api { status, message, .. } => *status >= 500 || is_lock_message(message),
            Error::Task { exitstatus, .. } => is_lock_message(exitstatus),
            Error::Guest { source, .. } => source.is_transient(),
            _ => false,
        }
    }

    /// Whether the request may have reached the node: a POST that timed out may have created
    /// something, so it is not simply sent again.
    pub fn reached_node(&self) -> bool {
        !matches!(self, Error::Connect { .. })
    }

    /// This error, as the failure of guest `guest`.
    pub fn for_guest(self, guest: &str, vmid: u32) -> Error {
        match self {
            e @ Error::Guest { .. } => e,
            e => Error::Guest { guest: guest.to_string(), vmid, source: Box::new(e) },
        }
    }
}

/// Proxmox's words for a lock it could not take in time (`can't lock file
/// '/run/lock/lxc/pve-config-101.conf' - got timeout`), or a guest locked by another task.
pub fn is_lock_message(message: &str) -> bool {
    message.contains("got timeout") || message.contains("can't lock file") || message.contains("is locked")
}

fn details(errors: &BTreeMap<String, String>) -> String {
    errors.iter().map(|(k, v)| format!("; `{k}`: {}", v.trim_end())).collect()
}

fn log_tail(log: &[String]) -> String {
    if log.is_empty() { String::new() } else { format!(" (task log: {})", log.join(" | ")) }
}
