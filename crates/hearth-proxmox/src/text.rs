//! The plan and the outcome of guest changes as text, one line per guest with indented details,
//! readable without colour; then the host's ZFS datasets and backup jobs the same way. Secret values never reach it: the parameters Hearth sends hold none.

use std::fmt::Write as _;

use hearth_model::model::GuestKind;

use crate::apply::NodeOutcome;
use crate::backup::JobAction;
use crate::client::scalar;
use crate::host::{Datasets, HostPlan};
use crate::plan::{GuestAction, NodePlan};
use crate::property::show_mib;
use crate::zfs::DatasetAction;

fn kind(kind: GuestKind) -> &'static str {
    match kind {
        GuestKind::Lxc => "lxc",
        GuestKind::Vm => "vm",
    }
}

/// What the plan says of a snapshot before apply: its name is the moment apply takes it.
fn snapshot_line(keep: u32) -> String {
    format!("snapshot `{}YYYYMMDD-HHMMSS` (UTC) first, keeping Hearth's newest {keep}", crate::snapshots::PREFIX)
}

/// The plan of every node.
pub fn plan(plans: &[NodePlan]) -> String {
    let mut out = String::new();
    for p in plans {
        let _ = writeln!(out, "guests on node {}:", p.node);
        for g in &p.guests {
            let head = format!("{} {} ({})", g.vmid, g.name, kind(g.kind));
            match &g.action {
                GuestAction::Create => {
                    let _ = writeln!(out, "  + {head}: create and start");
                }
                GuestAction::Unchanged => match g.snapshot {
                    Some(keep) => {
                        let _ = writeln!(out, "  ~ {head}: snapshot before its files change");
                        let _ = writeln!(out, "      {}", snapshot_line(keep));
                    }
                    None => {
                        let _ = writeln!(out, "  = {head}: unchanged");
                    }
                },
                GuestAction::Refused { reasons } => {
                    let _ = writeln!(out, "  ! {head}: refused");
                    for r in reasons {
                        let _ = writeln!(out, "      {r}");
                    }
                }
                GuestAction::Destroy { allowed: true, .. } => {
                    let _ = writeln!(out, "  - {head}: destroy (not in the spec, `--allow-destroy` names it)");
                }
                GuestAction::Destroy { allowed: false, .. } => {
                    let _ = writeln!(
                        out,
                        "  ? {head}: tagged `hearth` but not in the spec; kept (destroy it with `--allow-destroy {}`)",
                        g.name
                    );
                }
                GuestAction::Update(u) => {
                    let mut what = Vec::new();
                    if !u.changes.is_empty() {
                        what.push(format!("{} change(s)", u.changes.len()));
                    }
                    if u.grow.is_some() {
                        what.push("disk growth".to_string());
                    }
                    if u.restart {
                        what.push("restart".to_string());
                    }
                    if u.start {
                        what.push("start".to_string());
                    }
                    let _ = writeln!(out, "  ~ {head}: {}", what.join(", "));
                    if let Some(keep) = g.snapshot {
                        let _ = writeln!(out, "      {}", snapshot_line(keep));
                    }
                    for c in &u.changes {
                        let when = match (c.live, c.on_node) {
                            (true, false) => "live",
                            (false, false) => "needs restart",
                            (true, true) => "live, as root on the node",
                            (false, true) => "needs restart, as root on the node",
                        };
                        let line = match (&c.from, &c.to) {
                            (Some(f), Some(t)) => format!("{}: {f} -> {t}", c.key),
                            (None, Some(t)) => format!("{}: add {t}", c.key),
                            (Some(f), None) => format!("{}: remove {f}", c.key),
                            (None, None) => c.key.clone(),
                        };
                        let _ = writeln!(out, "      {line} ({when})");
                    }
                    if let Some(g) = &u.grow {
                        let _ = writeln!(
                            out,
                            "      {}: grow {} -> {} (live)",
                            g.disk,
                            show_mib(g.from_mib),
                            show_mib(g.to_mib)
                        );
                    }
                }
            }
        }
        for u in &p.untouched {
            let _ = writeln!(out, "  · {} {} ({}): no `hearth` tag, left alone", u.vmid, u.name, kind(u.kind));
        }
        host(&mut out, &p.node, &p.host);
    }
    out
}

