//! `hearth import compose` end to end. Every project under `tests/import/NAME/` (a compose file
//! with its `.env` and env files, written for these tests) is imported onto a machine `docker`;
//! the fragment and the report are snapshotted; the fragment, included by a small wrapper spec
//! (`tests/import/NAME/wrapper.yaml`, or a default one), checks without errors and renders; and
//! `docker compose config` of the rendered files matches the original's images, ports, volumes
//! and environment, or the report names each difference.
//!
//! The round trip runs every example's rendered compose files back through the importer and
//! renders the result: the same images, ports, volumes and environment per service.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::{Run, repo_root, tempdir};

/// A scratch folder removed when dropped, so the tests leave nothing behind.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        Scratch(tempdir())
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `hearth ARGS` in `cwd` with an empty environment, so the import interpolates from the
/// projects' own `.env` files only.
fn hearth_clean(args: &[&str], cwd: &Path) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run hearth");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Whether `docker compose` can run; missing, it fails the test under
/// `HEARTH_REQUIRE_VALIDATORS=1` and skips it otherwise.
fn compose_available() -> bool {
    let ok = Command::new("docker")
        .args(["compose", "version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(std::env::var_os("HEARTH_REQUIRE_VALIDATORS").is_none(), "`docker compose` is required");
        eprintln!("skipping: `docker compose` is not available");
    }
    ok
}

/// `docker compose config --format json` of the project in `dir`, its services by name.
fn compose_config(dir: &Path) -> BTreeMap<String, Value> {
    let home = Scratch::new();
    let out = Command::new("docker")
        .args(["compose", "config", "--format", "json"])
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &*home)
        .output()
        .expect("run docker compose config");
    assert!(
        out.status.success(),
        "docker compose config in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("compose config JSON");
    v["services"].as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
}

/// The services of every rendered compose file of `machine` under a render output folder.
fn rendered_services(out: &Path, machine: &str) -> BTreeMap<String, Value> {
    let stacks = out.join(machine).join("opt/hearth/stacks");
    let mut all = BTreeMap::new();
    let Ok(dirs) = std::fs::read_dir(&stacks) else { return all };
    let mut dirs: Vec<PathBuf> = dirs.map(|d| d.expect("stack dir").path()).collect();
    dirs.sort();
    for d in dirs {
        if d.join("compose.yaml").exists() {
            all.extend(compose_config(&d));
        }
    }
    all
}

/// What the comparison looks at, per service: image, ports, volumes by target, environment.
#[derive(Debug, Default, PartialEq)]
struct Shape {
    image: String,
    ports: BTreeSet<String>,
    volumes: BTreeMap<String, String>,
    env: BTreeMap<String, String>,
}

fn shape(s: &Value) -> Shape {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let ports = s["ports"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    let ip = p["host_ip"].as_str().map(|i| format!("@{i}")).unwrap_or_default();
                    format!("{}:{}/{}{ip}", text(&p["published"]), text(&p["target"]), text(&p["protocol"]))
                })
                .collect()
        })
        .unwrap_or_default();
    let volumes = s["volumes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| {
                    let ro = if v["read_only"].as_bool() == Some(true) { ":ro" } else { "" };
                    (text(&v["target"]), format!("{}:{}{ro}", text(&v["type"]), text(&v["source"])))
                })
                .collect()
        })
        .unwrap_or_default();
    let env =
        s["environment"].as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), text(v))).collect()).unwrap_or_default();
    Shape { image: text(&s["image"]), ports, volumes, env }
}

