//! The calls Hearth makes on a machine (`remote.sh`) and the reading of their answers.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;

use serde::Serialize;

use crate::error::DeployError;
use crate::manifest::{Manifest, check_path};
use crate::redact::Redactor;
use crate::shell::{join, quote};
use crate::ssh::Connection;

const SCRIPT: &str = include_str!("remote.sh");

/// The command line for one call: root runs it directly, any other user through `sudo -n`.
pub fn command_line(args: &[&str]) -> String {
    format!(
        "if [ \"$(id -u)\" = 0 ]; then set --; else set -- sudo -n; fi; exec \"$@\" sh -c {} hearth {}",
        quote(SCRIPT),
        join(args)
    )
}

/// One generation on a machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Generation {
    pub number: u64,
    /// `staged`, `activated`, `failed`, `rolled-back`, `rollback-failed`, `failed-revert-failed`.
    pub status: String,
    pub confirmed: bool,
    pub current: bool,
    /// Seconds since the epoch, from the machine's clock.
    pub created: u64,
}

/// Why a file on the machine no longer matches the generation that put it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftKind {
    Missing,
    Content,
    Metadata,
}

/// What `state` reports.
#[derive(Debug, Clone, Default)]
pub struct State {
    pub current: Option<u64>,
    pub pending: Option<u64>,
    pub generations: Vec<Generation>,
    pub drift: BTreeMap<String, DriftKind>,
    /// Nonce-keyed hashes of the current generation's secret files.
    pub keyed: BTreeMap<String, String>,
    /// Of the paths asked about, those where something exists on the machine.
    pub existing: BTreeSet<String>,
    /// Paths of the current generation whose original Hearth keeps, to restore on release.
    pub kept: BTreeSet<String>,
    pub manifest: Option<Manifest>,
}

impl State {
    /// The number the next generation gets.
    pub fn next(&self) -> u64 {
        self.generations.iter().map(|g| g.number).max().unwrap_or(0) + 1
    }
}

fn protocol(machine: &str, reason: impl Into<String>) -> DeployError {
    DeployError::Protocol { machine: machine.to_string(), reason: reason.into() }
}

/// Turns a failed call into an error carrying its (redacted) stderr.
fn checked(machine: &str, output: Output, redactor: &Redactor) -> Result<String, DeployError> {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let mut reason = stderr.trim().to_string();
        if reason.is_empty() {
            reason = format!("exit status {}", output.status.code().map_or("unknown".to_string(), |c| c.to_string()));
        }
        return Err(DeployError::Remote { machine: machine.to_string(), reason: redactor.redact(&reason) });
    }
    Ok(stdout)
}

/// Reads the machine's state; with `settle`, first waits for a running activation and undoes an
/// unconfirmed one. `paths` are checked for existence; one the line protocol cannot carry is
/// left out, as the plan refuses it anyway.
pub async fn state(
    conn: &Connection,
    machine: &str,
    nonce: &str,
    settle: bool,
    paths: &[&str],
) -> Result<State, DeployError> {
    let line = command_line(&["state", nonce, if settle { "settle" } else { "look" }]);
    let asked: String = paths.iter().filter(|p| check_path(machine, p).is_ok()).map(|p| format!("{p}\n")).collect();
    let output = conn.run(&line, asked.as_bytes()).await?;
    parse_state(machine, &checked(machine, output, &Redactor::default())?)
}

pub fn parse_state(machine: &str, text: &str) -> Result<State, DeployError> {
    let mut state = State::default();
    let number = |s: &str| -> Result<Option<u64>, DeployError> {
        if s == "-" {
            Ok(None)
        } else {
            s.parse().map(Some).map_err(|_| protocol(machine, format!("`{s}` is not a generation number")))
        }
    };
    let mut rest = text;
    while let Some((line, tail)) = rest.split_once('\n') {
        rest = tail;
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["current", n] => state.current = number(n)?,
            ["pending", n] => state.pending = number(n)?,
            ["gen", n, status, confirmed, created] => state.generations.push(Generation {
                number: number(n)?.ok_or_else(|| protocol(machine, "a generation without a number"))?,
                status: status.to_string(),
                confirmed: *confirmed == "1",
                current: false,
                created: created.parse().map_err(|_| protocol(machine, format!("`{created}` is not a time")))?,
            }),
            ["drift", path, kind] => {
                let kind = match *kind {
                    "missing" => DriftKind::Missing,
                    "content" => DriftKind::Content,
                    "metadata" => DriftKind::Metadata,
                    other => return Err(protocol(machine, format!("unknown drift `{other}`"))),
                };
                state.drift.insert(path.to_string(), kind);
            }
            ["exists", path] => {
                state.existing.insert(path.to_string());
            }
            ["kept", path] => {
                state.kept.insert(path.to_string());
            }
            ["keyed", path, hash] => {
                state.keyed.insert(path.to_string(), hash.to_string());
            }
            ["manifest"] => {
                let manifest = serde_json::from_str(rest).map_err(|e| protocol(machine, format!("manifest: {e}")))?;
                state.manifest = Some(manifest);
                rest = "";
            }
            _ => {
                return Err(protocol(
                    machine,
                    format!("unexpected line `{}`", line.chars().take(80).collect::<String>()),
                ));
            }
        }
    }
    state.generations.sort_by_key(|g| g.number);
    for g in &mut state.generations {
        g.current = Some(g.number) == state.current;
    }
    Ok(state)
}

