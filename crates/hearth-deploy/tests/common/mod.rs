//! The lab machines the end-to-end tests use, and the test homelab's files.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use hearth_deploy::{
    ApplyOptions, DesiredFile, Machine, MachineGenerations, Plan, Quiet, Recorder, Report, RollbackTo, SshOptions,
};
use hearth_render::{Activation, File, Kind};

/// Tests that share a machine take turns.
static TURNS: [Mutex<()>; 8] = [const { Mutex::new(()) }; 8];

pub struct Lab {
    pub machines: Vec<Machine>,
    pub config: PathBuf,
    pub ssh: SshOptions,
    _control: tempfile::TempDir,
    _turn: Vec<MutexGuard<'static, ()>>,
}

impl Lab {
    /// The lab from the environment, or `None` (with a message) when there is none and it is not
    /// required.
    pub fn get() -> Option<Lab> {
        let config = std::env::var_os("HEARTH_DEPLOY_SSH_CONFIG").map(PathBuf::from);
        let names = std::env::var("HEARTH_DEPLOY_MACHINES").unwrap_or_default();
        let (Some(config), false) = (config, names.is_empty()) else {
            if std::env::var("HEARTH_REQUIRE_LAB").as_deref() == Ok("1") {
                panic!("HEARTH_REQUIRE_LAB=1 but HEARTH_DEPLOY_SSH_CONFIG and HEARTH_DEPLOY_MACHINES are not set");
            }
            eprintln!("skipped: no lab (set HEARTH_DEPLOY_SSH_CONFIG and HEARTH_DEPLOY_MACHINES)");
            return None;
        };
        let control = tempfile::tempdir().expect("a temporary folder");
        let mut ssh = SshOptions::new(control.path().join("ssh"));
        ssh.extra_config = Some(config.clone());
        let machines = names.split(',').map(|n| Machine::new(n.trim(), n.trim())).collect();
        Some(Lab { machines, config, ssh, _control: control, _turn: Vec::new() })
    }

    /// The `i`th machine, held for this test alone.
    pub fn machine(&self, i: usize) -> Machine {
        self.machines[i].clone()
    }

    /// Restricts the lab to machine `i` for the rest of the test, waiting for its turn.
    pub fn only(mut self, i: usize) -> Lab {
        let guard = TURNS[i % TURNS.len()].lock().unwrap_or_else(|e| e.into_inner());
        self._turn.push(guard);
        self.machines = vec![self.machines[i].clone()];
        self
    }

    /// Holds every machine for this test alone.
    pub fn all(mut self) -> Lab {
        for turn in TURNS.iter().take(self.machines.len()) {
            self._turn.push(turn.lock().unwrap_or_else(|e| e.into_inner()));
        }
        self
    }

    /// Runs a shell command as root on a machine through plain `ssh` and returns its stdout.
    pub fn sh(&self, machine: &str, script: &str) -> String {
        let out = Command::new("ssh")
            .arg("-F")
            .arg(&self.config)
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
               /etc/ssh/sshd_config.d/hearth-deny.conf; systemctl daemon-reload; true",
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
            .block_on(hearth_deploy::rollback(&self.machines, &self.ssh, to, &Lab::options(timeout), &Quiet))
            .expect("rollback runs")
    }

    pub fn generations(&self) -> Vec<MachineGenerations> {
        Lab::runtime().block_on(hearth_deploy::generations(&self.machines, &self.ssh, &Quiet))
    }

    pub fn apply_recorded(&self, files: &[DesiredFile], timeout: Duration) -> (Report, String) {
        let recorder = Recorder::default();
        let report = Lab::runtime()
            .block_on(hearth_deploy::apply(&self.machines, &self.ssh, files, &Lab::options(timeout), &recorder))
            .expect("apply runs");
        let events = recorder.0.lock().unwrap().iter().map(|e| serde_json::to_string(e).unwrap()).collect::<Vec<_>>();
        (report, events.join("\n"))
    }
}

pub fn apply(lab: &Lab, files: &[DesiredFile], timeout: Duration) -> Report {
    lab.apply_recorded(files, timeout).0
}

pub fn plan(lab: &Lab, files: &[DesiredFile]) -> Plan {
    Lab::runtime().block_on(hearth_deploy::plan(&lab.machines, &lab.ssh, files, &Quiet)).expect("plan runs")
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

/// An sshd change that refuses every login: the operator is cut off once sshd restarts.
pub fn sshd_deny(machine: &str) -> DesiredFile {
    desired(
        File::new(machine, "/etc/ssh/sshd_config.d/hearth-deny.conf", Kind::SystemdUnit, "DenyUsers *\n")
            .activate(Activation::Restart { unit: "ssh.service".to_string() }),
    )
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
