//! Snapshots of the generated scripts, and the actions a plan derives from activations.

use std::collections::BTreeSet;

use hearth_render::{Activation, File, Kind};

use crate::actions::{Action, needed, steps};
use crate::manifest::Entry;

fn entry(path: &str, kind: Kind, activation: &[Activation]) -> Entry {
    let mut file = File::new("m", path, kind, "x");
    for a in activation {
        file = file.activate(a.clone());
    }
    Entry::of(&file).unwrap()
}

fn unit(name: &str, start: bool) -> Activation {
    Activation::Unit { unit: name.to_string(), start }
}

fn restart(name: &str) -> Activation {
    Activation::Restart { unit: name.to_string() }
}

fn sample() -> (Vec<Entry>, Vec<Entry>) {
    let target = vec![
        entry("/etc/apt/hearth-packages", Kind::SystemdUnit, &[Activation::InstallPackages]),
        entry("/etc/caddy/Caddyfile", Kind::Caddyfile, &[Activation::Reload { unit: "caddy.service".into() }]),
        entry("/etc/nftables.conf", Kind::Nftables, &[Activation::LoadRuleset]),
        entry("/etc/systemd/system/app.service", Kind::SystemdUnit, &[unit("app.service", true)]),
        entry("/srv/app/.env", Kind::EnvSecret, &[restart("app.service")]),
        entry(
            "/srv/stack/compose.yaml",
            Kind::Compose,
            &[Activation::ComposeUp { dir: "/srv/stack".into(), services: None }],
        ),
    ];
    let removed = vec![entry("/etc/systemd/system/old.service", Kind::SystemdUnit, &[unit("old.service", true)])];
    (target, removed)
}

#[test]
fn transition_script() {
    let (target, removed) = sample();
    // The previous generation had the unit and the one removed: every other path is taken over.
    let from = vec![target[3].clone(), removed[0].clone()];
    insta::assert_snapshot!(super::transition(
        "transition to generation 2",
        "/var/lib/hearth/generations/2/files",
        &target,
        &removed,
        &super::Takeover { from: &from, undo: false }
    ));
}

#[test]
fn revert_script_keeps_only_what_differs() {
    // Undoing generation 2 puts back the removed unit: it is kept only if the path holds
    // something other than that unit, i.e. generation 2 had let go of it already.
    let (target, removed) = sample();
    let text = super::transition(
        "return from generation 2 to the one before",
        "/var/lib/hearth/generations/1/files",
        &removed,
        &target,
        &super::Takeover { from: &target, undo: true },
    );
    let keeps: Vec<&str> = text.lines().filter(|l| l.contains("keep /")).collect();
    assert_eq!(keeps, ["if [ \"$c0\" = 1 ]; then keep /etc/systemd/system/old.service; fi"]);
}

#[test]
fn wrappers() {
    let confirm = std::time::Duration::from_secs(30);
    insta::assert_snapshot!(format!("{}\n---\n{}", super::activate(2, Some(1), confirm), super::rollback(2, Some(1))));
}

fn check(changed: &[&str], removed: &[&str], expected: &[Action]) {
    let (target, gone) = sample();
    let set = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        needed(&steps(&target, &gone), &set(changed), &set(removed)),
        expected,
        "changed {changed:?} removed {removed:?}"
    );
}

#[test]
fn actions_follow_activations() {
    let app = || "app.service".to_string();
    check(&[], &[], &[]);
    check(&["/srv/app/.env"], &[], &[Action::Restart { unit: app() }]);
    check(
        &["/etc/systemd/system/app.service", "/srv/app/.env"],
        &[],
        &[Action::DaemonReload, Action::EnableUnit { unit: app() }, Action::Restart { unit: app() }],
    );
    check(&["/etc/caddy/Caddyfile"], &[], &[Action::Reload { unit: "caddy.service".into() }]);
    check(
        &["/etc/nftables.conf", "/etc/apt/hearth-packages"],
        &[],
        &[
            Action::InstallPackages { list: "/etc/apt/hearth-packages".into() },
            Action::LoadRuleset { file: "/etc/nftables.conf".into() },
        ],
    );
    check(
        &[],
        &["/etc/systemd/system/old.service"],
        &[Action::StopUnit { unit: "old.service".into() }, Action::DaemonReload],
    );
    check(&["/srv/stack/compose.yaml"], &[], &[Action::ComposeUp { dir: "/srv/stack".into(), services: None }]);
}

/// The shell line a stack's `docker compose up` becomes: every container, only some (the lab's
/// startable ones), or none.
#[test]
fn compose_up_starts_what_it_is_given() {
    fn check(services: Option<&[&str]>, expected: &str) {
        let services = services.map(|s| s.iter().map(|s| s.to_string()).collect());
        let target = vec![entry(
            "/srv/stack/compose.yaml",
            Kind::Compose,
            &[Activation::ComposeUp { dir: "/srv/stack".into(), services }],
        )];
        let text = super::transition("t", "/src", &target, &[], &super::Takeover { from: &[], undo: false });
        let line = text.lines().find(|l| l.contains("compose up")).unwrap_or_default();
        assert!(line.ends_with(expected), "{line}");
    }
    check(
        None,
        "then say 'compose up /srv/stack'; (cd /srv/stack && docker compose up -d --remove-orphans --wait); fi",
    );
    check(
        Some(&["db", "app"]),
        "then say 'compose up /srv/stack: db app'; (cd /srv/stack && docker compose up -d --remove-orphans --wait db app); fi",
    );
    check(Some(&[]), "then say 'compose up /srv/stack: no container can start here'; fi");
}
