//! What the API refuses an API token and Hearth therefore does as root on the node, over SSH:
//! a container's bind mounts (`mpN` with a host path; Proxmox allows them only to `root@pam`
//! logged in with its password, never to a token), set with `pct set`. The binary provides the
//! SSH shell; tests provide one that acts on the simulator's state as `pct` would.

use std::future::Future;
use std::pin::Pin;

pub type ShellFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Runs a command as root on a node.
pub trait NodeShell: Send + Sync {
    /// Runs `argv` (no shell interpretation) as root on `node`; the error is what to tell the
    /// operator.
    fn run<'a>(&'a self, node: &'a str, argv: &'a [String]) -> ShellFuture<'a>;
}

/// No way onto the node: every command fails, naming itself so the operator can run it.
#[derive(Debug, Default)]
pub struct NoShell;

impl NodeShell for NoShell {
    fn run<'a>(&'a self, node: &'a str, argv: &'a [String]) -> ShellFuture<'a> {
        let line = argv.join(" ");
        Box::pin(async move { Err(format!("no SSH to node `{node}`: run `{line}` on it as root")) })
    }
}

/// Whether `key=value` of a guest is a bind mount only root may set.
pub fn is_bind_mount(key: &str, value: &str) -> bool {
    key.strip_prefix("mp").is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        && value.starts_with('/')
}

/// `pct set VMID -KEY VALUE ... [-delete KEYS]`.
pub fn pct_set(vmid: u32, set: &[(String, String)], delete: &[String]) -> Vec<String> {
    let mut argv = vec!["pct".to_string(), "set".to_string(), vmid.to_string()];
    for (k, v) in set {
        argv.push(format!("-{k}"));
        argv.push(v.clone());
    }
    if !delete.is_empty() {
        argv.push("-delete".into());
        argv.push(delete.join(","));
    }
    argv
}
