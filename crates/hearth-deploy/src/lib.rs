//! Deploy: plan, apply, roll back and list generations of rendered files on machines over SSH.
//!
//! Each machine keeps its generations under `/var/lib/hearth/generations/N/` (files, manifest,
//! scripts) with `/var/lib/hearth/current` pointing at the active one. An apply uploads a new
//! generation in one tar stream, activates it on the machine as a transient systemd unit behind
//! a rollback timer, and confirms it over a fresh SSH connection; unconfirmed, the machine
//! restores the previous generation on its own.

mod actions;
mod bundle;
mod deploy;
mod error;
mod event;
mod manifest;
mod plan;
mod progress;
mod redact;
mod remote;
mod report;
mod schedule;
mod script;
mod shell;
pub mod ssh;
mod target;
pub mod text;

pub use actions::Action;
pub use deploy::{ApplyOptions, MachineGenerations, RollbackTo, apply, generations, plan, rollback};
pub use error::DeployError;
pub use event::{Event, EventKind, Events, Quiet, Recorder};
pub use manifest::{Entry, Manifest, Origin};
pub use plan::{Change, DesiredFile, Drift, FileChange, MachinePlan, Plan};
pub use progress::{Progress, Style, summary};
pub use remote::{DriftKind, Generation};
pub use report::{MachineReport, Outcome, Report};
pub use script::ROOT;
pub use target::{Machine, SshOptions};
