//! The lab's Proxmox node end to end, on `tests/lab/proxmox.yaml`: `hearth lab up` starts the
//! node's API simulator and no guest; `apply --lab` creates the guests through the API (every
//! request passing the simulator's schema check), they answer SSH and run their deployed
//! service, the appliance exists in the simulator only; a second apply changes nothing; a memory
//! change is planned, sent as `PUT …/config` and reaches the container's limit; `lab down` stops
//! the simulator and removes the guests. Without a Docker engine the test says so and passes,
//! unless `HEARTH_REQUIRE_LAB=1`.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};

use super::lab::{Lab, lab_possible, ok};
use super::{repo_root, tempdir};

/// `GET PATH` (below the simulator's address) with the lab's token: the body as JSON.
fn sim_get(state: &Path, path: &str) -> serde_json::Value {
    let lab = hearth_lab::load_state(state).expect("lab state");
    let url = &lab.simulators.first().expect("a simulator").url;
    let address = url.trim_start_matches("http://").split('/').next().expect("address");
    let token = hearth_lab::simulator_token(state).expect("the lab's token");
    let mut stream = TcpStream::connect(address).expect("the simulator answers");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: PVEAPIToken={token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "GET {path}: {head}");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

/// The vmids the simulator has of `kind` (`lxc`, `qemu`).
fn sim_guests(state: &Path, kind: &str) -> Vec<u64> {
    let list = sim_get(state, &format!("/api2/json/nodes/pve/{kind}"));
    let mut ids: Vec<u64> =
        list["data"].as_array().expect("a list").iter().filter_map(|g| g["vmid"].as_u64()).collect();
    ids.sort();
    ids
}

/// Requests of `method` the simulator has served.
fn requests(state: &Path, method: &str) -> u64 {
    sim_get(state, "/_sim/stats")["data"]["methods"][method].as_u64().unwrap_or(0)
}

/// The simulator's refusals (schema check or otherwise): none is expected.
fn refusals(state: &Path) -> serde_json::Value {
    sim_get(state, "/_sim/stats")["data"]["refused"].clone()
}

/// `docker inspect` of a lab container, or `None` when it does not exist.
fn inspect(container: &str, format: &str) -> Option<String> {
    let out = Command::new("docker").args(["inspect", "--format", format, container]).output().expect("docker");
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs `cmd` on a lab machine over SSH as the admin user, through the lab's `ssh_config`.
fn ssh(state: &Path, machine: &str, cmd: &str) -> (bool, String) {
    let out = Command::new("ssh")
        .arg("-F")
        .arg(hearth_lab::ssh_config_path(state))
        .args(["-o", "BatchMode=yes", machine, cmd])
        .stdin(Stdio::null())
        .output()
        .expect("ssh");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn lab_creates_guests_through_the_simulated_api() {
    let Some(_lab) = lab_possible() else {
        return;
    };
    let dir = tempdir();
    let spec_path = dir.join("hearth.yaml");
    std::fs::copy(repo_root().join("tests/lab/proxmox.yaml"), &spec_path).expect("copy the spec");
    let spec = spec_path.to_str().expect("utf-8");
    // Resolving makes the secret store and its identity, as an operator's first step does.
    ok(&["resolve", spec]);
    let lab = Lab { spec: spec_path.clone() };
    let state = hearth_lab::state_dir(&lab.spec);

    // Up: the host and its node's simulator; no guest anywhere.
    let up = ok(&["lab", "up", spec]);
    assert!(up.stdout.contains("proxmox node pve (host pve): simulator http://127.0.0.1:"), "{}", up.stdout);
    assert!(!up.stdout.contains("Proxmox API"), "the API is not skipped: {}", up.stdout);
    let machines = hearth_lab::load_state(&state).expect("state").machines;
    for guest in ["cache", "store"] {
        assert_eq!(inspect(&machines[guest].container, "{{.State.Status}}"), None, "{guest} exists before apply");
    }
    assert_eq!((sim_guests(&state, "lxc"), sim_guests(&state, "qemu")), (vec![], vec![]));
    let status = ok(&["lab", "status", spec]);
    assert!(
        status.stdout.contains("simulator http://127.0.0.1:") && status.stdout.contains("running"),
        "{}",
        status.stdout
    );

    // Plan: three guests to create, nothing else asked of them yet.
    let plan = ok(&["plan", spec, "--lab"]);
    for g in ["cache (lxc): create and start", "store (vm): create and start", "ha (vm): create and start"] {
        assert!(plan.stdout.contains(g), "{g}: {}", plan.stdout);
    }

    // Apply: created through the API, every request accepted; each guest answers SSH and runs
    // its service; the appliance is in the simulator only.
    let applied = ok(&["apply", spec, "--lab", "--yes"]);
    assert!(applied.stdout.contains("not started"), "the appliance is reported: {}", applied.stdout);
    assert_eq!(refusals(&state), serde_json::json!([]));
    assert!(requests(&state, "POST") >= 6, "creates and starts are POSTs");
    assert_eq!((sim_guests(&state, "lxc").len(), sim_guests(&state, "qemu").len()), (1, 2));
    for (guest, unit) in [("cache", "redis-server"), ("store", "redis-server")] {
        assert_eq!(ssh(&state, guest, &format!("systemctl is-active {unit}")), (true, "active".into()), "{guest}");
    }
    let (_, log) = ssh(&state, "store", "sudo cat /var/log/cloud-init-output.log");
    assert!(log.contains("hearth lab cloud-init: done"), "the VM's user-data was applied: {log}");
    let (found, _) = ssh(&state, "store", "test -s /var/lib/cloud/instance/user-data.txt");
    assert!(found, "the VM's user-data is where cloud-init keeps it");
    assert_eq!(inspect(&machines["cache"].container, "{{.HostConfig.Memory}}"), Some((512u64 << 20).to_string()));

    // A second apply changes nothing.
    let again = ok(&["apply", spec, "--lab", "--yes"]);
    assert_eq!(again.stdout.lines().last(), Some("no changes"), "{}", again.stdout);

    // A memory change: planned, sent as one `PUT …/config`, applied to the running container.
    let text = std::fs::read_to_string(&spec_path).expect("spec");
    std::fs::write(&spec_path, text.replace("memory: 512MiB", "memory: 768MiB")).expect("spec");
    let plan = ok(&["plan", spec, "--lab"]);
    assert!(plan.stdout.contains("memory: 512 -> 768"), "{}", plan.stdout);
    let puts = requests(&state, "PUT");
    let changed = ok(&["apply", spec, "--lab", "--yes"]);
    assert!(changed.stdout.contains("updated memory"), "{}", changed.stdout);
    assert_eq!(requests(&state, "PUT"), puts + 1, "one `PUT …/config`");
    assert_eq!(refusals(&state), serde_json::json!([]));
    assert_eq!(inspect(&machines["cache"].container, "{{.HostConfig.Memory}}"), Some((768u64 << 20).to_string()));

    // Down: the simulator stops and nothing labelled is left.
    let sim_pid = hearth_lab::load_state(&state).expect("state").simulators[0].pid;
    let down = ok(&["lab", "down", spec]);
    assert!(down.stdout.contains("1 Proxmox simulators"), "{}", down.stdout);
    // A process gone (or a zombie nobody reaped yet) has no command line.
    let cmdline = std::fs::read(format!("/proc/{sim_pid}/cmdline")).unwrap_or_default();
    assert!(cmdline.is_empty(), "the simulator still runs");
    let id = hearth_lab::lab_id(&state);
    let left = Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label={}={id}", hearth_lab::LABEL)])
        .output()
        .expect("docker ps");
    assert_eq!(String::from_utf8_lossy(&left.stdout).trim(), "", "a container of the lab is left");
    drop(lab);
    let _ = std::fs::remove_dir_all(&dir);
}
