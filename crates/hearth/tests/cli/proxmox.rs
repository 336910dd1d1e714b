//! `plan` and `apply` of guests against the Proxmox API simulator (`hearth-pve-sim`, served
//! in-process on a loopback port and given with `--proxmox-endpoint`): created from nothing, a
//! second apply that changes nothing, a memory change planned and applied, a failing create
//! reported at the guest's spec line, and the token never printed. `--only-guests` keeps the
//! deploy (which would connect to the spec's addresses) out of it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use hearth_pve_sim::state::storage::default_storages;
use hearth_pve_sim::{Config, Faults, NoRuntime, Rule, Schema, Sim, State, Token};

use super::{repo_root, tempdir};

const TOKEN: &str = "hearth@pve!apply=7c1d3a52-secret-value";

/// The simulator on its own runtime, for as long as the value lives.
struct Simulator {
    sim: Arc<Sim>,
    url: String,
    _runtime: tokio::runtime::Runtime,
}

fn simulator(snippets: &Path) -> Simulator {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let schema = Schema::from_file(&repo_root().join(hearth_pve_sim::schema::VENDORED)).expect("schema");
    let config = Config {
        tokens: vec![Token::parse(TOKEN).expect("token")],
        task_duration: Duration::from_millis(5),
        snippets_dir: Some(snippets.to_path_buf()),
        ..Config::default()
    };
    let state = State::new("pve", default_storages());
    let sim = Arc::new(Sim::new(Arc::new(schema), config, state, Faults::default(), Arc::new(NoRuntime)));
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let served = Arc::clone(&sim);
    runtime.spawn(async move {
        let _ = hearth_pve_sim::serve(listener, served).await;
    });
    Simulator { sim, url, _runtime: runtime }
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(spec: &Path, args: &[&str], sim: &Simulator) -> Run {
    let endpoint = format!("pve={}", sim.url);
    let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(args)
        .arg(spec)
        .args(["--only-guests", "--proxmox-endpoint", &endpoint])
        .env("NO_COLOR", "1")
        .env("HEARTH_TEST_PVE_TOKEN", TOKEN)
        .stdin(Stdio::null())
        .output()
        .expect("spawn hearth");
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    let secret = TOKEN.split_once('=').map(|(_, s)| s).unwrap_or(TOKEN);
    assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "the token's secret was printed");
    run
}

/// The minimal example with its token read from the environment, and the snippet folder the
/// simulator reads `cicustom` volumes from (the host's deploy puts the snippet there).
fn spec(memory: &str) -> (PathBuf, PathBuf) {
    let dir = tempdir();
    let text = std::fs::read_to_string(repo_root().join("examples/minimal.yaml")).expect("minimal example");
    let text = text
        .replace("proxmox: { node: pve }", "proxmox: { node: pve, token: \"env:HEARTH_TEST_PVE_TOKEN\" }")
        .replace("memory: 8GiB", &format!("memory: {memory}"));
    let spec = dir.join("homelab.yaml");
    std::fs::write(&spec, text).expect("write spec");
    let snippets = dir.join("snippets");
    std::fs::create_dir_all(&snippets).expect("snippets");
    std::fs::write(snippets.join("hearth-docker.yaml"), "#cloud-config\n").expect("snippet");
    (spec, snippets)
}

