//! `hearth watch` from the command line: `--test-alerts` reaches a webhook receiver the test
//! runs on loopback, a listen address beyond loopback is refused without the token, and a bad
//! maintenance window is named. The daemon itself is tested in crates/hearth-watch/tests/.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;

use super::{hearth, tempdir};

/// The minimal example with a webhook channel at `url`, written to a scratch folder. The model
/// holds notification channels only under a `monitoring:` section, hence the empty one.
fn spec(url: &str) -> std::path::PathBuf {
    let dir = tempdir();
    let mut text = std::fs::read_to_string(super::repo_root().join("examples/minimal.yaml")).unwrap();
    text.push_str(&format!("notifications: {{ hook: {{ webhook: {{ url: \"{url}\" }} }} }}\nmonitoring: {{}}\n"));
    let path = dir.join("hearth.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Accepts one request on `listener`, answers 200 and returns its body.
fn receive_one(listener: TcpListener) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        reader.get_mut().write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
        String::from_utf8(body).unwrap()
    })
}

#[test]
fn test_alerts_send_one_message_per_channel() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let received = receive_one(listener);
    let path = spec(&url);
    let run = hearth(&["watch", path.to_str().unwrap(), "--test-alerts"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "sent hook\n");
    let body: serde_json::Value = serde_json::from_str(&received.join().unwrap()).unwrap();
    assert_eq!(body["status"], "test");
    assert_eq!(body["homelab"], "minimal");
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[test]
fn listening_beyond_loopback_needs_the_token() {
    let path = spec("http://127.0.0.1:9/hook");
    let run = hearth(&["watch", path.to_str().unwrap(), "--listen", "0.0.0.0:0"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.ends_with(
            "error: listening on `0.0.0.0:0` needs authentication, since other machines can reach it; store a token with `hearth secrets set hearth-watch-token` (or listen on `127.0.0.1`)\n"
        ),
        "{}",
        run.stderr
    );
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[test]
fn a_bad_maintenance_window_is_named() {
    let run = hearth(&["watch", "examples/minimal.yaml", "--maintenance", "tonight/2h"]);
    assert_eq!(run.code, Some(2));
    assert_eq!(run.stderr, "error: `tonight` is not a UTC time such as `2026-11-29T22:00Z`\n");
}
