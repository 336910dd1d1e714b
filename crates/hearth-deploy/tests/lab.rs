//! End-to-end tests on lab machines: real Debian containers with systemd and sshd.
//!
//! The machines come from `HEARTH_DEPLOY_SSH_CONFIG` (an ssh_config whose `Host` entries name
//! them) and `HEARTH_DEPLOY_MACHINES` (comma-separated), or from a lab of
//! `tests/data/deploy-lab.yaml` the test starts and takes down. Without a Docker engine the test
//! says so and passes, unless `HEARTH_REQUIRE_LAB=1`.

mod common;

use std::time::Duration;

use common::{Lab, apply, canary_files, files_v1, files_v2, plan};
use hearth_deploy::{Change, Outcome, RollbackTo};

/// One lab for every scenario, each on a machine of its own.
#[test]
fn deploy_on_the_lab() {
    let Some(lab) = Lab::get() else { return };
    apply_noop_change_remove_rollback(&lab.only(0));
    a_change_that_cuts_ssh_rolls_itself_back(&lab.only(1));
    canary_secrets_never_leave_the_secret_files(&lab.only(2));
    a_firewall_that_cuts_ssh_rolls_itself_back(&lab.only(0));
    an_existing_file_is_kept_and_given_back(&lab.only(1));
}

/// A file Hearth never wrote, with content and metadata Hearth would not choose.
const ORIGINAL: &str = "/etc/hearth-test/taken.conf";
const KEPT: &str = "/var/lib/hearth/originals/etc/hearth-test/taken.conf";

fn put_original(lab: &Lab, machine: &str) {
    lab.sh(
        machine,
        &format!(
            "mkdir -p /etc/hearth-test && printf 'by hand\\n\\001 no newline' >{ORIGINAL} && \
             chown nobody:nogroup {ORIGINAL} && chmod 640 {ORIGINAL}"
        ),
    );
}

/// The original's checksum, mode, owner and group.
fn original_state(lab: &Lab, machine: &str, path: &str) -> String {
    lab.sh(machine, &format!("sha256sum <{path} | cut -d' ' -f1; stat -c '%a %U %G' {path}"))
}

fn an_existing_file_is_kept_and_given_back(lab: &Lab) {
    let m = lab.machine(0);
    lab.reset(&m.name);
    put_original(lab, &m.name);
    let before = original_state(lab, &m.name, ORIGINAL);
    let mut with = files_v1(&m.name, "hello");
    with.push(common::taken(&m.name));
    // The plan says the file is taken over; apply keeps the original and puts Hearth's in place.
    let p = plan(lab, &with);
    let taken: Vec<_> = p.machines[0].files.iter().filter(|f| f.path == ORIGINAL).map(|f| f.what.clone()).collect();
    assert_eq!(taken, [vec!["replace (original kept)".to_string()]], "{p:#?}");
    assert!(apply(lab, &with, Duration::from_secs(5)).is_success());
    assert_eq!(lab.sh(&m.name, &format!("cat {ORIGINAL}")), "hearth\n");
    assert_eq!(original_state(lab, &m.name, KEPT), before);
    // A second generation with the file changed keeps the first original.
    let mut changed = files_v1(&m.name, "changed");
    changed.push(common::taken(&m.name));
    assert!(apply(lab, &changed, Duration::from_secs(5)).is_success());
    assert_eq!(original_state(lab, &m.name, KEPT), before);
    // The generation without the path gives the original back, byte for byte.
    let p = plan(lab, &files_v1(&m.name, "changed"));
    let gone: Vec<_> = p.machines[0].files.iter().filter(|f| f.path == ORIGINAL).map(|f| f.what.clone()).collect();
    assert_eq!(gone, [vec!["original restored".to_string()]], "{p:#?}");
    assert!(apply(lab, &files_v1(&m.name, "changed"), Duration::from_secs(5)).is_success());
    assert_eq!(original_state(lab, &m.name, ORIGINAL), before);
    assert_eq!(lab.sh(&m.name, &format!("test -e {KEPT} && echo kept || echo gone")).trim(), "gone");

    // A failed first generation rolls back to no generation and leaves the original in place.
    lab.reset(&m.name);
    put_original(lab, &m.name);
    let report = apply(lab, &[common::broken_unit(&m.name), common::taken(&m.name)], Duration::from_secs(5));
    match &report.machines[0].outcome {
        Outcome::RolledBack { generation: 1, restored: None, .. } => {}
        other => panic!("expected a rollback, got {other:?}"),
    }
    assert_eq!(original_state(lab, &m.name, ORIGINAL), before);
    assert_eq!(lab.sh(&m.name, &format!("test -e {KEPT} && echo kept || echo gone")).trim(), "gone");
}