#[test]
fn guests_are_created_then_unchanged_then_changed() {
    let (path, snippets) = spec("8GiB");
    let sim = simulator(&snippets);
    let mut transcript = String::new();
    let mut step = |title: &str, args: &[&str], path: &Path, code: i32| {
        let r = run(path, args, &sim);
        assert_eq!(r.code, Some(code), "{title}\nstdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
        transcript.push_str(&format!("$ {title}\n{}", r.stdout));
        if title == "apply" {
            // Progress on stderr, one line per step as it is done.
            for step in ["created", "grew scsi0 to 100G", "started"] {
                assert!(r.stderr.contains(&format!("pve: docker: {step}\n")), "{}", r.stderr);
            }
        }
    };
    step("plan", &["plan"], &path, 0);
    step("apply", &["apply", "--yes"], &path, 0);
    step("apply again", &["apply", "--yes"], &path, 0);
    std::fs::write(&path, std::fs::read_to_string(&path).unwrap().replace("memory: 8GiB", "memory: 12GiB")).unwrap();
    step("plan after the memory change", &["plan"], &path, 0);
    step("apply the memory change", &["apply", "--yes"], &path, 0);
    step("apply again", &["apply", "--yes"], &path, 0);
    insta::assert_snapshot!("proxmox_guests", transcript);
    let running = sim.sim.with_state(|s| s.guests.get(&100).map(|g| (g.running, g.config.get("memory").cloned())));
    assert_eq!(running, Some((true, Some("12288".to_string()))));

    // A smaller disk is refused, at the guest's spec line, and nothing is sent.
    std::fs::write(&path, std::fs::read_to_string(&path).unwrap().replace("disk: 100GiB", "disk: 50GiB")).unwrap();
    for args in [&["plan"][..], &["apply", "--yes"][..]] {
        let r = run(&path, args, &sim);
        assert_eq!(r.code, Some(3), "{args:?}: {}", r.stderr);
        let line = r.stderr.lines().find(|l| l.contains("error: guest")).unwrap_or_default();
        assert_eq!(
            line.replace(&path.display().to_string(), "homelab.yaml"),
            "homelab.yaml:8:11: error: guest `docker` (100) on node `pve` cannot be applied: its disk `scsi0` is 100G on the node and 50G in the spec: Proxmox cannot shrink a disk; set `disk: 100G` or more, or recreate the guest"
        );
    }
}

/// A guest with snapshots before apply: `plan` shows the snapshot a change would take, `apply`
/// takes it before the change and names the rollback, and the next change prunes to `keep`.
#[test]
fn a_change_is_snapshotted_first() {
    let (path, snippets) = spec("8GiB");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("runtime: docker, "), "the example changed shape");
    std::fs::write(
        &path,
        text.replace("runtime: docker, ", "runtime: docker, snapshot: { before_apply: true, keep: 1 }, "),
    )
    .unwrap();
    let sim = simulator(&snippets);
    let created = run(&path, &["apply", "--yes"], &sim);
    assert_eq!(created.code, Some(0), "{}", created.stderr);
    assert!(!created.stdout.contains("snapshot"), "nothing to snapshot at creation: {}", created.stdout);
    let mut names = Vec::new();
    for memory in ["12GiB", "16GiB"] {
        let text = std::fs::read_to_string(&path).unwrap();
        let from = ["8GiB", "12GiB"].into_iter().find(|m| text.contains(&format!("memory: {m}"))).unwrap();
        std::fs::write(&path, text.replace(&format!("memory: {from}"), &format!("memory: {memory}"))).unwrap();
        let plan = run(&path, &["plan"], &sim);
        assert!(
            plan.stdout.contains("      snapshot `hearth-YYYYMMDD-HHMMSS` (UTC) first, keeping Hearth's newest 1\n"),
            "{}",
            plan.stdout
        );
        let applied = run(&path, &["apply", "--yes"], &sim);
        assert_eq!(applied.code, Some(0), "{}", applied.stderr);
        let line = applied
            .stdout
            .lines()
            .find(|l| l.starts_with("100 docker on pve: ok: snapshot hearth-"))
            .unwrap_or_else(|| panic!("{}", applied.stdout));
        let name = line.split_whitespace().nth(6).unwrap().to_string();
        assert!(
            applied.stdout.contains(&format!("    undo with `qm rollback 100 {name}` on the node\n")),
            "{}",
            applied.stdout
        );
        names.push(name);
    }
    let kept: Vec<String> =
        sim.sim.with_state(|s| s.guests[&100].snapshots.iter().map(|snap| snap.name.clone()).collect());
    assert_eq!(kept, [names[1].clone()], "the newest only");
}

#[test]
fn a_failed_create_names_the_guest_and_its_spec_line() {
    let (path, snippets) = spec("8GiB");
    let sim = simulator(&snippets);
    let rule: Rule = serde_json::from_str(
        r#"{"kind":"task-fail","method":"POST","path":"/nodes/pve/qemu","message":"unable to create VM 100 - no space left"}"#,
    )
    .unwrap();
    sim.sim.with_faults(|f| f.rules.push(rule));
    let r = run(&path, &["apply", "--yes"], &sim);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    let line = r.stderr.lines().find(|l| l.contains("error: guest")).unwrap_or_default();
    let shown = line.replace(&path.display().to_string(), "homelab.yaml");
    assert!(
        shown.starts_with(
            "homelab.yaml:8:11: error: guest `docker` (100) on node `pve` was not applied: task `UPID:pve:"
        ),
        "{shown}"
    );
    assert!(shown.ends_with("failed: unable to create VM 100 - no space left"), "{shown}");
    assert!(sim.sim.with_state(|s| s.guests.is_empty()), "no half-created guest");
}

