//! Folder copies to `rsync:` and `git:` repositories, run for real: the rendered script mirrors
//! a folder with rsync's own flags (local to local: no SSH server runs in the tests), commits and
//! pushes a working tree to a bare repository twice, the second run making no commit, and its
//! units pass `systemd-analyze verify`. On NixOS the same script lands in the flake.

mod common;

use std::path::Path;
use std::process::Command;

use hearth_model::Model;
use hearth_render::{File, Kind};

const SPEC: &str = r#"
homelab: lab
domain: home.arpa
networks:
  lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1 }
hosts: { pve: { address: 192.168.1.10, network: lan, proxmox: {} } }
guests:
  db: { lxc: { on: pve }, network: lan, address: 192.168.1.20, size: { memory: 1GiB } }
  store: { lxc: { on: pve }, network: lan, address: 192.168.1.21, size: { memory: 1GiB } }
  nix: { vm: { on: pve }, os: nixos, network: lan, address: 192.168.1.22, size: { memory: 1GiB } }
backups:
  repositories:
    storage: { rsync: "admin@store:/exports/backups/", credentials: "secret:storage-key" }
    config: { git: "ssh://git@store/lab/config.git" }
  policies:
    sync: { at: "03:00", to: [storage], from: [db], paths: [/mnt/backup/] }
    push: { at: daily, to: [config], from: [db, nix], paths: [/etc/nixos] }
secrets:
  storage-key: {}
"#;

fn model() -> Model {
    let loaded = hearth_spec::load_str("copies.yaml", SPEC);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    let errors: Vec<_> = a.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    a.model
}

fn file<'a>(files: &'a [File], machine: &str, path: &str) -> &'a File {
    files.iter().find(|f| f.machine == machine && f.path == path).unwrap_or_else(|| panic!("no {machine}:{path}"))
}

/// The script with the machine's folders moved under `dir`.
fn localise(script: &str, dir: &Path, pairs: &[(&str, &Path)]) -> String {
    let mut s = script.replace("/var/lib/hearth/copy/", &format!("{}/state/", dir.display()));
    for (from, to) in pairs {
        assert!(s.contains(from), "the script no longer names `{from}`:\n{s}");
        s = s.replace(from, &to.display().to_string());
    }
    // The script runs here: it must reach nothing but these folders, never a spec address.
    assert!(!s.contains("@192.168.") && !s.contains("@10."), "a remote address is left in:\n{s}");
    s
}

fn check(model: &Model, machine: &str, expected: &[(&str, Kind)]) {
    let files = common::render(model);
    for (path, kind) in expected {
        assert_eq!(file(&files, machine, path).kind, *kind, "{machine}:{path}");
    }
}

