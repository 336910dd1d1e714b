//! The lab's errors, each worded for the operator who ran a `hearth lab` command.

use std::path::PathBuf;

use crate::readdress::ReaddressError;

/// Everything that can go wrong bringing a lab up, using it or taking it down.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("`{program}` is not installed: {hint}")]
    Missing { program: String, hint: String },
    #[error("cannot run `{program}`: {source}")]
    Spawn { program: String, source: std::io::Error },
    #[error("`{command}` failed: {stderr}")]
    Command { command: String, stderr: String },
    #[error("cannot access `{path}`: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the spec cannot be re-addressed for the lab: {0}")]
    Readdress(#[from] ReaddressError),
    #[error("`{}` cannot be re-addressed for the lab: {source}", path.display())]
    ReaddressFile { path: PathBuf, source: ReaddressError },
    /// The spec, or its re-addressed copy, does not resolve; `diagnostics` says why.
    #[error("the lab's copy of the spec has {} error(s); run `hearth check` on the spec first", diagnostics.len())]
    Spec { diagnostics: Vec<hearth_spec::Diagnostic> },
    #[error("{}:{line}: {message}", path.display())]
    Lock { path: PathBuf, line: usize, message: String },
    #[error("no lab is up here (`{0}` does not exist): run `hearth lab up`")]
    NoLab(PathBuf),
    #[error("the lab state `{path}` cannot be read: {message}")]
    State { path: PathBuf, message: String },
    #[error("machine `{machine}` is not in the lab; it has {known}")]
    UnknownMachine { machine: String, known: String },
    #[error("machine `{machine}` is on network `{network}`, which the spec does not define")]
    UnknownNetwork { machine: String, network: String },
    #[error("machine `{machine}` has the address `{address}`, which is its network's gateway in the lab")]
    GatewayAddress { machine: String, address: String },
    #[error("no free address is left in `{subnet}` for machine `{machine}`")]
    NoFreeAddress { machine: String, subnet: String },
    #[error(
        "`fs.inotify.max_user_instances` is {limit} and {used} are in use, but {machines} lab machines need about {needed} more: raise it with `sysctl -w fs.inotify.max_user_instances=8192` (`scripts/lab-deps.sh` does)"
    )]
    InotifyLimit { limit: usize, used: usize, machines: usize, needed: usize },
    #[error("machine `{machine}` did not become ready: {reason}")]
    NotReady { machine: String, reason: String },
    #[error("image `{image}` is not on this machine's Docker engine, so it cannot be loaded into `{machine}`")]
    NoSuchImage { image: String, machine: String },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}