/// The differences between an original service and its rendered one, each with the text a
/// report line about it must contain.
fn differences(orig: &Shape, rendered: &Shape) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if orig.image != rendered.image {
        out.push((format!("image {} -> {}", orig.image, rendered.image), "image".to_string()));
    }
    for p in orig.ports.symmetric_difference(&rendered.ports) {
        let number = p.split(['/', '@']).next().unwrap_or(p).rsplit(':').next().unwrap_or(p).to_string();
        out.push((format!("port {p}"), format!("port {number}")));
    }
    let targets: BTreeSet<&String> = orig.volumes.keys().chain(rendered.volumes.keys()).collect();
    for t in targets {
        if orig.volumes.get(t) != rendered.volumes.get(t) {
            out.push((
                format!("volume {t}: {:?} -> {:?}", orig.volumes.get(t), rendered.volumes.get(t)),
                format!("`{t}`"),
            ));
        }
    }
    let keys: BTreeSet<&String> = orig.env.keys().chain(rendered.env.keys()).collect();
    for k in keys {
        if orig.env.get(k) != rendered.env.get(k) {
            out.push((format!("environment {k}"), format!("`{k}`")));
        }
    }
    out
}

/// The spec service a compose service became, from the report (`imported as the service
/// `x``), else its own name.
fn imported_name(report: &str, service: &str) -> Option<String> {
    let about = format!("service `{service}`: ");
    for line in report.lines().filter(|l| l.contains(&about)) {
        if line.contains("not a service of its own") || line.contains("runs only with the profile") {
            return None;
        }
        if let Some(rest) = line.split("imported as the service `").nth(1) {
            return rest.split('`').next().map(str::to_string);
        }
    }
    Some(service.to_string())
}

const DEFAULT_WRAPPER: &str = "homelab: import-test
domain: example.com
include: [imported.yaml]
networks: { lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1 } }
hosts: { docker: { address: 192.168.1.20, network: lan, runtime: docker } }
";

fn projects() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo_root().join("tests/import"))
        .expect("tests/import")
        .map(|e| e.expect("entry"))
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Replaces the repository's absolute path, which differs between checkouts.
fn portable(text: &str) -> String {
    text.replace(&repo_root().display().to_string(), "[ROOT]")
}

#[test]
fn there_are_at_least_ten_projects() {
    assert!(projects().len() >= 10, "{:?}", projects());
}

