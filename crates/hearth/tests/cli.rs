//! End-to-end tests of the `hearth` binary.
//!
//! The bulk is data-driven: every `tests/invalid/*.yaml` at the repository root starts with
//! `# expect: CODE LINE:COL` lines naming the diagnostics it must produce; the whole stderr of
//! `hearth --format short check` is snapshotted with insta, one snapshot per file.

#[path = "cli/checker.rs"]
mod checker;
#[path = "cli/import.rs"]
mod import;
#[path = "cli/lab.rs"]
mod lab;
#[path = "cli/lab_proxmox.rs"]
mod lab_proxmox;
#[path = "cli/lab_watch.rs"]
mod lab_watch;
#[path = "cli/lab_watcher.rs"]
mod lab_watcher;
#[path = "cli/mutants.rs"]
mod mutants;
#[path = "cli/mutation.rs"]
mod mutation;
#[path = "cli/plans.rs"]
mod plans;
#[path = "cli/proxmox.rs"]
mod proxmox;
#[path = "cli/suggestions.rs"]
mod suggestions;
#[path = "cli/watch.rs"]
mod watch;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Exit status, stdout and stderr of one run.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// Runs `hearth ARGS` in the repository root, with no colour, killing it after 10 s.
fn hearth(args: &[&str]) -> Run {
    let out_dir = tempdir();
    let (out_path, err_path) = (out_dir.join("stdout"), out_dir.join("stderr"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(args)
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("spawn hearth");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for hearth") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`hearth {}` did not finish within 10 s", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).expect("read output")).into_owned();
    let run = Run { code: status.code(), stdout: read(&out_path), stderr: read(&err_path) };
    let _ = std::fs::remove_dir_all(&out_dir);
    run
}

/// `hearth --format short check FILE`, FILE relative to the repository root.
fn check(file: &str) -> Run {
    hearth(&["--format", "short", "check", file])
}

/// A fresh scratch directory under the target dir.
fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "cli-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn yaml_files(dir: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(repo_root().join(dir))
        .expect("list directory")
        .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    files.sort();
    files
}

