//! The lab machines the end-to-end tests use, and the test homelab's files.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use hearth_deploy::{
    ApplyOptions, DesiredFile, Machine, MachineGenerations, Plan, Quiet, Recorder, Report, RollbackTo, SshOptions,
};
use hearth_render::{Activation, File, Kind};

/// Where the machines come from. An environment-given lab is left running; one this process
/// started is taken down when the last handle goes.
struct Env {
    config: PathBuf,
    ssh: SshOptions,
    _control: tempfile::TempDir,
    owned: Option<(tempfile::TempDir, PathBuf)>,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some((_, dir)) = &self.owned
            && let Err(e) = hearth_lab::down(dir)
        {
            eprintln!("lab down failed: {e}");
        }
    }
}

/// The test homelab's machines, as `tests/data/deploy-lab.yaml` names them.
const MACHINES: [&str; 3] = ["one", "two", "three"];

#[derive(Clone)]
pub struct Lab {
    env: Arc<Env>,
    pub machines: Vec<Machine>,
}

impl Lab {
    /// The lab named by `HEARTH_DEPLOY_SSH_CONFIG` and `HEARTH_DEPLOY_MACHINES`, else a lab of
    /// `tests/data/deploy-lab.yaml` started on the local Docker engine, else `None` with a
    /// message (a failure when `HEARTH_REQUIRE_LAB=1`).
    pub fn get() -> Option<Lab> {
        let required = std::env::var("HEARTH_REQUIRE_LAB").as_deref() == Ok("1");
        let control = tempfile::tempdir().expect("a temporary folder");
        let config = std::env::var_os("HEARTH_DEPLOY_SSH_CONFIG").map(PathBuf::from);
        let names = std::env::var("HEARTH_DEPLOY_MACHINES").unwrap_or_default();
        let (config, names, owned) = match config {
            Some(config) if !names.is_empty() => {
                (config, names.split(',').map(|n| n.trim().to_string()).collect(), None)
            }
            _ => match start_lab() {
                Ok((dir, state)) => (
                    hearth_lab::ssh_config_path(&state),
                    MACHINES.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
                    Some((dir, state)),
                ),
                Err(Start::NoDocker(reason)) => {
                    assert!(!required, "HEARTH_REQUIRE_LAB=1 but no lab: {reason}");
                    eprintln!("skipped: no lab ({reason})");
                    return None;
                }
                Err(Start::Failed(reason)) => panic!("the Docker engine answers but the lab did not start: {reason}"),
            },
        };
        let mut ssh = SshOptions::new(control.path().join("ssh"));
        ssh.extra_config = Some(config.clone());
        let machines = names.iter().map(|n| Machine::new(n, n)).collect();
        Some(Lab { env: Arc::new(Env { config, ssh, _control: control, owned }), machines })
    }

    /// The same lab restricted to machine `i`.
    pub fn only(&self, i: usize) -> Lab {
        Lab { env: self.env.clone(), machines: vec![self.machines[i % self.machines.len()].clone()] }
    }

    pub fn machine(&self, i: usize) -> Machine {
        self.machines[i].clone()
    }

    /// The ssh_config reaching the machines, for a child process.
    pub fn config(&self) -> &PathBuf {
        &self.env.config
    }

    fn ssh(&self) -> &SshOptions {
        &self.env.ssh
    }

