//! The commands verify runs on a machine over SSH, as root (through `sudo -n` for another user),
//! each printing why it failed on its standard output and exiting non-zero.

/// POSIX single-quoted `s`.
pub(crate) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `script` run by `sh` as root.
pub(crate) fn as_root(script: &str) -> String {
    format!("if [ \"$(id -u)\" = 0 ]; then set --; else set -- sudo -n; fi; exec \"$@\" sh -c {}", quote(script))
}

/// A systemd unit is active; otherwise its state and last log lines.
pub(crate) fn unit(unit: &str) -> String {
    let u = quote(unit);
    format!(
        "state=$(systemctl is-active {u}); [ \"$state\" = active ] && exit 0; \
         echo \"unit is $state\"; journalctl -u {u} -n 3 --no-pager -o cat 2>/dev/null | tail -n 3; exit 1"
    )
}

/// A container's state, health and image, tab-separated (`-` for no healthcheck).
pub(crate) fn container(name: &str) -> String {
    format!(
        "docker inspect -f '{{{{.State.Status}}}}\t{{{{if .State.Health}}}}{{{{.State.Health.Status}}}}{{{{else}}}}-{{{{end}}}}\t{{{{.Config.Image}}}}' {} 2>&1",
        quote(name)
    )
}

/// A TCP connection from this machine: exit 0 connected, 124 no answer (dropped), else refused.
pub(crate) fn connect(address: &str, port: u16, seconds: u64) -> String {
    let target = format!("</dev/tcp/{address}/{port}");
    format!("timeout {seconds} bash -c {} 2>/dev/null", quote(&target))
}

/// The contents of a file (a CA certificate).
pub(crate) fn cat(path: &str) -> String {
    format!("cat {}", quote(path))
}

/// The backup check: the unit has run and succeeded (started now and waited for with `run`);
/// then in each repository the job's latest snapshot exists and restores, verified, to a scratch
/// folder holding every backed-up path.
pub(crate) fn backup(
    unit: &str,
    job: &str,
    host: &str,
    environments: &[String],
    paths: &[String],
    run: bool,
) -> String {
    let u = quote(unit);
    let mut s = String::from("set -u\n");
    if run {
        s.push_str(&format!(
            "systemctl start {u} || {{ echo \"{unit} failed\"; journalctl -u {u} -n 5 --no-pager -o cat | tail -n 5; exit 1; }}\n"
        ));
    }
    s.push_str(&format!(
        "started=$(systemctl show -p ExecMainStartTimestampMonotonic --value {u})\n\
         if [ -z \"$started\" ] || [ \"$started\" = 0 ]; then echo '{unit} has never run (run it with `--run-backups`, or wait for its timer)'; exit 1; fi\n\
         result=$(systemctl show -p Result --value {u})\n\
         if [ \"$result\" != success ]; then echo \"{unit}'s last run ended with $result\"; journalctl -u {u} -n 5 --no-pager -o cat | tail -n 5; exit 1; fi\n"
    ));
    for env in environments {
        s.push_str(&format!(
            "scratch=$(mktemp -d /var/tmp/hearth-verify.XXXXXX)\n\
             out=$( (set -a; . {env}; set +a; restic restore latest --host {host} --tag {job} --target \"$scratch\" --verify) 2>&1 ) || {{ rm -rf \"$scratch\"; echo \"restore from {env_name} failed: $(printf '%s' \"$out\" | tail -n 2)\"; exit 1; }}\n",
            env = quote(env),
            env_name = env.rsplit('/').next().unwrap_or(env).trim_end_matches(".env"),
            host = quote(host),
            job = quote(job),
        ));
        for p in paths {
            s.push_str(&format!(
                "[ -e \"$scratch\"{p} ] || {{ rm -rf \"$scratch\"; echo 'the restored snapshot lacks {shown}'; exit 1; }}\n",
                p = quote(p),
                shown = p.replace('\'', ""),
            ));
        }
        s.push_str("rm -rf \"$scratch\"\n");
    }
    s
}

/// A timer is loaded, enabled and active, and the unit it starts did not fail its last run (a
/// unit that has never run passes: its timer has not come due since it was set up). The run is
/// judged, never started.
pub(crate) fn timer(timer: &str, unit: &str) -> String {
    let (t, u) = (quote(timer), quote(unit));
    format!(
        "load=$(systemctl show -p LoadState --value {t})\n\
         if [ \"$load\" != loaded ]; then echo \"timer is $load\"; exit 1; fi\n\
         enabled=$(systemctl is-enabled {t} 2>/dev/null)\n\
         if [ \"$enabled\" != enabled ]; then echo \"timer is not enabled: ${{enabled:-no state}}\"; exit 1; fi\n\
         state=$(systemctl is-active {t})\n\
         if [ \"$state\" != active ]; then echo \"timer is $state\"; exit 1; fi\n\
         started=$(systemctl show -p ExecMainStartTimestampMonotonic --value {u})\n\
         if [ -z \"$started\" ] || [ \"$started\" = 0 ]; then exit 0; fi\n\
         result=$(systemctl show -p Result --value {u})\n\
         if [ \"$result\" != success ]; then echo \"{shown}'s last run ended with $result\"; \
         journalctl -u {u} -n 3 --no-pager -o cat 2>/dev/null | tail -n 3; exit 1; fi\n",
        shown = unit.replace(['\'', '"', '$', '`', '\\'], ""),
    )
}

