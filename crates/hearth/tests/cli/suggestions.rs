//! The apply-the-help harness: every diagnostic of an invalid spec that proposes a concrete edit
//! (`Diagnostic::suggestion`) gets that edit applied to its file, and the spec is checked again.
//! The diagnostic must be gone and no error may appear that the spec did not have before, so a
//! help line that carries an edit is a fix that works.
//!
//! It runs the library in-process (load, analyze) instead of the binary: a few hundred re-checks
//! stay fast, and the edit needs the diagnostic's structured suggestion, which no output format
//! prints as data.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use hearth_spec::load::Files;
use hearth_spec::{Code, Diagnostic, FsFiles, Loaded};

use super::{repo_root, yaml_files};

/// The real files, except one path whose text is given.
struct Edited<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Files for Edited<'_> {
    fn read(&self, path: &Path) -> io::Result<String> {
        if path == self.path { Ok(self.text.to_string()) } else { FsFiles.read(path) }
    }

    fn yaml_in_dir(&self, path: &Path) -> Option<Vec<PathBuf>> {
        FsFiles.yaml_in_dir(path)
    }
}

/// Loads and checks like `hearth check` (no lock file): the loader's diagnostics, then the
/// analysis' unless the YAML did not parse.
fn diagnose(root: &Path, files: &dyn Files) -> (Loaded, Vec<Diagnostic>) {
    let loaded = hearth_spec::load(root, files);
    let mut all = loaded.diagnostics.clone();
    if !all.iter().any(|d| matches!(d.code, Code::Io | Code::YamlSyntax | Code::YamlLimit)) {
        let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &hearth_model::Allocations::default());
        all.extend(a.diagnostics);
    }
    (loaded, all)
}

/// How many errors there are of each (code, message).
fn errors(diagnostics: &[Diagnostic]) -> BTreeMap<(Code, String), usize> {
    let mut out = BTreeMap::new();
    for d in diagnostics.iter().filter(|d| d.is_error()) {
        *out.entry((d.code, d.message.clone())).or_insert(0) += 1;
    }
    out
}

fn count(diagnostics: &[Diagnostic], d: &Diagnostic) -> usize {
    diagnostics.iter().filter(|o| o.code == d.code && o.message == d.message).count()
}

/// Applies every suggestion of `root`'s diagnostics, one at a time, and returns how many it
/// applied and what went wrong.
fn apply_each(root: &Path, name: &str) -> (usize, Vec<String>) {
    let (loaded, before) = diagnose(root, &FsFiles);
    let before_errors = errors(&before);
    let mut applied = 0;
    let mut failures = Vec::new();
    for d in before.iter().filter(|d| d.suggestion.is_some()) {
        let Some(edit) = &d.suggestion else { continue };
        let file = loaded.sources.file(edit.span.file);
        let what =
            format!("{name}: {}[{}] {} (help: {})", d.code, d.code.slug(), d.message, d.help.as_deref().unwrap_or(""));
        let Some(text) = edit.apply(&file.text) else {
            failures.push(format!("{what}: the edit {edit:?} does not fit the file"));
            continue;
        };
        applied += 1;
        let (_, after) = diagnose(root, &Edited { path: &file.path, text: &text });
        if count(&after, d) >= count(&before, d) {
            failures.push(format!("{what}: still reported after the edit"));
        }
        for ((code, message), n) in errors(&after) {
            if before_errors.get(&(code, message.clone())).copied().unwrap_or(0) < n {
                failures.push(format!("{what}: the edit brings a new error {code}: {message}"));
            }
        }
    }
    (applied, failures)
}

#[test]
fn every_suggested_edit_fixes_its_diagnostic_and_adds_no_error() {
    let root = repo_root();
    let mut applied = 0;
    let mut failures = Vec::new();
    for file in yaml_files("tests/invalid") {
        let (n, mut f) = apply_each(&root.join(&file), &file);
        applied += n;
        failures.append(&mut f);
    }
    eprintln!("applied {applied} suggested edits");
    assert!(failures.is_empty(), "{} of {applied} edits fail:\n{}", failures.len(), failures.join("\n"));
    // The harness must not pass by finding nothing to apply.
    assert!(applied >= 30, "only {applied} suggested edits in tests/invalid");
}
