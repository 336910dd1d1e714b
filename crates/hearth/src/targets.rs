//! What a deploy command acts on: the machines of the model as deploy targets (the real ones at
//! their addresses, or the lab's through its ssh_config), and the files each gets, with the spec
//! lines that caused them and secret values filled in from the age store.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use hearth_deploy::{DesiredFile, Machine, SshOptions};
use hearth_model::Model;
use hearth_render::{Context, File, Kind, SecretValues};

use crate::checked::{self, Checked, Gate};
use crate::cli::TargetArgs;
use crate::live_secrets::LiveSecrets;
use crate::manifest::entity_lines;
use crate::order;
use crate::persist;
use crate::report::Format;

/// The machines, files and connection settings of one deploy command.
pub struct Targets {
    pub machines: Vec<Machine>,
    /// Empty unless the command asked for files.
    pub files: Vec<DesiredFile>,
    pub ssh: SshOptions,
    /// `(before, after)` machine pairs: the data tier first, the proxy last.
    pub order: Vec<(String, String)>,
    /// With `--lab`: the lab's state folder and what `prepare` made of the spec.
    pub lab: Option<(PathBuf, hearth_lab::LabInput)>,
    /// With `--lab`: the files of the selected machines left out because they belong to what the
    /// lab skips (ZFS pools, the Proxmox API, NixOS configurations). Empty without `--lab`.
    pub skipped: Vec<hearth_lab::SkippedFile>,
    /// With `--lab`: the Docker services of the selected machines the lab does not start, since
    /// an image they need is not available offline. Empty without `--lab` or files.
    pub not_started: Vec<hearth_lab::NotStarted>,
    /// The model the machines and files come from (with `--lab`, re-addressed).
    pub model: Model,
    /// The checked spec's sources, for spec locations (the lab's spec has the same lines).
    pub sources: hearth_spec::SourceMap,
    /// The spec's root file.
    pub root: PathBuf,
    /// Where each model entity is in the operator's spec (with `--lab` too: the lab's model has
    /// other byte offsets).
    pub spans: std::collections::BTreeMap<String, Vec<hearth_spec::Span>>,
}

/// Whether the command needs the files or only the machines (rollback, generations).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Machines,
    /// Every machine whatever `--machine` says (only checked to exist): verify runs a
    /// machine's checks from other machines.
    AllMachines,
    /// Files whose secret values must all be read: apply.
    Files,
    /// Files for a read-only comparison: plan. A secret value that cannot be read is named in a
    /// warning and its file compared as rendered with the placeholder (it shows as changed).
    FilesForPlan,
}

/// Checks the spec (printing its diagnostics), then builds the targets: with `--lab` from
/// `hearth_lab::prepare` and the lab's state, else from the model. Returns the exit code to stop
/// with when the spec has errors.
pub fn load(args: &TargetArgs, format: Format, need: Need) -> anyhow::Result<Result<Targets, ExitCode>> {
    let spec = match checked::load(&args.spec.path, format, Gate::Errors)? {
        Ok(spec) => spec,
        Err(code) => return Ok(Err(code)),
    };
    let (model, all, ssh, lab) = if args.lab {
        let dir = hearth_lab::state_dir(&spec.root);
        let state = hearth_lab::load_state(&dir).context("the lab is not up; start it with `hearth lab up`")?;
        let input = hearth_lab::prepare(&spec.root, hearth_catalog::builtin(), &dir)?;
        let mut machines: Vec<Machine> = state.machines.keys().map(|name| Machine::new(name, name)).collect();
        machines.extend(unmanaged(&input.model));
        let mut ssh = SshOptions::new(control_dir(&dir));
        ssh.extra_config = Some(hearth_lab::ssh_config_path(&dir));
        (input.model.clone(), machines, ssh, Some((dir, input)))
    } else {
        let machines = real_machines(&spec.model);
        let mut ssh = SshOptions::new(control_dir(spec.root.parent().unwrap_or(&PathBuf::new())));
        ssh.accept_new_host_keys = args.accept_new_host_keys;
        (spec.model.clone(), machines, ssh, None)
    };
    let machines = select(all, &args.machines, need != Need::AllMachines)?;
    let mut files = match need {
        Need::Machines | Need::AllMachines => Vec::new(),
        Need::Files | Need::FilesForPlan => {
            desired(&spec, &model, need == Need::Files, lab.as_ref().map(|(dir, _)| dir.as_path()))?
        }
    };
    let fitted = match &lab {
        Some((dir, input)) => fit_to_lab(dir, input, &machines, &mut files)?,
        None => hearth_lab::Fitted::default(),
    };
    let order = order::edges(&model);
    let spans = spec.model.spans.clone();
    Ok(Ok(Targets {
        machines,
        files,
        ssh,
        order,
        lab,
        skipped: fitted.skipped,
        not_started: fitted.not_started,
        model,
        sources: spec.sources,
        root: spec.root,
        spans,
    }))
}

