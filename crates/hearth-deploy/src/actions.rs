//! The actions a change needs, derived from the files' activations alone, in the order a
//! machine runs them: packages, users and directories, stopping what goes away, (files are put
//! in place here), daemon-reload, rulesets, units, compose stacks, init scripts.

use std::collections::{BTreeMap, BTreeSet};

use hearth_render::Activation;
use serde::Serialize;

use crate::manifest::Entry;

/// One thing a machine does during activation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    /// Install the Debian packages listed in this file that are missing.
    InstallPackages {
        list: String,
    },
    Sysusers {
        file: String,
    },
    Tmpfiles {
        file: String,
    },
    /// Stop and disable a unit whose file goes away.
    StopUnit {
        unit: String,
    },
    /// `docker compose down` for a stack whose compose file goes away.
    ComposeDown {
        dir: String,
    },
    DaemonReload,
    LoadRuleset {
        file: String,
    },
    EnableUnit {
        unit: String,
    },
    Restart {
        unit: String,
    },
    /// Reload, unless the same activation restarts the unit anyway.
    Reload {
        unit: String,
    },
    /// `docker compose up` in `dir`: every container, or only `services` when given (the lab's
    /// machines lack some images).
    ComposeUp {
        dir: String,
        services: Option<Vec<String>>,
    },
    /// `docker compose restart SERVICE` for a container whose bind-mounted file changed.
    RestartContainer {
        dir: String,
        service: String,
    },
    Run {
        argv: Vec<String>,
    },
}

/// Whether a step runs depends on one of its trigger files: a file of the new generation that
/// differs from what is on the machine, or a file of the old one that goes away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub action: Action,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

/// Collects triggers per action while keeping the run order.
#[derive(Default)]
struct Steps {
    order: Vec<Action>,
    triggers: BTreeMap<Action, (BTreeSet<String>, BTreeSet<String>)>,
}

impl Steps {
    fn add(&mut self, action: Action, path: &str, removed: bool) {
        let entry = self.triggers.entry(action.clone()).or_insert_with(|| {
            self.order.push(action);
            Default::default()
        });
        if removed {
            entry.1.insert(path.to_string())
        } else {
            entry.0.insert(path.to_string())
        };
    }

    fn finish(self) -> Vec<Step> {
        let mut triggers = self.triggers;
        self.order
            .into_iter()
            .map(|action| {
                let (changed, removed) = triggers.remove(&action).unwrap_or_default();
                Step { action, changed: changed.into_iter().collect(), removed: removed.into_iter().collect() }
            })
            .collect()
    }
}

