//! What a deploy would change on one machine, computed from the desired files and the state the
//! machine reported. Pure: the same inputs give the same plan.

use std::collections::BTreeSet;

use hearth_render::File;
use serde::Serialize;

use crate::actions::{self, Action};
use crate::error::DeployError;
use crate::manifest::{Entry, keyed_hex};
use crate::remote::{DriftKind, State};

/// What a plan says of a file it adds over one that exists on the machine.
pub const TAKE_OVER: &str = "replace (original kept)";
/// What a plan says of a file it removes whose original Hearth kept.
pub const RESTORE: &str = "original restored";

/// A rendered file and why it exists (the spec lines the binary derived from its sources).
#[derive(Debug, Clone)]
pub struct DesiredFile {
    pub file: File,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    Add,
    Change,
    Remove,
}

/// One file the deploy adds, changes or removes. Secret files are named, never shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    pub path: String,
    pub change: Change,
    pub secret: bool,
    /// What differs: `content`, `mode 644 → 600`, `owner`, `activation`; for an added file over
    /// an existing one `replace (original kept)`, for a removed one whose original comes back
    /// `original restored`.
    pub what: Vec<String>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub path: String,
    pub kind: DriftKind,
}

/// The plan for one machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MachinePlan {
    pub machine: String,
    pub current: Option<u64>,
    /// A generation a controller activated and never confirmed; apply rolls it back first.
    pub pending: Option<u64>,
    pub files: Vec<FileChange>,
    /// Files changed on the machine since the last apply; apply puts them back.
    pub drift: Vec<Drift>,
    pub actions: Vec<Action>,
    /// Why the machine could not be planned (unreachable, unreadable): the rest still are.
    pub error: Option<String>,
}

impl MachinePlan {
    pub fn failed(machine: &str, error: &DeployError) -> MachinePlan {
        MachinePlan {
            machine: machine.to_string(),
            current: None,
            pending: None,
            files: Vec::new(),
            drift: Vec::new(),
            actions: Vec::new(),
            error: Some(error.to_string()),
        }
    }

    /// Nothing to do: a second apply with nothing changed stops here and touches nothing.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.drift.is_empty() && self.pending.is_none() && self.error.is_none()
    }
}

/// The plan for every machine, in the order the machines were given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub machines: Vec<MachinePlan>,
    /// Machines with `managed: false`, never contacted.
    pub unmanaged: Vec<String>,
}

/// The desired entries of one machine, sorted by path.
pub fn entries(files: &[&DesiredFile]) -> Result<Vec<Entry>, DeployError> {
    let mut entries = files.iter().map(|d| Entry::of(&d.file)).collect::<Result<Vec<_>, _>>()?;
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

/// Compares the desired files with what the machine holds.
pub fn plan_machine(
    machine: &str,
    files: &[&DesiredFile],
    state: &State,
    nonce: &str,
) -> Result<MachinePlan, DeployError> {
    let desired = entries(files)?;
    let mut changes = Vec::new();
    let deployed = state.manifest.as_ref();
    for (entry, file) in desired.iter().zip(sorted(files)) {
        let Some(old) = deployed.and_then(|m| m.get(&entry.path)) else {
            // Something Hearth never wrote is there: it is kept and comes back when Hearth lets go.
            let what = if state.existing.contains(&entry.path) { vec![TAKE_OVER.to_string()] } else { Vec::new() };
            changes.push(change(entry, Change::Add, what, &file.reason));
            continue;
        };
        let mut what = Vec::new();
        let content_differs = if entry.secret || old.secret {
            state.keyed.get(&entry.path) != Some(&keyed_hex(nonce, file.file.content.as_bytes()))
        } else {
            old.sha256 != entry.sha256
        };
        if content_differs {
            what.push("content".to_string());
        }
        if old.mode != entry.mode {
            what.push(format!("mode {} → {}", old.mode, entry.mode));
        }
        if (&old.owner, &old.group) != (&entry.owner, &entry.group) {
            what.push(format!("owner {}:{} → {}:{}", old.owner, old.group, entry.owner, entry.group));
        }
        if old.activation != entry.activation {
            what.push("activation".to_string());
        }
        if !what.is_empty() {
            changes.push(change(entry, Change::Change, what, &file.reason));
        }
    }
    let removed: Vec<Entry> = deployed
        .map(|m| {
            m.files.iter().filter(|e| desired.binary_search_by(|d| d.path.cmp(&e.path)).is_err()).cloned().collect()
        })
        .unwrap_or_default();
    for entry in &removed {
        let what = if state.kept.contains(&entry.path) { vec![RESTORE.to_string()] } else { Vec::new() };
        changes.push(change(entry, Change::Remove, what, "no longer rendered"));
    }
    // A drifted file this apply removes anyway is not worth reporting.
    let drift: Vec<Drift> = state
        .drift
        .iter()
        .filter(|(path, _)| !removed.iter().any(|e| &e.path == *path))
        .map(|(path, kind)| Drift { path: path.clone(), kind: *kind })
        .collect();
    // A drifted file that is still wanted is put back, so its actions run again.
    let mut touched: BTreeSet<String> =
        changes.iter().filter(|c| c.change != Change::Remove).map(|c| c.path.clone()).collect();
    touched.extend(
        drift.iter().filter(|d| desired.binary_search_by(|e| e.path.cmp(&d.path)).is_ok()).map(|d| d.path.clone()),
    );
    let gone: BTreeSet<String> = removed.iter().map(|e| e.path.clone()).collect();
    let actions = actions::needed(&actions::steps(&desired, &removed), &touched, &gone);
    Ok(MachinePlan {
        machine: machine.to_string(),
        current: state.current,
        pending: state.pending,
        files: changes,
        drift,
        actions,
        error: None,
    })
}

fn sorted<'a>(files: &[&'a DesiredFile]) -> Vec<&'a DesiredFile> {
    let mut files = files.to_vec();
    files.sort_by(|a, b| a.file.path.cmp(&b.file.path));
    files
}

