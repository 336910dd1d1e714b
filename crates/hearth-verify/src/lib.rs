//! `hearth verify`: runs the checks derived from the model against the running homelab and
//! reports each one as passed, failed or skipped, with the spec line it comes from.
//!
//! `probe` holds the protocol clients (each takes a loopback address that reaches the service,
//! directly or through an SSH forward from the machine whose source address matters).

pub mod probe;
