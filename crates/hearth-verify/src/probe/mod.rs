//! Protocol probes: small clients that log in to a service or ask it one question, each taking a
//! socket address on which the service answers (the caller sets up any SSH forward first).

use thiserror::Error;

/// Why a probe did not get the answer it needed.
#[derive(Debug, Error)]
pub enum ProbeError {
    /// The connection could not be made or broke.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The service answered, but not what the check needs (wrong password, missing database…).
    #[error("{0}")]
    Refused(String),
    /// No answer in time.
    #[error("no answer within {0:?}")]
    Timeout(std::time::Duration),
}
