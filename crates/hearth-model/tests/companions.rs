//! Companions (containers a catalog app runs beside its main one): their ports claimed and
//! conflict-checked, their version and secrets following the service's, and the built-in apps'
//! companions at the spec's version.

mod common;

use common::{BASE, analyze_spec, analyze_text, check_with};
use hearth_model::Allocations;

/// A catalog entry with companions, to test them apart from the built-in apps: `sidecar` is
/// released with the app (same tag), `probe` on its own.
const PAIR: &str = "
name: pair
category: apps
image: example/pair:1.0
ports:
  http: { port: 8080, protocol: http, primary: true }
secrets:
  token: { env: PAIR_TOKEN }
env:
  PAIR_URL: \"{{ url }}\"
companions:
  sidecar:
    image: example/pair-sidecar:1.0
    env: { SIDECAR_TOKEN: \"{{ secret.token }}\" }
    ports:
      metrics: { port: 9100 }
      internal: { port: 9200, publish: false }
    healthcheck: { tcp: metrics }
  probe:
    image: example/probe:3.1
healthcheck: { tcp: http }
";

fn pair_catalog() -> hearth_catalog::Catalog {
    let catalog = hearth_catalog::decode(&[("pair", PAIR)]);
    assert!(catalog.diagnostics.is_empty(), "{:?}", catalog.diagnostics);
    catalog
}

#[test]
fn companion_ports_are_claimed_and_conflict_checked() {
    // Two instances on one machine: the sidecar's published port clashes, its unpublished one
    // does not; the service's own HTTP port is a catalog default and moves.
    let diagnostics = check_with(
        &[
            BASE,
            "
guests:
  docker: { vm: { on: pve }, network: lan, runtime: docker }
services:
  one: { app: pair, on: docker, backup: false }
  two: { app: pair, on: docker, backup: false }
#             ^^^^ E308
  three: { image: example/x:1.0, on: docker, ports: { m: 9100 }, healthcheck: { tcp: m } }
#                                                        ^^^^ E308
",
        ]
        .concat(),
        &pair_catalog(),
    );
    // A companion's port comes from its catalog entry: the help does not suggest remapping it.
    assert!(diagnostics[0].contains("`two-sidecar` runs beside its service"), "{}", diagnostics[0]);
}

#[test]
fn companions_follow_the_service_version_and_secrets() {
    let text = [
        BASE,
        "
guests:
  docker1: { vm: { on: pve }, network: lan, runtime: docker }
  docker2: { vm: { on: pve }, network: lan, runtime: docker }
secrets:
  two-token: { env: TWO_TOKEN }
services:
  one: { app: pair, on: docker1, backup: false }
  two: { app: pair, on: docker2, version: \"2.0\", backup: false }
",
    ]
    .concat();
    let (a, loaded) = analyze_spec(&text, &pair_catalog(), &Allocations::default());
    let diagnostics: Vec<String> = a.diagnostics.iter().map(|d| d.render_short(&loaded.sources)).collect();
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let images = |s: &str| -> Vec<(String, String)> {
        a.model.services[s].companions.iter().map(|c| (c.name.clone(), c.image.clone())).collect()
    };
    assert_eq!(
        images("one"),
        [("sidecar".into(), "example/pair-sidecar:1.0".into()), ("probe".into(), "example/probe:3.1".into())]
    );
    assert_eq!(
        images("two"),
        [("sidecar".into(), "example/pair-sidecar:2.0".into()), ("probe".into(), "example/probe:3.1".into())],
        "a companion released with the app follows `version:`; one versioned on its own keeps its tag"
    );
    let sidecar = |s: &str| a.model.services[s].companions.iter().find(|c| c.name == "sidecar").unwrap().clone();
    assert_eq!(sidecar("one").env["SIDECAR_TOKEN"].to_string(), "${secret:one-token}");
    assert_eq!(sidecar("two").env["SIDECAR_TOKEN"].to_string(), "${env:TWO_TOKEN}", "the declared source wins");
    assert_eq!(sidecar("two").env["PAIR_TOKEN"].to_string(), "${env:TWO_TOKEN}", "the service's env is shared");
    let ports: Vec<(String, Option<u16>)> = sidecar("one").ports.iter().map(|p| (p.name.clone(), p.host)).collect();
    assert_eq!(ports, [("metrics".into(), Some(9100)), ("internal".into(), None)]);
}

#[test]
fn builtin_companions_run_the_spec_version() {
    let (a, _) = analyze_text(
        "
guests:
  docker: { vm: { on: pve }, network: lan, runtime: docker }
services:
  immich: { app: immich, on: docker, version: v1.121.0, backup: false }
  authentik: { app: authentik, on: docker, version: 2024.12.1, backup: false }
",
        &Allocations::default(),
    );
    let image = |s: &str| a.model.services[s].companions[0].image.clone();
    assert_eq!(image("immich"), "ghcr.io/immich-app/immich-machine-learning:v1.121.0");
    assert_eq!(image("authentik"), "ghcr.io/goauthentik/server:2024.12.1");
}
