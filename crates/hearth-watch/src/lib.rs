//! `hearth watch`: the homelab's own monitor. It runs the checks the model implies
//! (`hearth-facts`, through `hearth-verify`'s probes) on schedules, keeps their history in
//! SQLite, opens and closes incidents, alerts the spec's notification channels, and serves a
//! status page, `/api/status` and `/metrics`.
//!
//! Pure parts, tested with a fake clock: `track` (flap suppression, incidents, maintenance),
//! `schedule` (phases and cadence), `time`, `cert`, `page`, `metrics`. The rest runs on the
//! caller's tokio runtime: `daemon` (scheduler, bounded check tasks, recorder), `runner` (one
//! probe), `store` (SQLite), `alert` and `smtp` (channels), `server` (axum).

pub mod alert;
mod cert;
pub mod daemon;
pub mod metrics;
pub mod page;
pub mod runner;
pub mod schedule;
pub mod server;
mod smtp;
pub mod status;
pub mod store;
pub mod target;
pub mod time;
pub mod track;

pub use daemon::{Config, Handle, WatchError, start, test_alerts};
pub use target::{Kind, Probe, Target};