#[test]
fn imported_projects_check_render_and_match_compose() {
    let root = repo_root();
    let docker = compose_available();
    let mut failures = Vec::new();
    for name in projects() {
        let tmp = Scratch::new();
        let fragment = tmp.join("imported.yaml");
        let project = format!("tests/import/{name}");
        let run = hearth_clean(
            &["import", "compose", &project, "--on", "docker", "-o", &fragment.display().to_string()],
            &root,
        );
        assert_eq!(run.code, Some(0), "{name}: {}", run.stderr);
        let text = std::fs::read_to_string(&fragment).expect("fragment");
        insta::assert_snapshot!(format!("import_{name}_fragment"), portable(&text));
        let report = run.stderr.clone();
        let shown = portable(&report).replace(&portable(&fragment.display().to_string()), "[OUT]");
        insta::assert_snapshot!(format!("import_{name}_report"), shown);
        for line in report.lines() {
            assert!(!line.ends_with('.'), "{name}: report lines end without a period: {line}");
        }

        let wrapper = std::fs::read_to_string(root.join(&project).join("wrapper.yaml"))
            .unwrap_or_else(|_| DEFAULT_WRAPPER.to_string());
        std::fs::write(tmp.join("hearth.yaml"), wrapper).expect("wrapper");
        let spec = tmp.join("hearth.yaml").display().to_string();
        let check = hearth_clean(&["--format", "short", "check", &spec], &root);
        if check.code != Some(0) {
            failures.push(format!("{name}: the imported spec has errors:\n{}", check.stderr));
            continue;
        }
        let out = tmp.join("out");
        let render = hearth_clean(&["render", &spec, "-o", &out.display().to_string()], &root);
        if render.code != Some(0) {
            failures.push(format!("{name}: render failed: {}", render.stderr));
            continue;
        }
        if !docker {
            continue;
        }
        let original = compose_config(&root.join(&project));
        let rendered = rendered_services(&out, "docker");
        for (service, body) in &original {
            let Some(new) = imported_name(&report, service) else { continue };
            let Some(r) = rendered.get(&new) else {
                failures.push(format!("{name}: `{service}` was not rendered as `{new}`"));
                continue;
            };
            for (what, needle) in differences(&shape(body), &shape(r)) {
                let listed = match needle.strip_prefix("port ") {
                    Some(n) => report.lines().any(|l| l.contains("port") && l.contains(n)),
                    None => report.lines().any(|l| l.contains(&needle)),
                };
                if !listed {
                    failures
                        .push(format!("{name}: `{service}`: {what} differs and the report does not say ({needle})"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn import_refuses_to_overwrite_without_force() {
    let root = repo_root();
    let tmp = Scratch::new();
    let out = tmp.join("fragment.yaml");
    std::fs::write(&out, "keep me\n").expect("write");
    let args = |force: bool| {
        let mut a = vec!["import", "compose", "tests/import/media-vpn", "--on", "docker", "-o"];
        let path: &'static str = Box::leak(out.display().to_string().into_boxed_str());
        a.push(path);
        if force {
            a.push("--force");
        }
        a
    };
    let run = hearth_clean(&args(false), &root);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("pass `--force`"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&out).expect("read"), "keep me\n");
    let run = hearth_clean(&args(true), &root);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(std::fs::read_to_string(&out).expect("read").starts_with("# Imported by"));
}

#[test]
fn import_prints_the_fragment_on_stdout_and_no_secret_anywhere() {
    let root = repo_root();
    let run = hearth_clean(&["import", "compose", "tests/import/secrets-env", "--on", "docker"], &root);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.starts_with("# Imported by"), "{}", run.stdout);
    assert!(!run.stdout.contains("imported "), "the summary belongs on stderr");
    for secret in ["hunter2-db", "sk_live_4eC39HqLyjWDarjtT1", "s3cr3t-admin-token", "redispass-77"] {
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "`{secret}` leaked");
    }
}

/// Every example rendered, each Docker machine's compose files imported back onto a machine of
/// that name and rendered again: the same images, ports, volumes and environment per service.
#[test]
fn examples_round_trip_through_their_rendered_compose_files() {
    let root = repo_root();
    if !compose_available() {
        return;
    }
    let mut failures = Vec::new();
    let mut compared = 0;
    for example in super::yaml_files("examples") {
        let tmp = Scratch::new();
        let first = tmp.join("first");
        let run = hearth_clean(&["render", &example, "-o", &first.display().to_string()], &root);
        assert_eq!(run.code, Some(0), "{example}: {}", run.stderr);
        let text = std::fs::read_to_string(root.join(&example)).expect("example");
        let show = hearth_clean(&["show", "--json", &example], &root);
        let model: Value = serde_json::from_str(&show.stdout).expect("show --json");
        let mut machines: Vec<String> = std::fs::read_dir(&first)
            .expect("render output")
            .map(|e| e.expect("entry"))
            .filter(|e| e.path().join("opt/hearth/stacks").is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        machines.sort();
        for machine in machines {
            let stacks = first.join(&machine).join("opt/hearth/stacks");
            let mut dirs: Vec<String> = std::fs::read_dir(&stacks)
                .expect("stacks")
                .map(|e| e.expect("stack").path().display().to_string())
                .collect();
            dirs.sort();
            let work = tmp.join(format!("again-{machine}"));
            std::fs::create_dir_all(&work).expect("work dir");
            let fragment = work.join("imported.yaml").display().to_string();
            let mut args = vec!["import", "compose"];
            args.extend(dirs.iter().map(String::as_str));
            args.extend(["--on", machine.as_str(), "-o", fragment.as_str()]);
            let run = hearth_clean(&args, &root);
            assert_eq!(run.code, Some(0), "{example}/{machine}: {}", run.stderr);
            // The example itself, its Docker services on this machine replaced by the import.
            let drop: BTreeSet<String> = docker_services_on(&model, &machine);
            let wrapper = format!("{}\ninclude: [imported.yaml]\n", without_services(&text, &drop));
            std::fs::write(work.join("hearth.yaml"), wrapper).expect("wrapper");
            let spec = work.join("hearth.yaml").display().to_string();
            let check = hearth_clean(&["--format", "short", "check", &spec], &root);
            if check.code != Some(0) {
                failures.push(format!("{example}/{machine}: the spec with the import has errors:\n{}", check.stderr));
                continue;
            }
            let out = work.join("out");
            let render = hearth_clean(&["render", &spec, "-o", &out.display().to_string()], &root);
            if render.code != Some(0) {
                failures.push(format!("{example}/{machine}: the imported spec does not render:\n{}", render.stderr));
                continue;
            }
            let before = rendered_services(&first, &machine);
            let after = rendered_services(&out, &machine);
            for extra in after.keys().filter(|k| !before.contains_key(*k)) {
                failures.push(format!("{example}/{machine}: `{extra}` appears after the round trip"));
            }
            for (service, body) in &before {
                compared += 1;
                let Some(again) = after.get(service) else {
                    failures.push(format!("{example}/{machine}: `{service}` is missing after the round trip"));
                    continue;
                };
                for (what, _) in differences(&shape(body), &shape(again)) {
                    // A port bound to one address (a service on one of its machine's networks)
                    // comes back published on every address: the import has no spec to name the
                    // network from, and its report says so for that port.
                    let port = what.strip_prefix("port ").map(|p| p.split(['/', '@']).next().unwrap_or(p));
                    if port.is_some_and(|p| run.stderr.contains(&format!("port {p} was bound to"))) {
                        continue;
                    }
                    failures.push(format!("{example}/{machine}: `{service}`: {what}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(compared > 0, "no Docker service in any example");
}

/// The spec's services the model runs as containers on `machine` (replicas too).
fn docker_services_on(model: &Value, machine: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (name, s) in model["services"].as_object().into_iter().flatten() {
        let on = s["on"]["name"].as_str() == Some(machine)
            || s["also_on"].as_array().is_some_and(|a| a.iter().any(|m| m.as_str() == Some(machine)));
        if on && s["form"].as_str() == Some("docker") {
            out.insert(name.clone());
        }
    }
    out
}

/// The spec text without the named entries of its `services:` (each from its key's line to the
/// line of the next key, of `services:` or after it).
fn without_services(text: &str, drop: &BTreeSet<String>) -> String {
    let (root, _) = hearth_spec::yaml::parse(hearth_spec::FileId(0), text);
    let Some(top) = root.as_ref().and_then(|r| r.as_map()) else { return text.to_string() };
    let Some(at) = top.iter().position(|(k, _)| k.name == "services") else { return text.to_string() };
    let Some(services) = top[at].1.as_map() else { return text.to_string() };
    let line_start = |at: usize| text[..at].rfind('\n').map_or(0, |i| i + 1);
    let after = top.get(at + 1).map_or(text.len(), |(k, _)| line_start(k.span.start as usize));
    let mut cuts = Vec::new();
    for (i, (k, _)) in services.iter().enumerate() {
        if drop.contains(&k.name) {
            let end = services.get(i + 1).map_or(after, |(n, _)| line_start(n.span.start as usize));
            cuts.push((line_start(k.span.start as usize), end));
        }
    }
    let mut out = text.to_string();
    for (a, b) in cuts.into_iter().rev() {
        out.replace_range(a..b, "");
    }
    out
}

#[test]
fn import_names_a_missing_project_and_exits_2() {
    let root = repo_root();
    let run = hearth_clean(&["import", "compose", "tests/import/no-such-project", "--on", "docker"], &root);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("tests/import/no-such-project"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}
