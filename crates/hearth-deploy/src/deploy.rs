//! The four operations the CLI calls: plan, apply, rollback and generations. Each takes the
//! machines to act on with their connection settings, reports progress through [`Events`] and
//! returns data the CLI prints.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use serde::Serialize;

use crate::bundle::Generation as Bundle;
use crate::error::DeployError;
use crate::event::{Event, EventKind, Events};
use crate::manifest::{Manifest, Origin};
use crate::plan::{self, DesiredFile, MachinePlan, Plan};
use crate::redact::Redactor;
use crate::remote::{self, Activated, Confirmed, Generation};
use crate::report::{MachineReport, Outcome, Report};
use crate::schedule::{self, Succeeded};
use crate::ssh::Connection;
use crate::target::{Machine, SshOptions};

/// How apply and rollback run.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Machines worked on at once.
    pub jobs: usize,
    /// How long a machine waits for the confirmation over a fresh connection before it restores
    /// the previous generation on its own.
    pub confirm_timeout: Duration,
    /// `(before, after)`: `after` starts only once `before` succeeded.
    pub order: Vec<(String, String)>,
}

impl Default for ApplyOptions {
    fn default() -> ApplyOptions {
        ApplyOptions { jobs: 8, confirm_timeout: Duration::from_secs(30), order: Vec::new() }
    }
}

/// Where to roll back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollbackTo {
    /// The generation that was active before the current one.
    Previous,
    Generation(u64),
}

/// The generations of one machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MachineGenerations {
    pub machine: String,
    pub current: Option<u64>,
    pub pending: Option<u64>,
    pub generations: Vec<Generation>,
    pub error: Option<String>,
}

struct Ctx<'a> {
    ssh: &'a SshOptions,
    events: &'a dyn Events,
}

impl Ctx<'_> {
    fn emit(&self, machine: &str, kind: EventKind) {
        self.events.event(Event { machine: machine.to_string(), kind });
    }
}

/// Files grouped by machine, after checking every path; files for machines not given are left
/// out (a deploy to some machines).
fn by_machine<'a>(
    machines: &[Machine],
    files: &'a [DesiredFile],
) -> Result<BTreeMap<String, Vec<&'a DesiredFile>>, DeployError> {
    let mut map: BTreeMap<String, Vec<&DesiredFile>> = machines.iter().map(|m| (m.name.clone(), Vec::new())).collect();
    for file in files {
        crate::manifest::check_path(&file.file.machine, &file.file.path)?;
        if let Some(list) = map.get_mut(&file.file.machine) {
            list.push(file);
        }
    }
    Ok(map)
}

fn nonce() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Connects read-only to every managed machine (one round trip each) and compares.
pub async fn plan(
    machines: &[Machine],
    ssh: &SshOptions,
    files: &[DesiredFile],
    events: &dyn Events,
) -> Result<Plan, DeployError> {
    let grouped = by_machine(machines, files)?;
    let ctx = Ctx { ssh, events };
    let managed: Vec<&Machine> = machines.iter().filter(|m| m.managed).collect();
    let tasks = managed.iter().map(|m| {
        let files = grouped.get(&m.name).cloned().unwrap_or_default();
        let ctx = &ctx;
        async move {
            ctx.emit(&m.name, EventKind::Connecting);
            let result = async {
                let conn = Connection::open(m, ctx.ssh).await?;
                let nonce = nonce();
                let state = remote::state(&conn, &m.name, &nonce, false, &desired_paths(&files)).await;
                conn.close().await;
                plan::plan_machine(&m.name, &files, &state?, &nonce)
            }
            .await;
            let plan = result.unwrap_or_else(|e| MachinePlan::failed(&m.name, &e));
            match &plan.error {
                Some(message) => ctx.emit(&m.name, EventKind::Done(Outcome::Failed { message: message.clone() })),
                None => ctx.emit(&m.name, EventKind::Planned { changes: plan.files.len(), drift: plan.drift.len() }),
            }
            plan
        }
    });
    let plans = futures_util::future::join_all(tasks).await;
    Ok(Plan { machines: plans, unmanaged: unmanaged(machines) })
}

