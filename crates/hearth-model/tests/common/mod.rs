//! What the model test binaries share (each declares `mod common;`): the lines most test
//! homelabs start with, analysing a spec, and checking it against its inline diagnostic markers
//! (`markers`).
//!
//! The spec parts are macros of string literals, so a binary builds its own base with
//! `concat!(common::base!(), "guests: ...")` and keeps a `&str` constant.
// Each binary uses a part of this module: the rest is dead code there, and the `use` that makes
// a macro reachable by path is an unused import in a binary that does not call it.
#![allow(dead_code, unused_imports)]

pub mod markers;

use hearth_catalog::Catalog;
use hearth_model::{Allocations, Analysis};
use hearth_spec::Loaded;

/// The first lines of a test homelab: its name and domain, an operator's SSH key (without one,
/// every cloud-init VM is warned about a placeholder key, W641), and the `networks:` key whose
/// entries follow.
macro_rules! head {
    () => {
        "
homelab: test
domain: example.com
admin: { ssh_keys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample you@laptop] }
networks:
"
    };
}
pub(crate) use head;

/// The homelab most tests add to: [`head`], the network `lan` (192.168.1.0/24, with 192.168.1.2-9
/// reserved, so allocated addresses start above the host's) and the Proxmox host `pve` on it
/// (4 cores, 8 threads, 16 GiB).
macro_rules! base {
    () => {
        concat!(
            $crate::common::head!(),
            "  lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1, reserved: [192.168.1.2-192.168.1.9] }
hosts:
  pve: { proxmox: {}, address: 192.168.1.10, network: lan, hardware: { cores: 4, threads: 8, memory: 16GiB } }
"
        )
    };
}
pub(crate) use base;

/// [`base`] as a constant, for the binaries that add to it as it is.
pub const BASE: &str = base!();

/// Loads and analyses the spec `text` with `catalog` and the allocations of an earlier run.
pub fn analyze_spec(text: &str, catalog: &Catalog, previous: &Allocations) -> (Analysis, Loaded) {
    let loaded = hearth_spec::load_str("test.yaml", text);
    let a = hearth_model::analyze(&loaded.spec, catalog, previous);
    (a, loaded)
}

/// Loads and analyses [`BASE`] + `extra` with the built-in catalog.
pub fn analyze_text(extra: &str, previous: &Allocations) -> (Analysis, Loaded) {
    analyze_spec(&format!("{BASE}{extra}"), hearth_catalog::builtin(), previous)
}

/// Asserts that the spec `annotated` gives exactly the diagnostics its markers name, in the style
/// of rust-analyzer's fixtures. A marker is a comment line under the line it points at: carets
/// under the diagnostic's span (its first line), then its code:
///
/// ```text
/// guests:
///   db: { lxc: { on: nope } }
/// #                  ^^^^ E201
/// ```
///
/// Markers are removed before the spec is analysed, so they shift no position. On a mismatch the
/// message shows the spec annotated with what the analysis really reported. Returns the
/// diagnostics as `render_short` prints them, for tests that look at the wording too.
pub fn check_with(annotated: &str, catalog: &Catalog) -> Vec<String> {
    markers::check_spec(annotated, catalog)
}

/// [`check_with`] of [`BASE`] + `annotated` and the built-in catalog.
pub fn check(annotated: &str) -> Vec<String> {
    check_with(&format!("{BASE}{annotated}"), hearth_catalog::builtin())
}

/// [`check`] of `annotated`, then its analysis: the spec text without its markers, and what
/// [`analyze_spec`] makes of it, for tests that look at the model too.
pub fn check_and_analyze(annotated: &str) -> (String, Analysis) {
    check(annotated);
    let (text, _) = markers::parse(&format!("{BASE}{annotated}"));
    let (a, _) = analyze_spec(&text, hearth_catalog::builtin(), &Allocations::default());
    (text, a)
}
