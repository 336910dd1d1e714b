//! `monitoring.watcher` end to end, on a lab of `tests/lab/watcher.yaml`: `apply --lab` ships
//! this `hearth` binary to `mon`, renders the watcher's unit, configuration and token there and
//! starts it; its `/api/status` then answers at `mon`'s lab address (reached from the
//! controller, which is on `lan`'s gateway, a source the spec names) with every check passing,
//! refuses a request without the token, and a second apply changes nothing. Skips without
//! Docker unless `HEARTH_REQUIRE_LAB=1`.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::lab::{Lab, exec, lab_possible, ok};
use super::{repo_root, tempdir};

/// One `GET path` to the page with an optional bearer token: the status code and body.
fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    // axum answers with a length or chunks; a chunked body is one chunk for a small JSON.
    let body = if answer.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body.split_once("\r\n").map_or(body, |(_, rest)| rest.rsplit_once("\r\n0\r\n").map_or(rest, |(b, _)| b))
    } else {
        body
    };
    Ok((status, body.to_string()))
}

#[test]
fn apply_deploys_the_watcher_and_its_page_answers() {
    let Some(_lab) = lab_possible() else {
        return;
    };
    let dir = tempdir();
    let spec_path = dir.join("hearth.yaml");
    std::fs::copy(repo_root().join("tests/lab/watcher.yaml"), &spec_path).expect("copy the spec");
    let spec = spec_path.to_str().expect("utf-8");
    // Resolving makes the secret store and its identity, as an operator's first step does.
    ok(&["resolve", spec]);
    let lab = Lab { spec: spec_path.clone() };
    ok(&["lab", "up", spec]);
    let state = hearth_lab::load_state(&hearth_lab::state_dir(&lab.spec)).expect("lab state");
    let address = state.machines.get("mon").expect("mon in the lab").address;

    let applied = ok(&["apply", spec, "--lab", "--yes"]);
    assert!(applied.stdout.contains("mon: upload the `hearth` binary"), "{}", applied.stdout);
    assert_eq!(exec(spec, "mon", &["systemctl", "is-active", "hearth-watch"]), (Some(0), "active".into()));
    // The unit as rendered runs under a dynamic user; the lab's drop-in runs it as root, since
    // its containers cannot pass credentials to any other user (`hearth_lab::fit`).
    let (_, unit) = exec(spec, "mon", &["cat", "/etc/systemd/system/hearth-watch.service"]);
    assert!(unit.lines().any(|l| l == "DynamicUser=yes"), "{unit}");
    let (code, _) =
        exec(spec, "mon", &["test", "-f", "/etc/systemd/system/hearth-watch.service.d/hearth-lab-credentials.conf"]);
    assert_eq!(code, Some(0), "the lab's credentials drop-in is deployed");
    let (code, token) = exec(spec, "mon", &["cat", "/etc/hearth/watch/credentials/hearth-watch-token"]);
    assert!(code == Some(0) && token.len() >= 16, "the token is deployed");

    // The page, from the controller at the lab address: every check passes once it has run.
    let page = SocketAddr::new(address.into(), 9180);
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        let answer = get(page, "/api/status", Some(&token));
        if let Ok((200, body)) = &answer {
            let json: serde_json::Value = serde_json::from_str(body).expect("`/api/status` is JSON");
            let checks = json["checks"].as_array().cloned().unwrap_or_default();
            if !checks.is_empty() && checks.iter().all(|c| c["state"] == "up") {
                break json;
            }
        }
        assert!(Instant::now() < deadline, "the watcher's checks did not all pass: {answer:?}");
        std::thread::sleep(Duration::from_secs(3));
    };
    let ids: Vec<&str> = status["checks"].as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
    for id in ["route/alerts.watch.home.arpa", "dns/alerts.watch.home.arpa"] {
        assert!(ids.iter().any(|i| i.starts_with(id)), "{id} is watched: {ids:?}");
    }
    let (refused, _) = get(page, "/api/status", None).expect("the page answers");
    assert_eq!(refused, 401, "no token, no page");

    // Nothing changed: the binary and files are in place.
    let noop = ok(&["apply", spec, "--lab", "--yes"]);
    assert_eq!(noop.stdout.lines().last(), Some("no changes"), "{}", noop.stdout);
    for r in [&applied, &noop] {
        assert!(!r.stdout.contains(&token) && !r.stderr.contains(&token), "the token was printed");
    }

    ok(&["lab", "down", spec]);
    drop(lab);
    let _ = std::fs::remove_dir_all(&dir);
}
