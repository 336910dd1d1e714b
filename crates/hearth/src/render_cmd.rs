//! `hearth render`: writes every rendered file under `DIR/<machine>/<path>` and `DIR/manifest.json`.
//!
//! The output folder is replaced as a whole (written beside it, then swapped in), and only if it
//! is new, empty, or a previous Hearth output (it has a `manifest.json`): nothing else the
//! operator keeps there is overwritten.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use hearth_model::Model;
use hearth_render::{Context, File, SecretValues};
use hearth_spec::SourceMap;
use serde::Serialize;

#[derive(Serialize)]
struct Entry<'a> {
    path: String,
    machine: &'a str,
    kind: String,
    mode: String,
    sha256: String,
    source: Vec<String>,
}

/// Spec line ranges (`hearth.yaml:12-30`) of a file's sources, sorted and deduplicated.
fn source_lines(file: &File, model: &Model, sources: &SourceMap) -> Vec<String> {
    let mut out: Vec<String> = file
        .sources
        .iter()
        .filter_map(|key| model.spans.get(key))
        .flatten()
        .map(|span| {
            let start = sources.location(*span);
            let end_span = hearth_spec::Span { start: span.end.saturating_sub(1).max(span.start), ..*span };
            let end = sources.location(end_span);
            format!("{}:{}-{}", start.path.display(), start.line, end.line)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The manifest as pretty JSON.
pub fn manifest(files: &[File], model: &Model, sources: &SourceMap) -> String {
    let entries: Vec<Entry> = files
        .iter()
        .map(|f| Entry {
            path: format!("{}{}", f.machine, f.path),
            machine: &f.machine,
            kind: f.kind.as_str(),
            mode: format!("{:04o}", f.mode),
            sha256: f.sha256(),
            source: source_lines(f, model, sources),
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&entries).unwrap_or_default();
    text.push('\n');
    text
}

pub fn run(
    model: &Model,
    sources: &SourceMap,
    out_dir: &Path,
    secrets: Option<&dyn SecretValues>,
) -> anyhow::Result<usize> {
    if out_dir.exists() {
        let is_empty = fs::read_dir(out_dir).map(|mut d| d.next().is_none()).unwrap_or(false);
        if !is_empty && !out_dir.join("manifest.json").exists() {
            bail!(
                "`{}` holds files that Hearth did not write; render into a new or empty folder, or into a previous `hearth render` output",
                out_dir.display()
            );
        }
    }
    let files = hearth_render::render(&Context { model, catalog: hearth_catalog::builtin(), secrets });
    let parent = out_dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(parent).with_context(|| format!("cannot create `{}`", parent.display()))?;
    let name = out_dir.file_name().map_or_else(|| "render".into(), |n| n.to_string_lossy().to_string());
    let staging = parent.join(format!(".{name}.hearth-new"));
    if staging.exists() {
        fs::remove_dir_all(&staging).with_context(|| format!("cannot remove `{}`", staging.display()))?;
    }
    fs::create_dir_all(&staging).with_context(|| format!("cannot create `{}`", staging.display()))?;
    for f in &files {
        let rel = f.path.trim_start_matches('/');
        let dest: PathBuf = staging.join(&f.machine).join(rel);
        if let Some(dir) = dest.parent() {
            fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
        }
        fs::write(&dest, &f.content).with_context(|| format!("cannot write `{}`", dest.display()))?;
        fs::set_permissions(&dest, fs::Permissions::from_mode(f.mode))?;
    }
    fs::write(staging.join("manifest.json"), manifest(&files, model, sources))?;
    if out_dir.exists() {
        let old = parent.join(format!(".{name}.hearth-old"));
        if old.exists() {
            fs::remove_dir_all(&old)?;
        }
        fs::rename(out_dir, &old).with_context(|| format!("cannot move `{}` aside", out_dir.display()))?;
        fs::rename(&staging, out_dir)?;
        fs::remove_dir_all(&old)?;
    } else {
        fs::rename(&staging, out_dir)?;
    }
    Ok(files.len())
}

/// Secret values from the store, the environment and 1Password, for `--with-secrets`.
pub struct LiveSecrets {
    pub store: hearth_secrets::Store,
    pub identity: hearth_secrets::Identity,
}

impl SecretValues for LiveSecrets {
    fn get(&self, reference: &str) -> Option<String> {
        if let Some(name) = reference.strip_prefix("secret:") {
            return self.store.get(name, &self.identity).ok().map(|s| s.expose().to_string());
        }
        if let Some(var) = reference.strip_prefix("env:") {
            return std::env::var(var).ok();
        }
        if reference.starts_with("op://") {
            let out = std::process::Command::new("op").args(["read", "--no-newline", reference]).output().ok()?;
            return out.status.success().then(|| String::from_utf8_lossy(&out.stdout).to_string());
        }
        None
    }
}
