//! The structured mutation test: no spec a user can write makes Hearth panic, and every
//! diagnostic points inside the file it names.
//!
//! Every file of `examples/` and `tests/valid/` is mutated one edit at a time (`cli/mutants.rs`:
//! entries deleted, scalars replaced by awkward values, lists emptied, items duplicated, names
//! renamed), and each mutant goes through the whole path the commands take, in-process: load,
//! analyze (against the original's `hearth.lock` or none, alternately), and when there is no
//! error render (with placeholders or with secret values, alternately), the manifest, the lock
//! written and read back, `hearth docs`, the facts `hearth verify` checks, `hearth show`'s YAML,
//! the Proxmox guest plan of an empty node and, with the lock, the spec re-addressed for the lab
//! and analyzed and rendered again; every diagnostic is printed in both report formats.
//! The whole path runs under `catch_unwind`.
//!
//! A run checks every mutant with `HEARTH_MUTATIONS=all`
//! (`HEARTH_MUTATIONS=all cargo test -p hearth --test cli mutation -- --nocapture`, about ten
//! minutes). Keep it a debug build: overflow checks and debug assertions are on there, so
//! arithmetic that a release build would wrap silently panics and is found. By default it checks
//! a deterministic subset that keeps the run short: every mutant of the smallest specs and every
//! [`STRIDE`]th of the others. `HEARTH_MUTATIONS_ONLY=TEXT` keeps the spec files whose path
//! contains TEXT. Diagnostics that are in place but say little are counted and printed, not
//! failed.

use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;
use std::time::{Duration, Instant};

use hearth::report::{self, Format};
use hearth_model::{Allocations, Model};
use hearth_render::SecretValues;
use hearth_spec::{Code, Diagnostic, Label, SourceMap};

use super::mutants::{self, Mutant};
use super::{repo_root, yaml_files};

/// Specs no longer than this many lines get every mutant checked in the default run.
const SMALL: usize = 16;
/// The default run checks every `STRIDE`th mutant of the larger specs. Odd, so that both
/// variants of the path (see [`Variant`]) are taken.
const STRIDE: usize = 41;
/// A mutant slower than this through the whole path counts as a hang.
const HANG: Duration = Duration::from_secs(20);

/// Specs that once made the whole path panic, point outside the file or suggest an edit that does
/// not fit: they run in every mode.
const FIXED: &[(&str, &str)] = &[
    // `examples/nixos-proxmox-five-vms.yaml` with `database-server` renamed: the exporters Hearth
    // added beside its PostgreSQL and Redis servers were reported at `monitoring.exporters` with a
    // did-you-mean edit of a name that entry does not contain.
    (
        "tests/invalid/300-exporter-beside-server-on-unknown-machine.yaml",
        include_str!("../../../../tests/invalid/300-exporter-beside-server-on-unknown-machine.yaml"),
    ),
];

thread_local! {
    /// Set while this thread runs mutants: the panic hook then records instead of printing.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// Where the last panic on this thread happened, with its message.
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs, once, a panic hook that records a panic of a thread running mutants (its location
/// is what groups panics by cause) and leaves every other thread's panic to the usual hook.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let at = info.location().map_or_else(|| "unknown place".to_string(), |l| l.to_string());
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                PANIC.with(|p| *p.borrow_mut() = Some(format!("{at}: {message}")));
            } else {
                previous(info);
            }
        }));
    });
}

/// Which of the two ways through the path a mutant takes: the commands on a spec edited after
/// its `hearth.lock` was written, rendering placeholders; or with no lock, rendering values.
#[derive(Clone, Copy)]
enum Variant {
    Lock,
    Values,
}

/// How far a mutant got.
#[derive(Clone, Default)]
struct Reached {
    syntax: usize,
    errors: usize,
    rendered: usize,
    /// Diagnostics that are in place but say little: an error without a help line, a primary
    /// span on nothing (see [`vague`]). Counted and shown, not failed.
    vague: Vec<(Code, String)>,
}

/// Secret values for `render --with-secrets`: each one awkward for the formats it lands in.
struct AwkwardSecrets;

impl SecretValues for AwkwardSecrets {
    fn get(&self, reference: &str) -> Option<String> {
        Some(format!("p@ss 'w\"rd $HOME {{{{x}}}} \\ # {reference}"))
    }
}

