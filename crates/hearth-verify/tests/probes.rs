//! The protocol probes against real servers, each started by its test on an ephemeral loopback
//! port in a temporary folder and killed at the end. A server binary that is missing skips the
//! test locally and fails it in CI (`HEARTH_REQUIRE_VALIDATORS=1`); `scripts/validators.d/`
//! installs them (`verify.sh` for this crate's own).

mod probes {
    mod alertmanager;
    pub mod common;
    mod dns;
    mod http;
    mod mysql;
    mod postgres;
    mod prometheus;
    mod redis;
    mod s3;
}
