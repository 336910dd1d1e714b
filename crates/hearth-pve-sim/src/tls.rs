//! HTTPS, as the real node serves its API on port 8006: the operator's PEM certificate chain
//! and key (a self-signed one made with `openssl req -x509`, like a fresh node's), rustls on
//! ring, one HTTP/1.1 connection per TLS session. The certificate's SHA-256 fingerprint, in the
//! `AA:BB:…` form `pvenode cert info` shows, is what a client pins.

use std::path::Path;
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::sim::Sim;

/// Why the certificate or key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the certificate `{path}`: {reason}")]
    Cert { path: String, reason: String },
    #[error("cannot read the private key `{path}`: {reason}")]
    Key { path: String, reason: String },
    #[error("the certificate `{path}` holds no certificate")]
    Empty { path: String },
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Config(String),
}

/// A loaded server identity.
pub struct Identity {
    pub config: Arc<rustls::ServerConfig>,
    /// SHA-256 of the leaf certificate, `AA:BB:…`.
    pub fingerprint: String,
}

/// The SHA-256 fingerprint of a DER certificate, upper-case hex pairs joined by colons.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// Loads a PEM certificate chain and private key.
pub fn load(cert: &Path, key: &Path) -> Result<Identity, TlsError> {
    let cert_path = cert.display().to_string();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| TlsError::Cert { path: cert_path.clone(), reason: e.to_string() })?
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Cert { path: cert_path.clone(), reason: e.to_string() })?;
    let leaf = chain.first().ok_or(TlsError::Empty { path: cert_path })?;
    let fingerprint = fingerprint(leaf.as_ref());
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| TlsError::Key { path: key.display().to_string(), reason: e.to_string() })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    Ok(Identity { config: Arc::new(config), fingerprint })
}

/// Serves the simulator over TLS until accepting fails. A connection whose handshake fails is
/// dropped without affecting the others.
pub async fn serve(listener: TcpListener, sim: Arc<Sim>, config: Arc<rustls::ServerConfig>) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(config);
    let app = crate::server::router(sim);
    loop {
        let (tcp, _) = listener.accept().await?;
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else { return };
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
