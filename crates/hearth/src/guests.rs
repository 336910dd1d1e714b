//! The guest half of `plan` and `apply`: which Proxmox nodes to ask (each host's `proxmox.api`,
//! or `--proxmox-endpoint NODE=URL`), with which token (the host's `proxmox.token` reference,
//! else `env:HEARTH_PROXMOX_TOKEN`) and trust (`--proxmox-ca`, or the fingerprint pinned in
//! `.hearth/proxmox/NODE.fingerprint`, written on first contact only with `--proxmox-pin`), and
//! the plan of each node's guests. Errors name the guest's lines in the operator's spec.
//!
//! With `--lab`, each node is asked at its lab simulator (`hearth lab up` starts one per node, on
//! loopback, with the lab's own token), or at `--proxmox-endpoint`; never at a spec address.
//! What the API refuses a token (`pct set` of bind mounts, devices, feature flags) goes to the
//! simulator's `/_sim/pct`, the lab's stand-in for root's shell on the node.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use hearth_proxmox::plan::NodePlan;
use hearth_proxmox::{Client, DesiredGuest, Endpoint, RetryPolicy, Token, Trust};

use crate::cli::GuestArgs;
use crate::live_secrets::LiveSecrets;
use crate::persist;
use crate::targets::Targets;

/// The environment variable holding the API token of a host whose spec names none.
const TOKEN_ENV: &str = "HEARTH_PROXMOX_TOKEN";

/// One node to ask: where, with what, and the spec's guests on it.
pub struct Node {
    pub endpoint: Endpoint,
    /// The host's machine, reached over SSH as the admin user with `sudo`; with `--lab` the
    /// simulator's stand-in; none for an endpoint given on the command line.
    shell: ShellKind,
    /// The token, read when the node is contacted.
    token: TokenSource,
    pub desired: Vec<DesiredGuest>,
    /// The host's own ZFS datasets and backup jobs.
    host: hearth_proxmox::host::DesiredHost,
    /// The spec host's name, for diagnostics at its line.
    host_name: String,
}

/// Where a node's token comes from.
enum TokenSource {
    /// A reference (`env:VAR`, `secret:NAME`, `op://…`).
    Reference(String),
    /// The lab's own token for its simulators.
    Lab(PathBuf),
}

/// How apply gets root on a node for what the API refuses a token.
enum ShellKind {
    Ssh(hearth_deploy::Machine),
    /// A lab simulator's `/_sim/pct` at this address (`HOST:PORT`).
    Simulator(String),
    None,
}

/// The nodes to ask, and those left out with why.
pub struct Guests {
    pub nodes: Vec<Node>,
    pub skipped: Vec<(String, String)>,
}

/// A node's plan with its client, for apply.
pub struct Planned {
    /// The spec host the node is.
    pub host: String,
    pub client: Arc<Client>,
    /// Root on the node, for what the API refuses a token (bind mounts, devices, features).
    pub shell: Arc<dyn hearth_proxmox::NodeShell>,
    pub plan: NodePlan,
    pub desired: Vec<DesiredGuest>,
}