/// Every step a transition to `target` (removing `removed`) may need, each with the files that
/// trigger it. The planner keeps the steps whose triggers it knows changed; the activation script
/// checks the triggers on the machine.
pub fn steps(target: &[Entry], removed: &[Entry]) -> Vec<Step> {
    let kept_units: BTreeSet<&str> = target.iter().flat_map(units_defined).collect();
    let kept_stacks: BTreeSet<&str> = target
        .iter()
        .flat_map(|e| &e.activation)
        .filter_map(|a| match a {
            Activation::ComposeUp { dir, .. } => Some(dir.as_str()),
            _ => None,
        })
        .collect();
    let mut phases: [Steps; 6] = Default::default();
    let [prepare, stop, reload, rules, units, last] = &mut phases;
    for entry in target {
        for activation in &entry.activation {
            let path = entry.path.as_str();
            match activation {
                Activation::InstallPackages => prepare.add(Action::InstallPackages { list: path.into() }, path, false),
                Activation::Sysusers => prepare.add(Action::Sysusers { file: path.into() }, path, false),
                Activation::Tmpfiles => prepare.add(Action::Tmpfiles { file: path.into() }, path, false),
                Activation::Unit { unit, start } => {
                    reload.add(Action::DaemonReload, path, false);
                    units.add(Action::EnableUnit { unit: unit.clone() }, path, false);
                    if *start {
                        units.add(Action::Restart { unit: unit.clone() }, path, false);
                    }
                }
                Activation::Restart { unit } => units.add(Action::Restart { unit: unit.clone() }, path, false),
                Activation::Reload { unit } => units.add(Action::Reload { unit: unit.clone() }, path, false),
                Activation::ComposeUp { dir, services } => {
                    last.add(Action::ComposeUp { dir: dir.clone(), services: services.clone() }, path, false)
                }
                Activation::RestartContainer { dir, service } => {
                    last.add(Action::RestartContainer { dir: dir.clone(), service: service.clone() }, path, false)
                }
                Activation::LoadRuleset => rules.add(Action::LoadRuleset { file: path.into() }, path, false),
                Activation::Run { argv } => last.add(Action::Run { argv: argv.clone() }, path, false),
            }
        }
    }
    for entry in removed {
        let path = entry.path.as_str();
        for activation in &entry.activation {
            match activation {
                Activation::Unit { unit, .. } => {
                    reload.add(Action::DaemonReload, path, true);
                    if !kept_units.contains(unit.as_str()) {
                        stop.add(Action::StopUnit { unit: unit.clone() }, path, true);
                    }
                }
                // A unit that reads a removed file restarts without it, unless the unit itself
                // goes away with this change.
                Activation::Restart { unit } | Activation::Reload { unit }
                    if kept_units.contains(unit.as_str()) || !defined_by(removed, unit) =>
                {
                    units.add(Action::Restart { unit: unit.clone() }, path, true);
                }
                Activation::ComposeUp { dir, services } if kept_stacks.contains(dir.as_str()) => {
                    last.add(Action::ComposeUp { dir: dir.clone(), services: services.clone() }, path, true);
                }
                Activation::ComposeUp { dir, .. } => stop.add(Action::ComposeDown { dir: dir.clone() }, path, true),
                _ => {}
            }
        }
    }
    // Units run in name order so that two runs of one activation look the same.
    units.order.sort_by(|a, b| unit_key(a).cmp(&unit_key(b)));
    // Stacks come up before a container of theirs restarts, and init scripts run last; the sort
    // is stable, so each kind keeps the order its files came in.
    last.order.sort_by_key(|a| match a {
        Action::ComposeUp { .. } => 0,
        Action::RestartContainer { .. } => 1,
        _ => 2,
    });
    phases.into_iter().flat_map(Steps::finish).collect()
}

/// Sort key for unit actions: by unit, then enable before restart before reload.
fn unit_key(action: &Action) -> (&str, u8) {
    match action {
        Action::EnableUnit { unit } => (unit, 0),
        Action::Restart { unit } => (unit, 1),
        Action::Reload { unit } => (unit, 2),
        _ => ("", 3),
    }
}

fn units_defined(entry: &Entry) -> impl Iterator<Item = &str> {
    entry.activation.iter().filter_map(|a| match a {
        Activation::Unit { unit, .. } => Some(unit.as_str()),
        _ => None,
    })
}

fn defined_by(entries: &[Entry], unit: &str) -> bool {
    entries.iter().flat_map(units_defined).any(|u| u == unit)
}

/// The actions a plan shows: the steps with a trigger among `changed` or `removed`, without a
/// reload of a unit the same change restarts.
pub fn needed(steps: &[Step], changed: &BTreeSet<String>, removed: &BTreeSet<String>) -> Vec<Action> {
    let fired: Vec<&Action> = steps
        .iter()
        .filter(|s| s.changed.iter().any(|p| changed.contains(p)) || s.removed.iter().any(|p| removed.contains(p)))
        .map(|s| &s.action)
        .collect();
    let restarted: BTreeSet<&str> = fired
        .iter()
        .filter_map(|a| match a {
            Action::Restart { unit } => Some(unit.as_str()),
            _ => None,
        })
        .collect();
    fired
        .into_iter()
        .filter(|a| !matches!(a, Action::Reload { unit } if restarted.contains(unit.as_str())))
        .cloned()
        .collect()
}
