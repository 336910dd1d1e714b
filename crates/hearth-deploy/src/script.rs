//! The scripts a generation carries: the transition that puts its files in place and runs the
//! actions they need, and the activation and rollback wrappers around it. Every check of what
//! changed happens on the machine at run time, so one script serves a first apply, a re-run
//! after a crash and a restore alike, and touches nothing that already matches.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use crate::actions::{Action, Step, steps};
use crate::manifest::Entry;
use crate::shell::{join, quote};

/// Where Hearth keeps its state on a machine.
pub const ROOT: &str = "/var/lib/hearth";

/// Shell functions every transition uses.
const PRELUDE: &str = r#"set -eu
umask 077
export DEBIAN_FRONTEND=noninteractive
# A file matches when it exists with the same content, mode, owner and group.
same() { [ -f "$2" ] && cmp -s "$1" "$2" && [ "$(stat -c '%a %U %G' "$2")" = "$3" ]; }
# Files go in place by rename, so a reader never sees half a file. Folders Hearth creates are
# 0755 (the umask of 077 is for the files, which get their own mode before the rename).
place() {
  (umask 022 && mkdir -p "$(dirname "$2")")
  cp "$1" "$2.hearth-new"
  chown "$4:$5" "$2.hearth-new"
  chmod "$3" "$2.hearth-new"
  mv -f "$2.hearth-new" "$2"
}
say() { echo "hearth: $*"; }
O=/var/lib/hearth/originals
# A file Hearth takes over is kept once, as it was (content, mode, owner, group), so that
# releasing the path puts it back. A kept original is never replaced: after a crash the path
# may already hold Hearth's own file.
keep() {
  if { [ -e "$1" ] || [ -L "$1" ]; } && [ ! -e "$O$1" ] && [ ! -L "$O$1" ]; then
    say "keep the original $1"
    (umask 077 && mkdir -p "$(dirname "$O$1")")
    cp -a "$1" "$O$1.hearth-new"
    mv -f "$O$1.hearth-new" "$O$1"
  fi
}
# A path Hearth lets go of gets its kept original back, else it goes. The kept copy is dropped
# once restored, so a later take-over keeps the file as it is then.
release() {
  if [ -e "$O$1" ] || [ -L "$O$1" ]; then
    say "restore the original $1"
    (umask 022 && mkdir -p "$(dirname "$1")")
    cp -a "$O$1" "$1.hearth-new"
    mv -f "$1.hearth-new" "$1"
    rm -f "$O$1"
  else
    say "remove $1"
    rm -f "$1"
  fi
}
packages() {
  missing=""
  for p in $(sed -e 's/#.*//' "$1"); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    say "install$missing"
    apt-get update -q
    apt-get install -y -q --no-install-recommends $missing
  fi
}
stop_unit() {
  if systemctl cat "$1" >/dev/null 2>&1; then say "stop $1"; systemctl disable --now "$1"; fi
}
compose_down() {
  if [ -d "$1" ]; then say "compose down $1"; (cd "$1" && docker compose down --remove-orphans); fi
}
VERIFY=""
# A unit counts as up once active; one still starting gets 30 seconds.
wait_active() {
  i=0
  until systemctl is-active --quiet "$1"; do
    i=$((i + 1))
    if [ "$i" -gt 60 ]; then say "$1 did not come up"; systemctl status --no-pager "$1" || true; return 1; fi
    sleep 0.5
  done
}
"#;

/// Which files a transition takes over, keeping what is at their paths first.
pub struct Takeover<'a> {
    /// The files Hearth manages before the transition: a target path outside them is taken over.
    pub from: &'a [Entry],
    /// A revert skips a path that still holds the file it puts back: the transition it undoes
    /// failed before letting go of it, so what is there is Hearth's own and no original.
    pub undo: bool,
}

