//! SIGKILL trials: `apply` killed at a random moment leaves every machine wholly on one
//! generation, and the next apply converges. `HEARTH_SIGKILL_TRIALS` sets the count (50).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Lab, apply, files_v1, files_v2, plan};

/// The desired files of trial `i`: a new page each time, and every fourth trial the service
/// removed, so kills land in additions, changes and removals alike.
fn target(machine: &str, i: usize) -> Vec<hearth_deploy::DesiredFile> {
    if i % 4 == 3 { files_v2(machine) } else { files_v1(machine, &format!("trial {i}")) }
}

fn all_targets(lab: &Lab, i: usize) -> Vec<hearth_deploy::DesiredFile> {
    lab.machines.iter().flat_map(|m| target(&m.name, i)).collect()
}

/// The process the trials kill: an apply of trial `HEARTH_TRIAL`, run by the parent test.
#[test]
#[ignore = "run by sigkill_trials as the process it kills"]
fn child_apply() {
    let lab = Lab::get().expect("the parent passes the lab");
    let i: usize = std::env::var("HEARTH_TRIAL").expect("the parent passes the trial").parse().expect("a number");
    apply(&lab, &all_targets(&lab, i), Duration::from_secs(2));
}

/// Every file of the current generation is in place with its mode and owner, no file of the test
/// homelab outside it exists, no half-placed file is left, and a unit it defines is active. Runs
/// once the machine is idle (no upload or activation in flight), under Hearth's lock.
const WHOLE: &str = r#"
while pgrep -f 'hearth [s]tage' >/dev/null || [ "$(systemctl show -p ActiveState --value hearth-activate.service)" != inactive ]; do sleep 0.1; done
exec 9>/var/lib/hearth/lock; flock 9
D=/var/lib/hearth/$(readlink /var/lib/hearth/current)
T=$(printf '\t')
while IFS=$T read -r mode owner group path; do
  cmp -s "$D/files$path" "$path" || echo "content of $path differs from $D"
  [ "$(stat -c '%a %U %G' "$path")" = "$mode $owner $group" ] || echo "metadata of $path differs"
done <"$D/paths"
for p in /srv/hearth-test/index.html /etc/hearth-test/app.env /etc/hearth-test/other.conf /etc/systemd/system/hearth-test-web.service; do
  if [ -e "$p" ] && ! grep -q "	$p\$" "$D/paths"; then echo "$p is not in $D"; fi
done
find /srv /etc/hearth-test /etc/systemd/system -name '*.hearth-new' 2>/dev/null
if grep -q hearth-test-web.service "$D/paths" && ! systemctl is-active --quiet hearth-test-web.service; then echo "the unit is not active"; fi
true
"#;

#[test]
fn sigkill_trials() {
    let Some(lab) = Lab::get() else { return };
    let trials: usize = std::env::var("HEARTH_SIGKILL_TRIALS").ok().and_then(|n| n.parse().ok()).unwrap_or(50);
    for m in &lab.machines {
        lab.reset(&m.name);
    }
    assert!(apply(&lab, &all_targets(&lab, 0), Duration::from_secs(2)).is_success());
    let exe = std::env::current_exe().expect("the test binary");
    let started = Instant::now();
    let mut seed = std::process::id() as u64 ^ 0x9e37_79b9_7f4a_7c15;
    for i in 1..=trials {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(seed % 2500);
        let mut child = Command::new(&exe)
            .args(["--ignored", "--exact", "child_apply", "--quiet"])
            .env("HEARTH_TRIAL", i.to_string())
            .env("HEARTH_DEPLOY_SSH_CONFIG", lab.config())
            .env("HEARTH_DEPLOY_MACHINES", lab.machines.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(","))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the child starts");
        std::thread::sleep(delay);
        child.kill().expect("SIGKILL");
        child.wait().expect("the child is reaped");
        let phase = Instant::now();
        std::thread::scope(|scope| {
            let checks: Vec<_> = lab.machines.iter().map(|m| (m, scope.spawn(|| lab.sh(&m.name, WHOLE)))).collect();
            for (m, check) in checks {
                let problems = check.join().expect("the check runs");
                assert!(problems.trim().is_empty(), "trial {i} ({delay:?}), {}: {problems}", m.name);
            }
        });
        let checked = phase.elapsed();
        let files = all_targets(&lab, i);
        let report = apply(&lab, &files, Duration::from_secs(2));
        assert!(report.is_success(), "trial {i} ({delay:?}): re-apply {report:#?}");
        let applied = phase.elapsed();
        let again = plan(&lab, &files);
        assert!(again.machines.iter().all(|p| p.is_empty()), "trial {i} ({delay:?}): not converged {again:#?}");
        eprintln!(
            "trial {i}: killed after {delay:?}; checked {checked:?}, re-applied {applied:?}, planned {:?}",
            phase.elapsed()
        );
    }
    eprintln!("{trials} SIGKILL trials on {} machines in {:?}", lab.machines.len(), started.elapsed());
}
