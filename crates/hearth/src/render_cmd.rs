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

/// Spec line ranges (`hearth.yaml:12-30`) of one model entity, e.g. `service/n8n`.
fn entity_lines(key: &str, model: &Model, sources: &SourceMap) -> Vec<String> {
    model
        .spans
        .get(key)
        .into_iter()
        .flatten()
        .map(|span| {
            let start = sources.location(*span);
            let end_span = hearth_spec::Span { start: span.end.saturating_sub(1).max(span.start), ..*span };
            let end = sources.location(end_span);
            format!("{}:{}-{}", start.path.display(), start.line, end.line)
        })
        .collect()
}

/// `files` in one contiguous chunk per available core.
fn chunks(files: &[File]) -> std::slice::Chunks<'_, File> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    files.chunks(files.len().div_ceil(threads).max(1))
}

/// The manifest as pretty JSON.
pub fn manifest(files: &[File], model: &Model, sources: &SourceMap) -> String {
    // Hashing tens of megabytes is the manifest's main cost: one thread per core.
    let hashes: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> =
            chunks(files).map(|c| scope.spawn(move || c.iter().map(File::sha256).collect::<Vec<_>>())).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    // Many files share sources (`backups`, `monitoring`): compute each entity's lines once.
    let mut lines: std::collections::HashMap<&str, Vec<String>> = std::collections::HashMap::new();
    let entries: Vec<Entry> = files
        .iter()
        .zip(hashes)
        .map(|(f, sha256)| {
            let mut source: Vec<String> = f
                .sources
                .iter()
                .flat_map(|key| lines.entry(key.as_str()).or_insert_with(|| entity_lines(key, model, sources)).clone())
                .collect();
            source.sort();
            source.dedup();
            Entry {
                path: format!("{}{}", f.machine, f.path),
                machine: &f.machine,
                kind: f.kind.as_str(),
                mode: format!("{:04o}", f.mode),
                sha256,
                source,
            }
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&entries).unwrap_or_default();
    text.push('\n');
    text
}

pub fn run(model: &Model, sources: &SourceMap, out_dir: &Path, secrets: Option<&LiveSecrets>) -> anyhow::Result<usize> {
    if out_dir.exists() {
        let is_empty = fs::read_dir(out_dir).map(|mut d| d.next().is_none()).unwrap_or(false);
        if !is_empty && !out_dir.join("manifest.json").exists() {
            bail!(
                "`{}` holds files that Hearth did not write; render into a new or empty folder, or into a previous `hearth render` output",
                out_dir.display()
            );
        }
    }
    let files = hearth_render::render(&Context {
        model,
        catalog: hearth_catalog::builtin(),
        secrets: secrets.map(|l| l as &dyn SecretValues),
    });
    // A value that could not be read would be left as a placeholder: refuse before writing.
    let failures = secrets.map(LiveSecrets::failures).unwrap_or_default();
    if !failures.is_empty() {
        let list: Vec<String> = failures.iter().map(|(r, why)| format!("  `{r}`: {why}")).collect();
        bail!(
            "cannot read {} secret value{} for `--with-secrets`, so nothing was written:\n{}",
            failures.len(),
            if failures.len() == 1 { "" } else { "s" },
            list.join("\n")
        );
    }
    let parent = out_dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(parent).with_context(|| format!("cannot create `{}`", parent.display()))?;
    let name = out_dir.file_name().map_or_else(|| "render".into(), |n| n.to_string_lossy().to_string());
    let staging = parent.join(format!(".{name}.hearth-new"));
    if staging.exists() {
        fs::remove_dir_all(&staging).with_context(|| format!("cannot remove `{}`", staging.display()))?;
    }
    fs::create_dir_all(&staging).with_context(|| format!("cannot create `{}`", staging.display()))?;
    // Tens of thousands of small files on a large homelab: write them from one thread per core.
    let write = |chunk: &[File]| -> anyhow::Result<()> {
        for f in chunk {
            let rel = f.path.trim_start_matches('/');
            let dest: PathBuf = staging.join(&f.machine).join(rel);
            if let Some(dir) = dest.parent() {
                fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
            }
            fs::write(&dest, &f.content).with_context(|| format!("cannot write `{}`", dest.display()))?;
            fs::set_permissions(&dest, fs::Permissions::from_mode(f.mode))?;
        }
        Ok(())
    };
    let write = &write;
    let results: Vec<anyhow::Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks(&files).map(|c| scope.spawn(move || write(c))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a writer thread failed"))))
            .collect()
    });
    results.into_iter().collect::<anyhow::Result<()>>()?;
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

/// Secret values from the store, the environment and 1Password, for `--with-secrets`. A value
/// used in many files is decrypted (or read with `op`) once. A value that cannot be read is
/// remembered with the reason, so the render can fail naming every one of them.
pub struct LiveSecrets {
    store: hearth_secrets::Store,
    identity: hearth_secrets::Identity,
    seen: std::sync::Mutex<std::collections::BTreeMap<String, Result<String, String>>>,
}

impl LiveSecrets {
    pub fn new(store: hearth_secrets::Store, identity: hearth_secrets::Identity) -> LiveSecrets {
        LiveSecrets { store, identity, seen: Default::default() }
    }

    fn lookup(&self, reference: &str) -> Result<String, String> {
        if let Some(name) = reference.strip_prefix("secret:") {
            return self.store.get(name, &self.identity).map(|s| s.expose().to_string()).map_err(|e| e.to_string());
        }
        if let Some(var) = reference.strip_prefix("env:") {
            return std::env::var(var).map_err(|e| format!("`{var}`: {e}"));
        }
        if reference.starts_with("op://") {
            let out = std::process::Command::new("op")
                .args(["read", "--no-newline", reference])
                .output()
                .map_err(|e| format!("cannot run `op`: {e}"))?;
            if !out.status.success() {
                return Err(format!("`op read` failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
            }
            return String::from_utf8(out.stdout)
                .map_err(|_| "`op read` printed a value that is not UTF-8".to_string());
        }
        Err("not a reference Hearth can read".to_string())
    }

    /// Every reference that could not be read, with why, sorted.
    pub fn failures(&self) -> Vec<(String, String)> {
        let seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.iter().filter_map(|(r, v)| v.as_ref().err().map(|e| (r.clone(), e.clone()))).collect()
    }
}

impl SecretValues for LiveSecrets {
    fn get(&self, reference: &str) -> Option<String> {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.entry(reference.to_string()).or_insert_with(|| self.lookup(reference)).as_ref().ok().cloned()
    }
}
