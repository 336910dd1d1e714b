//! `hearth verify`: runs the checks derived from the model (`hearth-facts`) against the running
//! homelab and reports each one as passed, failed or skipped, with the spec line it comes from.
//!
//! `run` opens one SSH connection per machine a check must run from (machines in parallel,
//! bounded), runs commands there (`remote`) or forwards a loopback port through it to the address
//! a probe must reach (`check`), so every connection leaves from the machine whose address
//! matters. `probe` holds the protocol clients; `report` prints the outcome grouped by machine.

mod check;
pub mod probe;
mod remote;
pub mod report;
mod run;

pub use check::check_fact;
pub use report::{Outcome, Report, Status};
pub use run::{Options, Secrets, Target, verify};