#[test]
fn copy_jobs_are_rendered_per_machine_and_policy() {
    let model = model();
    let jobs: Vec<(&str, &str)> = model.backups.copies.iter().map(|j| (j.machine.as_str(), j.name.as_str())).collect();
    assert_eq!(jobs, [("db", "push"), ("db", "sync"), ("nix", "push")]);
    // SSH from every copying machine to the machine a target names, so the firewall opens it.
    let ssh: Vec<(String, &str)> = model
        .flows
        .iter()
        .filter(|f| f.to == "store" && f.port == 22 && f.origin == "backups")
        .map(|f| (format!("{:?}", f.from), f.reason.as_str()))
        .collect();
    assert!(ssh.contains(&(r#"Machine("db")"#.to_string(), "backups to repository `storage`")), "{ssh:?}");
    assert!(ssh.contains(&(r#"Machine("nix")"#.to_string(), "backups to repository `config`")), "{ssh:?}");
    check(
        &model,
        "db",
        &[
            ("/etc/hearth/copy/sync.sh", Kind::Script),
            ("/etc/hearth/copy/push.sh", Kind::Script),
            ("/etc/systemd/system/hearth-copy-sync.service", Kind::SystemdUnit),
            ("/etc/systemd/system/hearth-copy-sync.timer", Kind::SystemdUnit),
            ("/etc/hearth/copy/storage.key", Kind::EnvSecret),
        ],
    );
    let files = common::render(&model);
    let sync = file(&files, "db", "/etc/hearth/copy/sync.sh");
    // The machine's name is given to rsync as its address; the key as a placeholder, not a value.
    assert!(sync.content.contains("rsync -avz -e \"$(ssh_command /etc/hearth/copy/storage.key)\" -- /mnt/backup/ admin@192.168.1.21:/exports/backups/"), "{}", sync.content);
    assert_eq!(file(&files, "db", "/etc/hearth/copy/storage.key").mode, 0o600);
    assert!(
        file(&files, "db", "/etc/systemd/system/hearth-copy-sync.timer").content.contains("OnCalendar=*-*-* 03:00:00")
    );
    let packages = file(&files, "db", "/etc/hearth/packages.list");
    for p in ["rsync", "git", "openssh-client"] {
        assert!(packages.content.lines().any(|l| l == p), "{p}: {}", packages.content);
    }
    // The NixOS guest runs the same script from its flake, its units and key no files of their own.
    let flake = files
        .iter()
        .find(|f| f.machine == "nix" && f.kind == Kind::Nixos && f.content.contains("hearth-copy-push"))
        .expect("nix config");
    assert!(flake.content.contains("startAt = \"*-*-* 00:00:00\";"), "{}", flake.content);
    assert!(flake.content.contains("push_tree /etc/nixos ssh://git@store/lab/config.git nix)"), "{}", flake.content);
    assert!(!files.iter().any(|f| f.machine == "nix" && f.path.starts_with("/etc/systemd/system/hearth-copy")));
}

#[test]
fn copy_units_verify() {
    if !common::have("systemd-analyze") {
        return;
    }
    let files = common::render(&model());
    let dir = common::temp_dir("copies-units");
    let mut paths = Vec::new();
    for f in files.iter().filter(|f| f.path.starts_with("/etc/systemd/system/hearth-copy-")) {
        let p = dir.join(Path::new(&f.path).file_name().unwrap());
        std::fs::write(&p, &f.content).unwrap();
        paths.push(p);
    }
    assert_eq!(paths.len(), 4);
    let out = Command::new("systemd-analyze").arg("verify").arg("--man=no").args(&paths).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let findings: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(out.status.success() && findings.is_empty(), "systemd-analyze verify:\n{stderr}");
}

#[test]
fn rsync_job_mirrors_the_folder() {
    if !common::have("rsync") || !common::have("sh") {
        return;
    }
    let files = common::render(&model());
    let script = &file(&files, "db", "/etc/hearth/copy/sync.sh").content;
    let dir = common::temp_dir("copies-rsync");
    let source = dir.join("backup");
    std::fs::create_dir_all(source.join("postgresql")).unwrap();
    std::fs::write(source.join("postgresql/myapp.sql"), "-- dump\n").unwrap();
    let dest = dir.join("exports");
    std::fs::create_dir_all(&dest).unwrap();
    let local = localise(
        script,
        &dir,
        &[("/mnt/backup/", &source.join("")), ("admin@192.168.1.21:/exports/backups/", &dest.join(""))],
    );
    let path = dir.join("sync.sh");
    std::fs::write(&path, local).unwrap();
    for _ in 0..2 {
        common::run_ok(Command::new("sh").arg(&path), "sync.sh");
    }
    // `/mnt/backup/` with its slash: the folder's contents, not the folder, land in the target.
    assert_eq!(std::fs::read_to_string(dest.join("postgresql/myapp.sql")).unwrap(), "-- dump\n");
}

#[test]
fn git_job_commits_only_changes_and_pushes() {
    if !common::have("git") || !common::have("sh") {
        return;
    }
    let files = common::render(&model());
    let script = &file(&files, "db", "/etc/hearth/copy/push.sh").content;
    let dir = common::temp_dir("copies-git");
    let remote = dir.join("config.git");
    common::run_ok(Command::new("git").arg("init").arg("-q").arg("--bare").arg(&remote), "git init --bare");
    let tree = dir.join("nixos");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("flake.nix"), "{ }\n").unwrap();
    let local = localise(script, &dir, &[("/etc/nixos", &tree), ("ssh://git@store/lab/config.git", &remote)]);
    let path = dir.join("push.sh");
    std::fs::write(&path, local).unwrap();
    let commits = || {
        common::run_ok(
            Command::new("git").arg("-C").arg(&remote).args(["rev-list", "--count", "refs/heads/db"]),
            "rev-list",
        )
        .trim()
        .to_string()
    };
    // No identity of the test runner's: the script's own must do.
    let run = || {
        common::run_ok(
            Command::new("sh")
                .arg(&path)
                .env("HOME", &dir)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_CONFIG_GLOBAL", "/dev/null"),
            "push.sh",
        )
    };
    run();
    assert_eq!(commits(), "1");
    run();
    assert_eq!(commits(), "1", "an unchanged tree makes no commit");
    std::fs::write(tree.join("flake.nix"), "{ outputs = _: { }; }\n").unwrap();
    run();
    assert_eq!(commits(), "2");
    let message =
        common::run_ok(Command::new("git").arg("-C").arg(&remote).args(["log", "-1", "--format=%s", "db"]), "log");
    assert!(message.starts_with("Auto-backup "), "{message}");
}

/// An rsync target's SSH `port:` (a Hetzner Storage Box takes rsync on 23) reaches the script's
/// ssh command and the firewall flow; without it both stay on 22, as above.
#[test]
fn rsync_port_reaches_ssh_and_the_flow() {
    let spec = SPEC.replace(
        r#"storage: { rsync: "admin@store:/exports/backups/", credentials: "secret:storage-key" }"#,
        r#"storage: { rsync: "admin@store:/exports/backups/", port: 2222, credentials: "secret:storage-key" }"#,
    );
    let loaded = hearth_spec::load_str("copies.yaml", &spec);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    assert!(a.diagnostics.iter().all(|d| !d.is_error()), "{:?}", a.diagnostics);
    let model = a.model;
    assert!(
        model.flows.iter().any(|f| f.to == "store" && f.port == 2222 && f.reason == "backups to repository `storage`"),
        "{:?}",
        model.flows
    );
    let files = common::render(&model);
    let sync = file(&files, "db", "/etc/hearth/copy/sync.sh");
    assert!(
        sync.content.contains("rsync -avz -e \"$(ssh_command /etc/hearth/copy/storage.key) -p 2222\" -- /mnt/backup/"),
        "{}",
        sync.content
    );
}