/// The nodes of the model that have guests, and how to reach each.
pub fn nodes(args: &GuestArgs, targets: &Targets) -> anyhow::Result<Guests> {
    let mut overrides = BTreeMap::new();
    for e in &args.endpoints {
        let Some((node, url)) = e.split_once('=') else {
            bail!("`--proxmox-endpoint {e}` is not `NODE=URL`");
        };
        overrides.insert(node.to_string(), url.to_string());
    }
    let mut by_node: BTreeMap<String, Vec<DesiredGuest>> = BTreeMap::new();
    for d in hearth_proxmox::desired_guests(&targets.model) {
        by_node.entry(d.node.clone()).or_default().push(d);
    }
    let state = targets.root.parent().map_or_else(|| PathBuf::from(".hearth"), |p| p.join(".hearth"));
    let mut out = Guests { nodes: Vec::new(), skipped: Vec::new() };
    if args.no_guests {
        return Ok(out);
    }
    for (node, desired) in by_node {
        let host_name = desired.first().map(|d| d.host.clone()).unwrap_or_default();
        let host = targets.model.hosts.get(&host_name);
        let overridden = overrides.remove(&node).or_else(|| overrides.remove(&host_name));
        let simulator = targets.lab.as_ref().and_then(|(dir, _)| {
            let sims = hearth_lab::simulators(dir).ok()?;
            sims.into_iter().find(|s| s.node == node).map(|s| (dir.clone(), s))
        });
        let mut token =
            TokenSource::Reference(host.and_then(|h| h.token.clone()).unwrap_or_else(|| format!("env:{TOKEN_ENV}")));
        // An endpoint given on the command line is a simulator or a tunnel: the host's spec
        // address is not contacted for anything, SSH included.
        let (url, shell) = match (overridden, targets.lab.is_some(), simulator) {
            (Some(url), _, _) => (url, ShellKind::None),
            (None, true, Some((dir, sim))) => {
                token = TokenSource::Lab(dir);
                let address = sim.url.trim_start_matches("http://").split('/').next().unwrap_or_default().to_string();
                (sim.url, ShellKind::Simulator(address))
            }
            (None, true, None) => {
                out.skipped.push((
                    node.clone(),
                    format!("the lab runs no Proxmox simulator for it (run `hearth lab up` again), or pass `--proxmox-endpoint {node}=URL`"),
                ));
                continue;
            }
            (None, false, _) => {
                let Some(api) = host.and_then(|h| h.api.clone()) else {
                    out.skipped.push((
                        node.clone(),
                        format!(
                            "host `{host_name}` has no `proxmox.api`; add it, or pass `--proxmox-endpoint {node}=URL`"
                        ),
                    ));
                    continue;
                };
                let shell = targets.machines.iter().find(|m| m.name == host_name).cloned();
                (api, shell.map_or(ShellKind::None, ShellKind::Ssh))
            }
        };
        let trust = match &args.ca {
            Some(ca) => Trust::Ca(ca.clone()),
            None => Trust::Pinned { file: hearth_proxmox::tls::pin_file(&state, &node), pin_new: args.pin },
        };
        let desired_host = hearth_proxmox::host::desired_host(&targets.model, &host_name);
        out.nodes.push(Node {
            endpoint: Endpoint { node, url, trust },
            shell,
            token,
            desired,
            host: desired_host,
            host_name,
        });
    }
    if let Some(unknown) = overrides.keys().next() {
        bail!("`--proxmox-endpoint {unknown}=...` names no Proxmox node with guests in the spec");
    }
    Ok(out)
}

/// The token of a node: its reference read from the environment, 1Password or the store (a
/// `secret:NAME` declared under `secrets:` reads from where the declaration says), or the lab's.
fn token(targets: &Targets, source: &TokenSource) -> anyhow::Result<Token> {
    let reference = match source {
        TokenSource::Reference(r) => r,
        TokenSource::Lab(dir) => return Ok(Token::parse(&hearth_lab::simulator_token(dir)?)?),
    };
    let mut reference = reference.to_string();
    if let Some(name) = reference.strip_prefix("secret:")
        && let Some(d) = targets.model.declared_secrets.iter().find(|d| d.name == name && d.source != "generated")
    {
        reference = d.source.clone();
    }
    let value = if let Some(var) = reference.strip_prefix("env:") {
        std::env::var(var).with_context(|| format!("cannot read the Proxmox API token from `{var}`"))?
    } else {
        let (store, identity) = persist::open_store(&targets.root)?;
        let live = LiveSecrets::new(store, identity);
        match hearth_render::SecretValues::get(&live, &reference) {
            Some(v) => v,
            None => {
                let why = live.failures().into_iter().map(|(_, w)| w).next().unwrap_or_default();
                bail!("cannot read the Proxmox API token `{reference}`: {why}");
            }
        }
    };
    Ok(Token::parse(&value)?)
}

/// Connects to every node and plans its guests. A node that cannot be reached is an error line
/// (the others are still planned).
pub async fn plan(targets: &Targets, guests: Guests, allow_destroy: &[String]) -> (Vec<Planned>, Vec<String>) {
    let mut planned = Vec::new();
    let mut errors = Vec::new();
    for node in guests.nodes {
        let name = node.endpoint.node.clone();
        let result = async {
            let token = token(targets, &node.token)?;
            let client = Client::connect(&node.endpoint, token, RetryPolicy::default()).await?;
            let actual = client.actual().await?;
            let mut plan = hearth_proxmox::plan_node(&name, &node.desired, &actual, allow_destroy);
            let shell: Arc<dyn hearth_proxmox::NodeShell> = match node.shell {
                ShellKind::Ssh(machine) => Arc::new(SshShell { machine, ssh: targets.ssh.clone() }),
                ShellKind::Simulator(address) => Arc::new(SimulatorShell { address }),
                ShellKind::None => Arc::new(hearth_proxmox::NoShell),
            };
            plan.host = hearth_proxmox::host::plan_host(&client, shell.as_ref(), &node.host).await?;
            anyhow::Ok(Planned { host: node.host_name, client: Arc::new(client), shell, plan, desired: node.desired })
        }
        .await;
        match result {
            Ok(p) => planned.push(p),
            Err(e) => errors.push(format!("node `{name}`: {e:#}")),
        }
    }
    (planned, errors)
}

