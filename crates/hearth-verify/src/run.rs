//! Running the facts: the ones that cannot run are skipped with their reason, the others are
//! grouped by the machine they run from, one SSH connection per machine, machines in parallel
//! up to a bound. A machine that cannot be reached fails every check it was to run.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt as _;
use hearth_deploy::ssh::Connection;
use hearth_deploy::{Machine, SshOptions};
use hearth_facts::Fact;

use crate::check;
use crate::report::{Outcome, Report, Status};

/// Secret values by reference (`secret:NAME`, `env:VAR`, `op://…`), for logins.
pub trait Secrets: Sync {
    fn value(&self, reference: &str) -> Result<String, String>;
}

/// One fact to check, with its spec location and, when it must not run, why.
pub struct Target<'a> {
    pub fact: &'a Fact,
    /// `file:line:col`, or empty when the fact has no span.
    pub location: String,
    /// Why it is skipped (the fact's own reason, or the caller's: not in the lab, an image not
    /// available offline).
    pub skip: Option<String>,
}

/// How verify runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Machines connected to at once.
    pub jobs: usize,
    /// Start each backup job now instead of only looking at its last run.
    pub run_backups: bool,
    /// Bound on each probe and remote command that has no bound of its own.
    pub timeout: Duration,
    /// How long a test alert may take to be sent (cover Alertmanager's `group_wait`).
    pub alert_wait: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options { jobs: 8, run_backups: false, timeout: Duration::from_secs(10), alert_wait: Duration::from_secs(60) }
    }
}

/// Checks every target; `machines` are the SSH targets by spec name; `progress` gets one line
/// per machine as it starts and ends.
pub async fn verify(
    targets: &[Target<'_>],
    machines: &[Machine],
    ssh: &SshOptions,
    secrets: &dyn Secrets,
    options: &Options,
    progress: &(dyn Fn(&str) + Sync),
) -> Report {
    let mut results: Vec<Option<(Status, Option<String>)>> = vec![None; targets.len()];
    let mut by_machine: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, t) in targets.iter().enumerate() {
        if let Some(why) = &t.skip {
            results[i] = Some((Status::Skip, Some(why.clone())));
        } else if !machines.iter().any(|m| m.name == t.fact.from) {
            results[i] = Some((Status::Skip, Some(format!("no SSH target for machine `{}`", t.fact.from))));
        } else {
            by_machine.entry(t.fact.from.as_str()).or_default().push(i);
        }
    }
    let runs = by_machine.into_iter().map(|(name, indexes)| async move {
        let machine = machines.iter().find(|m| m.name == name).cloned().unwrap_or_else(|| Machine::new(name, name));
        progress(&format!("{name}: {} check(s)", indexes.len()));
        let outcome = run_machine(&machine, ssh, targets, &indexes, secrets, options).await;
        progress(&format!("{name}: done"));
        (indexes, outcome)
    });
    let done: Vec<_> = futures_util::stream::iter(runs).buffer_unordered(options.jobs.max(1)).collect().await;
    for (indexes, outcome) in done {
        for (i, r) in indexes.into_iter().zip(outcome) {
            results[i] = Some(r);
        }
    }
    let outcomes = targets
        .iter()
        .zip(results)
        .map(|(t, r)| {
            let (status, reason) = r.unwrap_or((Status::Fail, Some("not run".into())));
            Outcome::new(t, status, reason)
        })
        .collect();
    Report::new(outcomes)
}

/// Runs the checks `indexes` of `targets` on one machine, in order.
async fn run_machine(
    machine: &Machine,
    ssh: &SshOptions,
    targets: &[Target<'_>],
    indexes: &[usize],
    secrets: &dyn Secrets,
    options: &Options,
) -> Vec<(Status, Option<String>)> {
    let connection = match Connection::open(machine, ssh).await {
        Ok(c) => c,
        Err(e) => return indexes.iter().map(|_| (Status::Fail, Some(e.to_string()))).collect(),
    };
    let mut cx = check::Cx::new(&connection, secrets, options);
    let mut out = Vec::new();
    for &i in indexes {
        let result = cx.run(targets[i].fact).await;
        out.push(match result {
            Ok(()) => (Status::Ok, None),
            Err(why) => (Status::Fail, Some(cx.redact(&why))),
        });
    }
    connection.close().await;
    out
}
