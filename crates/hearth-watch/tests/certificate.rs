//! An HTTPS target's certificate expiry reaches `/api/status` and `/metrics`: `openssl
//! s_server` on loopback presents a self-signed certificate valid for 30 days. The route check
//! judges the status only (the chain is `verify`'s certificate check), so it passes.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::get;
use hearth_watch::{Config, Kind, Probe, Target, time};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_target_shows_when_its_certificate_expires() {
    if Command::new("openssl").arg("version").output().is_err() {
        assert!(std::env::var_os("HEARTH_REQUIRE_VALIDATORS").is_none(), "openssl is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("hearth-watch-cert-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
        .args(["-days", "30", "-subj", "/CN=web.lab.test", "-addext", "subjectAltName=DNS:web.lab.test"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _server = Server(
        Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept", &format!("127.0.0.1:{port}")])
            .arg("-cert")
            .arg(dir.join("cert.pem"))
            .arg("-key")
            .arg(dir.join("key.pem"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let target = Target {
        id: "route/web.lab.test".into(),
        machine: "edge".into(),
        service: Some("web".into()),
        group: None,
        kind: Kind::Http,
        describe: "https://web.lab.test/ answers below 400".into(),
        location: String::new(),
        probe: Probe::Http {
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
            request: hearth_verify::probe::http::Request {
                https: true,
                host: "web.lab.test".into(),
                path: "/".into(),
                ca_pem: None,
            },
            expect: hearth_facts::Expect::Success,
        },
        interval: Duration::from_secs(1),
        timeout: Duration::from_secs(2),
        fail_after: None,
    };
    let mut config = Config::new("lab", vec![target], dir.join("watch.db"), "127.0.0.1:0".parse().unwrap());
    config.log = Arc::new(|_| {});
    let daemon = hearth_watch::start(config).await.unwrap();
    let mut expires = None;
    for _ in 0..100 {
        let (_, body) = get(daemon.addr, "/api/status", None).await;
        let s: serde_json::Value = serde_json::from_str(&body).unwrap();
        let c = &s["checks"][0];
        if c["state"] == "up" {
            expires = c["certificate_expires"].as_str().map(str::to_string);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let expires = time::parse_rfc3339(&expires.expect("the HTTPS check never passed with a certificate")).unwrap();
    let days = (expires - time::now()) as f64 / 86_400_000.0;
    assert!((29.0..=30.01).contains(&days), "expires in {days} days");
    let (_, metrics) = get(daemon.addr, "/metrics", None).await;
    assert!(metrics.contains(&format!(
        "hearth_watch_certificate_expiry_timestamp_seconds{{check=\"route/web.lab.test\",machine=\"edge\",kind=\"http\"}} {}",
        expires / 1000
    )));
    daemon.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