#[test]
fn an_endpoint_for_no_node_is_refused_before_anything_is_contacted() {
    let (path, _) = spec("8GiB");
    // Refused while the nodes are worked out, before any connection (the example's real node
    // is a spec address, which no test may reach).
    let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["plan"])
        .arg(&path)
        .args([
            "--only-guests",
            "--proxmox-endpoint",
            "pve=http://127.0.0.1:9",
            "--proxmox-endpoint",
            "nosuch=http://127.0.0.1:9",
        ])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("spawn hearth");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`--proxmox-endpoint nosuch=...` names no Proxmox node with guests in the spec"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(2));
}

/// The minimal example on a VLAN, with a ZFS dataset on its node and the VM backed up weekly to a
/// Proxmox Backup Server: the node's own steps beside its guest.
fn host_spec() -> (PathBuf, PathBuf) {
    let (path, snippets) = spec("8GiB");
    let text = std::fs::read_to_string(&path).unwrap()
        .replace("gateway: 192.168.1.1 }", "gateway: 192.168.1.1, vlan: 20 }")
        .replace(
            "token: \"env:HEARTH_TEST_PVE_TOKEN\" }",
            "token: \"env:HEARTH_TEST_PVE_TOKEN\" }, storage: { tank: { kind: zfs, datasets: { media: { compression: lz4 } } } }",
        )
        .replace("disk: 100GiB } }", "disk: 100GiB }, backup: weekly }")
        .replace(
            "repositories: { usb: { restic: /mnt/usb/restic } }",
            "repositories: { usb: { restic: /mnt/usb/restic }, pbs: { pbs: { server: 192.168.1.20, datastore: main } } }",
        )
        .replace(
            "policies: { nightly:",
            "policies: { weekly: { at: \"Sun 03:00\", to: [pbs], keep: { weekly: 4 } }, nightly:",
        );
    std::fs::write(&path, text).unwrap();
    (path, snippets)
}

#[test]
fn host_steps_bridges_backup_jobs_and_datasets() {
    let (path, snippets) = host_spec();
    let sim = simulator(&snippets);
    // A bridge that is not VLAN-aware refuses the guest at its spec line, with the fix.
    sim.sim.with_state(|s| s.bridges.values_mut().for_each(|b| b.vlan_aware = false));
    let r = run(&path, &["plan"], &sim);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    let line = r.stderr.lines().find(|l| l.contains("error: guest")).unwrap_or_default();
    insta::assert_snapshot!("proxmox_bridge_refused", line.replace(&path.display().to_string(), "homelab.yaml"));
    sim.sim.with_state(|s| s.bridges.values_mut().for_each(|b| b.vlan_aware = true));
    // A job made by hand is never touched.
    sim.sim.with_state(|s| {
        let job =
            serde_json::json!({ "comment": "made by hand", "vmid": "999", "schedule": "daily", "storage": "local" });
        s.backup_jobs.insert("backup-by-hand".into(), job.as_object().unwrap().clone());
    });

    let mut transcript = String::new();
    let mut step = |title: &str, args: &[&str], path: &Path, code: i32| {
        let r = run(path, args, &sim);
        assert_eq!(r.code, Some(code), "{title}\nstdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
        transcript.push_str(&format!("$ {title}\n{}", r.stdout));
    };
    step("plan", &["plan"], &path, 0);
    step("apply", &["apply", "--yes"], &path, 0);
    step("apply again", &["apply", "--yes"], &path, 0);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("keep: { weekly: 4 }", "keep: { weekly: 8 }")).unwrap();
    step("plan after the policy change", &["plan"], &path, 0);
    step("apply the policy change", &["apply", "--yes"], &path, 0);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace(", backup: weekly }", " }")).unwrap();
    step("apply without the guest's backup", &["apply", "--yes"], &path, 0);
    insta::assert_snapshot!("proxmox_host_steps", transcript);
    let jobs: Vec<String> = sim.sim.with_state(|s| s.backup_jobs.keys().cloned().collect());
    assert_eq!(jobs, vec!["backup-by-hand".to_string()]);
    let refused = sim.sim.with_stats(|st| st.refused.clone());
    assert!(refused.is_empty(), "refused requests: {refused:?}");
}