fn changes<'a>(out: &mut String, changes: impl Iterator<Item = (&'a str, Option<&'a str>, Option<&'a str>)>) {
    for (key, from, to) in changes {
        let line = match (from, to) {
            (Some(f), Some(t)) => format!("{key}: {f} -> {t}"),
            (None, Some(t)) => format!("{key}: add {t}"),
            (Some(f), None) => format!("{key}: remove {f}"),
            (None, None) => key.to_string(),
        };
        let _ = writeln!(out, "      {line}");
    }
}

/// A host's datasets and backup jobs.
fn host(out: &mut String, node: &str, plan: &HostPlan) {
    match &plan.datasets {
        Datasets::None => {}
        Datasets::NotRead { reason } => {
            let _ = writeln!(out, "ZFS datasets on node {node}: not planned ({reason})");
        }
        Datasets::Planned { datasets } => {
            let _ = writeln!(out, "ZFS datasets on node {node} (as root over SSH):");
            for d in datasets {
                match &d.action {
                    DatasetAction::Create { properties } if properties.is_empty() => {
                        let _ = writeln!(out, "  + {}: create", d.name);
                    }
                    DatasetAction::Create { properties } => {
                        let props: Vec<String> = properties.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        let _ = writeln!(out, "  + {}: create with {}", d.name, props.join(", "));
                    }
                    DatasetAction::Set { changes: c } => {
                        let _ = writeln!(
                            out,
                            "  ~ {}: set {} propert{}",
                            d.name,
                            c.len(),
                            if c.len() == 1 { "y" } else { "ies" }
                        );
                        changes(out, c.iter().map(|c| (c.key.as_str(), Some(c.from.as_str()), Some(c.to.as_str()))));
                    }
                    DatasetAction::Unchanged => {
                        let _ = writeln!(out, "  = {}: unchanged", d.name);
                    }
                    DatasetAction::Refused { reasons } => {
                        let _ = writeln!(out, "  ! {}: refused", d.name);
                        for r in reasons {
                            let _ = writeln!(out, "      {r}");
                        }
                    }
                }
            }
        }
    }
    if plan.jobs.is_empty() {
        return;
    }
    let _ = writeln!(out, "backup jobs on node {node} (/cluster/backup):");
    for j in &plan.jobs {
        match &j.action {
            JobAction::Create => {
                let what: Vec<String> = ["schedule", "storage", "vmid"]
                    .iter()
                    .filter_map(|k| j.params.get(*k).map(|v| format!("{k} {}", scalar(v))))
                    .collect();
                let _ = writeln!(out, "  + {}: create ({})", j.id, what.join(", "));
            }
            JobAction::Update { changes: c } => {
                let _ = writeln!(out, "  ~ {}: {} change(s)", j.id, c.len());
                changes(out, c.iter().map(|c| (c.key.as_str(), c.from.as_deref(), c.to.as_deref())));
            }
            JobAction::Unchanged => {
                let _ = writeln!(out, "  = {}: unchanged", j.id);
            }
            JobAction::Delete => {
                let _ = writeln!(out, "  - {}: delete (made by Hearth, no longer in the spec; its backups stay)", j.id);
            }
            JobAction::Refused { reason } => {
                let _ = writeln!(out, "  ! {}: refused\n      {reason}", j.id);
            }
        }
    }
}

/// What apply did.
pub fn outcome(outcomes: &[NodeOutcome]) -> String {
    let mut out = String::new();
    for n in outcomes {
        for g in &n.guests {
            if g.done.is_empty() && g.notes.is_empty() && g.error.is_none() {
                continue;
            }
            let status = if g.error.is_some() { "failed" } else { "ok" };
            let done = if g.done.is_empty() { String::new() } else { format!(": {}", g.done.join(", ")) };
            let _ = writeln!(out, "{} {} on {}: {status}{done}", g.vmid, g.name, n.node);
            for note in &g.notes {
                let _ = writeln!(out, "    {note}");
            }
            if let Some(e) = &g.error {
                let _ = writeln!(out, "    {e}");
            }
        }
        for step in &n.host {
            match (&step.done, &step.error) {
                (_, Some(e)) => {
                    let _ = writeln!(out, "{} on {}: failed\n    {e}", step.what, n.node);
                }
                (Some(done), None) => {
                    let _ = writeln!(out, "{} on {}: ok: {done}", step.what, n.node);
                }
                (None, None) => {}
            }
        }
    }
    out
}