#[test]
fn invalid_specs_report_their_diagnostics() {
    let files = yaml_files("tests/invalid");
    assert!(files.len() >= 45, "only {} invalid specs", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(repo_root().join(file)).expect("read spec");
        let expects: Vec<(&str, &str)> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect:"))
            .map(|l| l.trim().split_once(' ').unwrap_or_else(|| panic!("{file}: malformed `# expect:` line `{l}`")))
            .collect();
        assert!(!expects.is_empty(), "{file}: no `# expect:` line");
        let run = check(file);
        assert!(run.stdout.is_empty(), "{file}: `check` wrote to stdout:\n{}", run.stdout);
        let slug = Path::new(file).file_stem().and_then(|s| s.to_str()).expect("file stem");
        insta::assert_snapshot!(slug, run.stderr);
        for (code, pos) in &expects {
            let kind = if code.starts_with('E') { "error" } else { "warning" };
            let needle = format!("{file}:{pos}: {kind}[{code}]");
            if !run.stderr.contains(&needle) {
                failures.push(format!("{file}: expected `{needle}`, got:\n{}", run.stderr));
            }
        }
        let want = i32::from(expects.iter().any(|(c, _)| c.starts_with('E')));
        if run.code != Some(want) {
            failures.push(format!("{file}: exit code {:?}, expected {want}", run.code));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn multi_problem_file_reports_everything_in_one_run() {
    let run = check("tests/invalid/69-multiple-problems.yaml");
    let count = run.stderr.lines().filter(|l| l.starts_with("tests/invalid/")).count();
    assert!(count >= 5, "expected at least 5 diagnostics in one run:\n{}", run.stderr);
    assert!(run.stderr.contains("4 errors, 2 warnings"), "{}", run.stderr);
}

#[test]
fn examples_are_clean() {
    let bad: Vec<String> = yaml_files("examples")
        .into_iter()
        .filter_map(|f| {
            let run = check(&f);
            (run.code != Some(0)).then(|| format!("{f} (exit {:?}):\n{}", run.code, run.stderr))
        })
        .collect();
    assert!(bad.is_empty(), "examples with errors:\n{}", bad.join("\n"));
}

#[test]
fn schema_is_json_with_guests() {
    let run = hearth(&["schema"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let schema: serde_json::Value = serde_json::from_str(&run.stdout).expect("schema is JSON");
    assert!(schema.to_string().contains("\"guests\""));
}

#[test]
fn missing_file_exits_2_and_names_it() {
    let run = check("does-not-exist.yaml");
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("does-not-exist.yaml"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn show_json_is_valid_and_deterministic() {
    let first = hearth(&["show", "examples/minimal.yaml", "--json"]);
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    serde_json::from_str::<serde_json::Value>(&first.stdout).expect("show --json is JSON");
    let second = hearth(&["show", "examples/minimal.yaml", "--json"]);
    assert_eq!(first.stdout, second.stdout, "`show --json` differs between runs");
}

#[test]
fn unknown_top_level_key_suggests_the_right_one() {
    let run = check("tests/invalid/04-unknown-top-level-key.yaml");
    assert!(run.stderr.contains("= help: did you mean `domain`?"), "{}", run.stderr);
}

#[test]
fn check_writes_nothing_to_stdout() {
    for file in ["examples/minimal.yaml", "tests/invalid/69-multiple-problems.yaml"] {
        let run = check(file);
        assert!(run.stdout.is_empty(), "{file}: stdout was {:?}", run.stdout);
        assert!(!run.stderr.is_empty(), "{file}: no summary on stderr");
    }
}

#[test]
fn hostile_inputs_never_panic_or_hang() {
    let mut bomb = String::from("homelab: lab\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..30 {
        let p = i - 1;
        bomb.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
    }
    let inputs: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("only-document-marker", b"---\n".to_vec()),
        ("scalar-root", b"just a string\n".to_vec()),
        ("list-root", b"- homelab\n- lab\n".to_vec()),
        ("binary", (0..=255u8).cycle().take(4096).collect()),
        ("nested-brackets", "[".repeat(100_000).into_bytes()),
        ("alias-bomb", bomb.into_bytes()),
    ];
    let dir = tempdir();
    for (name, bytes) in inputs {
        let path = dir.join(format!("{name}.yaml"));
        std::fs::File::create(&path).and_then(|mut f| f.write_all(&bytes)).expect("write hostile input");
        let run = check(path.to_str().expect("utf-8 path"));
        assert!(matches!(run.code, Some(1 | 2)), "{name}: exit {:?}, stderr:\n{}", run.code, run.stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every file under `dir`, as (relative path, bytes), sorted.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("under root").to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&path).expect("read file")));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn render_is_deterministic_and_maps_every_file_to_spec_lines() {
    for example in yaml_files("examples") {
        let (a, b) = (tempdir(), tempdir());
        for dir in [&a, &b] {
            let out = dir.join("out");
            let run = hearth(&["render", &example, "-o", out.to_str().expect("utf-8 path")]);
            assert_eq!(run.code, Some(0), "{example}: {}", run.stderr);
        }
        let (ta, tb) = (tree(&a.join("out")), tree(&b.join("out")));
        assert!(ta == tb, "{example}: two renders differ");
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(a.join("out/manifest.json")).expect("manifest")).expect("json");
        let entries = manifest.as_array().expect("an array");
        assert_eq!(entries.len() + 1, ta.len(), "{example}: the manifest lists every file");
        for e in entries {
            let path = e["path"].as_str().expect("path");
            assert!(!e["source"].as_array().expect("source").is_empty(), "{example}: {path} has no spec lines");
            let on_disk = ta.iter().find(|(p, _)| p == path).unwrap_or_else(|| panic!("{example}: {path} missing"));
            let mode = std::fs::metadata(a.join("out").join(path)).expect("metadata");
            let mode = std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777;
            assert_eq!(format!("{mode:04o}"), e["mode"].as_str().expect("mode"), "{example}: {path}");
            for field in ["owner", "group"] {
                assert!(!e[field].as_str().unwrap_or_default().is_empty(), "{example}: {path} has no {field}");
            }
            let activation = e["activation"].as_array().expect("activation");
            assert!(activation.iter().all(|a| a["action"].is_string()), "{example}: {path}: {activation:?}");
            if e["kind"] == "env-secret" {
                assert_eq!(mode, 0o600, "{example}: {path}");
            } else {
                let text = String::from_utf8_lossy(&on_disk.1);
                assert!(!text.contains("{{secret:"), "{example}: {path} holds a secret placeholder");
            }
        }
        let _ = std::fs::remove_dir_all(&a);
        let _ = std::fs::remove_dir_all(&b);
    }
}

#[test]
fn completions_cover_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let run = hearth(&["completions", shell]);
        assert_eq!(run.code, Some(0), "{shell}: {}", run.stderr);
        for command in ["check", "show", "render", "docs", "resolve", "secrets", "schema", "completions"] {
            assert!(run.stdout.contains(command), "{shell}: `{command}` missing from the script");
        }
    }
    let run = hearth(&["completions", "tcsh"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
}

#[test]
fn render_and_docs_never_overwrite_what_the_operator_wrote() {
    let dir = tempdir();
    std::fs::write(dir.join("notes.txt"), "mine").expect("write");
    let run = hearth(&["render", "examples/minimal.yaml", "-o", dir.to_str().expect("utf-8")]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("holds files that Hearth did not write"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(dir.join("notes.txt")).expect("kept"), "mine");
    std::fs::write(dir.join("README.md"), "# My homelab\n").expect("write");
    let run = hearth(&["docs", "examples/minimal.yaml", "-o", dir.to_str().expect("utf-8")]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(dir.join("README.md")).expect("kept"), "# My homelab\n");
    let docs = dir.join("docs");
    let run = hearth(&["docs", "examples/ryzen-tiered-lxc-platform.yaml", "-o", docs.to_str().expect("utf-8")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let readme = std::fs::read_to_string(docs.join("README.md")).expect("readme");
    assert!(readme.contains("36 vCPU : 12 cores = 3.0:1, : 24 threads = 1.5:1"), "{readme}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn resolve_generates_secrets_once_and_never_prints_them() {
    let dir = tempdir();
    let spec = dir.join("hearth.yaml");
    std::fs::copy(repo_root().join("examples/minimal.yaml"), &spec).expect("copy");
    let spec = spec.to_str().expect("utf-8");
    let first = hearth(&["resolve", spec]);
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let store = std::fs::read_to_string(dir.join("hearth.secrets.age")).expect("store");
    let lock = std::fs::read_to_string(dir.join("hearth.lock")).expect("lock");
    let second = hearth(&["resolve", spec]);
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    assert_eq!(std::fs::read_to_string(dir.join("hearth.secrets.age")).expect("store"), store, "generated once");
    assert_eq!(std::fs::read_to_string(dir.join("hearth.lock")).expect("lock"), lock, "allocations are stable");
    let list = hearth(&["secrets", "list", spec]);
    assert!(list.stdout.contains("vaultwarden-admin-token") && list.stdout.contains("stored"), "{}", list.stdout);
    // The rendered tree holds values only with --with-secrets, and only in env-secret files.
    let out = dir.join("out");
    let run = hearth(&["render", spec, "-o", out.to_str().expect("utf-8"), "--with-secrets"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let identity = std::fs::read_to_string(dir.join(".hearth/identity.txt")).expect("identity");
    for (path, bytes) in tree(&out) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("{{secret:"), "{path}: a placeholder left with --with-secrets");
        assert!(!text.contains(identity.trim()), "{path}: the private key leaked");
    }
    for r in [&first, &second, &list, &run] {
        assert!(!r.stderr.contains("AGE-SECRET-KEY") && !r.stdout.contains("AGE-SECRET-KEY"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn secrets_list_names_what_only_the_operator_can_supply() {
    let dir = tempdir();
    let spec = dir.join("hearth.yaml");
    std::fs::write(
        &spec,
        "homelab: t\nnetworks: { lan: { cidr: 192.168.1.0/24 } }\nhosts: { pve: { proxmox: {}, network: lan } }\n\
         guests: { d: { vm: { on: pve }, network: lan, runtime: docker } }\n\
         secrets: { tunnel: { env: HEARTH_TEST_UNSET_TOKEN } }\n\
         services:\n  runner: { app: github-runner, on: d, backup: false }\n",
    )
    .expect("write spec");
    let list = hearth(&["secrets", "list", spec.to_str().expect("utf-8")]);
    assert_eq!(list.code, Some(0), "{}", list.stderr);
    let line = |name: &str| list.stdout.lines().find(|l| l.starts_with(name)).unwrap_or_default().to_string();
    assert!(line("runner-access-token").contains("missing"), "{}", list.stdout);
    assert!(
        line("tunnel").contains("unset") && line("tunnel").contains("env:HEARTH_TEST_UNSET_TOKEN"),
        "{}",
        list.stdout
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `check` on `bytes` in both formats and holds the graphical report to the short one: the
/// same exit code (1), the same `file:line:col` for every diagnostic, and short snippet lines.
fn check_graphical(name: &str, bytes: &[u8], first_location: &str) -> String {
    let dir = tempdir();
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, bytes).expect("write spec");
    let path = path.to_str().expect("utf-8 path");
    let short = hearth(&["--format", "short", "check", path]);
    let human = hearth(&["check", path]);
    assert_eq!(human.code, Some(1), "{name}: graphical exit {:?}, stderr:\n{}", human.code, human.stderr);
    assert_eq!(short.code, Some(1), "{name}: short exit {:?}, stderr:\n{}", short.code, short.stderr);
    let short_locations: Vec<&str> =
        short.stderr.lines().filter(|l| l.starts_with(path)).filter_map(|l| l.split(": ").next()).collect();
    let human_locations: Vec<&str> =
        human.stderr.lines().filter_map(|l| l.split_once("─[").map(|(_, rest)| rest.trim_end_matches(']'))).collect();
    assert_eq!(short_locations, human_locations, "{name}: locations differ:\n{}", human.stderr);
    assert_eq!(short_locations.first().map(|l| &l[path.len()..]), Some(first_location), "{name}");
    let longest = human.stderr.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(longest <= 300, "{name}: a {longest}-character line in:\n{}", human.stderr);
    let _ = std::fs::remove_dir_all(&dir);
    human.stderr
}

#[test]
fn graphical_report_survives_awkward_sources() {
    let long = "a".repeat(2_000_000);
    let run = check_graphical("2mb-key", format!("{long}: 1\n").as_bytes(), ":1:2000001");
    assert!(run.contains("aaaa: 1"), "the snippet shows where the key ends:\n{run}");
    let value = "v".repeat(300_000);
    // An explicit key may be any length: the message quoting it is cut, not wrapped over pages.
    let key = "k".repeat(200_000);
    let run = check_graphical("long-explicit-key", format!("homelab: x\n? {key}\n: 1\n").as_bytes(), ":2:3");
    assert!(run.lines().count() < 40, "{} lines", run.lines().count());
    check_graphical("long-line-error-at-start", format!("homelab: lab\ndomian: {value}\n").as_bytes(), ":2:1");
    check_graphical(
        "long-line-error-far-right",
        format!("{{homelab: lab, admin: {{user: {value}}}, domian: x}}\n").as_bytes(),
        ":1:300033",
    );
    let tabs = "\t".repeat(70_000);
    check_graphical("tabs", format!("{{homelab: lab,{tabs}domian: x}}\n").as_bytes(), ":1:70015");
    check_graphical("crlf", b"homelab: lab\r\ndomian: x\r\n", ":2:1");
    check_graphical("lone-cr", b"homelab: lab\rdomian: x\n", ":1:14");
    let wide = "é".repeat(50_000);
    check_graphical("multi-byte", format!("{{homelab: \"{wide}\", domian: x}}\n").as_bytes(), ":1:50015");
    check_graphical("control-characters", b"homelab: lab\x1b[31m\ndomian: x\n", ":1:10");
    check_graphical("eof-without-newline", b"homelab: lab\nnetworks: {", ":2:11");
    check_graphical("eof-after-newline", b"homelab: lab\nnetworks: {\n", ":2:11");
    check_graphical("two-errors-far-apart", format!("{{homelab: lab, x: {value}, domian: 1}}").as_bytes(), ":1:16");
    let pad = " ".repeat(100_000);
    let hosts = format!(
        "{{homelab: lab, networks: {{lan: {{cidr: 192.168.1.0/24}}}}, hosts: {{a: {{address: 192.168.1.10, network: lan}},{pad}b: {{address: 192.168.1.10, network: lan}}}}}}\n"
    );
    let run = check_graphical("labels-far-apart", hosts.as_bytes(), ":1:100119");
    assert!(run.contains("first use at "), "the far label becomes a note:\n{run}");
}

/// A scratch folder holding `examples/minimal.yaml` as `hearth.yaml`; returns the folder.
fn minimal_spec() -> PathBuf {
    let dir = tempdir();
    std::fs::copy(repo_root().join("examples/minimal.yaml"), dir.join("hearth.yaml")).expect("copy");
    dir
}

/// Runs `check` on the minimal example beside `lock` as its `hearth.lock` and expects exit 2
/// with `expected` on stderr.
fn check_lock(lock: &str, expected: &str) {
    let dir = minimal_spec();
    std::fs::write(dir.join("hearth.lock"), lock).expect("write lock");
    let run = hearth(&["check", dir.join("hearth.yaml").to_str().expect("utf-8")]);
    assert_eq!(run.code, Some(2), "{lock:?}: {}", run.stderr);
    assert!(run.stderr.contains(expected), "{lock:?}: expected `{expected}` in:\n{}", run.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_lock_file_that_does_not_parse_is_an_error_at_its_line() {
    check_lock(
        "# header\nguest/a/id = 100\nguest/b/id 101\n",
        "hearth.lock:3: expected `key = value`, found `guest/b/id 101`",
    );
    check_lock("a = 1\na = 2\n", "hearth.lock:2: `a` is already set on line 1");
    // A lock file that cannot be read (here a folder) is an error too, not an empty lock.
    let dir = minimal_spec();
    std::fs::create_dir(dir.join("hearth.lock")).expect("mkdir");
    let run = hearth(&["check", dir.join("hearth.yaml").to_str().expect("utf-8")]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("cannot read `") && run.stderr.contains("hearth.lock`"), "{}", run.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A folder never resolved has no store and no identity: reading secrets (`render
/// --with-secrets` here, `apply` through the same helper) says to run `hearth resolve`.
#[test]
fn reading_secrets_before_resolve_says_to_resolve() {
    let dir = minimal_spec();
    let spec = dir.join("hearth.yaml");
    let out = dir.join("out");
    let run = hearth(&["render", spec.to_str().expect("utf-8"), "-o", out.to_str().expect("utf-8"), "--with-secrets"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("run `hearth resolve` on the spec first"), "{}", run.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn with_secrets_fails_naming_every_secret_it_cannot_read() {
    let (dir, other) = (minimal_spec(), minimal_spec());
    for d in [&dir, &other] {
        let run = hearth(&["resolve", d.join("hearth.yaml").to_str().expect("utf-8")]);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
    }
    // The other folder's identity cannot decrypt this store.
    std::fs::copy(other.join(".hearth/identity.txt"), dir.join(".hearth/identity.txt")).expect("copy identity");
    let spec = dir.join("hearth.yaml");
    let out = dir.join("out");
    let run = hearth(&["render", spec.to_str().expect("utf-8"), "-o", out.to_str().expect("utf-8"), "--with-secrets"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(!out.exists(), "a render with unreadable secrets wrote files");
    let list = hearth(&["secrets", "list", spec.to_str().expect("utf-8")]);
    let generated: Vec<&str> =
        list.stdout.lines().filter(|l| l.contains(" generated ")).map(|l| l.split(' ').next().unwrap_or("")).collect();
    assert!(!generated.is_empty(), "{}", list.stdout);
    for name in generated {
        assert!(run.stderr.contains(&format!("`secret:{name}`: ")), "`{name}` not named in:\n{}", run.stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&other);
}

/// Every field and enum value `hearth schema` reveals, as `Def.field` or `Def=value`.
fn schema_names(schema: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut visit = |def: &str, v: &serde_json::Value| {
        for p in v["properties"].as_object().into_iter().flat_map(|o| o.keys()) {
            out.push((format!("{def}.{p}"), p.clone()));
        }
        for e in v["enum"].as_array().into_iter().flatten().filter_map(|e| e.as_str()) {
            out.push((format!("{def}={e}"), e.to_string()));
        }
    };
    visit("Spec", schema);
    for (name, def) in schema["$defs"].as_object().expect("$defs") {
        visit(name, def);
        for p in def["properties"].as_object().into_iter().flat_map(|o| o.values()) {
            visit(name, p);
        }
    }
    out
}

#[test]
fn spec_md_names_every_field_the_schema_has() {
    let run = hearth(&["schema"]);
    let schema: serde_json::Value = serde_json::from_str(&run.stdout).expect("schema is JSON");
    let doc = std::fs::read_to_string(repo_root().join("docs/SPEC.md")).expect("SPEC.md");
    let words: std::collections::BTreeSet<&str> =
        doc.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).collect();
    let missing: Vec<String> = schema_names(&schema)
        .into_iter()
        .filter(|(_, word)| !words.contains(word.as_str()))
        .map(|(what, _)| what)
        .collect();
    assert!(missing.is_empty(), "docs/SPEC.md never mentions: {}", missing.join(", "));
}