    /// Runs a shell command as root on a machine through plain `ssh` and returns its stdout.
    pub fn sh(&self, machine: &str, script: &str) -> String {
        let out = Command::new("ssh")
            .arg("-F")
            .arg(&self.env.config)
            .args(["-o", "BatchMode=yes", machine, "sudo", "-n", "sh", "-c"])
            .arg(shell_word(script))
            .output()
            .expect("ssh runs");
        assert!(out.status.success(), "`{script}` on {machine}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Removes everything Hearth and these tests put on a machine.
    pub fn reset(&self, machine: &str) {
        self.sh(
            machine,
            "systemctl stop hearth-rollback.timer hearth-rollback.service hearth-activate.service hearth-test-web.service 2>/dev/null; \
             systemctl disable hearth-test-web.service 2>/dev/null; \
             rm -rf /var/lib/hearth /srv/hearth-test /etc/hearth-test /etc/systemd/system/hearth-test-web.service \
               /etc/ssh/sshd_config.d/hearth-deny.conf; nft delete table inet hearthtest 2>/dev/null; \
             systemctl daemon-reload; true",
        );
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime")
    }

    pub fn options(timeout: Duration) -> ApplyOptions {
        ApplyOptions { jobs: 4, confirm_timeout: timeout, order: Vec::new() }
    }

    pub fn rollback(&self, to: RollbackTo, timeout: Duration) -> Report {
        Lab::runtime()
            .block_on(hearth_deploy::rollback(&self.machines, self.ssh(), to, &Lab::options(timeout), &Quiet))
            .expect("rollback runs")
    }

    pub fn generations(&self) -> Vec<MachineGenerations> {
        Lab::runtime().block_on(hearth_deploy::generations(&self.machines, self.ssh(), &Quiet))
    }

    pub fn apply_recorded(&self, files: &[DesiredFile], timeout: Duration) -> (Report, String) {
        let recorder = Recorder::default();
        let report = Lab::runtime()
            .block_on(hearth_deploy::apply(&self.machines, self.ssh(), files, &Lab::options(timeout), &recorder))
            .expect("apply runs");
        let events = recorder.0.lock().unwrap().iter().map(|e| serde_json::to_string(e).unwrap()).collect::<Vec<_>>();
        (report, events.join("\n"))
    }
}

pub fn apply(lab: &Lab, files: &[DesiredFile], timeout: Duration) -> Report {
    lab.apply_recorded(files, timeout).0
}

pub fn plan(lab: &Lab, files: &[DesiredFile]) -> Plan {
    Lab::runtime().block_on(hearth_deploy::plan(&lab.machines, lab.ssh(), files, &Quiet)).expect("plan runs")
}

/// Why there is no lab: only a missing Docker engine lets the tests skip.
enum Start {
    NoDocker(String),
    Failed(String),
}

/// Starts a lab of the test homelab in a folder of its own (the lab keeps its state beside the
/// spec), or says why not.
fn start_lab() -> Result<(tempfile::TempDir, PathBuf), Start> {
    if !hearth_lab::engine_answers() {
        return Err(Start::NoDocker("no Docker engine answers `docker info`".to_string()));
    }
    let failed = |e: &dyn std::fmt::Display| Start::Failed(e.to_string());
    let dir = tempfile::tempdir().map_err(|e| failed(&e))?;
    let spec = dir.path().join("deploy-lab.yaml");
    std::fs::write(&spec, include_str!("../data/deploy-lab.yaml")).map_err(|e| failed(&e))?;
    let state = hearth_lab::state_dir(&spec);
    let input = hearth_lab::prepare(&spec, hearth_catalog::builtin(), &state).map_err(|e| failed(&e))?;
    if let Err(e) = hearth_lab::up(&input, &state, &hearth_lab::UpOptions::default()) {
        // A half-started lab is taken down before reporting.
        let _ = hearth_lab::down(&state);
        return Err(failed(&e));
    }
    Ok((dir, state))
}

fn shell_word(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn desired(file: File) -> DesiredFile {
    DesiredFile { reason: format!("test homelab: {}", file.path), file }
}

pub const UNIT: &str = "hearth-test-web.service";

/// A small web service from Debian's python3, its page and a secret environment file.
pub fn files_v1(machine: &str, page: &str) -> Vec<DesiredFile> {
    with_secret(machine, page, "TOKEN=lab-secret-value\n")
}

fn with_secret(machine: &str, page: &str, env: &str) -> Vec<DesiredFile> {
    let restart = || Activation::Restart { unit: UNIT.to_string() };
    vec![
        desired(
            File::new(
                machine,
                "/etc/systemd/system/hearth-test-web.service",
                Kind::SystemdUnit,
                "[Unit]\nDescription=Hearth test web server\n\n[Service]\nEnvironmentFile=/etc/hearth-test/app.env\n\
                 ExecStart=/usr/bin/python3 -m http.server 8080 --directory /srv/hearth-test\n\n[Install]\nWantedBy=multi-user.target\n",
            )
            .activate(Activation::Unit { unit: UNIT.to_string(), start: true }),
        ),
        desired(File::new(machine, "/srv/hearth-test/index.html", Kind::Homepage, format!("{page}\n")).activate(restart())),
        desired(File::new(machine, "/etc/hearth-test/app.env", Kind::EnvSecret, env).activate(restart())),
    ]
}

/// The service removed: only an unrelated file stays.
pub fn files_v2(machine: &str) -> Vec<DesiredFile> {
    vec![desired(File::new(machine, "/etc/hearth-test/other.conf", Kind::Homepage, "other\n"))]
}

/// A file over the one the lab tests put at its path by hand.
pub fn taken(machine: &str) -> DesiredFile {
    desired(File::new(machine, "/etc/hearth-test/taken.conf", Kind::Homepage, "hearth\n"))
}

/// The test unit with a program that does not exist: `systemctl restart` fails at once.
pub fn broken_unit(machine: &str) -> DesiredFile {
    desired(
        File::new(
            machine,
            "/etc/systemd/system/hearth-test-web.service",
            Kind::SystemdUnit,
            "[Service]\nType=exec\nExecStart=/nonexistent/hearth-test\n\n[Install]\nWantedBy=multi-user.target\n",
        )
        .activate(Activation::Unit { unit: UNIT.to_string(), start: true }),
    )
}

/// An sshd change that refuses every login: the operator is cut off once sshd restarts.
pub fn sshd_deny(machine: &str) -> DesiredFile {
    desired(
        File::new(machine, "/etc/ssh/sshd_config.d/hearth-deny.conf", Kind::SystemdUnit, "DenyUsers *\n")
            .activate(Activation::Restart { unit: "ssh.service".to_string() }),
    )
}

/// A firewall of its own: `open` accepts everything, otherwise new SSH connections are dropped
/// (the established one stays up, as a real operator's would until it times out).
pub fn firewall(machine: &str, open: bool) -> DesiredFile {
    let rule = if open { "" } else { "    tcp dport 22 ct state new drop\n" };
    let text = format!(
        "table inet hearthtest\ndelete table inet hearthtest\ntable inet hearthtest {{\n  chain input {{\n    \
         type filter hook input priority 0; policy accept;\n{rule}  }}\n}}\n"
    );
    desired(File::new(machine, "/etc/hearth-test/firewall.nft", Kind::Nftables, text).activate(Activation::LoadRuleset))
}

/// The test files with a fresh canary as the secret value.
pub fn canary_files(machine: &str) -> (Vec<DesiredFile>, String) {
    let canary = format!("canary-{:016x}", rand_u64());
    (with_secret(machine, "hello", &format!("TOKEN={canary}\n")), canary)
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}
