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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_quotes() {
        assert_eq!(quote("a'b"), "'a'\\''b'");
        assert!(as_root("echo 'x'").ends_with("sh -c 'echo '\\''x'\\'''"));
    }
}
