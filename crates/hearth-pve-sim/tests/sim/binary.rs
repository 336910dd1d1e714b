//! The `hearth-pve-sim` binary: it prints its URL on stdout, serves, keeps its state file across
//! a restart, and refuses bad arguments without echoing a token's secret.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::common::{Node, TEMPLATE};

/// The binary, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn launch(state: &std::path::Path) -> (Running, Node) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth-pve-sim"))
        .args(["--listen", "127.0.0.1:0", "--node", "pve", "--task-ms", "10", "--volume"])
        .arg(format!("{TEMPLATE}=120M"))
        .arg("--state")
        .arg(state)
        .env("HEARTH_PVE_SIM_TOKEN", crate::common::TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim();
    let addr = url
        .strip_prefix("http://")
        .and_then(|r| r.strip_suffix("/api2/json"))
        .unwrap_or_else(|| panic!("URL on stdout: {url:?}"));
    (Running(child), Node { addr: addr.parse().unwrap() })
}

#[tokio::test]
async fn the_binary_serves_and_keeps_its_state() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pve-sim-binary");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("pve.json");
    {
        let (_running, node) = launch(&state);
        assert_eq!(node.create_ct("101", &[]).await["exitstatus"], "OK");
    }
    let (_running, node) = launch(&state);
    let config = node.get("/nodes/pve/lxc/101/config").await.data().clone();
    assert_eq!(config["hostname"], "db");
    let tasks = node.get("/nodes/pve/tasks").await.data().clone();
    assert!(tasks[0]["upid"].as_str().unwrap().contains(":vzcreate:101:"), "{tasks}");
    assert!(!std::fs::read_to_string(&state).unwrap().contains("test-secret-not-real"), "no secret in the state file");
}

#[test]
fn bad_arguments_are_refused_without_the_secret() {
    let out = Command::new(env!("CARGO_BIN_EXE_hearth-pve-sim"))
        .args(["--listen", "127.0.0.1:0", "--token", "root@pam=supersecret"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("USER@REALM!TOKENID=SECRET"), "{stderr}");
    assert!(!stderr.contains("supersecret"), "{stderr}");
    assert!(out.stdout.is_empty());

    let out = Command::new(env!("CARGO_BIN_EXE_hearth-pve-sim"))
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("HEARTH_PVE_SIM_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no API token"));
}
