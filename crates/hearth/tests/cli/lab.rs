//! `hearth lab` and the deploy commands end to end, on a lab of `tests/lab/homelab.yaml`: one lab
//! shared by every check (starting one is the slow part). Without a Docker engine the test says
//! so and passes, unless `HEARTH_REQUIRE_LAB=1` (CI), where that is a failure.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::{repo_root, tempdir};

/// The test homelab's packaged services, by machine, each checked with `systemctl is-active`.
const UNITS: &[(&str, &str)] = &[
    ("edge", "caddy"),
    ("edge", "unbound"),
    ("db", "postgresql"),
    ("db", "redis-server"),
    ("mon", "prometheus"),
    ("mon", "prometheus-alertmanager"),
];

/// The image of the test homelab's one Docker service, built by the test itself.
const WHOAMI: &str = "hearth-lab/whoami:1";

/// Exit status, stdout and stderr of one run without a time limit (lab commands have their own).
pub(super) struct Run {
    pub(super) code: Option<i32>,
    pub(super) stdout: String,
    pub(super) stderr: String,
}

pub(super) fn run(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("spawn hearth");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `hearth ARGS` and insists it succeeds.
pub(super) fn ok(args: &[&str]) -> Run {
    let r = run(args);
    assert_eq!(r.code, Some(0), "hearth {args:?} failed\nstdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    r
}

/// Takes the lab down however the test ends.
pub(super) struct Lab {
    pub(super) spec: PathBuf,
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Err(e) = hearth_lab::down(&hearth_lab::state_dir(&self.spec)) {
            eprintln!("lab down failed: {e}");
        }
    }
}

/// The lab tests share the one Docker engine and the machine's two cores: they run one at a
/// time, each holding this while its lab is up.
static LAB: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Whether a lab can run here; when it can, the guard that keeps other lab tests waiting.
pub(super) fn lab_possible() -> Option<std::sync::MutexGuard<'static, ()>> {
    if hearth_lab::engine_answers() {
        // A lab test that failed poisoned the lock; the next one still runs on a clean engine.
        return Some(LAB.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    }
    assert!(
        std::env::var("HEARTH_REQUIRE_LAB").as_deref() != Ok("1"),
        "HEARTH_REQUIRE_LAB=1 but no Docker engine answers"
    );
    eprintln!("skipped: no Docker engine answers `docker info`");
    None
}

/// Builds the whoami image from the lab's own image: Python's `http.server` with the files it
/// needs, `sh` for the healthcheck, and a `wget` that is a few lines of Python.
fn build_whoami(base: &str) {
    let script = r#"printf '#!/usr/bin/python3\nimport sys, urllib.request\nurllib.request.urlopen([a for a in sys.argv[1:] if a.startswith("http")][0], timeout=5).read()\n' > /usr/local/bin/wget
chmod 755 /usr/local/bin/wget
tar -ch --exclude=test --exclude=idlelib --exclude=tkinter --exclude=ensurepip --exclude=lib2to3 --exclude=pydoc_data --exclude='config-3*' --exclude=__pycache__ /bin/sh /usr/bin/python3 /usr/lib/python3.11 /usr/local/bin/wget $(ldd /usr/bin/python3 | grep -o '/[^ ]*' | sort -u) 2>/dev/null"#;
    let cmd = format!(
        "docker image inspect {WHOAMI} >/dev/null 2>&1 || docker run --rm --entrypoint sh {base} -c '{}' | docker import -c 'CMD [\"/usr/bin/python3\",\"-m\",\"http.server\",\"8000\"]' -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - {WHOAMI} >/dev/null",
        script.replace('\'', "'\\''")
    );
    let status = Command::new("sh").arg("-c").arg(&cmd).status().expect("sh runs");
    assert!(status.success(), "building {WHOAMI} failed");
}

/// `hearth lab exec` of `cmd` on `machine`: its exit status and stdout.
pub(super) fn exec(spec: &str, machine: &str, cmd: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["lab", "exec", "--spec", spec, machine, "--"];
    args.extend(cmd);
    let r = run(&args);
    (r.code, r.stdout.trim().to_string())
}

/// The machines whose plan changes anything, from `hearth plan --lab --json`.
fn changed_machines(spec: &str) -> Vec<String> {
    let plan: serde_json::Value =
        serde_json::from_str(&ok(&["plan", spec, "--lab", "--json"]).stdout).expect("json plan");
    let machines = plan["machines"].as_array().expect("machines");
    machines
        .iter()
        .filter(|m| m["files"].as_array().is_some_and(|f| !f.is_empty()))
        .map(|m| m["machine"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Objects of `kind` (container, network, volume) carrying the lab's label.
fn labelled(kind: &str, id: &str) -> String {
    let out = Command::new("docker")
        .args([kind, "ls", "-q", "--filter", &format!("label={}={id}", hearth_lab::LABEL)])
        .args(if kind == "container" { &["-a"][..] } else { &[][..] })
        .output()
        .expect("docker ls");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn lab_up_apply_noop_change_down() {
    let Some(_lab) = lab_possible() else {
        return;
    };
    let dir = tempdir();
    let spec_path = dir.join("hearth.yaml");
    std::fs::copy(repo_root().join("tests/lab/homelab.yaml"), &spec_path).expect("copy the spec");
    let spec = spec_path.to_str().expect("utf-8");
    ok(&["resolve", spec]);
    let lab = Lab { spec: spec_path.clone() };
    let state = hearth_lab::state_dir(&lab.spec);

    // Up: the Proxmox host runs with its node's simulator; the guests wait for `apply` to create
    // them through the API; the Docker service's image is named as missing.
    let up = ok(&["lab", "up", spec]);
    assert!(up.stdout.contains(&format!("image not available offline: `{WHOAMI}`")), "{}", up.stdout);
    assert!(up.stdout.contains("proxmox node pve (host pve): simulator http://127.0.0.1:"), "{}", up.stdout);
    let status = ok(&["lab", "status", spec]);
    assert!(status.stdout.lines().any(|l| l.starts_with("pve") && l.contains("running")), "{}", status.stdout);
    for machine in ["apps", "db", "edge", "mon"] {
        assert!(
            status.stdout.lines().any(|l| l.starts_with(machine) && l.contains("not created")),
            "{}",
            status.stdout
        );
    }

    // The guests first, through the simulator, so the whoami image can go into `apps`; the VM
    // boots with the cloud-init snippet its host's files hold, so the host's files go before.
    ok(&["apply", spec, "--lab", "--yes", "--no-guests", "--machine", "pve"]);
    let guests = ok(&["apply", spec, "--lab", "--yes", "--only-guests"]);
    assert!(guests.stdout.contains("apps") && guests.stdout.contains("created"), "{}", guests.stdout);
    let status = ok(&["lab", "status", spec]);
    for machine in ["apps", "db", "edge", "mon", "pve"] {
        assert!(status.stdout.lines().any(|l| l.starts_with(machine) && l.contains("running")), "{}", status.stdout);
    }
    build_whoami(&hearth_lab::load_state(&state).expect("lab state").image);
    hearth_lab::load_image(&state, "apps", WHOAMI).expect("load the whoami image");
    assert_eq!(exec(spec, "apps", &["sh", "-c", "exit 7"]).0, Some(7), "`lab exec` exits with the command's status");

    // Without a terminal and without `--yes`, apply refuses.
    let refused = run(&["apply", spec, "--lab"]);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);

    // Apply: every service active, the container healthy.
    let applied = ok(&["apply", spec, "--lab", "--yes"]);
    assert!(!applied.stderr.contains("image not available offline"), "the loaded image is found: {}", applied.stderr);
    for (machine, unit) in UNITS {
        assert_eq!(
            exec(spec, machine, &["systemctl", "is-active", unit]),
            (Some(0), "active".into()),
            "{machine}: {unit}"
        );
    }
    let health =
        exec(spec, "apps", &["docker", "inspect", "-f", "{{.State.Status}} {{.State.Health.Status}}", "whoami"]);
    assert_eq!(health, (Some(0), "running healthy".into()));

    // Secret values reach the machine and nothing else.
    let (_, passwords) = exec(spec, "db", &["cat", "/etc/hearth/postgres/passwords.env"]);
    let values: Vec<&str> =
        passwords.lines().filter_map(|l| l.split_once('=')).map(|(_, v)| v.trim_matches('\'')).collect();
    assert!(!values.is_empty() && values.iter().all(|v| v.len() >= 16), "{passwords}");

    verify_catches_breakage(spec, &values);
    super::lab_watch::watch_sees_outage_and_flap(spec, &dir, &values);

    // Nothing changed: nothing to do.
    let noop = ok(&["apply", spec, "--lab", "--yes"]);
    assert_eq!(noop.stdout.lines().last(), Some("no changes"), "{}", noop.stdout);

    // A change to one setting touches only the machines it concerns: the webhook's new port is
    // Alertmanager's configuration on `mon` and the opening for Alertmanager on `edge`.
    let text = std::fs::read_to_string(&spec_path).expect("spec");
    std::fs::write(&spec_path, text.replace(":9999/alerts", ":9998/alerts")).expect("spec");
    assert_eq!(changed_machines(spec), ["edge", "mon"]);
    let plan = ok(&["plan", spec, "--lab"]);
    assert!(plan.stdout.contains("hearth.yaml:"), "each file names its spec lines: {}", plan.stdout);
    // The Proxmox host's guest definitions are deployed and unchanged.
    assert!(!plan.stdout.contains("/etc/hearth/proxmox/"), "{}", plan.stdout);
    let changed = ok(&["apply", spec, "--lab", "--yes"]);
    let results: Vec<(&str, &str)> = changed
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("MACHINE"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().collect::<Vec<_>>().get(..2).map(|r| (r[0], r[1])))
        .collect();
    assert_eq!(
        results,
        [("apps", "unchanged"), ("db", "unchanged"), ("edge", "applied"), ("mon", "applied"), ("pve", "unchanged")]
    );
    let generations = ok(&["generations", spec, "--lab", "--machine", "mon"]).stdout;
    let current: Vec<&str> = generations.lines().filter_map(|l| l.trim_start().strip_prefix("* ")).collect();
    assert_eq!(current.first().and_then(|l| l.split_whitespace().next()), Some("2"), "{generations}");
    for r in [&applied, &noop, &changed, &plan] {
        for v in &values {
            assert!(!r.stdout.contains(v) && !r.stderr.contains(v), "a secret value was printed");
        }
    }

    // Down: nothing with the lab's label is left.
    let id = hearth_lab::lab_id(&state);
    ok(&["lab", "down", spec]);
    for kind in ["container", "network", "volume"] {
        assert_eq!(labelled(kind, &id), "", "a {kind} of the lab is left");
    }
    drop(lab);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The lines of a verify report whose status is `FAIL`.
fn failures(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| l.trim_start().starts_with("FAIL")).collect()
}

/// The id of a report line (`  FAIL  <id>  <location>  …`).
fn check_id(line: &str) -> &str {
    line.split_whitespace().nth(1).unwrap_or_default()
}

/// Runs a small HTTP receiver on the edge machine at the test homelab's webhook port, writing
/// each JSON body it gets (Alertmanager's and `hearth watch`'s) on one line of `/tmp/hearth-alerts`.
fn start_alert_receiver(spec: &str) {
    let cmd = r#"cat > /tmp/receiver.py <<'EOF'
import http.server, json

class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            line = json.dumps(json.loads(body))
        except ValueError:
            line = json.dumps({"unreadable": body.decode("utf-8", "replace")})
        with open("/tmp/hearth-alerts", "a") as f:
            f.write(line + "\n")
        self.send_response(200)
        self.end_headers()

http.server.HTTPServer(("0.0.0.0", 9999), H).serve_forever()
EOF
systemd-run --unit hearth-test-receiver python3 /tmp/receiver.py"#;
    let (code, out) = exec(spec, "edge", &["sh", "-c", cmd]);
    assert_eq!(code, Some(0), "{out}");
}

/// `hearth verify --lab` passes right after apply; turning a copy job's timer off, stopping a
/// service, changing a password on the server and closing a port each make it exit 1 naming the
/// check and its spec line; no secret value is printed.
fn verify_catches_breakage(spec: &str, secrets: &[&str]) {
    start_alert_receiver(spec);
    let verified = run(&["verify", spec, "--lab", "--run-backups"]);
    let failed = failures(&verified.stdout);
    assert!(failed.is_empty(), "verify failed right after apply:\n{}\n\n{}", failed.join("\n"), verified.stdout);
    assert_eq!(verified.code, Some(0), "{}", verified.stdout);
    for id in ["service/postgres/running", "service/whoami/running", "uses/whoami/redis", "dns/whoami.lab.home.arpa"] {
        assert!(
            verified.stdout.lines().any(|l| l.contains(&format!("ok    {id} "))),
            "{id} passes:\n{}",
            verified.stdout
        );
    }
    assert!(verified.stdout.contains("route/whoami.lab.home.arpa "), "{}", verified.stdout);
    let json = run(&["verify", spec, "--lab", "--json", "--machine", "db"]);
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).expect("verify --json prints JSON");
    assert!(parsed["checks"].as_array().is_some_and(|c| c.iter().all(|c| c["machine"] == "db")), "{}", json.stdout);

    // A copy job's timer turned off fails its check, at its policy's line; the copy never runs.
    let timer = "hearth-copy-copies.timer";
    assert!(
        verified.stdout.lines().any(|l| l.contains("ok    copy/copies/on/db ")),
        "the copy job's timer passes:\n{}",
        verified.stdout
    );
    let (code, out) = exec(spec, "db", &["systemctl", "disable", "--now", timer]);
    assert_eq!(code, Some(0), "{out}");
    let off = run(&["verify", spec, "--lab", "--machine", "db"]);
    assert_eq!(off.code, Some(1), "{}", off.stdout);
    let line = failures(&off.stdout).into_iter().find(|l| check_id(l) == "copy/copies/on/db");
    assert!(line.is_some_and(|l| l.contains("hearth.yaml:44:5") && l.contains("not enabled")), "{}", off.stdout);
    let (code, out) = exec(spec, "db", &["systemctl", "enable", "--now", timer]);
    assert_eq!(code, Some(0), "{out}");

    // A stopped service fails its check, at its spec line.
    let (code, out) = exec(spec, "db", &["systemctl", "stop", "redis-server"]);
    assert_eq!(code, Some(0), "{out}");
    let stopped = run(&["verify", spec, "--lab", "--machine", "db"]);
    assert_eq!(stopped.code, Some(1), "{}", stopped.stdout);
    let line = failures(&stopped.stdout).into_iter().find(|l| check_id(l) == "service/redis/running");
    assert!(line.is_some_and(|l| l.contains("hearth.yaml:28:3")), "{}", stopped.stdout);
    exec(spec, "db", &["systemctl", "start", "redis-server"]);

    // A password changed on the server fails the consumer's login, at its `uses` line. (Redis:
    // PostgreSQL's own login fails today for defect #4 above.)
    let change = r#"redis-cli -a "$(sed -n 's/^requirepass //p' /etc/redis/secret.conf | tr -d '"')" --no-auth-warning CONFIG SET requirepass changed-by-the-test"#;
    let (code, out) = exec(spec, "db", &["sh", "-c", change]);
    assert_eq!(code, Some(0), "{out}");
    let changed = run(&["verify", spec, "--lab", "--machine", "db"]);
    assert_eq!(changed.code, Some(1), "{}", changed.stdout);
    let line = failures(&changed.stdout).into_iter().find(|l| check_id(l) == "uses/whoami/redis");
    assert!(line.is_some_and(|l| l.contains("hearth.yaml:35:22")), "{}", changed.stdout);
    exec(spec, "db", &["systemctl", "restart", "redis-server"]);

    // A port closed on the machine fails the firewall edge and the login through it.
    let close = "nft add table inet hearthtest && nft add chain inet hearthtest input '{ type filter hook input priority -10; }' && nft add rule inet hearthtest input tcp dport 6379 drop";
    let (code, out) = exec(spec, "db", &["sh", "-c", close]);
    assert_eq!(code, Some(0), "{out}");
    let closed = run(&["verify", spec, "--lab", "--machine", "db"]);
    assert_eq!(closed.code, Some(1), "{}", closed.stdout);
    let line = failures(&closed.stdout).into_iter().find(|l| check_id(l) == "firewall/db/tcp/6379/from/apps");
    assert!(line.is_some_and(|l| l.contains("hearth.yaml:28:3")), "{}", closed.stdout);
    exec(spec, "db", &["nft", "delete", "table", "inet", "hearthtest"]);
    let again = run(&["verify", spec, "--lab", "--machine", "db"]);
    assert!(failures(&again.stdout).iter().all(|l| !check_id(l).contains("redis")), "{}", again.stdout);

    for r in [&verified, &json, &off, &stopped, &changed, &closed, &again] {
        for v in secrets {
            assert!(!r.stdout.contains(v) && !r.stderr.contains(v), "a secret value was printed by verify");
        }
    }
}

/// Deploy commands that must stop before contacting any machine: exit code and a stderr part.
fn check_refusal(args: &[&str], code: i32, stderr_part: &str) {
    let r = super::hearth(args);
    assert_eq!(r.code, Some(code), "hearth {args:?}: {}", r.stderr);
    assert!(r.stderr.contains(stderr_part), "hearth {args:?}: {}", r.stderr);
    assert_eq!(r.stdout, "", "hearth {args:?}");
}

#[test]
fn deploy_commands_refuse_before_connecting() {
    let dir = tempdir();
    let spec = dir.join("hearth.yaml");
    std::fs::copy(repo_root().join("tests/lab/homelab.yaml"), &spec).expect("copy the spec");
    let spec = spec.to_str().expect("utf-8");
    check_refusal(&["plan", spec, "--lab"], 2, "start it with `hearth lab up`");
    check_refusal(&["apply", spec, "--lab", "--yes"], 2, "start it with `hearth lab up`");
    check_refusal(&["generations", spec, "--lab"], 2, "start it with `hearth lab up`");
    check_refusal(&["rollback", spec, "--lab"], 2, "needs `--machine M`");
    check_refusal(&["lab", "status", spec], 2, "hearth lab up");
    check_refusal(&["plan", "tests/invalid/01-yaml-syntax.yaml", "--lab"], 1, "error");
    let _ = std::fs::remove_dir_all(&dir);
}
