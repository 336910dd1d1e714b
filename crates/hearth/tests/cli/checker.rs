//! The checker seen from the command line: `tests/valid/` checks clean, and `render` and `docs`
//! count warnings in one line instead of repeating `check`'s report.

use super::{check, hearth, tempdir, yaml_files};

#[test]
fn valid_specs_check_clean() {
    let files = yaml_files("tests/valid");
    assert!(files.len() >= 8, "only {} valid specs", files.len());
    let bad: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let run = check(f);
            (run.code != Some(0) || run.stderr.trim() != "no problems found")
                .then(|| format!("{f} (exit {:?}):\n{}", run.code, run.stderr))
        })
        .collect();
    assert!(bad.is_empty(), "valid specs with diagnostics:\n{}", bad.join("\n"));
}

#[test]
fn render_and_docs_count_warnings_in_one_line() {
    // Seed 000's example: its document's stated disk total and the servers without data backups
    // are warnings it keeps on purpose.
    let example = "examples/nixos-proxmox-five-vms.yaml";
    let checked = check(example);
    assert_eq!(checked.stderr.lines().last(), Some("10 warnings"), "{}", checked.stderr);
    for command in ["render", "docs"] {
        let dir = tempdir();
        let out = dir.join("out");
        let run = hearth(&[command, example, "-o", out.to_str().expect("utf-8 path")]);
        assert_eq!(run.code, Some(0), "{command}: {}", run.stderr);
        let first = run.stderr.lines().next().unwrap_or_default();
        assert_eq!(first, "10 warnings; run `hearth check` for details", "{command}:\n{}", run.stderr);
        assert!(!run.stderr.contains("warning["), "{command} repeats the warnings:\n{}", run.stderr);
        let _ = std::fs::remove_dir_all(&dir);
    }
    // A spec with errors still shows them all: render cannot go on and the operator needs why.
    let run = hearth(&[
        "--format",
        "short",
        "render",
        "tests/invalid/31-unknown-secret.yaml",
        "-o",
        "/nonexistent/never-written",
    ]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("error[E201]") && run.stderr.contains("warning[W641]"), "{}", run.stderr);
}
