//! The HTTP plumbing the HTTP-speaking probes share: a reqwest client that never uses a proxy or
//! follows a redirect, and errors turned into probe errors.

use std::net::SocketAddr;
use std::time::Duration;

use super::{ProbeError, tls};

/// A client for plain HTTP to one address (reqwest still wants a TLS configuration).
pub(crate) fn plain(timeout: Duration) -> Result<reqwest::Client, ProbeError> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls::verifying(None)?)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
        .map_err(|e| ProbeError::Protocol(format!("cannot set up the HTTP client: {e}")))
}

/// A request error as a probe error: timeouts and connection failures by name.
pub(crate) fn failed(addr: SocketAddr, timeout: Duration, error: reqwest::Error) -> ProbeError {
    if error.is_timeout() {
        ProbeError::Timeout { addr, after: timeout }
    } else if error.is_connect() {
        ProbeError::Connect { addr, reason: chain(&error) }
    } else {
        ProbeError::Protocol(chain(&error))
    }
}

/// An error with its sources, since reqwest's own text is often only "error sending request".
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

/// Reads a JSON body of a 2xx answer.
pub(crate) async fn json(
    addr: SocketAddr,
    timeout: Duration,
    what: &str,
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<serde_json::Value, ProbeError> {
    let response = response.map_err(|e| failed(addr, timeout, e))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| failed(addr, timeout, e))?;
    if !status.is_success() {
        let excerpt: String = body.chars().take(200).collect();
        return Err(ProbeError::Protocol(format!("{what} answered {status}: {excerpt}")));
    }
    serde_json::from_str(&body)
        .map_err(|e| ProbeError::Protocol(format!("{what} answered JSON that does not parse: {e}")))
}