/// Runs the whole path on one spec text and returns what is wrong besides a panic.
fn whole_path(name: &str, text: &str, lock: &Allocations, variant: Variant, reached: &mut Reached) -> Vec<String> {
    let catalog = hearth_catalog::builtin();
    let loaded = hearth_spec::load_str(name, text);
    let mut diagnostics = loaded.diagnostics.clone();
    let mut problems = Vec::new();
    if diagnostics.iter().any(|d| matches!(d.code, Code::YamlSyntax | Code::YamlLimit)) {
        reached.syntax += 1;
    } else {
        let previous = match variant {
            Variant::Lock => lock.clone(),
            Variant::Values => Allocations::default(),
        };
        let analysis = hearth_model::analyze(&loaded.spec, catalog, &previous);
        diagnostics.extend(analysis.diagnostics);
        hearth_spec::diagnostic::sort(&mut diagnostics);
        if diagnostics.iter().any(Diagnostic::is_error) {
            reached.errors += 1;
        } else {
            reached.rendered += 1;
            produce(&analysis.model, &loaded.sources, variant, &mut problems);
            if let Variant::Lock = variant {
                lab(&loaded.spec, text);
            }
            let lock_text = analysis.allocations.to_text();
            if Allocations::from_text(&lock_text).as_ref() != Ok(&analysis.allocations) {
                problems.push(format!("the lock it writes does not read back:\n{lock_text}"));
            }
        }
    }
    for d in &diagnostics {
        if d.is_error() && d.help.is_none() {
            reached
                .vague
                .push((d.code, format!("{}[{}] {}: an error without a help line", d.code, d.code.slug(), d.message)));
        }
        if let Some(why) = vague(d, &loaded.sources) {
            reached.vague.push((d.code, format!("{}[{}] {}: {why}", d.code, d.code.slug(), d.message)));
        }
        problems.extend(
            misplaced(d, &loaded.sources)
                .into_iter()
                .map(|p| format!("{}[{}] {}: {p}", d.code, d.code.slug(), d.message)),
        );
        black_box(report::render(d, &loaded.sources, Format::Short, false));
        black_box(report::render(d, &loaded.sources, Format::Human, false));
        black_box(report::render(d, &loaded.sources, Format::Human, true));
    }
    problems
}

/// Everything the commands make of a model without errors.
fn produce(model: &Model, sources: &SourceMap, variant: Variant, problems: &mut Vec<String>) {
    let catalog = hearth_catalog::builtin();
    let secrets = AwkwardSecrets;
    let values = match variant {
        Variant::Lock => None,
        Variant::Values => Some(&secrets as &dyn SecretValues),
    };
    let files = hearth_render::render(&hearth_render::Context { model, catalog, secrets: values });
    black_box(hearth::manifest::manifest(&files, model, sources));
    black_box(hearth_docs::document(model, catalog));
    black_box(hearth_facts::facts(model, catalog));
    match serde_json::to_value(model) {
        Ok(json) => {
            black_box(hearth::yaml_out::to_yaml(&json));
        }
        Err(e) => problems.push(format!("`hearth show` cannot serialize the model: {e}")),
    }
    let guests = hearth_proxmox::desired_guests(model);
    let nodes: std::collections::BTreeSet<&str> = guests.iter().map(|g| g.node.as_str()).collect();
    let plans: Vec<_> = nodes
        .iter()
        .map(|node| {
            let on: Vec<_> = guests.iter().filter(|g| g.node == *node).cloned().collect();
            hearth_proxmox::plan_node(node, &on, &hearth_proxmox::Actual::default(), &[])
        })
        .collect();
    black_box(hearth_proxmox::text::plan(&plans));
    for host in model.hosts.keys() {
        black_box(hearth_proxmox::host::desired_host(model, host));
        black_box(hearth_proxmox::backup::desired_jobs(model, host));
    }
}

/// What `hearth lab up` makes of a spec before it starts anything: a lab subnet for every
/// network, the text re-addressed, and that text loaded, analyzed and rendered.
fn lab(spec: &hearth_spec::Spec, text: &str) {
    let networks: Vec<_> = spec.networks.iter().map(|(name, n)| (name.to_string(), n.cidr.value.0)).collect();
    let Ok(map) = hearth_lab::AddressMap::plan(&networks, &[], &hearth_lab::AddressMap::default(), 0) else { return };
    let Ok(readdressed) = map.rewrite(text) else { return };
    let loaded = hearth_spec::load_str("lab.yaml", &readdressed);
    let catalog = hearth_catalog::builtin();
    let analysis = hearth_model::analyze(&loaded.spec, catalog, &Allocations::default());
    if !loaded.diagnostics.iter().chain(&analysis.diagnostics).any(Diagnostic::is_error) {
        let context = hearth_render::Context { model: &analysis.model, catalog, secrets: None };
        black_box(hearth_render::render(&context));
    }
}

/// What is wrong with where a diagnostic points: each span must name a loaded file and lie
/// within its text on character boundaries, and a suggested edit must apply to it.
fn misplaced(d: &Diagnostic, sources: &SourceMap) -> Vec<String> {
    let files = sources.files().count();
    let mut out = Vec::new();
    let labels = std::iter::once(&d.primary).chain(&d.secondary);
    let mut spans: Vec<(&str, hearth_spec::Span)> = labels.map(|l: &Label| ("label", l.span)).collect();
    if let Some(edit) = &d.suggestion {
        spans.push(("suggestion", edit.span));
    }
    for (what, span) in spans {
        if span.file.0 as usize >= files {
            out.push(format!("{what} span in file {} of {files}", span.file.0));
            continue;
        }
        let text = &sources.file(span.file).text;
        let (start, end) = (span.start as usize, span.end as usize);
        if start > end || end > text.len() || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            out.push(format!("{what} span {start}..{end} outside a text of {} bytes", text.len()));
        }
    }
    if let Some(edit) = &d.suggestion
        && out.is_empty()
        && edit.apply(&sources.file(edit.span.file).text).is_none()
    {
        out.push(format!("the suggested edit {edit:?} does not fit the file"));
    }
    out
}