/// Reads one generation's manifest.
pub async fn manifest(conn: &Connection, machine: &str, generation: u64) -> Result<Manifest, DeployError> {
    let output = conn.run(&command_line(&["manifest", &generation.to_string()]), b"").await?;
    let text = checked(machine, output, &Redactor::default())
        .map_err(|_| DeployError::NoSuchGeneration { machine: machine.to_string(), generation })?;
    serde_json::from_str(&text).map_err(|e| protocol(machine, format!("manifest: {e}")))
}

/// How an activation ended, as the machine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activated {
    Yes,
    /// It failed; `log` is the tail of its log with secret values redacted.
    No {
        status: String,
        log: String,
    },
}

/// Uploads a generation (a tar stream) and runs its activation, waiting for the result. `clone`
/// copies the files of an earlier generation on the machine instead of uploading them.
pub async fn stage(
    conn: &Connection,
    machine: &str,
    generation: u64,
    expect: Option<u64>,
    clone: Option<u64>,
    bundle: &[u8],
    redactor: &Redactor,
) -> Result<Activated, DeployError> {
    let show = |n: Option<u64>| n.map_or("-".to_string(), |n| n.to_string());
    let line = command_line(&["stage", &generation.to_string(), &show(expect), &show(clone)]);
    let output = conn.run(&line, bundle).await?;
    let text = checked(machine, output, redactor)?;
    let (first, log) = text.split_once('\n').unwrap_or((text.as_str(), ""));
    match first.split_once('\t') {
        Some(("result", "activated")) => Ok(Activated::Yes),
        Some(("result", status)) => Ok(Activated::No { status: status.to_string(), log: redactor.redact(log.trim()) }),
        _ => Err(protocol(machine, format!("unexpected answer to stage: `{}`", redactor.redact(first)))),
    }
}

/// The answer to a confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    Yes,
    /// The generation was no longer pending: the machine had already rolled it back.
    TooLate {
        status: String,
    },
}

pub async fn confirm(conn: &Connection, machine: &str, generation: u64) -> Result<Confirmed, DeployError> {
    let output = conn.run(&command_line(&["confirm", &generation.to_string()]), b"").await?;
    let text = checked(machine, output, &Redactor::default())?;
    match text.trim().split_once('\t') {
        None if text.trim() == "confirmed" => Ok(Confirmed::Yes),
        Some(("not-pending", status)) => Ok(Confirmed::TooLate { status: status.to_string() }),
        _ => Err(protocol(machine, format!("unexpected answer to confirm: `{}`", text.trim()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_state() {
        let text = "current\t2\npending\t-\ngen\t2\tactivated\t1\t100\ngen\t1\tactivated\t1\t50\n\
                    drift\t/etc/a b\tcontent\nexists\t/etc/c\nkept\t/etc/a b\nkeyed\t/srv/.env\tabc\nmanifest\n\
                    {\"generation\":2,\"previous\":1,\"origin\":\"apply\",\"files\":[]}";
        let state = parse_state("m", text).unwrap();
        assert_eq!((state.current, state.pending, state.next()), (Some(2), None, 3));
        assert_eq!(
            state.generations.iter().map(|g| (g.number, g.current)).collect::<Vec<_>>(),
            [(1, false), (2, true)]
        );
        assert_eq!(state.drift.get("/etc/a b"), Some(&DriftKind::Content));
        assert!(state.existing.contains("/etc/c") && state.kept.contains("/etc/a b"));
        assert_eq!(state.manifest.map(|m| m.previous), Some(Some(1)));
    }

    #[test]
    fn refuses_garbage() {
        let err = parse_state("m", "current\tx\n").unwrap_err();
        assert_eq!(err.to_string(), "`m` answered something Hearth cannot read: `x` is not a generation number");
    }
}
