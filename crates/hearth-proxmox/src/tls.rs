//! How the client trusts a node's certificate. A Proxmox node signs its own certificate, so the
//! system roots are never used: either the operator gives the CA that signed it (`Trust::Ca`), or
//! the certificate's SHA-256 fingerprint is pinned in a file beside the spec's state
//! (`.hearth/proxmox/NODE.fingerprint`). A node without a pinned fingerprint is refused, naming
//! the fingerprint it presented, unless the operator passed the explicit flag that pins it on
//! this first contact. Plain HTTP is for the simulator on loopback only.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest as _, Sha256};

use crate::Error;

/// What the client trusts for one node.
#[derive(Debug, Clone)]
pub enum Trust {
    /// A PEM file with the CA that signed the node's certificate.
    Ca(PathBuf),
    /// The fingerprint pinned in `file`; when there is none yet and `pin_new` is set, the one
    /// the node presents now is written there.
    Pinned { file: PathBuf, pin_new: bool },
}

/// The pin file of a node beside the spec: `<state>/proxmox/<node>.fingerprint`.
pub fn pin_file(state_dir: &Path, node: &str) -> PathBuf {
    state_dir.join("proxmox").join(format!("{node}.fingerprint"))
}

/// `AA:BB:...`, as `pvenode cert info` prints it.
pub fn fingerprint(cert: &[u8]) -> String {
    let digest = Sha256::digest(cert);
    digest.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// A fingerprint as written by hand or by Proxmox: colons optional, any case.
fn normalize(text: &str) -> Option<String> {
    let hex: String = text.trim().chars().filter(|c| *c != ':').collect();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let upper = hex.to_ascii_uppercase();
    Some(upper.as_bytes().chunks(2).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(":"))
}

pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A configuration verifying the chain against the CA in `pem`.
pub(crate) fn with_ca(url: &str, pem: &[u8]) -> Result<ClientConfig, Error> {
    let tls = |reason: String| Error::Tls { url: url.to_string(), reason };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| tls(format!("the CA file does not parse: {e}")))?;
        roots.add(cert).map_err(|e| tls(format!("the CA certificate is unusable: {e}")))?;
    }
    if roots.is_empty() {
        return Err(tls("the CA file holds no certificate".into()));
    }
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A configuration accepting exactly the certificate with fingerprint `expected` (any when
/// `None`, for reading the fingerprint on first contact), recording the one presented.
pub(crate) fn pinned(url: &str, expected: Option<String>) -> Result<(ClientConfig, Presented), Error> {
    let presented = Presented::default();
    let verifier = Pin { expected, presented: presented.clone(), provider: provider() };
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls { url: url.to_string(), reason: e.to_string() })?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok((config, presented))
}

/// The fingerprint the node presented in the last handshake.
#[derive(Debug, Clone, Default)]
pub(crate) struct Presented(Arc<Mutex<Option<String>>>);

impl Presented {
    pub(crate) fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
    fn set(&self, value: String) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(value);
    }
}

/// Reads the pinned fingerprint of `file`; `None` when there is none yet.
pub(crate) fn read_pin(file: &Path) -> Result<Option<String>, Error> {
    let shown = file.display().to_string();
    match std::fs::read_to_string(file) {
        Ok(text) => normalize(&text).map(Some).ok_or_else(|| Error::PinFile {
            file: shown,
            reason: "it does not hold a SHA-256 fingerprint (64 hex digits, colons allowed)".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::PinFile { file: shown, reason: e.to_string() }),
    }
}

/// Writes a newly pinned fingerprint (the folder is created; the file is replaced atomically).
pub(crate) fn write_pin(file: &Path, fingerprint: &str) -> Result<(), Error> {
    let fail = |e: std::io::Error| Error::PinFile { file: file.display().to_string(), reason: e.to_string() };
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let tmp = file.with_extension("fingerprint.tmp");
    std::fs::write(&tmp, format!("{fingerprint}\n")).map_err(fail)?;
    std::fs::rename(&tmp, file).map_err(fail)
}

#[derive(Debug)]
struct Pin {
    expected: Option<String>,
    presented: Presented,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pin {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The pin replaces the chain and name checks: the certificate is the one the operator
        // accepted, byte for byte, whatever it claims.
        let got = fingerprint(end_entity.as_ref());
        self.presented.set(got.clone());
        match &self.expected {
            Some(expected) if *expected != got => {
                Err(rustls::Error::General("the certificate is not the pinned one".into()))
            }
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<&str>) {
        assert_eq!(normalize(input).as_deref(), expected, "{input}");
    }

    #[test]
    fn fingerprints_normalize() {
        let colons = "AB:".repeat(31) + "AB";
        check(&"ab".repeat(32), Some(&colons));
        check(&format!("{}\n", colons.to_lowercase()), Some(&colons));
        check("AB:CD", None);
        check(&"zz".repeat(32), None);
    }

    #[test]
    fn fingerprint_is_sha256_with_colons() {
        // SHA-256 of the empty input.
        assert!(fingerprint(b"").starts_with("E3:B0:C4:42:98:FC"));
    }
}
