//! `probe::alertmanager` against a real Alertmanager whose webhook receivers point at a server
//! the test runs on loopback: one that accepts (sent), one that answers 400 (failed), and an
//! integration no route uses (not attempted).

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_verify::probe::alertmanager::{Outcome, TestAlert, notify};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::common::{self, Server, TIMEOUT, TempDir};

/// A webhook receiver: `/ok` answers 200, anything else 400; every request path is recorded.
async fn webhook() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head and the body its Content-Length announces.
                loop {
                    let Ok(n) = stream.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf);
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let length = text[..head_end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                            })
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() >= head_end + 4 + length {
                            break;
                        }
                    }
                }
                let text = String::from_utf8_lossy(&buf);
                let path = text.split_whitespace().nth(1).unwrap_or_default().to_string();
                let status = if path == "/ok" { "200 OK" } else { "400 Bad Request" };
                record.lock().unwrap().push(path);
                let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    (port, seen)
}

fn alert(which: &str) -> TestAlert {
    TestAlert {
        labels: BTreeMap::from([
            ("alertname".to_string(), "HearthVerifyTest".to_string()),
            ("hearth_test".to_string(), which.to_string()),
        ]),
        annotations: BTreeMap::from([("summary".to_string(), "a test alert from hearth verify".to_string())]),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_alert_reaches_the_webhook_or_says_why_not() {
    let Some(alertmanager) = common::program("prometheus-alertmanager", &[]) else { return };
    let (hook, seen) = webhook().await;
    let dir = TempDir::new("alertmanager");
    let port = common::free_port();
    // Alertmanager 0.25 counts per integration only, so resolved notifications, which would
    // count as traffic of the same integration during the next check, are not sent.
    let config = format!(
        "route:\n  receiver: ok\n  group_by: [alertname, hearth_test]\n  group_wait: 0s\n  group_interval: 1s\n\
         \x20 repeat_interval: 1h\n  routes:\n    - matchers: ['hearth_test=\"bad\"']\n      receiver: bad\n\
         receivers:\n\
         \x20 - name: ok\n    webhook_configs:\n      - url: http://127.0.0.1:{hook}/ok\n        send_resolved: false\n\
         \x20 - name: bad\n    webhook_configs:\n      - url: http://127.0.0.1:{hook}/bad\n        send_resolved: false\n"
    );
    let conf = dir.path().join("alertmanager.yml");
    std::fs::write(&conf, config).unwrap();
    let mut command = Command::new(alertmanager);
    command
        .arg(format!("--config.file={}", conf.display()))
        .arg(format!("--storage.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=");
    let mut server = Server::start("alertmanager", command, dir.path().join("log"));
    server.wait_for(port);
    let addr = common::loopback(port);
    let webhook = vec!["webhook".to_string()];
    let wait = Duration::from_secs(30);

    let sent = notify(addr, &alert("ok"), &webhook, wait, TIMEOUT).await.unwrap();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!((sent[0].integration.as_str(), sent[0].outcome), ("webhook", Outcome::Sent), "{}", server.log());
    assert!(seen.lock().unwrap().iter().any(|p| p == "/ok"));

    let failed = notify(addr, &alert("bad"), &webhook, wait, TIMEOUT).await.unwrap();
    assert_eq!(failed[0].outcome, Outcome::Failed, "{failed:?}\n{}", server.log());
    assert!(seen.lock().unwrap().iter().any(|p| p == "/bad"));

    let email = vec!["email".to_string()];
    let none = notify(addr, &alert("ok-again"), &email, Duration::from_secs(3), TIMEOUT).await.unwrap();
    assert_eq!(none[0].outcome, Outcome::NotAttempted, "{none:?}");
    drop(server);
}
