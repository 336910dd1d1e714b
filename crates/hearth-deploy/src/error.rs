//! The errors deploy reports, worded for the operator.

use thiserror::Error;

/// Everything that can go wrong while planning, applying or rolling back. Messages name the
/// machine and say what to do; remote output in them has secret values replaced by `***`.
#[derive(Debug, Error)]
pub enum DeployError {
    #[error("cannot connect to `{machine}`: {reason}")]
    Connect { machine: String, reason: String },
    #[error("command on `{machine}` failed: {reason}")]
    Remote { machine: String, reason: String },
    #[error("`{machine}` answered something Hearth cannot read: {reason}")]
    Protocol { machine: String, reason: String },
    #[error("`{machine}` is `managed: false`: Hearth never contacts it")]
    Unmanaged { machine: String },
    #[error("path `{path}` on `{machine}` must be absolute and free of newlines and tabs")]
    BadPath { machine: String, path: String },
    #[error("`{machine}` has no generation `{generation}`")]
    NoSuchGeneration { machine: String, generation: u64 },
    #[error("`{machine}` has no earlier generation to roll back to")]
    NothingToRollBack { machine: String },
    #[error("ordering edges form a cycle through `{machine}`")]
    OrderingCycle { machine: String },
    #[error("cannot prepare the upload for `{machine}`: {reason}")]
    Bundle { machine: String, reason: String },
    #[error("cannot set up Hearth's SSH control folder `{path}`: {reason}")]
    ControlDir { path: String, reason: String },
}