/// Where guest `name` is in the operator's spec (`file:line:col`).
pub fn spec_location(targets: &Targets, name: &str) -> Option<String> {
    let span = targets.spans.get(&format!("guest/{name}"))?.first()?;
    Some(targets.sources.location(*span).to_string())
}

/// Prints each guest the plan refuses (a disk to shrink, an id taken by a guest Hearth did not
/// create, a bridge the node lacks, ...) as an error at its spec line, and each host step it
/// refuses (a ZFS property fixed at creation, a backup job id taken) at the host's; answers
/// whether there was any.
pub fn report_refusals(targets: &Targets, planned: &[Planned]) -> bool {
    let mut any = false;
    for p in planned {
        let at = host_location(targets, &p.host).map_or_else(String::new, |l| format!("{l}: "));
        for (what, why) in p.plan.host.refusals() {
            any = true;
            eprintln!("{at}error: {what} on node `{}` cannot be applied: {why}", p.plan.node);
        }
        for g in &p.plan.guests {
            let hearth_proxmox::GuestAction::Refused { reasons } = &g.action else { continue };
            any = true;
            let at = spec_location(targets, &g.name).map_or_else(String::new, |l| format!("{l}: "));
            for r in reasons {
                eprintln!(
                    "{at}error: guest `{}` ({}) on node `{}` cannot be applied: {r}",
                    g.name, g.vmid, p.plan.node
                );
            }
        }
    }
    any
}

/// Where host `name` is in the operator's spec.
fn host_location(targets: &Targets, name: &str) -> Option<String> {
    let span = targets.spans.get(&format!("host/{name}"))?.first()?;
    Some(targets.sources.location(*span).to_string())
}

/// Prints each failed guest as a diagnostic naming its spec line, and each failed host step at
/// its host's line; answers whether any failed.
pub fn report_failures(
    targets: &Targets,
    planned: &[Planned],
    outcomes: &[hearth_proxmox::apply::NodeOutcome],
) -> bool {
    let mut failed = false;
    for n in outcomes {
        let host = planned.iter().find(|p| p.plan.node == n.node).map(|p| p.host.as_str()).unwrap_or_default();
        let at = host_location(targets, host).map_or_else(String::new, |l| format!("{l}: "));
        for step in &n.host {
            if let Some(e) = &step.error {
                failed = true;
                eprintln!("{at}error: {} on node `{}` was not applied: {e}", step.what, n.node);
            }
        }
        for g in &n.guests {
            let Some(e) = &g.error else { continue };
            failed = true;
            let at = spec_location(targets, &g.name).map_or_else(String::new, |l| format!("{l}: "));
            // The error already names the guest; its cause is what the line adds.
            let cause = match e {
                hearth_proxmox::Error::Guest { source, .. } => source.to_string(),
                other => other.to_string(),
            };
            eprintln!("{at}error: guest `{}` ({}) on node `{}` was not applied: {cause}", g.name, g.vmid, n.node);
        }
    }
    failed
}

/// Says which nodes' guests are not planned and why, on stderr.
pub fn print_skipped_nodes(guests: &Guests) {
    for (node, why) in &guests.skipped {
        eprintln!("guests on node {node} not planned: {why}");
    }
}

/// The guests the plans create (their machines do not exist yet).
pub fn creating(planned: &[Planned]) -> std::collections::BTreeSet<String> {
    planned
        .iter()
        .flat_map(|p| &p.plan.guests)
        .filter(|g| g.action == hearth_proxmox::GuestAction::Create)
        .map(|g| g.name.clone())
        .collect()
}

/// Marks for a snapshot each guest with `snapshot: { before_apply: true }` whose files the deploy
/// plan changes, so the guest half of apply takes it before any file moves.
pub fn snapshot_file_changes(planned: &mut [Planned], deploy: &hearth_deploy::Plan) {
    let changing: std::collections::BTreeSet<String> =
        deploy.machines.iter().filter(|m| m.error.is_none() && !m.is_empty()).map(|m| m.machine.clone()).collect();
    for p in planned {
        hearth_proxmox::plan::snapshot_changing(&mut p.plan, &p.desired, &changing);
    }
}

/// The guests whose snapshot before apply failed: their files must not change either.
pub fn unsnapshotted(
    planned: &[Planned],
    outcomes: &[hearth_proxmox::apply::NodeOutcome],
) -> std::collections::BTreeSet<String> {
    let wanted: std::collections::BTreeSet<(String, u32)> = planned
        .iter()
        .flat_map(|p| p.plan.guests.iter().filter(|g| g.snapshot.is_some()).map(|g| (p.plan.node.clone(), g.vmid)))
        .collect();
    outcomes
        .iter()
        .flat_map(|n| n.guests.iter().map(move |g| (n, g)))
        .filter(|(n, g)| {
            wanted.contains(&(n.node.clone(), g.vmid)) && !g.done.iter().any(|d| d.starts_with("snapshot "))
        })
        .map(|(_, g)| g.name.clone())
        .collect()
}

