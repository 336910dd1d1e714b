//! Backups as they run together, beyond each file's validity (`data.rs`): the jobs of a policy
//! start at the same moment against one repository and must all succeed (Debian's restic against
//! a local repository), each repository is pruned in one place, whole-guest backups to restic are
//! rendered, host repository folders reach the guests that write to them, ZFS snapshots cover
//! child datasets, and database jobs back up dumps rather than live files.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use hearth_model::Model;
use hearth_model::model::{GuestKind, Repository};
use hearth_render::{File, Kind};

fn example(name: &str) -> Model {
    common::examples().into_iter().find(|(n, _)| n == name).map(|(_, m)| m).expect("example exists")
}

fn restic_repos(model: &Model, policy: &str) -> Vec<String> {
    model.backups.policies[policy]
        .to
        .iter()
        .filter(|r| matches!(model.backups.repositories.get(*r), Some(Repository::Restic { .. })))
        .cloned()
        .collect()
}

#[test]
fn each_restic_repository_is_pruned_in_one_place() {
    let mut checked = 0;
    for (name, model) in common::examples() {
        let files = common::render(&model);
        for f in files.iter().filter(|f| f.path.starts_with("/etc/hearth/backup/") && f.path.ends_with(".sh")) {
            if f.path.starts_with("/etc/hearth/backup/repository-") {
                continue;
            }
            // A job that pruned by itself would take the repository's exclusive lock while the
            // policy's other jobs back up.
            let prunes = f
                .content
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .any(|l| l.contains("--keep-") || l.contains("restic prune") || l.contains("--prune"));
            assert!(!prunes, "{name}: {}:{} prunes", f.machine, f.path);
        }
        let mut pruned: BTreeMap<String, usize> = BTreeMap::new();
        for job in model.backups.jobs.iter().filter(|j| !model.is_nixos(&j.machine)) {
            if model.backups.policies[&job.policy].keep.is_empty() {
                continue;
            }
            for repo in restic_repos(&model, &job.policy) {
                pruned.insert(repo, 0);
            }
        }
        for f in &files {
            if let Some(repo) =
                f.path.strip_prefix("/etc/hearth/backup/repository-").and_then(|p| p.strip_suffix(".sh"))
                && f.content.contains("prune)")
            {
                *pruned.entry(repo.to_string()).or_default() += 1;
            }
        }
        for (repo, n) in pruned {
            assert_eq!(n, 1, "{name}: repository `{repo}` pruned in {n} places");
            checked += 1;
        }
    }
    assert!(checked > 0);
}

/// Rewrites a rendered script's machine paths to a test folder.
fn localise(content: &str, dir: &Path, paths: &[String]) -> String {
    let mut c = content.replace("/etc/hearth/restic/", &format!("{}/env/", dir.display()));
    c = c.replace("/var/lib/prometheus/node-exporter", &dir.join("textfile").display().to_string());
    for p in paths {
        c = c.replace(p.as_str(), &dir.join("data").display().to_string());
    }
    c
}

/// The steps a unit runs, in order: `(interpreter, script, step)` of its `Exec*` lines.
fn steps(unit: &str) -> Vec<(String, String, String)> {
    unit.lines()
        .filter_map(|l| l.split_once('=').filter(|(k, _)| k.starts_with("Exec")).map(|(_, v)| v))
        .filter_map(|v| {
            let parts: Vec<&str> = v.split(' ').collect();
            (parts.len() == 3).then(|| (parts[0].to_string(), parts[1].to_string(), parts[2].to_string()))
        })
        .collect()
}