/// The transition to a generation whose files are under `src` (a folder on the machine),
/// removing the files of the previous generation that it no longer has.
pub fn transition(title: &str, src: &str, target: &[Entry], removed: &[Entry], takeover: &Takeover) -> String {
    let mut out = format!("#!/bin/sh\n# Hearth: {title}.\n{PRELUDE}S={}\n", quote(src));
    let mut flags = BTreeMap::new();
    out.push_str("\n# What differs from the machine decides what runs.\n");
    for (i, entry) in target.iter().enumerate() {
        let flag = format!("c{i}");
        let _ = writeln!(
            out,
            "{flag}=0; same \"$S\"{} {} {} || {flag}=1",
            quote(&entry.path),
            quote(&entry.path),
            quote(&entry.meta())
        );
        flags.insert((false, entry.path.as_str()), flag);
    }
    for (i, entry) in removed.iter().enumerate() {
        let flag = format!("r{i}");
        let path = quote(&entry.path);
        let _ = writeln!(out, "{flag}=0; if [ -e {path} ] || [ -L {path} ] || [ -e \"$O\"{path} ]; then {flag}=1; fi");
        flags.insert((true, entry.path.as_str()), flag);
    }
    let steps = steps(target, removed);
    let (before, after): (Vec<&Step>, Vec<&Step>) = steps.iter().partition(|s| before_files(&s.action));
    out.push('\n');
    for step in before {
        emit(&mut out, step, &flags);
    }
    out.push_str("\n# Files in place.\n");
    for (i, entry) in target.iter().enumerate() {
        if !takeover.from.iter().any(|f| f.path == entry.path) {
            let path = quote(&entry.path);
            if takeover.undo {
                let _ = writeln!(out, "if [ \"$c{i}\" = 1 ]; then keep {path}; fi");
            } else {
                let _ = writeln!(out, "keep {path}");
            }
        }
        let _ = writeln!(
            out,
            "if [ \"$c{i}\" = 1 ]; then say {}; place \"$S\"{} {} {} {} {}; fi",
            quote(&format!("place {}", entry.path)),
            quote(&entry.path),
            quote(&entry.path),
            entry.mode,
            quote(&entry.owner),
            quote(&entry.group)
        );
    }
    for (i, entry) in removed.iter().enumerate() {
        let path = quote(&entry.path);
        let _ = writeln!(out, "if [ \"$r{i}\" = 1 ]; then release {path}; fi");
    }
    out.push('\n');
    for step in after {
        emit(&mut out, step, &flags);
    }
    out.push_str("\nfor unit in $VERIFY; do wait_active \"$unit\"; done\nsay done\n");
    out
}

fn before_files(action: &Action) -> bool {
    matches!(
        action,
        Action::InstallPackages { .. }
            | Action::Sysusers { .. }
            | Action::Tmpfiles { .. }
            | Action::StopUnit { .. }
            | Action::ComposeDown { .. }
    )
}

/// One step, guarded by its triggers.
fn emit(out: &mut String, step: &Step, flags: &BTreeMap<(bool, &str), String>) {
    let mut vars: Vec<&str> =
        step.changed.iter().filter_map(|p| flags.get(&(false, p.as_str()))).map(String::as_str).collect();
    vars.extend(step.removed.iter().filter_map(|p| flags.get(&(true, p.as_str()))).map(String::as_str));
    if vars.is_empty() {
        return;
    }
    let cond = format!("[ $(({})) -ne 0 ]", vars.join(" | "));
    let body = match &step.action {
        Action::InstallPackages { list } => format!("packages \"$S\"{}", quote(list)),
        Action::Sysusers { file } => format!("say sysusers; systemd-sysusers \"$S\"{}", quote(file)),
        Action::Tmpfiles { file } => format!("say tmpfiles; systemd-tmpfiles --create \"$S\"{}", quote(file)),
        Action::StopUnit { unit } => format!("stop_unit {}", quote(unit)),
        Action::ComposeDown { dir } => format!("compose_down {}", quote(dir)),
        Action::DaemonReload => "say daemon-reload; systemctl daemon-reload".to_string(),
        Action::LoadRuleset { file } => format!("say {}; nft -f {}", quote(&format!("load {file}")), quote(file)),
        Action::EnableUnit { unit } => {
            format!("say {}; systemctl enable --quiet {}", quote(&format!("enable {unit}")), quote(unit))
        }
        // `reset-failed` first: a unit that failed or restarted often in the last seconds (an
        // earlier activation, a rollback) has hit systemd's start limit, and `restart` would
        // refuse it although the new files may well fix it.
        Action::Restart { unit } => {
            let var = unit_var(unit);
            format!(
                "say {}; systemctl reset-failed {} 2>/dev/null || true; systemctl restart {}; VERIFY=\"$VERIFY {}\"; {var}=1",
                quote(&format!("restart {unit}")),
                quote(unit),
                quote(unit),
                quote(unit)
            )
        }
        Action::Reload { unit } => {
            let var = unit_var(unit);
            let _ = writeln!(
                out,
                "if {cond} && [ \"${{{var}:-0}}\" = 0 ]; then say {}; systemctl reset-failed {} 2>/dev/null || true; systemctl reload-or-restart {}; VERIFY=\"$VERIFY {}\"; fi",
                quote(&format!("reload {unit}")),
                quote(unit),
                quote(unit),
                quote(unit)
            );
            return;
        }
        Action::ComposeUp { dir, services: None } => format!(
            "say {}; (cd {} && docker compose up -d --remove-orphans --wait)",
            quote(&format!("compose up {dir}")),
            quote(dir)
        ),
        Action::ComposeUp { dir, services: Some(only) } if only.is_empty() => {
            format!("say {}", quote(&format!("compose up {dir}: no container can start here")))
        }
        Action::ComposeUp { dir, services: Some(only) } => format!(
            "say {}; (cd {} && docker compose up -d --remove-orphans --wait {})",
            quote(&format!("compose up {dir}: {}", only.join(" "))),
            quote(dir),
            join(only)
        ),
        Action::RestartContainer { dir, service } => format!(
            "say {}; (cd {} && docker compose restart {})",
            quote(&format!("restart container {service} in {dir}")),
            quote(dir),
            quote(service)
        ),
        Action::Run { argv } => format!("say {}; {}", quote(&format!("run {}", argv.join(" "))), join(argv)),
    };
    let _ = writeln!(out, "if {cond}; then {body}; fi");
}