/// A CronJob exists, asked with the `kubectl` on the machine's path, else the one k3s installs.
pub(crate) fn cron_job(name: &str, namespace: &str) -> String {
    format!(
        "k=$(command -v kubectl || echo /usr/local/bin/kubectl)\n\
         \"$k\" get cronjob {} --namespace {} -o name 2>&1\n",
        quote(name),
        quote(namespace)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_quotes() {
        assert_eq!(quote("a'b"), "'a'\\''b'");
        assert!(as_root("echo 'x'").ends_with("sh -c 'echo '\\''x'\\'''"));
    }

    /// A folder of stand-in commands, each a shell script, put first on the `PATH` of
    /// [`run_with`].
    fn stubs(name: &str, commands: &[(&str, &str)]) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("hearth-verify-remote-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (command, body) in commands {
            let path = dir.join(command);
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        dir
    }

    /// Runs `script` with `sh` and the stubs of `dir` first on the `PATH`: whether it exited 0,
    /// and its standard output.
    fn run_with(dir: &std::path::Path, script: &str, env: &[(&str, &str)]) -> (bool, String) {
        let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default());
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("PATH", path)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// `systemctl` answering `show` from `STUB_<property>`, and `is-enabled`/`is-active` from
    /// `STUB_ENABLED`/`STUB_ACTIVE` (exiting non-zero unless the state is the good one, as
    /// systemctl does); `journalctl` printing one log line.
    const SYSTEMCTL: &str = r#"case "$1" in
show) eval "printf '%s\n' \"\$STUB_$3\"" ;;
is-enabled) echo "$STUB_ENABLED"; [ "$STUB_ENABLED" = enabled ] ;;
is-active) echo "$STUB_ACTIVE"; [ "$STUB_ACTIVE" = active ] ;;
*) exit 2 ;;
esac"#;

    #[test]
    fn a_timer_passes_when_enabled_and_active_and_its_unit_did_not_fail() {
        let dir = stubs("timer", &[("systemctl", SYSTEMCTL), ("journalctl", "echo 'rsync: connection refused'")]);
        let script = timer("hearth-copy-sync.timer", "hearth-copy-sync.service");
        let good = [
            ("STUB_LoadState", "loaded"),
            ("STUB_ENABLED", "enabled"),
            ("STUB_ACTIVE", "active"),
            ("STUB_ExecMainStartTimestampMonotonic", "0"),
            ("STUB_Result", "success"),
        ];
        let with = |changes: &[(&'static str, &'static str)]| {
            let mut env: Vec<(&str, &str)> = good.to_vec();
            for (k, v) in changes {
                env.retain(|(key, _)| key != k);
                env.push((k, v));
            }
            run_with(&dir, &script, &env)
        };
        // Never run yet: its timer has not come due since it was set up.
        assert_eq!(with(&[]), (true, String::new()));
        assert_eq!(with(&[("STUB_ExecMainStartTimestampMonotonic", "123456")]), (true, String::new()));
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("STUB_LoadState", "not-found")], "timer is not-found"),
            (&[("STUB_ENABLED", "disabled")], "timer is not enabled: disabled"),
            (&[("STUB_ACTIVE", "inactive")], "timer is inactive"),
            (
                &[("STUB_ExecMainStartTimestampMonotonic", "123456"), ("STUB_Result", "exit-code")],
                "hearth-copy-sync.service's last run ended with exit-code\nrsync: connection refused",
            ),
        ];
        for (changes, reason) in cases {
            assert_eq!(with(changes), (false, (*reason).to_string()), "{changes:?}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_cron_job_is_asked_of_kubectl_by_name_and_namespace() {
        let kubectl = r#"[ "$*" = "get cronjob photos-sync --namespace default -o name" ] || { echo "unexpected: $*"; exit 3; }
if [ -n "$STUB_FOUND" ]; then echo cronjob.batch/photos-sync; else echo 'Error from server (NotFound): cronjobs.batch "photos-sync" not found' >&2; exit 1; fi"#;
        let dir = stubs("cronjob", &[("kubectl", kubectl)]);
        let script = cron_job("photos-sync", "default");
        assert_eq!(run_with(&dir, &script, &[("STUB_FOUND", "1")]), (true, "cronjob.batch/photos-sync".to_string()));
        let (ok, out) = run_with(&dir, &script, &[]);
        assert!(!ok && out.contains("\"photos-sync\" not found"), "{out}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