fn change(entry: &Entry, change: Change, what: Vec<String>, reason: &str) -> FileChange {
    FileChange { path: entry.path.clone(), change, secret: entry.secret, what, reason: reason.to_string() }
}

#[cfg(test)]
mod tests {
    use hearth_render::{File, Kind};

    use super::*;
    use crate::manifest::{Manifest, Origin};

    fn desired(path: &str) -> DesiredFile {
        DesiredFile { file: File::new("m", path, Kind::Homepage, "x\n"), reason: "test".into() }
    }

    /// Plans `want` against a machine whose current generation holds `deployed`, where `existing`
    /// paths exist and `kept` originals are kept, and compares `(path, change, what)`.
    fn check(want: &[&str], deployed: &[&str], existing: &[&str], kept: &[&str], expected: &[(&str, Change, &[&str])]) {
        let files: Vec<DesiredFile> = want.iter().map(|p| desired(p)).collect();
        let refs: Vec<&DesiredFile> = files.iter().collect();
        let old: Vec<DesiredFile> = deployed.iter().map(|p| desired(p)).collect();
        let state = State {
            current: Some(1),
            existing: existing.iter().map(|p| p.to_string()).collect(),
            kept: kept.iter().map(|p| p.to_string()).collect(),
            manifest: Some(Manifest {
                generation: 1,
                previous: None,
                origin: Origin::Apply,
                files: entries(&old.iter().collect::<Vec<_>>()).unwrap(),
            }),
            ..State::default()
        };
        let plan = plan_machine("m", &refs, &state, "nonce").unwrap();
        let got: Vec<(&str, Change, Vec<&str>)> = plan
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.change, f.what.iter().map(String::as_str).collect()))
            .collect();
        let expected: Vec<(&str, Change, Vec<&str>)> = expected.iter().map(|(p, c, w)| (*p, *c, w.to_vec())).collect();
        assert_eq!(got, expected, "want {want:?} deployed {deployed:?} existing {existing:?} kept {kept:?}");
    }

    #[test]
    fn existing_files_are_taken_over_and_restored() {
        check(&["/etc/a"], &[], &[], &[], &[("/etc/a", Change::Add, &[])]);
        check(&["/etc/a"], &[], &["/etc/a"], &[], &[("/etc/a", Change::Add, &[TAKE_OVER])]);
        // A path Hearth already manages exists too; it is no take-over.
        check(&["/etc/a"], &["/etc/a"], &["/etc/a"], &["/etc/a"], &[]);
        check(&[], &["/etc/a"], &[], &["/etc/a"], &[("/etc/a", Change::Remove, &[RESTORE])]);
        check(&[], &["/etc/a"], &[], &[], &[("/etc/a", Change::Remove, &[])]);
    }
}
