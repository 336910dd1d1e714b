//! `hearth render`: writes every rendered file under `DIR/<machine>/<path>` and `DIR/manifest.json`.
//!
//! The output folder is replaced as a whole (written beside it, then swapped in), and only if it
//! is new, empty, or a previous Hearth output (it has a `manifest.json`): nothing else the
//! operator keeps there is overwritten.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use hearth_model::Model;
use hearth_render::{Context, File, SecretValues};
use hearth_spec::SourceMap;

use crate::checked::{self, Gate};
use crate::cli::RenderArgs;
use crate::live_secrets::LiveSecrets;
use crate::manifest::{chunks, manifest};
use crate::persist;
use crate::report::Format;

pub fn run(args: &RenderArgs, format: Format) -> anyhow::Result<ExitCode> {
    let spec = match checked::load(&args.spec.path, format, Gate::Summary)? {
        Ok(spec) => spec,
        Err(code) => return Ok(code),
    };
    let live = if args.with_secrets {
        let (store, identity) = persist::open_store(&spec.root)?;
        Some(LiveSecrets::new(store, identity))
    } else {
        None
    };
    let n = write(&spec.model, &spec.sources, &args.out, live.as_ref())?;
    eprintln!("rendered {n} files into `{}`", args.out.display());
    Ok(ExitCode::SUCCESS)
}

fn write(model: &Model, sources: &SourceMap, out_dir: &Path, secrets: Option<&LiveSecrets>) -> anyhow::Result<usize> {
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
