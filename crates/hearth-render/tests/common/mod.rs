//! Shared by the render tests: every example rendered, written to a temporary folder, and a way
//! to run an upstream validator on it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use hearth_render::{Context, File, Kind};

pub mod netns;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every example spec, by file stem.
pub fn examples() -> Vec<(String, hearth_model::Model)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .expect("examples folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let loaded = hearth_spec::load(&p, &hearth_spec::FsFiles);
            assert!(!loaded.has_errors(), "{} does not load", p.display());
            let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
            assert!(!a.diagnostics.iter().any(|d| d.is_error()), "{} has errors", p.display());
            (p.file_stem().unwrap().to_string_lossy().to_string(), a.model)
        })
        .collect()
}

/// The model of a spec under `tests/valid/`, by file stem.
pub fn valid(name: &str) -> hearth_model::Model {
    let path = repo().join("tests/valid").join(format!("{name}.yaml"));
    let loaded = hearth_spec::load(&path, &hearth_spec::FsFiles);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    assert!(!a.diagnostics.iter().any(|d| d.is_error()), "{name} has errors");
    a.model
}

/// Renders a model.
pub fn render(model: &hearth_model::Model) -> Vec<File> {
    hearth_render::render(&Context { model, catalog: hearth_catalog::builtin(), secrets: None })
}

/// Files of one kind.
pub fn of_kind(files: &[File], kind: Kind) -> Vec<&File> {
    files.iter().filter(|f| f.kind == kind).collect()
}

/// Writes files under `dir/<machine>/<path>` and returns the folder.
pub fn write_tree(files: &[File], dir: &Path) -> PathBuf {
    for f in files {
        let dest = dir.join(&f.machine).join(f.path.trim_start_matches('/'));
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(&dest, &f.content).unwrap();
    }
    dir.to_path_buf()
}

/// A fresh temporary folder under target/, removed and recreated on each call.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("render-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether validators are required (`HEARTH_REQUIRE_VALIDATORS=1`, set by `.ci/run`).
pub fn validators_required() -> bool {
    std::env::var_os("HEARTH_REQUIRE_VALIDATORS").is_some()
}

/// The one place a validator that cannot run is reported: in CI it fails the test, on a developer
/// machine the test says what it skips and goes on. Returns `false` so callers can write
/// `found || unavailable(..)`.
pub fn unavailable(what: &str) -> bool {
    assert!(!validators_required(), "{what}; the scripts in scripts/validators.d/ install it");
    eprintln!("skipping: {what} (run the scripts in scripts/validators.d/)");
    false
}

/// Whether a validator is installed (see [`unavailable`]).
pub fn have(tool: &str) -> bool {
    let found =
        Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().is_ok_and(|o| o.status.success());
    found || unavailable(&format!("`{tool}` is not installed"))
}

/// A schema vendored under `schemas/` at the repository root, e.g. `traefik/traefik-v3.json`.
pub fn schema(path: &str) -> PathBuf {
    let file = repo().join("schemas").join(path);
    assert!(file.is_file(), "{} is missing: the repository carries its schemas", file.display());
    file
}

/// Runs a command and panics with its output if it fails; returns its standard output.
pub fn run_ok(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `nix-instantiate` with its state, store and log folders in a temporary folder, so parsing
/// touches nothing under `/nix`.
pub fn nix_instantiate(state: &Path) -> Command {
    let mut cmd = Command::new("nix-instantiate");
    cmd.env("NIX_STATE_DIR", state.join("state"))
        .env("NIX_STORE_DIR", state.join("store"))
        .env("NIX_LOG_DIR", state.join("log"))
        .args(["--option", "build-users-group", ""]);
    cmd
}
