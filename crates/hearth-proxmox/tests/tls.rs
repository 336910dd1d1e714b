//! The node's certificate pinned on first contact only with the explicit flag, and refused when
//! it changes, against `openssl s_server` on a loopback port with a self-signed certificate made
//! for the test (as a Proxmox node has). `openssl` comes with `scripts/validators.d/proxy.sh`.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use hearth_proxmox::{Client, Endpoint, Error, RetryPolicy, Token, Trust};
use serde_json::Map;

/// `openssl s_server`, killed when dropped.
struct Server {
    child: Child,
    port: u16,
    fingerprint: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tempdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tls-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).stderr(Stdio::null()).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A server with a fresh self-signed certificate; `None` without `openssl`.
fn server(dir: &Path) -> Option<Server> {
    Command::new("openssl").arg("version").output().ok()?;
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let (cert, key) = (cert.to_str()?, key.to_str()?);
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "2",
        "-subj",
        "/CN=pve",
        "-addext",
        "subjectAltName=DNS:localhost",
    ]);
    let shown = openssl(&["x509", "-in", cert, "-noout", "-fingerprint", "-sha256"]);
    let fingerprint = shown.trim().rsplit('=').next()?.to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let child = Command::new("openssl")
        .args(["s_server", "-www", "-quiet", "-cert", cert, "-key", key, "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // Ready when it accepts a connection (it exits at once if the port was taken meanwhile).
    for _ in 0..500 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(Server { child, port, fingerprint });
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("openssl s_server did not listen on port {port}");
}

fn endpoint(server: &Server, pin: &Path, pin_new: bool) -> Endpoint {
    Endpoint {
        node: "pve".into(),
        url: format!("https://127.0.0.1:{}", server.port),
        trust: Trust::Pinned { file: pin.to_path_buf(), pin_new },
    }
}

fn token() -> Token {
    Token::parse("hearth@pve!apply=tls-test-secret").expect("token")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_on_first_contact_only_when_asked_and_refused_when_changed() {
    let dir = tempdir("pin");
    let Some(server) = server(&dir) else {
        assert!(std::env::var_os("HEARTH_REQUIRE_VALIDATORS").is_none(), "openssl is required");
        eprintln!("skipped: no openssl");
        return;
    };
    let pin = dir.join(".hearth/proxmox/pve.fingerprint");

    // Without the flag: refused, naming the fingerprint to check; nothing written.
    let refused = Client::connect(&endpoint(&server, &pin, false), token(), RetryPolicy::default()).await;
    match refused {
        Err(Error::Untrusted { fingerprint, .. }) => assert_eq!(fingerprint, server.fingerprint),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(!pin.exists());

    // With it: pinned, and requests go through (s_server answers HTML, not the API's JSON).
    let client =
        Client::connect(&endpoint(&server, &pin, true), token(), RetryPolicy::default()).await.expect("pinned");
    assert_eq!(std::fs::read_to_string(&pin).unwrap().trim(), server.fingerprint);
    match client.get("/version", &Map::new()).await {
        Err(Error::Protocol { reason, .. }) => assert!(reason.starts_with("the body is not a JSON object"), "{reason}"),
        other => panic!("expected the TLS session to work and the answer not to be JSON, got {other:?}"),
    }

    // Another certificate at the same place: refused with both fingerprints, and the file named.
    let other = "AB:".repeat(31) + "AB";
    std::fs::write(&pin, format!("{other}\n")).unwrap();
    let client =
        Client::connect(&endpoint(&server, &pin, true), token(), RetryPolicy::default()).await.expect("client");
    match client.get("/version", &Map::new()).await {
        Err(Error::PinMismatch { pinned, presented, file, .. }) => {
            assert_eq!((pinned, presented), (other, server.fingerprint.clone()));
            assert_eq!(file, pin.display().to_string());
        }
        other => panic!("expected a pin mismatch, got {other:?}"),
    }
}
