//! HTTPS: the simulator serves a self-signed certificate made by `openssl` as a fresh node's,
//! a client trusting exactly that certificate gets answers, and the fingerprint the simulator
//! prints is the one `openssl` computes.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::TOKEN;

/// Whether validator-based tests must run (`HEARTH_REQUIRE_VALIDATORS=1`).
fn required() -> bool {
    std::env::var_os("HEARTH_REQUIRE_VALIDATORS").is_some()
}

/// A self-signed certificate and key for 127.0.0.1, or `None` without `openssl`.
fn self_signed(dir: &std::path::Path) -> Option<(PathBuf, PathBuf)> {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=pve",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:FALSE", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    match status {
        Ok(out) if out.status.success() => Some((cert, key)),
        other => {
            assert!(
                !required(),
                "openssl cannot make a certificate ({other:?}); scripts/validators.d/pve-sim.sh installs it"
            );
            eprintln!("skipping: openssl missing (run scripts/validators.d/pve-sim.sh)");
            None
        }
    }
}

#[tokio::test]
async fn the_api_is_served_over_https_with_the_given_certificate() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pve-sim-tls");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let Some((cert, key)) = self_signed(&dir) else { return };
    let identity = hearth_pve_sim::tls::load(&cert, &key).expect("certificate loads");

    let out =
        Command::new("openssl").args(["x509", "-noout", "-fingerprint", "-sha256", "-in"]).arg(&cert).output().unwrap();
    let expected = String::from_utf8(out.stdout).unwrap();
    assert_eq!(expected.trim().rsplit('=').next().unwrap(), identity.fingerprint);

    let sim = crate::common::sim(20, 2_000);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(hearth_pve_sim::tls::serve(listener, sim, identity.config));

    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(&cert).unwrap()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut tls = connector
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .expect("handshake with the pinned certificate");
    let req = format!(
        "GET /api2/json/version HTTP/1.1\r\nHost: {addr}\r\nAuthorization: PVEAPIToken={TOKEN}\r\nConnection: close\r\n\r\n"
    );
    tls.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw).await;
    let text = String::from_utf8(raw).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains(r#""release":"9.0""#), "{text}");
}
