//! Load, resolve, check and report: the steps every command that reads a spec begins with.
//!
//! [`load`] prints the diagnostics and either hands the command a resolved model or tells it
//! which exit code to stop with, so no command repeats the analyze → print → exit sequence.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hearth_model::{Allocations, Model};
use hearth_spec::{Code, FsFiles, SourceMap};

use crate::persist;
use crate::report::{self, Format};

/// A spec that loaded and resolved, with what its diagnostics counted.
pub struct Checked {
    /// The spec's root file; `hearth.lock` and the secret store sit beside it.
    pub root: PathBuf,
    pub sources: SourceMap,
    pub model: Model,
    pub allocations: Allocations,
    pub warnings: usize,
}

/// When a command stops after the diagnostics.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// On any error, after printing every diagnostic and a summary line.
    Errors,
    /// Like `Errors`, but a spec with warnings only prints one line counting them, pointing at
    /// `hearth check` for the details: for commands that produce something (render, docs), whose
    /// output would otherwise repeat `check`'s every time.
    Summary,
    /// Only when there is no model (the spec did not load); the diagnostics are printed only
    /// then. For commands that manage secrets, which work on a spec with errors.
    Model,
}

/// Loads the spec at `path`, resolves and checks it, prints its diagnostics as `gate` says, and
/// returns the checked spec or the exit code to stop with: 2 when the spec could not be read,
/// 1 when it has errors. Reads `hearth.lock` beside the spec if there is one (an unreadable or
/// damaged one is an error); never writes anything.
pub fn load(path: &Path, format: Format, gate: Gate) -> anyhow::Result<Result<Checked, ExitCode>> {
    let loaded = hearth_spec::load(path, &FsFiles);
    let io_error = loaded.diagnostics.iter().any(|d| d.code == Code::Io);
    let mut diagnostics = loaded.diagnostics;
    let mut resolved = None;
    if !io_error && !diagnostics.iter().any(|d| matches!(d.code, Code::YamlSyntax | Code::YamlLimit)) {
        let previous = persist::read_lock(&loaded.root)?;
        let analysis = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &previous);
        diagnostics.extend(analysis.diagnostics);
        hearth_spec::diagnostic::sort(&mut diagnostics);
        resolved = Some((analysis.model, analysis.allocations));
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    let stop = match gate {
        Gate::Errors | Gate::Summary => errors > 0 || resolved.is_none(),
        Gate::Model => resolved.is_none(),
    };
    if gate == Gate::Errors || stop {
        report::print(&diagnostics, &loaded.sources, format);
    } else if gate == Gate::Summary && warnings > 0 {
        let plural = if warnings == 1 { "" } else { "s" };
        let _ = writeln!(std::io::stderr(), "{warnings} warning{plural}; run `hearth check` for details");
    }
    let Some((model, allocations)) = resolved.filter(|_| !stop) else {
        if gate != Gate::Model {
            summary(errors, warnings);
        }
        return Ok(Err(ExitCode::from(if io_error { 2 } else { 1 })));
    };
    Ok(Ok(Checked { root: loaded.root, sources: loaded.sources, model, allocations, warnings }))
}

/// The closing line: `no problems found`, or how many errors and warnings.
pub fn summary(errors: usize, warnings: usize) {
    let plural = |n: usize, word: &str| if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") };
    let line = match (errors, warnings) {
        (0, 0) => "no problems found".to_string(),
        (0, w) => plural(w, "warning"),
        (e, 0) => plural(e, "error"),
        (e, w) => format!("{}, {}", plural(e, "error"), plural(w, "warning")),
    };
    let _ = writeln!(std::io::stderr(), "{line}");
}
