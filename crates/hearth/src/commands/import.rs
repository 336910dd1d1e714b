//! `hearth import compose`: Docker Compose projects as a spec fragment (stdout or `-o FILE`),
//! and the report of what it does not carry over (stderr). The work is `hearth-import`'s; this
//! module reads the files and the environment and writes the results.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use hearth_import::{Files, Options};

use crate::cli::{ImportComposeArgs, ImportSource};

pub fn run(source: ImportSource) -> anyhow::Result<ExitCode> {
    match source {
        ImportSource::Compose(args) => compose(&args),
    }
}

fn compose(args: &ImportComposeArgs) -> anyhow::Result<ExitCode> {
    if let Some(out) = &args.out
        && out.exists()
        && !args.force
    {
        bail!("`{}` exists; pass `--force` to overwrite it", out.display());
    }
    let options = Options {
        on: args.on.clone(),
        env: std::env::vars().collect(),
        cwd: std::env::current_dir().context("cannot read the current folder")?,
    };
    let imported = hearth_import::import(&args.paths, &Disk, hearth_catalog::builtin(), &options)?;
    let mut err = std::io::stderr().lock();
    for f in &imported.findings {
        writeln!(err, "{f}")?;
    }
    let n = imported.services;
    let plural = if n == 1 { "" } else { "s" };
    let todo = imported.findings.iter().filter(|f| f.level == hearth_import::Level::Todo).count();
    let differs = imported.findings.len() - todo;
    let counts = format!("{differs} difference{}, {todo} to do", if differs == 1 { "" } else { "s" });
    match &args.out {
        Some(out) => {
            std::fs::write(out, &imported.fragment).with_context(|| format!("cannot write `{}`", out.display()))?;
            writeln!(
                err,
                "imported {n} service{plural} into `{}` ({counts}); add it to `include:` in the spec",
                out.display()
            )?;
        }
        None => {
            std::io::stdout().lock().write_all(imported.fragment.as_bytes())?;
            writeln!(err, "imported {n} service{plural} ({counts})")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The importer's files, from the disk.
struct Disk;

impl Files for Disk {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
}