/// Why a diagnostic's primary span, though inside the file, shows the user nothing to fix: it
/// is empty, or covers only blanks and comments.
fn vague(d: &Diagnostic, sources: &SourceMap) -> Option<&'static str> {
    let span = d.primary.span;
    let text = &sources.file(span.file).text;
    let line_start = text.get(..span.start as usize)?.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[span.start as usize..].find('\n').map_or(text.len(), |i| span.start as usize + i);
    let line = text[line_start..line_end].trim();
    let covered = sources.snippet(span);
    if line.is_empty() || line.starts_with('#') {
        Some("points at a blank or comment line")
    } else if covered.trim().is_empty() && span.start == 0 {
        Some("points at the file's start")
    } else {
        None
    }
}

/// One run of the whole path under `catch_unwind`: the problems found, a panic among them.
fn check_one(name: &str, text: &str, lock: &Allocations, variant: Variant, reached: &mut Reached) -> Vec<String> {
    QUIET.with(|q| q.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(|| whole_path(name, text, lock, variant, reached)));
    QUIET.with(|q| q.set(false));
    match result {
        Ok(problems) => problems,
        Err(_) => {
            let at = PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| "a panic".to_string());
            vec![format!("panicked at {at}")]
        }
    }
}

/// The spec files to mutate, filtered by `HEARTH_MUTATIONS_ONLY`.
fn inputs() -> Vec<(String, String)> {
    let only = std::env::var("HEARTH_MUTATIONS_ONLY").unwrap_or_default();
    let root = repo_root();
    let mut files = yaml_files("examples");
    files.extend(yaml_files("tests/valid"));
    files
        .into_iter()
        .filter(|f| f.contains(&only))
        .map(|f| {
            let text = std::fs::read_to_string(root.join(&f)).expect("read spec");
            (f, text)
        })
        .collect()
}

#[test]
fn no_mutant_of_a_valid_spec_panics_or_points_outside_its_file() {
    install_hook();
    let all = std::env::var("HEARTH_MUTATIONS").is_ok_and(|v| v == "all");
    let started = Instant::now();
    let mut reached = Reached::default();
    let (mut generated, mut checked) = (0, 0);
    let mut failures = Vec::new();
    let mut slowest = (Duration::ZERO, String::new());
    let mut vague = std::collections::BTreeMap::new();
    for (index, (name, source)) in FIXED.iter().enumerate() {
        let variant = if index % 2 == 0 { Variant::Lock } else { Variant::Values };
        for problem in check_one(name, source, &Allocations::default(), variant, &mut reached) {
            failures.push(format!("fixed case {name}: {problem}"));
        }
        checked += 1;
    }
    for (name, source) in inputs() {
        let original = hearth_spec::load_str(&name, &source);
        let analysis = hearth_model::analyze(&original.spec, hearth_catalog::builtin(), &Allocations::default());
        assert!(!analysis.diagnostics.iter().any(Diagnostic::is_error), "{name} has errors before any mutation");
        let list: Vec<Mutant> = mutants::mutants(&source);
        generated += list.len();
        let small = source.lines().count() <= SMALL;
        for (i, mutant) in list.iter().enumerate() {
            if !all && !small && i % STRIDE != 0 {
                continue;
            }
            let variant = if i % 2 == 0 { Variant::Lock } else { Variant::Values };
            let text = mutant.apply(&source);
            let t = Instant::now();
            let problems = check_one(&name, &text, &analysis.allocations, variant, &mut reached);
            let took = t.elapsed();
            checked += 1;
            if took > slowest.0 {
                slowest = (took, format!("{name}: {}", mutant.describe(&source)));
            }
            if took > HANG {
                failures.push(format!("{name}: {}: took {took:?}", mutant.describe(&source)));
            }
            for (code, what) in reached.vague.drain(..) {
                let entry =
                    vague.entry(code).or_insert_with(|| (0, format!("{name}: {}: {what}", mutant.describe(&source))));
                entry.0 += 1;
            }
            failures.extend(problems.into_iter().map(|p| format!("{name}: {}: {p}", mutant.describe(&source))));
        }
    }
    eprintln!(
        "mutation test: {checked} of {generated} mutants checked{} in {:.1?}: {} stopped at YAML syntax, {} with errors, {} rendered; slowest {:.1?} ({})",
        if all { " (all)" } else { "" },
        started.elapsed(),
        reached.syntax,
        reached.errors,
        reached.rendered,
        slowest.0,
        slowest.1,
    );
    for (code, (n, first)) in &vague {
        eprintln!("unclear: {code} {n} times, first {first}");
    }
    // The test must not pass by checking nothing.
    assert!(checked >= 100 || std::env::var("HEARTH_MUTATIONS_ONLY").is_ok(), "only {checked} mutants checked");
    assert!(failures.is_empty(), "{} mutants fail:\n{}", failures.len(), failures.join("\n"));
}