#[test]
fn a_policys_jobs_and_the_prune_run_at_once_and_all_succeed() {
    if !common::have("restic") {
        assert!(!common::validators_required(), "restic missing");
        return;
    }
    let model = example("minimal");
    let files = common::render(&model);
    let dir = common::temp_dir("backups-concurrent");
    std::fs::create_dir_all(dir.join("env")).unwrap();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("data/file.txt"), "hello").unwrap();
    let all_paths: Vec<String> = model.backups.jobs.iter().flat_map(|j| j.paths.clone()).collect();
    for repo in model.backups.repositories.keys() {
        std::fs::write(
            dir.join(format!("env/{repo}.env")),
            format!("RESTIC_REPOSITORY='{}'\nRESTIC_PASSWORD='test'\n", dir.join(format!("repo-{repo}")).display()),
        )
        .unwrap();
    }
    // Every backup and prune unit of the machine, as its timers would start them at 03:00.
    let units: Vec<&File> = files
        .iter()
        .filter(|f| {
            f.kind == Kind::SystemdUnit
                && f.path.ends_with(".service")
                && (f.path.contains("hearth-backup-") || f.path.contains("hearth-restic-prune-"))
        })
        .collect();
    assert!(units.len() > 2, "several units to run at once");
    for unit in &units {
        for (_, script, _) in steps(&unit.content) {
            let f = files.iter().find(|f| f.machine == unit.machine && f.path == script).unwrap();
            let local = dir.join(script.trim_start_matches('/').replace('/', "_"));
            std::fs::write(&local, localise(&f.content, &dir, &all_paths)).unwrap();
        }
    }
    let mut running = Vec::new();
    for unit in &units {
        let mut sequence = Vec::new();
        for (shell, script, step) in steps(&unit.content) {
            let local = dir.join(script.trim_start_matches('/').replace('/', "_"));
            sequence.push(format!("{shell} {} {step}", local.display()));
        }
        let child = Command::new("sh")
            .arg("-c")
            .arg(sequence.join(" && "))
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .env("HEARTH_LOCK_RETRY_SECONDS", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        running.push((unit.path.clone(), child));
    }
    for (unit, child) in running {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{unit} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    for job in &model.backups.jobs {
        let snapshots = common::run_ok(
            Command::new("restic")
                .args(["snapshots", "--json", "--tag", &job.service])
                .env("RESTIC_REPOSITORY", dir.join("repo-usb"))
                .env("RESTIC_PASSWORD", "test")
                .env("XDG_CACHE_HOME", dir.join("cache")),
            "restic snapshots",
        );
        let list: serde_json::Value = serde_json::from_str(&snapshots).unwrap();
        assert!(!list.as_array().unwrap().is_empty(), "{}: no snapshot", job.service);
    }
}

#[test]
fn whole_guest_backups_to_restic_are_rendered() {
    let mut checked = 0;
    for (name, model) in common::examples() {
        let files = common::render(&model);
        for b in &model.backups.guests {
            if restic_repos(&model, &b.policy).is_empty() {
                continue;
            }
            let g = &model.guests[&b.guest];
            let script = files
                .iter()
                .find(|f| f.machine == g.host && f.path == format!("/etc/hearth/backup/guests-{}.sh", b.policy))
                .unwrap_or_else(|| panic!("{name}: no whole-guest backup of `{}`", b.guest));
            let file = match g.kind {
                GuestKind::Lxc => format!("vzdump-lxc-{}.tar.zst", g.id),
                GuestKind::Vm => format!("vzdump-qemu-{}.vma.zst", g.id),
            };
            let line = script.content.lines().find(|l| l.contains(&file)).unwrap_or_default();
            assert!(line.contains(&format!(" {} ", g.id)) && line.contains("locked guest"), "{name}: {}", b.guest);
            let timer = format!("/etc/systemd/system/hearth-backup-guests-{}.timer", b.policy);
            assert!(files.iter().any(|f| f.machine == g.host && f.path == timer), "{name}: {timer}");
            if common::have("bash") {
                let dir = common::temp_dir(&format!("backups-guests-{name}"));
                let path = dir.join("guests.sh");
                std::fs::write(&path, &script.content).unwrap();
                common::run_ok(Command::new("bash").arg("-n").arg(&path), "bash -n");
            }
            checked += 1;
        }
    }
    assert!(checked > 0);
}

#[test]
fn host_repository_folders_reach_the_guests_that_write_there() {
    let mut checked = 0;
    for (name, model) in common::examples() {
        let files = common::render(&model);
        for job in &model.backups.jobs {
            let Some(g) = model.guests.get(&job.machine) else { continue };
            let pools: Vec<&str> = model.hosts[&g.host].pools.values().map(|p| p.path.as_str()).collect();
            for repo in restic_repos(&model, &job.policy) {
                let Some(Repository::Restic { url, .. }) = model.backups.repositories.get(&repo) else { continue };
                if !pools.iter().any(|p| url == p || url.starts_with(&format!("{p}/"))) {
                    continue;
                }
                let params = files
                    .iter()
                    .find(|f| f.path == format!("/etc/hearth/proxmox/{}-{}.json", g.id, job.machine))
                    .unwrap();
                let wanted = match g.kind {
                    GuestKind::Lxc => format!("{url},mp={url}\""),
                    GuestKind::Vm => "\"virtiofs".to_string(),
                };
                assert!(params.content.contains(&wanted), "{name}: `{}` writes to {url} on the host", job.machine);
                checked += 1;
            }
        }
    }
    assert!(checked > 0);
}

#[test]
fn zfs_snapshots_cover_child_datasets() {
    let model = example("zfs-proxmox-media-cloud");
    let files = common::render(&model);
    let script = files.iter().find(|f| f.path == "/etc/hearth/zfs/snapshot.sh").expect("snapshot script");
    assert!(script.content.contains("zfs snapshot -r "), "{}", script.content);
    assert!(script.content.contains("zfs destroy -r "), "{}", script.content);
}

#[test]
fn database_jobs_back_up_dumps_not_live_files() {
    let mut checked = 0;
    for (name, model) in common::examples() {
        for job in model.backups.jobs.iter().filter(|j| !j.dumps.is_empty()) {
            let s = &model.services[&job.service];
            for v in s.volumes.iter().filter(|v| v.stateful) {
                assert!(!job.paths.contains(&v.source), "{name}: `{}` copies its live {}", job.service, v.source);
            }
            checked += 1;
        }
    }
    assert!(checked > 0);
}

/// The rendered whole-guest backup run for real with a stand-in `vzdump` that streams bytes:
/// each guest's archive lands in the restic repository under its file name, and a failing
/// vzdump fails the backup (`pipefail`) instead of storing an empty archive.
#[test]
fn whole_guest_backup_streams_vzdump_into_restic() {
    if !common::have("restic") || !common::have("bash") {
        assert!(!common::validators_required(), "restic or bash missing");
        return;
    }
    let model = example("ryzen-tiered-lxc-platform");
    let files = common::render(&model);
    let script = files.iter().find(|f| f.machine == "pve" && f.path == "/etc/hearth/backup/guests-weekly.sh").unwrap();
    let dir = common::temp_dir("backups-vzdump");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(dir.join("env")).unwrap();
    let fake = bin.join("vzdump");
    std::fs::write(&fake, "#!/bin/sh\n[ -e \"$FAIL\" ] && exit 3\necho \"archive of guest $1\"\n").unwrap();
    common::run_ok(Command::new("chmod").arg("+x").arg(&fake), "chmod");
    for repo in restic_repos(&model, "weekly") {
        std::fs::write(
            dir.join(format!("env/{repo}.env")),
            format!("RESTIC_REPOSITORY='{}'\nRESTIC_PASSWORD='test'\n", dir.join(format!("repo-{repo}")).display()),
        )
        .unwrap();
    }
    let local = dir.join("guests.sh");
    std::fs::write(&local, localise(&script.content, &dir, &[])).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let run = |fail: bool| {
        Command::new("bash")
            .arg(&local)
            .arg("backup")
            .env("PATH", &path)
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .env("FAIL", if fail { dir.join("bin/vzdump").display().to_string() } else { "/nonexistent".into() })
            .output()
            .unwrap()
    };
    let ok = run(false);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let g = &model.guests["lxc1-traefik"];
    let dumped = common::run_ok(
        Command::new("restic")
            .args(["dump", "--tag", "guest-lxc1-traefik", "latest", &format!("vzdump-lxc-{}.tar.zst", g.id)])
            .env("RESTIC_REPOSITORY", dir.join("repo-nas"))
            .env("RESTIC_PASSWORD", "test")
            .env("XDG_CACHE_HOME", dir.join("cache")),
        "restic dump",
    );
    assert_eq!(dumped, format!("archive of guest {}\n", g.id));
    let failed = run(true);
    assert!(!failed.status.success(), "a failing vzdump must fail the backup");
    // ... and leave no partial snapshot behind: the latest is still the good archive.
    let latest = common::run_ok(
        Command::new("restic")
            .args(["dump", "--tag", "guest-lxc1-traefik", "latest", &format!("vzdump-lxc-{}.tar.zst", g.id)])
            .env("RESTIC_REPOSITORY", dir.join("repo-nas"))
            .env("RESTIC_PASSWORD", "test")
            .env("XDG_CACHE_HOME", dir.join("cache")),
        "restic dump",
    );
    assert_eq!(latest, dumped);
}

/// A service under two policies, one to restic and one to a folder repository, and a PostgreSQL
/// server whose dumps go to a folder: one job per policy (`<service>-<policy>`), each with its
/// own units, tag and metric, and only folder steps where the policy writes only to folders.
const SEVERAL: &str = r#"
homelab: several
networks: { lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1 } }
hosts: { pve: { address: 192.168.1.10, network: lan, proxmox: { node: pve } } }
guests:
  docker: { vm: { on: pve }, network: lan, runtime: docker, size: { cores: 4, memory: 8GiB, disk: 100GiB } }
