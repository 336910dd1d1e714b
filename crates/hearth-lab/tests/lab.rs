//! The lab on the real Docker engine: image build (cached), `up` of a spec with two networks and
//! a Docker-runtime machine, SSH through the generated `ssh_config`, nftables, an inner Docker
//! engine running an image this test builds, apt through the lab's proxy, `exec`'s exit status,
//! and `down` leaving nothing labelled behind.
//!
//! Without a Docker engine the test says so and passes, unless `HEARTH_REQUIRE_LAB=1` (CI).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const SPEC: &str = include_str!("data/two-networks.yaml");

/// A small image of the test's own, from the lab's base image: dash and the C library it needs.
const TINY: &str = "hearth-lab-test/tiny:1";

/// Whether a Docker engine answers; without one the test is skipped, except in CI
/// (`HEARTH_REQUIRE_LAB=1`), where that is a failure.
fn lab_possible() -> bool {
    if hearth_lab::engine_answers() {
        return true;
    }
    assert!(
        std::env::var("HEARTH_REQUIRE_LAB").as_deref() != Ok("1"),
        "HEARTH_REQUIRE_LAB=1 but no Docker engine answers"
    );
    eprintln!("skipped: no Docker engine answers `docker info`");
    false
}

fn sh(cmd: &str) -> std::process::Output {
    Command::new("sh").arg("-c").arg(cmd).output().expect("sh runs")
}

fn ok(cmd: &str) -> String {
    let out = sh(cmd);
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Labelled objects of one kind (`ps -a`, `network ls`, `volume ls`) still on the engine.
fn labelled(kind: &str, id: &str) -> String {
    ok(&format!("docker {kind} -q --filter label={}={id}", hearth_lab::LABEL))
}

fn workspace(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp folder");
    dir
}

#[test]
fn lab_up_use_and_down() {
    if !lab_possible() {
        return;
    }
    let root = workspace("lab");
    let spec = root.join("hearth.yaml");
    std::fs::write(&spec, SPEC).expect("spec written");
    let dir = hearth_lab::state_dir(&spec);
    let catalog = hearth_catalog::builtin();
    // A network the lab must leave alone.
    let decoy = format!("hearth-lab-test-decoy-{}", std::process::id());
    ok(&format!("docker network create --internal {decoy} >/dev/null"));

    let input = hearth_lab::prepare(&spec, catalog, &dir).expect("prepare");
    for f in &input.files {
        assert!(
            !f.content.contains("192.168.1.") && !f.content.contains("10.0.20."),
            "{} on {} keeps a spec address",
            f.path,
            f.machine
        );
    }
    let report = hearth_lab::up(&input, &dir, &hearth_lab::UpOptions::default());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let report = report.expect("lab up");
        assert!(!report.machines.is_empty());
        exercise(&dir, &input, &report);
        // `up` over a running lab starts it afresh, on the same subnets and addresses.
        let again = hearth_lab::prepare(&spec, catalog, &dir).expect("prepare again");
        assert_eq!(again.map, input.map);
        let second = hearth_lab::up(&again, &dir, &hearth_lab::UpOptions::default()).expect("lab up again");
        assert_eq!(second.machines, report.machines);
    }));
    let id = hearth_lab::lab_id(&dir);
    let down = hearth_lab::down(&dir).expect("lab down");
    assert!(!ok("iptables -S DOCKER-USER").contains(&format!("{}={id}", hearth_lab::LABEL)), "down left routing rules");
    for kind in ["ps -a", "network ls", "volume ls"] {
        assert_eq!(labelled(kind, &id), "", "`docker {kind}` still lists labelled objects after down");
    }
    assert_eq!(
        ok(&format!("docker network ls -q --filter name=^{decoy}$")).lines().count(),
        1,
        "down removed a network it did not create"
    );
    ok(&format!("docker network rm {decoy} >/dev/null"));
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
    assert!(down.containers >= 2 && down.networks == 2 && down.volumes == 1 && down.routes == 2, "{down:?}");
}

