//! `probe::http` against a real Caddy: HTTPS with `tls internal` verified against Caddy's own
//! root, the same chain refused by the webpki roots (status still read), plain HTTP with an exact
//! `Host`, and a name Caddy has no certificate for.

use std::process::Command;
use std::time::{Duration, Instant};

use hearth_verify::probe::ProbeError;
use hearth_verify::probe::http::{Chain, Request, get};

use super::common::{self, Server, TIMEOUT, TempDir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caddy_routes_with_host_sni_and_chain() {
    let Some(caddy) = common::program("caddy", &[]) else { return };
    let dir = TempDir::new("caddy");
    let (http_port, https_port) = (common::free_port(), common::free_port());
    let storage = dir.path().join("storage");
    // The plain site answers 204 only when `Host` is exactly the name, without a port.
    let caddyfile = format!(
        "{{\n\tadmin off\n\tskip_install_trust\n\thttp_port {http_port}\n\thttps_port {https_port}\n\
         \tstorage file_system {storage}\n}}\n\
         app.lab.test {{\n\ttls internal\n\trespond \"ok\" 200\n}}\n\
         http://plain.lab.test:{http_port} {{\n\t@exact header Host plain.lab.test\n\trespond @exact 204\n\trespond 421\n}}\n",
        storage = storage.display()
    );
    let conf = dir.path().join("Caddyfile");
    std::fs::write(&conf, caddyfile).unwrap();
    let mut command = Command::new(caddy);
    command
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&conf)
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"));
    let mut server = Server::start("caddy", command, dir.path().join("log"));
    server.wait_for(https_port);
    let root = storage.join("pki/authorities/local/root.crt");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !root.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let ca = std::fs::read_to_string(&root).unwrap_or_else(|_| panic!("no internal root:\n{}", server.log()));
    let addr = common::loopback(https_port);
    let request = |host: &str, ca_pem: Option<&str>| Request {
        https: true,
        host: host.into(),
        path: "/".into(),
        ca_pem: ca_pem.map(str::to_string),
    };

    // The leaf may take a moment after the root exists.
    let deadline = Instant::now() + Duration::from_secs(60);
    let verified = loop {
        match get(addr, &request("app.lab.test", Some(&ca)), TIMEOUT).await {
            Ok(r) => break r,
            Err(e) if Instant::now() > deadline => panic!("{e}\n{}", server.log()),
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    };
    assert_eq!((verified.status, &verified.chain), (200, &Chain::Verified));

    let untrusted = get(addr, &request("app.lab.test", None), TIMEOUT).await.unwrap();
    assert_eq!(untrusted.status, 200);
    assert!(matches!(untrusted.chain, Chain::Invalid(ref r) if r.contains("UnknownIssuer")), "{untrusted:?}");

    let plain = Request { https: false, host: "plain.lab.test".into(), path: "/".into(), ca_pem: None };
    let answer = get(common::loopback(http_port), &plain, TIMEOUT).await.unwrap();
    assert_eq!((answer.status, &answer.chain), (204, &Chain::None));

    // An address as `Host` goes to the probe's address with that header and no SNI.
    let by_address = Request { https: false, host: "127.0.0.1".into(), path: "/".into(), ca_pem: None };
    let answer = get(common::loopback(http_port), &by_address, TIMEOUT).await.unwrap();
    assert_ne!(answer.status, 204, "the plain site answers 204 to `plain.lab.test` only");

    let unknown = get(addr, &request("other.lab.test", Some(&ca)), TIMEOUT).await.unwrap_err();
    assert!(matches!(unknown, ProbeError::Tls(_)), "{unknown}");

    let garbage = get(addr, &request("app.lab.test", Some("not a pem")), TIMEOUT).await.unwrap_err();
    assert!(matches!(garbage, ProbeError::Tls(ref r) if r.contains("no certificate")), "{garbage}");
    drop(server);
}