services:
  vaultwarden: { app: vaultwarden, on: docker, backup: [nightly, { policy: folder, paths: [/srv/extra] }] }
  postgres: { app: postgresql, on: docker, databases: [app], backup: folder }
backups:
  repositories:
    usb: { restic: /mnt/usb/restic }
    nas: { dir: /mnt/nas/dumps }
  policies:
    nightly: { at: "03:00", to: [usb], keep: { daily: 7 } }
    folder: { at: "04:00", to: [nas], keep: { last: 2 } }
"#;

fn several() -> Model {
    let loaded = hearth_spec::load_str("several.yaml", SEVERAL);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    let errors: Vec<_> = a.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    a.model
}

#[test]
fn several_policies_make_one_job_each() {
    let model = several();
    let jobs: Vec<(&str, &str)> = model.backups.jobs.iter().map(|j| (j.name.as_str(), j.policy.as_str())).collect();
    assert_eq!(jobs, [("vaultwarden-nightly", "nightly"), ("vaultwarden-folder", "folder"), ("postgres", "folder")]);
    let files = common::render(&model);
    let get = |path: &str| files.iter().find(|f| f.path == path).unwrap_or_else(|| panic!("no {path}"));
    let nightly = get("/etc/systemd/system/hearth-backup-vaultwarden-nightly.service");
    assert!(nightly.content.contains(" backup\n") && !nightly.content.contains(" copy\n"), "{}", nightly.content);
    let folder = get("/etc/systemd/system/hearth-backup-vaultwarden-folder.service");
    assert!(folder.content.contains(" copy\n") && !folder.content.contains(" backup\n"), "{}", folder.content);
    assert!(get("/etc/systemd/system/hearth-backup-vaultwarden-folder.timer").content.contains("04:00"));
    // The prune forgets each job's own snapshots: the restic tag is the job's name.
    let prune = get("/etc/hearth/backup/repository-usb.sh");
    assert!(prune.content.contains("--tag vaultwarden-nightly --keep-daily 7"), "{}", prune.content);
    assert!(!files.iter().any(|f| f.path == "/etc/hearth/restic/nas.env"), "a folder has no restic environment");
}

