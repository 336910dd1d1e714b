//! `hearth import compose`: Docker Compose projects read as Compose reads them and written as a
//! spec fragment that `include:` takes, with a report of everything the fragment does not carry
//! over as Compose had it.
//!
//! Pure: files are read through [`Files`], and the environment Compose would interpolate from is
//! passed in, so tests run without a disk or a shell. The pipeline, one module per step:
//! `project` (files, `.env`, `extends`, profiles) → `service` (one compose service read) →
//! `plan` (names, catalog apps, `via`, `after`, ports and volumes) → `relations` (sidecar
//! databases as `uses`) → `traefik` (routes) → `secrets` (secret values as references) →
//! `fragment` (the YAML). `report` holds the findings, each at its compose `file:line`.

mod dotenv;
mod fragment;
mod images;
mod interpolate;
mod plan;
mod ports;
mod project;
mod relations;
mod report;
mod secrets;
mod service;
mod traefik;
mod volumes;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use report::{Finding, Level};

/// How the importer reads files.
pub trait Files {
    fn read(&self, path: &Path) -> std::io::Result<String>;
    fn is_dir(&self, path: &Path) -> bool;
    fn exists(&self, path: &Path) -> bool;
}

/// The importer's inputs besides the files.
pub struct Options {
    /// The machine every imported service runs `on`.
    pub on: String,
    /// The environment Compose would interpolate from (it wins over `.env`).
    pub env: BTreeMap<String, String>,
    /// The folder relative paths are taken from (relative bind mounts become absolute).
    pub cwd: PathBuf,
}

/// What an import produced.
#[derive(Debug)]
pub struct Imported {
    /// The spec fragment (YAML).
    pub fragment: String,
    /// Everything not carried over as it was, sorted by file and line.
    pub findings: Vec<Finding>,
    /// Services written to the fragment.
    pub services: usize,
}

/// Why an import could not run at all (problems with single services are findings instead).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read `{path}`: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("`{dir}` holds no compose file (looked for `{looked_for}`)")]
    NoComposeFile { dir: PathBuf, looked_for: String },
    #[error("{path}:{line}: {message}")]
    Yaml { path: PathBuf, line: usize, message: String },
    #[error("nothing to import: give compose files or folders holding one")]
    NoInput,
}

/// Imports the compose projects at `paths` (each a compose file, or a folder holding one).
pub fn import(
    paths: &[PathBuf],
    files: &dyn Files,
    catalog: &hearth_catalog::Catalog,
    options: &Options,
) -> Result<Imported, Error> {
    if paths.is_empty() {
        return Err(Error::NoInput);
    }
    let mut cx = report::Cx::new(options.env.clone(), options.cwd.clone());
    let mut svcs = Vec::new();
    let mut volumes_top = BTreeMap::new();
    let mut sources = Vec::new();
    for path in paths {
        // Each project interpolates from the environment and its own `.env`.
        cx.env = options.env.clone();
        let project = project::load(path, files, &options.cwd, &mut cx)?;
        sources.push(format!("{} (project `{}`)", path.display(), project.name));
        for raw in &project.services {
            let svc = service::read(raw, files, &mut cx);
            svcs.push((project.name.clone(), svc));
        }
        volumes_top.extend(project.volumes);
    }
    let mut planned = plan::identify(svcs, catalog, &mut cx);
    plan::wire(&mut planned, &mut cx);
    relations::find(&mut planned, &mut cx);
    for p in planned.iter_mut() {
        let found = traefik::routes(&p.svc);
        for (label, why) in &found.dropped {
            let span = p.svc.labels.iter().find(|(k, _, _)| k == label).map_or(p.svc.span, |(_, _, s)| *s);
            cx.at(span, Level::Differs, Some(&p.svc.compose), format!("label `{label}`: {why}"));
        }
        p.routes = found.routes;
    }
    for p in planned.iter_mut().filter(|p| !p.absorbed) {
        plan::shape(p, &volumes_top, &mut cx);
    }
    fragment::settle_env(&mut planned, &mut cx);
    let (envs, decls) = secrets::assign(&planned, &mut cx);
    let fragment = fragment::write(&planned, &envs, &decls, &options.on, &sources, &mut cx);
    let mut findings = cx.findings;
    findings.sort();
    findings.dedup();
    Ok(Imported { fragment, findings, services: planned.iter().filter(|p| !p.absorbed).count() })
}
