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
    /// The leaf certificate the server presented (DER), over HTTPS.
    pub leaf: Option<Vec<u8>>,
}

/// Sends `GET` for the request to `addr`.
pub async fn get(addr: SocketAddr, request: &Request, timeout: Duration) -> Result<Response, ProbeError> {
    within(addr, timeout, async { Prober::new(addr, request, timeout)?.get(addr, request).await }).await
}

/// The clients of one request, built once and used for every check of it (the watcher calls
/// the same request every few seconds; building a client and its TLS configuration is most of
/// a probe's cost). No connection is kept between calls: each `get` opens its own, so a check
/// sees a server that stopped accepting. Plain HTTP needs no per-host client: one
/// `Prober::plain` serves every plain request, whatever its address.
#[derive(Debug, Clone)]
pub struct Prober {
    verifying: reqwest::Client,
    timeout: Duration,
}

impl Prober {
    /// The clients for `request` to `addr` (over HTTPS the name resolves to `addr` alone).
    pub fn new(addr: SocketAddr, request: &Request, timeout: Duration) -> Result<Prober, ProbeError> {
        if !request.https {
            return Prober::plain(timeout);
        }
        let verifying = client(tls::verifying(request.ca_pem.as_deref())?, Some((request, addr)), timeout)?;
        Ok(Prober { verifying, timeout })
    }

    /// A prober for plain HTTP requests to any address.
    pub fn plain(timeout: Duration) -> Result<Prober, ProbeError> {
        Ok(Prober { verifying: client(tls::verifying(None)?, None, timeout)?, timeout })
    }

    /// Sends `GET` for `request` to `addr`, which must be the address the prober was built for
    /// when the request is HTTPS.
    pub async fn get(&self, addr: SocketAddr, request: &Request) -> Result<Response, ProbeError> {
        let timeout = self.timeout;
        within(addr, timeout, async {
            if !request.path.starts_with('/') {
                return Err(ProbeError::Protocol(format!("the path `{}` does not start with `/`", request.path)));
            }
            if !request.https {
                let (status, _) = send(&self.verifying, addr, request, timeout).await?;
                return Ok(Response { status, chain: Chain::None, leaf: None });
            }
            match send(&self.verifying, addr, request, timeout).await {
                Ok((status, leaf)) => Ok(Response { status, chain: Chain::Verified, leaf }),
                Err(Failure::Certificate(reason)) => {
                    let accepting = client(tls::accepting_any()?, Some((request, addr)), timeout)?;
                    let (status, leaf) = send(&accepting, addr, request, timeout).await?;
                    Ok(Response { status, chain: Chain::Invalid(reason), leaf })
                }
                Err(Failure::Other(e)) => Err(e),
            }
        })
        .await
    }
}

/// A client that never follows a redirect nor keeps a connection; over HTTPS the request's
/// name resolves to `addr` alone.
fn client(
    config: rustls::ClientConfig,
    https: Option<(&Request, SocketAddr)>,
    timeout: Duration,
) -> Result<reqwest::Client, ProbeError> {
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .tls_info(true)
        .no_proxy()
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout);
    if let Some((request, addr)) = https {
        let host = request.host.trim_end_matches('.');
        if host.parse::<std::net::IpAddr>().is_err() {
            builder = builder.resolve(host, addr);
        }
    }
    builder.build().map_err(|e| ProbeError::Protocol(format!("cannot set up the HTTP client: {e}")))
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
    client: &reqwest::Client,
    addr: SocketAddr,
    request: &Request,
    timeout: Duration,
) -> Result<(u16, Option<Vec<u8>>), Failure> {
    let host = request.host.trim_end_matches('.');
    // Over HTTPS the URL names the host (SNI), which the client resolves to the address alone;
    // an address in `host`, or plain HTTP, names the probe's address in the URL (no SNI, the
    // chain checked for that address) and only the `Host` header carries the one asked for.
    let url = if request.https && host.parse::<std::net::IpAddr>().is_err() {
        format!("https://{host}:{}{}", addr.port(), request.path)
    } else {
        format!("{}://{addr}{}", if request.https { "https" } else { "http" }, request.path)
    };
    match client.get(url).header(reqwest::header::HOST, host).send().await {
        Ok(response) => {
            let leaf = response
                .extensions()
                .get::<reqwest::tls::TlsInfo>()
                .and_then(|info| info.peer_certificate())
                .map(<[u8]>::to_vec);
            Ok((response.status().as_u16(), leaf))
        }
        Err(e) => match certificate_error(&e) {
            Some(reason) => Err(Failure::Certificate(reason)),
            None if e.is_connect() && request.https && !tcp_failure(&e) => Err(Failure::Other(ProbeError::Tls(
                format!("handshake with {addr} as `{host}` failed: {}", web::chain(&e)),
            ))),
            None => Err(Failure::Other(web::failed(addr, timeout, e))),
        },
    }
}

/// Whether a connect error is the TCP connection's own (refused, unreachable: an OS error)
/// rather than the TLS handshake's.
fn tcp_failure(error: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>().is_some_and(|io| io.raw_os_error().is_some()) {
            return true;
        }
        source = s.source();
    }
    false
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
