//! The simulator served in-process on `127.0.0.1:0` and driven over HTTP: refusals of every kind
//! of invalid request with the real error shape (snapshotted), a guest's life from template
//! download to destruction, and injected faults.

mod binary;
mod common;
mod docker;
mod examples;
mod faults;
mod lifecycle;
mod refusals;
mod robustness;
mod runtime;
mod tls;