/// A shell variable name that records a unit was restarted, so a reload of it is skipped.
fn unit_var(unit: &str) -> String {
    let safe: String = unit.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format!("restarted_{safe}")
}

/// Functions the activation and rollback wrappers share.
fn wrapper_prelude(generation: u64) -> String {
    format!(
        r#"set -u
H={ROOT}
D=$H/generations/{generation}
# Stopping a timer or service that is not loaded fails; both outcomes leave it stopped.
disarm() {{
  systemctl stop hearth-rollback.timer hearth-rollback.service >/dev/null 2>&1 || true
  systemctl reset-failed hearth-rollback.timer hearth-rollback.service >/dev/null 2>&1 || true
}}
switch_to() {{
  if [ -n "$1" ]; then
    ln -sfn "generations/$1" "$H/current.new" && mv -T "$H/current.new" "$H/current"
  else
    rm -f "$H/current"
  fi
}}
"#
    )
}

/// The activation of a generation: runs as the transient unit `hearth-activate.service`, so a
/// controller that dies mid-way cannot leave it half done. It arms the rollback timer before
/// changing anything, restores the previous generation if the transition fails, and re-arms the
/// timer once done so the operator's whole confirm window starts after activation.
pub fn activate(generation: u64, previous: Option<u64>, confirm: Duration) -> String {
    let prev = previous.map(|p| p.to_string()).unwrap_or_default();
    let secs = confirm.as_secs().max(1);
    format!(
        r#"#!/bin/sh
# Hearth: activate generation {generation}.
{prelude}arm() {{
  disarm
  systemd-run --quiet --collect --unit=hearth-rollback --on-active={secs}s /bin/sh "$D/rollback.sh"
}}
exec >>"$D/activate.log" 2>&1
exec 9>"$H/lock"
flock 9
if ! arm; then echo "hearth: cannot arm the rollback timer"; echo failed >"$D/result"; exit 1; fi
echo {generation} >"$H/pending.new" && mv -f "$H/pending.new" "$H/pending"
if sh "$D/transition.sh" 9>&-; then
  switch_to {generation}
  arm
  echo activated >"$D/result"
else
  echo "hearth: activation failed; restoring the previous generation"
  if sh "$D/revert.sh" 9>&-; then switch_to "{prev}"; r=failed; else r=failed-revert-failed; fi
  rm -f "$H/pending"
  disarm
  echo "$r" >"$D/result"
  exit 1
fi
"#,
        prelude = wrapper_prelude(generation)
    )
}

/// What the rollback timer runs: restores the previous generation unless the activation was
/// confirmed in the meantime (the lock and the `pending` file decide which came first).
pub fn rollback(generation: u64, previous: Option<u64>) -> String {
    let prev = previous.map(|p| p.to_string()).unwrap_or_default();
    format!(
        r#"#!/bin/sh
# Hearth: undo generation {generation} unless it was confirmed.
{prelude}exec >>"$D/rollback.log" 2>&1
exec 9>"$H/lock"
flock 9
[ "$(cat "$H/pending" 2>/dev/null)" = {generation} ] || exit 0
echo "hearth: generation {generation} was not confirmed; restoring the previous generation"
if sh "$D/revert.sh" 9>&-; then switch_to "{prev}"; r=rolled-back; else r=rollback-failed; fi
rm -f "$H/pending"
echo "$r" >"$D/result"
"#,
        prelude = wrapper_prelude(generation)
    )
}

#[cfg(test)]
mod tests;
