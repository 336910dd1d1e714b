//! What the API refuses an API token and Hearth therefore does as root on the node, over SSH,
//! with `pct set`: the container settings pve-container's `check_ct_modify_config_perm` allows
//! only to `root@pam` logged in with its password, never to a token, whatever its roles: bind
//! and device mount points (`mpN` with a host path), device passthrough (`devN`), hook scripts,
//! and feature flags other than `nesting` (any flag on a privileged container); and the host's
//! ZFS datasets, which no API call makes (`zfs get`, `zfs create`, `zfs set`). The binary
//! provides the SSH shell; tests provide one that acts on the simulator's state as `pct` would.

use std::future::Future;
use std::pin::Pin;

pub type ShellFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// A command's standard output, or what to tell the operator.
pub type OutputFuture<'a> = Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;

/// Runs a command as root on a node.
pub trait NodeShell: Send + Sync {
    /// Runs `argv` (no shell interpretation) as root on `node`; the error is what to tell the
    /// operator.
    fn run<'a>(&'a self, node: &'a str, argv: &'a [String]) -> ShellFuture<'a>;

    /// Runs `argv` as root on `node` and answers what it printed (reading the node's ZFS
    /// datasets). A shell that cannot read says so, and what it would have read is not planned.
    fn output<'a>(&'a self, node: &'a str, argv: &'a [String]) -> OutputFuture<'a> {
        let line = argv.join(" ");
        Box::pin(async move { Err(format!("cannot read `{line}` on node `{node}` through this shell")) })
    }
}

/// No way onto the node: every command fails, naming itself so the operator can run it.
#[derive(Debug, Default)]
pub struct NoShell;

impl NodeShell for NoShell {
    fn run<'a>(&'a self, node: &'a str, argv: &'a [String]) -> ShellFuture<'a> {
        let line = argv.join(" ");
        Box::pin(async move { Err(format!("no SSH to node `{node}`: run `{line}` on it as root")) })
    }

    fn output<'a>(&'a self, node: &'a str, _argv: &'a [String]) -> OutputFuture<'a> {
        Box::pin(async move { Err(format!("no SSH to node `{node}`")) })
    }
}

/// Whether setting (or removing) `key=value` on a container takes `root@pam` itself.
pub fn root_only(key: &str, value: &str, unprivileged: bool) -> bool {
    let numbered =
        |family: &str| key.strip_prefix(family).is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    let volume = value.split(',').find(|p| !p.contains('=')).unwrap_or("");
    (numbered("mp") && volume.starts_with('/'))
        || numbered("dev")
        || key == "hookscript"
        || (key == "features"
            && (!unprivileged || value.split(',').filter(|p| !p.is_empty()).any(|p| !p.starts_with("nesting="))))
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