fn unmanaged(machines: &[Machine]) -> Vec<String> {
    machines.iter().filter(|m| !m.managed).map(|m| m.name.clone()).collect()
}

impl Succeeded for MachineReport {
    fn succeeded(&self) -> bool {
        self.outcome.is_success()
    }
}

/// Brings every managed machine to the desired files: per machine a new generation, activated on
/// the machine and confirmed over a fresh connection.
pub async fn apply(
    machines: &[Machine],
    ssh: &SshOptions,
    files: &[DesiredFile],
    options: &ApplyOptions,
    events: &dyn Events,
) -> Result<Report, DeployError> {
    let grouped = by_machine(machines, files)?;
    let redactor = Redactor::new(files.iter().map(|d| &d.file));
    let ctx = Ctx { ssh, events };
    each_machine(&ctx, machines, options, |machine| {
        let files = grouped.get(&machine.name).cloned().unwrap_or_default();
        let (ctx, redactor) = (&ctx, &redactor);
        async move { apply_machine(ctx, machine, &files, options, redactor).await }
    })
    .await
}

fn finish(ctx: &Ctx<'_>, machine: &str, outcome: Outcome, plan: Option<MachinePlan>) -> MachineReport {
    ctx.emit(machine, EventKind::Done(outcome.clone()));
    MachineReport { machine: machine.to_string(), outcome, plan }
}

/// Runs `work` on every managed machine in the order and parallelism `options` give, and
/// collects the report.
async fn each_machine<'m, W, Fut>(
    ctx: &Ctx<'_>,
    machines: &'m [Machine],
    options: &ApplyOptions,
    work: W,
) -> Result<Report, DeployError>
where
    W: Fn(&'m Machine) -> Fut,
    Fut: Future<Output = (Outcome, Option<MachinePlan>)>,
{
    let managed: Vec<&Machine> = machines.iter().filter(|m| m.managed).collect();
    let names: Vec<String> = managed.iter().map(|m| m.name.clone()).collect();
    let preds = schedule::predecessors(&names, &options.order)?;
    let reports = schedule::run(
        &names,
        &preds,
        options.jobs,
        |i| {
            let machine = managed[i];
            let done = work(machine);
            async move {
                let (outcome, plan) = done.await;
                finish(ctx, &machine.name, outcome, plan)
            }
        },
        |i, pred| finish(ctx, &names[i], Outcome::Skipped { reason: format!("`{pred}` did not succeed") }, None),
    )
    .await;
    Ok(Report { machines: reports, unmanaged: unmanaged(machines) })
}

async fn apply_machine(
    ctx: &Ctx<'_>,
    machine: &Machine,
    files: &[&DesiredFile],
    options: &ApplyOptions,
    redactor: &Redactor,
) -> (Outcome, Option<MachinePlan>) {
    let name = machine.name.as_str();
    ctx.emit(name, EventKind::Connecting);
    let conn = match Connection::open(machine, ctx.ssh).await {
        Ok(conn) => conn,
        Err(e) => return (Outcome::Failed { message: e.to_string() }, None),
    };
    let nonce = nonce();
    let prepared = async {
        let state = remote::state(&conn, name, &nonce, true, &desired_paths(files)).await?;
        let plan = plan::plan_machine(name, files, &state, &nonce)?;
        Ok::<_, DeployError>((state, plan))
    }
    .await;
    let (state, plan) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => {
            conn.close().await;
            return (Outcome::Failed { message: e.to_string() }, None);
        }
    };
    ctx.emit(name, EventKind::Planned { changes: plan.files.len(), drift: plan.drift.len() });
    if plan.is_empty() {
        conn.close().await;
        return (Outcome::Unchanged, Some(plan));
    }
    let generation = state.next();
    let manifest = match plan::entries(files) {
        Ok(entries) => Manifest { generation, previous: state.current, origin: Origin::Apply, files: entries },
        Err(e) => return (Outcome::Failed { message: e.to_string() }, Some(plan)),
    };
    let bundle =
        Bundle { manifest: &manifest, previous: state.manifest.as_ref(), confirm_timeout: options.confirm_timeout };
    let contents: Vec<(&str, &[u8])> =
        files.iter().map(|d| (d.file.path.as_str(), d.file.content.as_bytes())).collect();
    let tar = match bundle.tar(name, &contents) {
        Ok(tar) => tar,
        Err(e) => return (Outcome::Failed { message: e.to_string() }, Some(plan)),
    };
    ctx.emit(name, EventKind::Uploading { generation, bytes: tar.len() });
    ctx.emit(name, EventKind::Activating { generation });
    let staged = remote::stage(&conn, name, generation, state.current, None, &tar, redactor).await;
    conn.close().await;
    let outcome = settle_activation(ctx, machine, generation, state.current, staged, options.confirm_timeout).await;
    (outcome, Some(plan))
}