/// Applies every node's plan, the nodes at once.
pub async fn apply(planned: &[Planned]) -> Vec<hearth_proxmox::apply::NodeOutcome> {
    let mut set = tokio::task::JoinSet::new();
    // One line on stderr per step as it is done: creating a guest on a real node takes a while.
    let progress: hearth_proxmox::apply::Progress =
        Arc::new(|node: &str, guest: &str, step: &str| eprintln!("{node}: {guest}: {step}"));
    for (i, p) in planned.iter().enumerate() {
        let progress = Arc::clone(&progress);
        let (client, shell, plan, desired) =
            (Arc::clone(&p.client), Arc::clone(&p.shell), p.plan.clone(), p.desired.clone());
        set.spawn(async move {
            (i, hearth_proxmox::apply::apply_node(client, shell, &plan, &desired, Some(progress)).await)
        });
    }
    let mut outcomes = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(o) => outcomes.push(o),
            // A node's apply that panicked must not vanish from the outcomes (the apply would
            // then look successful): the panic goes on up. Nothing cancels these tasks.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    outcomes.sort_by_key(|(i, _)| *i);
    outcomes.into_iter().map(|(_, o)| o).collect()
}

/// Root on a Proxmox host over SSH, as the admin user through `sudo -n`.
struct SshShell {
    machine: hearth_deploy::Machine,
    ssh: hearth_deploy::SshOptions,
}

impl hearth_proxmox::NodeShell for SshShell {
    fn run<'a>(&'a self, _node: &'a str, argv: &'a [String]) -> hearth_proxmox::shell::ShellFuture<'a> {
        Box::pin(async move {
            let words: Vec<String> = argv.iter().map(|a| hearth_render::sh_quote(a)).collect();
            let line = format!("if [ \"$(id -u)\" = 0 ]; then {0}; else sudo -n {0}; fi", words.join(" "));
            let connection = hearth_deploy::ssh::Connection::open(&self.machine, &self.ssh)
                .await
                .map_err(|e| format!("{e}; run `{}` on it as root", argv.join(" ")))?;
            let out = connection.run(&line, b"").await.map_err(|e| e.to_string())?;
            if out.status.success() {
                Ok(())
            } else {
                let err = String::from_utf8_lossy(&out.stderr);
                Err(format!("`{}` failed: {}", argv.join(" "), err.trim()))
            }
        })
    }

    fn output<'a>(&'a self, _node: &'a str, argv: &'a [String]) -> hearth_proxmox::shell::OutputFuture<'a> {
        Box::pin(async move {
            let words: Vec<String> = argv.iter().map(|a| hearth_render::sh_quote(a)).collect();
            let line = format!("if [ \"$(id -u)\" = 0 ]; then {0}; else sudo -n {0}; fi", words.join(" "));
            let connection =
                hearth_deploy::ssh::Connection::open(&self.machine, &self.ssh).await.map_err(|e| e.to_string())?;
            let out = connection.run(&line, b"").await.map_err(|e| e.to_string())?;
            if out.status.success() {
                Ok(String::from_utf8_lossy(&out.stdout).into_owned())
            } else {
                let err = String::from_utf8_lossy(&out.stderr);
                Err(format!("`{}` failed: {}", argv.join(" "), err.trim()))
            }
        })
    }
}

/// Root on a lab node: its simulator's `POST /_sim/pct`, which acts on the guest's config as
/// `pct set` does on the node (plain HTTP on loopback, so a few lines of HTTP/1.1 suffice).
struct SimulatorShell {
    address: String,
}

impl hearth_proxmox::NodeShell for SimulatorShell {
    fn run<'a>(&'a self, _node: &'a str, argv: &'a [String]) -> hearth_proxmox::shell::ShellFuture<'a> {
        Box::pin(async move {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            let body = serde_json::json!({ "argv": argv }).to_string();
            let request = format!(
                "POST /_sim/pct HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                self.address,
                body.len()
            );
            let fail = |e: std::io::Error| format!("the lab's simulator at {} did not answer: {e}", self.address);
            let mut stream = tokio::net::TcpStream::connect(&self.address).await.map_err(fail)?;
            stream.write_all(request.as_bytes()).await.map_err(fail)?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.map_err(fail)?;
            let status = answer.split_whitespace().nth(1).unwrap_or_default();
            if status == "200" {
                return Ok(());
            }
            let detail = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b).trim();
            Err(format!("`{}` failed on the lab's simulator: {status} {detail}", argv.join(" ")))
        })
    }
}