/// Fits `files` to the lab ([`hearth_lab::fit`]) and keeps what it left out and did not start on
/// the selected `machines` (the others are not deployed anyway).
fn fit_to_lab(
    dir: &std::path::Path,
    input: &hearth_lab::LabInput,
    machines: &[Machine],
    files: &mut Vec<DesiredFile>,
) -> anyhow::Result<hearth_lab::Fitted> {
    if files.is_empty() {
        return Ok(hearth_lab::Fitted::default());
    }
    let mut fitted = rewrite(files, |rendered| hearth_lab::fit(dir, input, rendered))?;
    let selected: BTreeSet<&str> = machines.iter().map(|m| m.name.as_str()).collect();
    fitted.skipped.retain(|s| selected.contains(s.machine.as_str()));
    fitted.not_started.retain(|n| selected.contains(n.machine.as_str()));
    Ok(fitted)
}

/// Runs `f` on the rendered files of `files` and keeps each remaining file's spec lines.
fn rewrite<R>(files: &mut Vec<DesiredFile>, f: impl FnOnce(&mut Vec<File>) -> R) -> R {
    let mut rendered: Vec<File> = files.iter().map(|d| d.file.clone()).collect();
    let out = f(&mut rendered);
    let mut reasons: std::collections::BTreeMap<(String, String), String> =
        files.drain(..).map(|d| ((d.file.machine, d.file.path), d.reason)).collect();
    files.extend(rendered.into_iter().map(|file| {
        let reason = reasons.remove(&(file.machine.clone(), file.path.clone())).unwrap_or_default();
        DesiredFile { file, reason }
    }));
    out
}

/// Prints each file the lab leaves out, with what it belongs to and why, and each service it
/// does not start, on stderr.
pub fn print_skipped(targets: &Targets) {
    for s in &targets.skipped {
        eprintln!("skipped on {}: {} ({}: {})", s.machine, s.path, s.what, s.reason);
    }
    for n in &targets.not_started {
        eprintln!("not started on {}: `{}` ({})", n.machine, n.service, n.reason);
    }
}

/// A short private folder for the SSH control sockets of the spec beside `dir`. A socket's path
/// may not pass 108 bytes, and OpenSSH and the `openssh` crate add about 50 to the folder's, so a
/// folder beside a spec deep in the file system would make every connection fail: the sockets go
/// under `$XDG_RUNTIME_DIR` (else the temporary folder), one folder per spec location.
fn control_dir(dir: &std::path::Path) -> PathBuf {
    use std::hash::{Hash as _, Hasher as _};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()).hash(&mut hasher);
    std::env::var("USER").unwrap_or_default().hash(&mut hasher);
    let base = std::env::var_os("XDG_RUNTIME_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    base.join(format!("hearth-ssh-{:016x}", hasher.finish()))
}

/// Guests with `managed: false`: listed so deploy can say it left them alone.
fn unmanaged(model: &Model) -> impl Iterator<Item = Machine> + '_ {
    model
        .guests
        .iter()
        .filter(|(_, g)| !g.managed)
        .map(|(name, _)| Machine { managed: false, ..Machine::new(name, name) })
}

