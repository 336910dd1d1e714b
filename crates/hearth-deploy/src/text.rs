//! Plans and generation lists as text for a terminal: what the CLI prints without `--json`.

use std::fmt::Write;

use crate::deploy::MachineGenerations;
use crate::plan::{Change, Plan};

/// One block per machine: its file changes with their reasons, drift, then the actions.
pub fn plan(plan: &Plan) -> String {
    let mut out = String::new();
    for m in &plan.machines {
        let _ = writeln!(out, "{} (generation {})", m.machine, m.current.map_or("none".to_string(), |g| g.to_string()));
        if let Some(error) = &m.error {
            let _ = writeln!(out, "  error: {error}");
            continue;
        }
        if m.is_empty() {
            out.push_str("  no changes\n");
            continue;
        }
        if let Some(p) = m.pending {
            let _ = writeln!(out, "  generation {p} was never confirmed: apply rolls it back first");
        }
        for f in &m.files {
            let sign = match f.change {
                Change::Add => '+',
                Change::Change => '~',
                Change::Remove => '-',
            };
            let secret = if f.secret { " (secret)" } else { "" };
            let what = if f.what.is_empty() { String::new() } else { format!(" [{}]", f.what.join(", ")) };
            let _ = writeln!(out, "  {sign} {}{secret}{what}", f.path);
            let _ = writeln!(out, "      {}", f.reason);
        }
        for d in &m.drift {
            let kind =
                serde_json::to_value(d.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let _ = writeln!(out, "  ! {} changed on the machine ({kind}); apply puts it back", d.path);
        }
        for a in &m.actions {
            let _ = writeln!(out, "  → {}", describe(a));
        }
    }
    for name in &plan.unmanaged {
        let _ = writeln!(out, "{name}: managed: false, not contacted");
    }
    out
}

fn describe(action: &crate::actions::Action) -> String {
    use crate::actions::Action as A;
    match action {
        A::InstallPackages { list } => format!("install the packages listed in {list}"),
        A::Sysusers { file } => format!("create users from {file}"),
        A::Tmpfiles { file } => format!("create directories from {file}"),
        A::StopUnit { unit } => format!("stop and disable {unit}"),
        A::ComposeDown { dir } => format!("docker compose down in {dir}"),
        A::DaemonReload => "systemctl daemon-reload".to_string(),
        A::LoadRuleset { file } => format!("load the ruleset {file}"),
        A::EnableUnit { unit } => format!("enable {unit}"),
        A::Restart { unit } => format!("restart {unit}"),
        A::Reload { unit } => format!("reload {unit}"),
        A::ComposeUp { dir, services: None } => format!("docker compose up in {dir}"),
        A::ComposeUp { dir, services: Some(only) } if only.is_empty() => {
            format!("leave the containers in {dir} stopped (none can start here)")
        }
        A::ComposeUp { dir, services: Some(only) } => format!("docker compose up {} in {dir}", only.join(" ")),
        A::RestartContainer { dir, service } => format!("restart container {service} in {dir}"),
        A::Run { argv } => format!("run {}", argv.join(" ")),
    }
}

/// One line per generation, the current one marked.
pub fn generations(list: &[MachineGenerations]) -> String {
    let mut out = String::new();
    for m in list {
        let _ = writeln!(out, "{}", m.machine);
        if let Some(error) = &m.error {
            let _ = writeln!(out, "  error: {error}");
        }
        for g in &m.generations {
            let mark = if g.current { '*' } else { ' ' };
            let confirmed = if g.confirmed { ", confirmed" } else { "" };
            let _ = writeln!(out, "  {mark} {:>4}  {}{confirmed}", g.number, g.status);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::Action;
    use crate::plan::{Drift, FileChange, MachinePlan};
    use crate::remote::DriftKind;

    #[test]
    fn plan_text() {
        let plan = Plan {
            machines: vec![
                MachinePlan {
                    machine: "db".into(),
                    current: Some(3),
                    pending: None,
                    files: vec![
                        FileChange {
                            path: "/etc/redis/redis.conf".into(),
                            change: Change::Change,
                            secret: false,
                            what: vec!["content".into(), "mode 644 → 640".into()],
                            reason: "hearth.yaml:12-14 (service redis)".into(),
                        },
                        FileChange {
                            path: "/srv/app/.env".into(),
                            change: Change::Add,
                            secret: true,
                            what: vec![],
                            reason: "hearth.yaml:20 (service app)".into(),
                        },
                        FileChange {
                            path: "/etc/caddy/Caddyfile".into(),
                            change: Change::Add,
                            secret: false,
                            what: vec![crate::plan::TAKE_OVER.into()],
                            reason: "hearth.yaml:30 (service caddy)".into(),
                        },
                    ],
                    drift: vec![Drift { path: "/etc/motd".into(), kind: DriftKind::Content }],
                    actions: vec![Action::Restart { unit: "redis-server.service".into() }],
                    error: None,
                },
                MachinePlan::failed(
                    "proxy",
                    &crate::DeployError::Connect { machine: "proxy".into(), reason: "timed out".into() },
                ),
            ],
            unmanaged: vec!["nas".into()],
        };
        insta::assert_snapshot!(super::plan(&plan));
    }
}