fn exercise(dir: &Path, input: &hearth_lab::LabInput, report: &hearth_lab::UpReport) {
    let names: Vec<&str> = report.machines.iter().map(|m| m.name.as_str()).collect();
    assert!(names.contains(&"apps") && names.contains(&"db"), "{names:?}");
    assert!(report.machines.iter().all(|m| m.state == "running"), "{:?}", report.machines);
    let lab = hearth_lab::load_state(dir).expect("state");
    let apps = &lab.machines["apps"];
    let db = &lab.machines["db"];
    assert_ne!(apps.network, db.network);
    assert!(
        report.skipped.iter().any(|s| s.machine == "pve" && s.what.contains("Proxmox API")),
        "{:?}",
        report.skipped
    );
    assert!(
        report.offline_images.iter().any(|o| o.service == "whoami" && o.machine == "apps"),
        "{:?}",
        report.offline_images
    );

    // SSH with the generated ssh_config: the admin user, passwordless sudo, checked host keys.
    let cfg = hearth_lab::ssh_config_path(dir);
    for machine in ["apps", "db"] {
        let who = ok(&format!("ssh -F {} {machine} 'id -un; sudo -n id -u'", cfg.display()));
        assert_eq!(who, format!("{}\n0\n", input.model.admin.user));
    }
    let key = dir.join("id_ed25519");
    let mode = std::fs::metadata(&key).map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777);
    assert_eq!(mode.ok(), Some(0o600));

    // The lab routes between its own networks, as the homelab's router does between VLANs.
    let reach = format!("exec 3<>/dev/tcp/{}/22 && head -c 7 <&3", db.address);
    let out = hearth_lab::exec_output(dir, "apps", &["bash", "-c", &reach]).expect("exec");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "SSH-2.0",
        "apps reaches db's sshd: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // exec returns the command's exit status.
    assert_eq!(hearth_lab::exec(dir, "db", &["sh".into(), "-c".into(), "exit 7".into()]).expect("exec"), 7);
    assert_eq!(hearth_lab::exec(dir, "db", &["true".into()]).expect("exec"), 0);
    assert!(matches!(hearth_lab::exec(dir, "nope", &["true".into()]), Err(hearth_lab::Error::UnknownMachine { .. })));

    // apt installs a package through the lab's proxy (the machine has no other way out).
    let out = hearth_lab::exec_output(
        dir,
        "db",
        &["sh", "-c", "apt-get -qq -o Acquire::Languages=none update && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends hello >/dev/null && hello"],
    )
    .expect("apt");
    assert!(out.status.success(), "apt through the proxy: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "Hello, world!");

    // The inner Docker engine runs a container from an image this test built.
    ok(&format!(
        "docker image inspect {TINY} >/dev/null 2>&1 || docker run --rm --entrypoint tar {} -ch /usr/bin/dash /lib/x86_64-linux-gnu/libc.so.6 /lib64/ld-linux-x86-64.so.2 | docker import - {TINY} >/dev/null",
        lab.image
    ));
    hearth_lab::load_image(dir, "apps", TINY).expect("load image");
    let out = hearth_lab::exec_output(
        dir,
        "apps",
        &["docker", "run", "--rm", "--network", "none", TINY, "/usr/bin/dash", "-c", "echo inner"],
    )
    .expect("docker run");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "inner", "{}", String::from_utf8_lossy(&out.stderr));
    assert!(matches!(
        hearth_lab::load_image(dir, "apps", "hearth-lab-test/absent:0"),
        Err(hearth_lab::Error::NoSuchImage { .. })
    ));

    // The rendered nftables ruleset loads on its machine.
    let ruleset = input
        .files
        .iter()
        .find(|f| f.machine == "db" && f.kind == hearth_render::Kind::Nftables)
        .expect("db has a rendered ruleset");
    let mut child = Command::new("docker")
        .args(["exec", "-i", &db.container, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docker exec");
    std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), ruleset.content.as_bytes()).expect("ruleset sent");
    let out = child.wait_with_output().expect("nft");
    assert!(out.status.success(), "nft -f: {}", String::from_utf8_lossy(&out.stderr));

    // status reads the same machines back.
    let status = hearth_lab::status(dir).expect("status");
    assert_eq!(status, report.machines);
}

#[test]
fn prepare_names_an_address_outside_every_network() {
    if !lab_possible() {
        return;
    }
    let root = workspace("outside");
    let spec = root.join("hearth.yaml");
    let text = SPEC.replace("address: 10.0.20.10", "address: 10.0.20.10, description: \"was 172.16.5.5\"");
    std::fs::write(&spec, text).expect("spec written");
    let err =
        hearth_lab::prepare(&spec, hearth_catalog::builtin(), &hearth_lab::state_dir(&spec)).expect_err("refused");
    let expected = format!(
        "`{}` cannot be re-addressed for the lab: `172.16.5.5` (line 11) is outside every spec network, so the lab has no address for it",
        spec.display()
    );
    assert_eq!(err.to_string(), expected);
}