/// Every host and guest, reached at its address (else its host name) as the admin user.
fn real_machines(model: &Model) -> Vec<Machine> {
    let user = Some(model.admin.user.clone());
    let hosts = model.hosts.iter().map(|(name, h)| Machine {
        user: user.clone(),
        ..Machine::new(name, &h.address.map_or_else(|| name.clone(), |a| a.to_string()))
    });
    let guests = model.guests.iter().map(|(name, g)| Machine {
        user: user.clone(),
        managed: g.managed,
        ..Machine::new(name, &g.address.map_or_else(|| g.hostname.clone(), |a| a.to_string()))
    });
    hosts.chain(guests).collect()
}

/// The machines `--machine` names (all when it names none); an unknown name is an error.
fn select(all: Vec<Machine>, wanted: &[String], filter: bool) -> anyhow::Result<Vec<Machine>> {
    let known: BTreeSet<&str> = all.iter().map(|m| m.name.as_str()).collect();
    if let Some(missing) = wanted.iter().find(|w| !known.contains(w.as_str())) {
        let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
        bail!("no machine `{missing}` to deploy to; the machines are {}", list.join(", "));
    }
    Ok(all.into_iter().filter(|m| !filter || wanted.is_empty() || wanted.contains(&m.name)).collect())
}

/// The rendered files of `model`, each with its reason (the spec lines of the entities it came
/// from, found in the checked spec: the lab's re-addressed spec has the same lines). Secret files
/// get their values from the age store; a value that cannot be read fails when `strict`, naming
/// the secret, and is named in a warning otherwise.
fn desired(
    spec: &Checked,
    model: &Model,
    strict: bool,
    lab: Option<&std::path::Path>,
) -> anyhow::Result<Vec<DesiredFile>> {
    let catalog = hearth_catalog::builtin();
    let mut files = hearth_render::render(&Context { model, catalog, secrets: None });
    if files.iter().any(|f| f.kind == Kind::EnvSecret) {
        let unread = match with_secrets(spec, model, lab) {
            Ok((filled, unread)) => {
                files = filled;
                unread
            }
            Err(e) => vec![format!("  the secret store: {e:#}")],
        };
        if !unread.is_empty() {
            let message = format!("cannot read {} secret value(s):\n{}", unread.len(), unread.join("\n"));
            if strict {
                bail!("{message}");
            }
            eprintln!(
                "warning: {message}\n  the plan compares their files as rendered with placeholders; `apply` needs the values"
            );
        }
    }
    Ok(files.into_iter().map(|file| DesiredFile { reason: reason(&file, spec), file }).collect())
}

/// The files rendered with secret values from the age store, and each reference that could not
/// be read (left as its placeholder), with why. With the lab's state folder, a value that cannot
/// be read gets a lab value instead, and the references that did are named on stderr.
fn with_secrets(
    spec: &Checked,
    model: &Model,
    lab: Option<&std::path::Path>,
) -> anyhow::Result<(Vec<File>, Vec<String>)> {
    let (store, identity) = persist::open_store(&spec.root)?;
    let mut live = LiveSecrets::new(store, identity);
    if let Some(dir) = lab {
        live = live.with_lab_values(dir)?;
    }
    let files = hearth_render::render(&Context {
        model,
        catalog: hearth_catalog::builtin(),
        secrets: Some(&live as &dyn SecretValues),
    });
    let unread = live.failures().iter().map(|(r, why)| format!("  `{r}`: {why}")).collect();
    let stand_ins = live.lab_values_used();
    if !stand_ins.is_empty() {
        eprintln!(
            "the lab uses values of its own for {} secret(s) it cannot read: {}",
            stand_ins.len(),
            stand_ins.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ")
        );
    }
    Ok((files, unread))
}

fn reason(file: &File, spec: &Checked) -> String {
    let mut lines: Vec<String> =
        file.sources.iter().flat_map(|key| entity_lines(key, &spec.model, &spec.sources)).collect();
    lines.sort();
    lines.dedup();
    lines.join(", ")
}

/// The async runtime deploy runs on: two workers, since the work is waiting on SSH.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