/// The folder job run for real (`dump` with a stand-in `docker` that prints a dump, then `copy`
/// three times): each run lands in a dated folder of its own, and only the newest two are kept.
#[test]
fn folder_repository_keeps_the_newest_runs() {
    if !common::have("sh") || !common::have("tar") {
        assert!(!common::validators_required(), "sh or tar missing");
        return;
    }
    let model = several();
    let files = common::render(&model);
    let script = files.iter().find(|f| f.path == "/etc/hearth/backup/postgres.sh").expect("postgres job");
    let dir = common::temp_dir("backups-folder");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("docker"), "#!/bin/sh\n[ \"$1\" = ps ] && { echo c0ffee; exit 0; }\necho \"dump of $*\"\n")
        .unwrap();
    common::run_ok(Command::new("chmod").arg("+x").arg(bin.join("docker")), "chmod");
    let content = script
        .content
        .replace("/mnt/nas/dumps", &dir.join("nas").display().to_string())
        .replace("/var/backups/hearth/", &format!("{}/dumps/", dir.display()))
        .replace("/var/lib/prometheus/node-exporter", &dir.join("textfile").display().to_string());
    let local = dir.join("postgres.sh");
    std::fs::write(&local, content).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    for step in ["dump", "copy", "copy", "copy", "metric"] {
        // A second apart: runs are named by the second they start in.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let out = Command::new("sh").arg(&local).arg(step).env("PATH", &path).output().unwrap();
        assert!(out.status.success(), "{step}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let mut runs: Vec<String> = std::fs::read_dir(dir.join("nas/postgres"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    runs.sort();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert!(runs.iter().all(|r| r.ends_with('Z')), "{runs:?}");
    let dump = std::fs::read_to_string(dir.join("nas/postgres").join(&runs[1]).join("postgres-app.dump")).unwrap();
    assert!(dump.contains("pg_dump"), "{dump}");
    assert!(
        std::fs::read_to_string(dir.join("textfile/hearth-backup-postgres.prom"))
            .unwrap()
            .contains("job_name=\"postgres\"")
    );
}

/// Seed 002's PBS datastore schedules, run against a stand-in `docker` that plays
/// `proxmox-backup-manager` inside the PBS container: the first apply creates the prune and
/// verify jobs, the second updates them, and the garbage collection schedule is set each time.
#[test]
fn pbs_datastore_jobs_are_created_then_updated() {
    if !common::have("sh") {
        assert!(!common::validators_required(), "sh missing");
        return;
    }
    let model = example("two-node-docker-pbs");
    let files = common::render(&model);
    let script = files.iter().find(|f| f.path == "/etc/hearth/pbs/datastore-pbs.sh").expect("PBS maintenance script");
    assert_eq!(script.machine, model.services["pbs"].on.name());
    let dir = common::temp_dir("backups-pbs-jobs");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    // `proxmox-backup-manager ARGS` logs ARGS and lists the jobs created so far; `docker ps` names
    // the container and `docker exec ID COMMAND` runs COMMAND, for a PBS in Docker.
    std::fs::write(
        bin.join("proxmox-backup-manager"),
        format!(
            "#!/bin/sh\nlog={}\n\
             if [ \"$2\" = list ]; then grep -q \"^$1 create\" \"$log\" 2>/dev/null && echo '[{{\"id\":\"hearth-pbs\"}}]' || echo '[]'; exit 0; fi\n\
             echo \"$*\" >> \"$log\"\n",
            dir.join("calls").display()
        ),
    )
    .unwrap();
    std::fs::write(
        bin.join("docker"),
        "#!/bin/sh\n[ \"$1\" = ps ] && { echo c0ffee; exit 0; }\nshift 2\nexec \"$@\"\n",
    )
    .unwrap();
    for tool in ["docker", "proxmox-backup-manager"] {
        common::run_ok(Command::new("chmod").arg("+x").arg(bin.join(tool)), "chmod");
    }
    let local = dir.join("datastore.sh");
    std::fs::write(&local, &script.content).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    for _ in 0..2 {
        let out = Command::new("sh").arg(&local).env("PATH", &path).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let calls = std::fs::read_to_string(dir.join("calls")).unwrap();
    let want = "datastore update usb-ssd --gc-schedule Sun *-*-* 05:00:00\n\
                prune-job create hearth-pbs --store usb-ssd --schedule *-*-* 03:00:00 --keep-daily 7 --keep-weekly 4\n\
                verify-job create hearth-pbs --store usb-ssd --schedule Sat *-*-* 05:00:00 --ignore-verified true --outdated-after 30\n\
                datastore update usb-ssd --gc-schedule Sun *-*-* 05:00:00\n\
                prune-job update hearth-pbs --schedule *-*-* 03:00:00 --keep-daily 7 --keep-weekly 4\n\
                verify-job update hearth-pbs --schedule Sat *-*-* 05:00:00 --ignore-verified true --outdated-after 30\n";
    assert_eq!(calls, want);
}

/// A restic repository on an NFS share the machine mounts (`tests/valid/bare-metal-media.yaml`:
/// the NUC backs up to the NAS at `/mnt/backups`) is required mounted by every unit that writes
/// to it, so a failed mount stops the backup instead of filling the empty mount point; a unit of
/// a repository on the machine's own disk requires nothing.
#[test]
fn repositories_on_a_share_require_its_mount() {
    let files = common::render(&common::valid("bare-metal-media"));
    let unit = |path: &str| {
        files
            .iter()
            .find(|f| f.machine == "apps" && f.path == path)
            .unwrap_or_else(|| panic!("no {path}"))
            .content
            .clone()
    };
    for path in
        ["/etc/systemd/system/hearth-backup-gitea.service", "/etc/systemd/system/hearth-restic-prune-nas.service"]
    {
        let content = unit(path);
        assert!(content.contains("\nRequiresMountsFor=/mnt/backups/restic\n"), "{path}:\n{content}");
    }
    for (name, model) in common::examples() {
        for f in common::render(&model).iter().filter(|f| f.path.starts_with("/etc/systemd/system/hearth-")) {
            let mounts: Vec<&str> = f.content.lines().filter(|l| l.starts_with("RequiresMountsFor=")).collect();
            for m in mounts {
                let path = m.trim_start_matches("RequiresMountsFor=");
                assert!(
                    model.share_mounts.iter().any(|s| s.machine == f.machine && path.starts_with(&s.path)),
                    "{name}: {}:{} requires {path}, on no share",
                    f.machine,
                    f.path
                );
            }
        }
    }
}