/// After the activation: a failed one was already undone on the machine; a successful one (or
/// one whose connection dropped) is confirmed over a fresh connection, or left to the machine's
/// rollback timer when that connection cannot be made.
async fn settle_activation(
    ctx: &Ctx<'_>,
    machine: &Machine,
    generation: u64,
    previous: Option<u64>,
    staged: Result<Activated, DeployError>,
    confirm_timeout: Duration,
) -> Outcome {
    let name = machine.name.as_str();
    match staged {
        Ok(Activated::No { status, log }) if status == "failed" => {
            let reason = format!("activation failed; the machine restored the previous generation\n{log}");
            return Outcome::RolledBack { generation, restored: previous, reason };
        }
        Ok(Activated::No { status, log }) => {
            return Outcome::Failed {
                message: format!("activation of generation {generation} ended `{status}`\n{log}"),
            };
        }
        Err(e @ DeployError::Connect { .. }) => {
            ctx.emit(name, EventKind::Reconnecting { reason: e.to_string() });
        }
        Err(e) => return Outcome::Failed { message: e.to_string() },
        Ok(Activated::Yes) => {}
    }
    ctx.emit(name, EventKind::Confirming { generation });
    let confirmed = async {
        let fresh = Connection::open(machine, ctx.ssh).await?;
        let answer = remote::confirm(&fresh, name, generation).await;
        fresh.close().await;
        answer
    }
    .await;
    match confirmed {
        Ok(Confirmed::Yes) => Outcome::Applied { generation },
        Ok(Confirmed::TooLate { status }) => Outcome::RolledBack {
            generation,
            restored: previous,
            reason: format!("not confirmed in time (generation {generation} is `{status}`)"),
        },
        Err(cut) => await_rollback(ctx, machine, generation, previous, confirm_timeout, &cut).await,
    }
}

