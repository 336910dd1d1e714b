//! Planned items through the binary: `hearth show` lists them with the decisions, `hearth render`
//! writes nothing for them, on seed 000's example (its `docker-host-2` is planned).

use super::{hearth, tempdir};

const EXAMPLE: &str = "examples/nixos-proxmox-five-vms.yaml";

#[test]
fn show_lists_planned_items() {
    let run = hearth(&["show", EXAMPLE]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let planned = run.stdout.split("\nplanned:\n").nth(1).expect("a `planned:` section");
    assert!(planned.contains("name: docker-host-2") && planned.contains("status: planned"), "{planned}");
    assert!(planned.contains("address: \"192.168.1.105\""), "{planned}");
    assert!(!run.stdout.split("\nplanned:\n").next().unwrap().contains("docker-host-2:"), "a guest in the model");
}

#[test]
fn render_writes_nothing_for_planned_items() {
    let out = tempdir().join("render");
    let run = hearth(&["render", "--out", out.to_str().unwrap(), EXAMPLE]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(out.join("docker-host").is_dir(), "the active Docker host is rendered");
    assert!(!out.join("docker-host-2").exists(), "the planned one is not");
    let manifest = std::fs::read_to_string(out.join("manifest.json")).expect("manifest.json");
    assert!(!manifest.contains("docker-host-2"), "the manifest names the planned guest");
}
