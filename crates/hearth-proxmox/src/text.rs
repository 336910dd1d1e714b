//! The plan and the outcome of guest changes as text, one line per guest with indented details,
//! readable without colour. Secret values never reach it: the parameters Hearth sends hold none.

use std::fmt::Write as _;

use hearth_model::model::GuestKind;

use crate::apply::NodeOutcome;
use crate::plan::{GuestAction, NodePlan};
use crate::property::show_mib;

fn kind(kind: GuestKind) -> &'static str {
    match kind {
        GuestKind::Lxc => "lxc",
        GuestKind::Vm => "vm",
    }
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
                GuestAction::Unchanged => {
                    let _ = writeln!(out, "  = {head}: unchanged");
                }
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
    }
    out
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
    }
    out
}
