//! End-to-end tests of the `hearth` binary.
//!
//! The bulk is data-driven: every `tests/invalid/*.yaml` at the repository root starts with
//! `# expect: CODE LINE:COL` lines naming the diagnostics it must produce; the whole stderr of
//! `hearth --format short check` is snapshotted with insta, one snapshot per file.

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
        let known_bug = text.lines().any(|l| l.starts_with("# known-bug:"));
        let run = check(file);
        assert!(run.stdout.is_empty(), "{file}: `check` wrote to stdout:\n{}", run.stdout);
        let slug = Path::new(file).file_stem().and_then(|s| s.to_str()).expect("file stem");
        insta::assert_snapshot!(slug, run.stderr);
        if known_bug {
            continue;
        }
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
    assert!(run.stderr.contains("4 errors, 1 warning"), "{}", run.stderr);
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