/// The machine cannot be reached over a new connection: the change most likely cut the operator
/// off. Waits for the machine's timer to restore the previous generation, then checks it did.
async fn await_rollback(
    ctx: &Ctx<'_>,
    machine: &Machine,
    generation: u64,
    previous: Option<u64>,
    confirm_timeout: Duration,
    cut: &DeployError,
) -> Outcome {
    let name = machine.name.as_str();
    ctx.emit(name, EventKind::Waiting { on: vec![format!("the rollback timer ({} s)", confirm_timeout.as_secs())] });
    tokio::time::sleep(confirm_timeout + Duration::from_secs(2)).await;
    let mut last = cut.to_string();
    for _ in 0..10 {
        let checked = async {
            let conn = Connection::open(machine, ctx.ssh).await?;
            let state = remote::state(&conn, name, "-", false, &[]).await;
            conn.close().await;
            state
        }
        .await;
        match checked {
            Ok(state) if state.pending.is_none() && state.current == previous => {
                let reason = format!(
                    "a new connection failed after activation ({cut}); the machine restored the previous generation"
                );
                return Outcome::RolledBack { generation, restored: previous, reason };
            }
            Ok(state) if state.pending.is_none() => {
                return Outcome::Failed {
                    message: format!("after a failed confirmation `{name}` is on generation {:?}", state.current),
                };
            }
            Ok(_) => last = format!("generation {generation} still awaits its rollback"),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    Outcome::Failed { message: format!("cannot tell whether `{name}` rolled back: {last}") }
}

/// Switches machines to an earlier generation (a new generation copying its files on the
/// machine), with the same activation, timer and confirmation as apply.
pub async fn rollback(
    machines: &[Machine],
    ssh: &SshOptions,
    to: RollbackTo,
    options: &ApplyOptions,
    events: &dyn Events,
) -> Result<Report, DeployError> {
    let ctx = Ctx { ssh, events };
    each_machine(&ctx, machines, options, |machine| {
        let ctx = &ctx;
        async move {
            match rollback_machine(ctx, machine, to, options).await {
                Ok(outcome) => (outcome, None),
                Err(e) => (Outcome::Failed { message: e.to_string() }, None),
            }
        }
    })
    .await
}

async fn rollback_machine(
    ctx: &Ctx<'_>,
    machine: &Machine,
    to: RollbackTo,
    options: &ApplyOptions,
) -> Result<Outcome, DeployError> {
    let name = machine.name.as_str();
    ctx.emit(name, EventKind::Connecting);
    let conn = Connection::open(machine, ctx.ssh).await?;
    let result = async {
        let state = remote::state(&conn, name, "-", true, &[]).await?;
        let current =
            state.manifest.as_ref().ok_or_else(|| DeployError::NothingToRollBack { machine: name.to_string() })?;
        let target = match to {
            RollbackTo::Generation(n) => n,
            RollbackTo::Previous => {
                current.previous.ok_or_else(|| DeployError::NothingToRollBack { machine: name.to_string() })?
            }
        };
        if Some(target) == state.current {
            return Ok(None);
        }
        let old = remote::manifest(&conn, name, target).await?;
        let generation = state.next();
        let manifest =
            Manifest { generation, previous: state.current, origin: Origin::Rollback { of: target }, files: old.files };
        let bundle = Bundle { manifest: &manifest, previous: Some(current), confirm_timeout: options.confirm_timeout };
        let tar = bundle.tar(name, &[])?;
        ctx.emit(name, EventKind::Activating { generation });
        let staged =
            remote::stage(&conn, name, generation, state.current, Some(target), &tar, &Redactor::default()).await;
        Ok(Some((generation, state.current, staged)))
    }
    .await;
    conn.close().await;
    match result? {
        None => Ok(Outcome::Unchanged),
        Some((generation, previous, staged)) => {
            Ok(settle_activation(ctx, machine, generation, previous, staged, options.confirm_timeout).await)
        }
    }
}

/// Lists every machine's generations (read-only).
pub async fn generations(machines: &[Machine], ssh: &SshOptions, events: &dyn Events) -> Vec<MachineGenerations> {
    let ctx = Ctx { ssh, events };
    let tasks = machines.iter().filter(|m| m.managed).map(|m| {
        let ctx = &ctx;
        async move {
            ctx.emit(&m.name, EventKind::Connecting);
            let state = async {
                let conn = Connection::open(m, ctx.ssh).await?;
                let state = remote::state(&conn, &m.name, "-", false, &[]).await;
                conn.close().await;
                state
            }
            .await;
            match state {
                Ok(state) => MachineGenerations {
                    machine: m.name.clone(),
                    current: state.current,
                    pending: state.pending,
                    generations: state.generations,
                    error: None,
                },
                Err(e) => MachineGenerations {
                    machine: m.name.clone(),
                    current: None,
                    pending: None,
                    generations: Vec::new(),
                    error: Some(e.to_string()),
                },
            }
        }
    });
    futures_util::future::join_all(tasks).await
}

/// The paths a machine is asked about, so the plan can tell a file it adds from one it takes over.
fn desired_paths<'a>(files: &[&'a DesiredFile]) -> Vec<&'a str> {
    files.iter().map(|d| d.file.path.as_str()).collect()
}
