//! HTTP(S): one request to an address with a given `Host` (and SNI), trusting an internal CA or
//! the webpki roots, returning the status and whether the certificate chain verified.
//!
//! The URL names the host (so SNI and `Host` are the route's name) with the address's port, and
//! the client resolves that name to the address alone; the `Host` header is set explicitly so a
//! non-default port does not appear in it. A chain that does not verify is reported with the
//! status read over a second connection that accepts any chain, so the check can say both
//! "the route answers 200" and "its certificate is not trusted".

use std::net::SocketAddr;
use std::time::Duration;

use super::{ProbeError, tls, web, within};

/// What to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `https` or `http`.
    pub https: bool,
    /// The name in `Host` and SNI (a route's hostname).
    pub host: String,
    /// Path and query, starting with `/`.
    pub path: String,
    /// PEM of a CA to trust instead of the webpki roots (the homelab's internal CA).
    pub ca_pem: Option<String>,
}

/// How the certificate chain fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chain {
    /// Plain HTTP: no chain.
    None,
    /// The chain verified for the host against the trusted roots.
    Verified,
    /// The chain did not verify (reason given); the status was fetched without verification.
    Invalid(String),
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status of the first answer (redirects are not followed).
    pub status: u16,
    pub chain: Chain,
}

/// Sends `GET` for the request to `addr`.
pub async fn get(addr: SocketAddr, request: &Request, timeout: Duration) -> Result<Response, ProbeError> {
    within(addr, timeout, run(addr, request, timeout)).await
}

async fn run(addr: SocketAddr, request: &Request, timeout: Duration) -> Result<Response, ProbeError> {
    if !request.path.starts_with('/') {
        return Err(ProbeError::Protocol(format!("the path `{}` does not start with `/`", request.path)));
    }
    if !request.https {
        let status = send(addr, request, tls::verifying(None)?, timeout).await?;
        return Ok(Response { status, chain: Chain::None });
    }
    match send(addr, request, tls::verifying(request.ca_pem.as_deref())?, timeout).await {
        Ok(status) => Ok(Response { status, chain: Chain::Verified }),
        Err(Failure::Certificate(reason)) => {
            let status = send(addr, request, tls::accepting_any()?, timeout).await?;
            Ok(Response { status, chain: Chain::Invalid(reason) })
        }
        Err(Failure::Other(e)) => Err(e),
    }
}

enum Failure {
    Certificate(String),
    Other(ProbeError),
}

impl From<ProbeError> for Failure {
    fn from(e: ProbeError) -> Self {
        Failure::Other(e)
    }
}

impl From<Failure> for ProbeError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Certificate(reason) => ProbeError::Tls(reason),
            Failure::Other(e) => e,
        }
    }
}

async fn send(
    addr: SocketAddr,
    request: &Request,
    config: rustls::ClientConfig,
    timeout: Duration,
) -> Result<u16, Failure> {
    let scheme = if request.https { "https" } else { "http" };
    let host = request.host.trim_end_matches('.');
    let builder = reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout);
    // A name is resolved to the address alone; an address in `host` cannot be redirected that
    // way, so the URL names the probe's address (no SNI, the chain checked for that address)
    // and only the `Host` header carries the one asked for.
    let (builder, url) = if host.parse::<std::net::IpAddr>().is_ok() {
        (builder, format!("{scheme}://{addr}{}", request.path))
    } else {
        (builder.resolve(host, addr), format!("{scheme}://{host}:{}{}", addr.port(), request.path))
    };
    let client = builder.build().map_err(|e| ProbeError::Protocol(format!("cannot set up the HTTP client: {e}")))?;
    match client.get(url).header(reqwest::header::HOST, host).send().await {
        Ok(response) => Ok(response.status().as_u16()),
        Err(e) => match certificate_error(&e) {
            Some(reason) => Err(Failure::Certificate(reason)),
            None if e.is_connect() && request.https => Err(Failure::Other(ProbeError::Tls(format!(
                "handshake with {addr} as `{host}` failed: {}",
                web::chain(&e)
            )))),
            None => Err(Failure::Other(web::failed(addr, timeout, e))),
        },
    }
}

/// The certificate problem behind a request error, if that is what it was. tokio-rustls wraps
/// rustls's error in an `io::Error`, which hyper wraps in another; `io::Error::source` skips
/// the wrapped error, so each one is opened with `get_ref`.
fn certificate_error(error: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(s) = source {
        let mut inner: &(dyn std::error::Error + 'static) = s;
        loop {
            if let Some(rustls::Error::InvalidCertificate(c)) = inner.downcast_ref::<rustls::Error>() {
                return Some(format!("the certificate is invalid: {c:?}"));
            }
            match inner.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
                Some(wrapped) => inner = wrapped,
                None => break,
            }
        }
        source = s.source();
    }
    None
}