fn a_firewall_that_cuts_ssh_rolls_itself_back(lab: &Lab) {
    let m = lab.machine(0);
    lab.reset(&m.name);
    let with = |open| {
        let mut files = files_v1(&m.name, "hello");
        files.push(common::firewall(&m.name, open));
        files
    };
    assert!(apply(lab, &with(true), Duration::from_secs(5)).is_success());
    let report = apply(lab, &with(false), Duration::from_secs(3));
    match &report.machines[0].outcome {
        Outcome::RolledBack { generation: 2, restored: Some(1), .. } => {}
        other => panic!("expected a rollback, got {other:?}"),
    }
    assert_eq!(lab.sh(&m.name, "readlink /var/lib/hearth/current").trim(), "generations/1");
    assert!(!lab.sh(&m.name, "nft list table inet hearthtest").contains("drop"));
}

fn apply_noop_change_remove_rollback(lab: &Lab) {
    let m = lab.machine(0);
    lab.reset(&m.name);
    // First apply: the unit comes up, files land with their modes.
    let report = apply(lab, &files_v1(&m.name, "hello"), Duration::from_secs(5));
    assert_eq!(report.machines[0].outcome, Outcome::Applied { generation: 1 }, "{report:#?}");
    assert_eq!(lab.sh(&m.name, "systemctl is-active hearth-test-web.service").trim(), "active");
    assert_eq!(lab.sh(&m.name, "stat -c '%a %U' /etc/hearth-test/app.env").trim(), "600 root");
    assert_eq!(lab.sh(&m.name, "cat /srv/hearth-test/index.html"), "hello\n");
    assert_eq!(lab.sh(&m.name, "stat -c %a /srv/hearth-test /etc/hearth-test"), "755\n755\n");
    // Nothing changed: nothing happens, no generation is made.
    let before = lab.sh(&m.name, "systemctl show -p ActiveEnterTimestampMonotonic hearth-test-web.service");
    let report = apply(lab, &files_v1(&m.name, "hello"), Duration::from_secs(5));
    assert_eq!(report.machines[0].outcome, Outcome::Unchanged);
    assert_eq!(lab.sh(&m.name, "ls /var/lib/hearth/generations").split_whitespace().count(), 1);
    assert_eq!(lab.sh(&m.name, "systemctl show -p ActiveEnterTimestampMonotonic hearth-test-web.service"), before);
    // A change to one file: the plan names it and the restart it needs.
    let p = plan(lab, &files_v1(&m.name, "changed"));
    let changes: Vec<_> = p.machines[0].files.iter().map(|f| (f.path.as_str(), f.change)).collect();
    assert_eq!(changes, [("/srv/hearth-test/index.html", Change::Change)]);
    assert_eq!(
        serde_json::to_value(&p.machines[0].actions).unwrap(),
        serde_json::json!([{"action": "restart", "unit": "hearth-test-web.service"}])
    );
    let report = apply(lab, &files_v1(&m.name, "changed"), Duration::from_secs(5));
    assert_eq!(report.machines[0].outcome, Outcome::Applied { generation: 2 });
    assert_ne!(lab.sh(&m.name, "systemctl show -p ActiveEnterTimestampMonotonic hearth-test-web.service"), before);
    // Drift: a file edited on the machine shows in the plan and apply puts it back.
    lab.sh(&m.name, "echo edited > /srv/hearth-test/index.html");
    let p = plan(lab, &files_v1(&m.name, "changed"));
    assert_eq!(p.machines[0].drift.len(), 1, "{p:#?}");
    assert!(apply(lab, &files_v1(&m.name, "changed"), Duration::from_secs(5)).is_success());
    assert_eq!(lab.sh(&m.name, "cat /srv/hearth-test/index.html"), "changed\n");
    // Removing the service: its files go and its unit stops.
    let report = apply(lab, &files_v2(&m.name), Duration::from_secs(5));
    assert_eq!(report.machines[0].outcome, Outcome::Applied { generation: 4 });
    assert_eq!(lab.sh(&m.name, "systemctl is-active hearth-test-web.service || true").trim(), "inactive");
    assert_eq!(
        lab.sh(
            &m.name,
            "ls /srv/hearth-test /etc/systemd/system/hearth-test-web.service 2>&1 | grep -c 'No such' || true"
        )
        .trim(),
        "1"
    );
    // Rollback to the previous generation brings it back, as a new generation.
    let report = lab.rollback(RollbackTo::Previous, Duration::from_secs(5));
    assert_eq!(report.machines[0].outcome, Outcome::Applied { generation: 5 }, "{report:#?}");
    assert_eq!(lab.sh(&m.name, "systemctl is-active hearth-test-web.service").trim(), "active");
    assert_eq!(lab.sh(&m.name, "cat /srv/hearth-test/index.html"), "changed\n");
    let gens = lab.generations();
    assert_eq!(gens[0].current, Some(5));
    // Rolling back to generation 1 by number.
    let report = lab.rollback(RollbackTo::Generation(1), Duration::from_secs(5));
    assert_eq!(report.machines[0].outcome, Outcome::Applied { generation: 6 });
    assert_eq!(lab.sh(&m.name, "cat /srv/hearth-test/index.html"), "hello\n");
}

fn a_change_that_cuts_ssh_rolls_itself_back(lab: &Lab) {
    let m = lab.machine(0);
    lab.reset(&m.name);
    assert!(apply(lab, &files_v1(&m.name, "hello"), Duration::from_secs(5)).is_success());
    let mut broken = files_v1(&m.name, "hello");
    broken.push(common::sshd_deny(&m.name));
    let report = apply(lab, &broken, Duration::from_secs(3));
    match &report.machines[0].outcome {
        Outcome::RolledBack { generation: 2, restored: Some(1), .. } => {}
        other => panic!("expected a rollback, got {other:?}"),
    }
    assert_eq!(lab.sh(&m.name, "readlink /var/lib/hearth/current").trim(), "generations/1");
    assert_eq!(
        lab.sh(&m.name, "test -e /etc/ssh/sshd_config.d/hearth-deny.conf && echo present || echo absent").trim(),
        "absent"
    );
}

fn canary_secrets_never_leave_the_secret_files(lab: &Lab) {
    let m = lab.machine(0);
    lab.reset(&m.name);
    let (files, canary) = canary_files(&m.name);
    let p = plan(lab, &files);
    let (report, events) = lab.apply_recorded(&files, Duration::from_secs(5));
    assert!(report.is_success(), "{report:#?}");
    let texts = [
        serde_json::to_string(&p).unwrap(),
        serde_json::to_string(&report).unwrap(),
        hearth_deploy::summary(&report),
        events,
        lab.sh(&m.name, "find /var/lib/hearth -path '*/files' -prune -o -type f -print0 | xargs -0 cat"),
        lab.sh(&m.name, "journalctl --no-pager -q"),
    ];
    for (i, text) in texts.iter().enumerate() {
        assert!(!text.contains(&canary), "canary found in output {i}");
    }
    // Changing only the secret is seen as a change without showing either value.
    let (mut files2, _) = canary_files(&m.name);
    files2.iter_mut().for_each(|f| f.file.content = f.file.content.replace(&canary, "rotated-canary-value"));
    let p = plan(lab, &files2);
    assert_eq!(p.machines[0].files.len(), 1, "{p:#?}");
    assert!(p.machines[0].files[0].secret);
}
