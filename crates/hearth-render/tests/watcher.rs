//! `monitoring.watcher`: the files its machine gets (unit, configuration, one credential file per
//! secret), snapshotted; the unit through `systemd-analyze verify`; the configuration read back
//! as `hearth watch --config` reads it; no secret in any of it; nothing on other machines.

mod common;

use std::path::Path;
use std::process::Command;

use hearth_render::watcher::{WatchConfig, WatchProbe};
use hearth_render::{File, Kind};

const SPEC: &str = r#"
homelab: watched
domain: watched.home.arpa
networks:
  lan: { cidr: 192.168.60.0/24, gateway: 192.168.60.1 }
  iot: { cidr: 192.168.61.0/24, gateway: 192.168.61.1, zone: iot }
hosts:
  pve: { address: 192.168.60.10, network: lan, proxmox: { node: pve } }
guests:
  edge: { lxc: { on: pve }, network: lan, address: 192.168.60.20 }
  db: { lxc: { on: pve }, network: lan, address: 192.168.60.21 }
  mon: { lxc: { on: pve }, network: lan, address: 192.168.60.30 }
ingress: { proxy: caddy, tls: { internal: true } }
dns: { server: dns }
monitoring:
  alertmanager: alertmanager
  watcher: WATCHER
notifications:
  hook: { webhook: { url: "http://192.168.60.30:9999/alerts" } }
  phone: { ntfy: { url: "https://ntfy.sh", topic: homelab, token: "secret:ntfy-token" } }
services:
  caddy: { app: caddy, on: edge, backup: false }
  dns: { app: unbound, on: edge }
  alertmanager: { app: alertmanager, on: mon, expose: alerts, backup: false }
  postgres: { app: postgresql, version: "15", on: db, backup: false }
secrets:
  ntfy-token: { env: NTFY_TOKEN }
"#;

const DEFAULT: &str = r#"{ on: mon, listen: "192.168.60.30:9180", token: "secret:hearth-watch-token", from: [lan] }"#;

fn render(watcher: &str) -> Vec<File> {
    let text = SPEC.replace("WATCHER", watcher);
    let loaded = hearth_spec::load_str("watched.yaml", &text);
    assert!(!loaded.has_errors(), "does not load: {:?}", loaded.diagnostics);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    let errors: Vec<_> = a.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "errors: {errors:?}");
    common::render(&a.model)
}

fn watcher_files(files: &[File]) -> Vec<&File> {
    files.iter().filter(|f| f.sources.contains("monitoring/watcher")).collect()
}

#[test]
fn the_watchers_machine_gets_its_unit_configuration_and_credentials() {
    let files = render(DEFAULT);
    let mine = watcher_files(&files);
    assert!(mine.iter().all(|f| f.machine == "mon"), "only `mon` gets watcher files");
    let listing: Vec<String> =
        mine.iter().map(|f| format!("{} {:o} {}:{} {:?}", f.path, f.mode, f.owner, f.group, f.activation)).collect();
    insta::assert_snapshot!("files", listing.join("\n"));
    let unit = mine.iter().find(|f| f.kind == Kind::SystemdUnit).expect("a unit");
    insta::assert_snapshot!("unit", unit.content);
    let config = mine.iter().find(|f| f.kind == Kind::Watch).expect("a configuration");
    insta::assert_snapshot!("config", config.content);

    // The credentials hold placeholders, never values, and are the only secret files.
    for f in &mine {
        if f.path.starts_with("/etc/hearth/watch/credentials/") {
            assert_eq!((f.kind, f.mode), (Kind::EnvSecret, 0o600), "{}", f.path);
            assert!(f.content.starts_with("{{") && f.content.ends_with("}}"), "{}: {}", f.path, f.content);
        } else {
            assert!(!f.content.contains("{{secret:"), "{} holds a secret", f.path);
        }
    }

    // What `hearth watch --config` reads: routes and DNS from anywhere, the TCP connections the
    // firewall admits from `mon` itself, nothing that needs SSH.
    let parsed: WatchConfig = serde_json::from_str(&config.content).expect("the configuration reads back");
    let kinds = |k: &str| {
        parsed
            .targets
            .iter()
            .filter(|t| {
                matches!(
                    (&t.probe, k),
                    (WatchProbe::Http { .. }, "http")
                        | (WatchProbe::Dns { .. }, "dns")
                        | (WatchProbe::Tcp { .. }, "tcp")
                )
            })
            .count()
    };
    assert!(kinds("http") > 0 && kinds("dns") > 0 && kinds("tcp") > 0, "{:#?}", parsed.targets);
    assert!(parsed.left_out.values().flatten().any(|id| id.starts_with("service/")), "units are left out");
    assert_eq!(parsed.token.as_deref(), Some("hearth-watch-token"));
    assert!(parsed.targets.iter().all(|t| !t.id.starts_with("firewall/") || t.id.contains("/from/mon")));
}

#[test]
fn the_unit_verifies() {
    if !common::have("systemd-analyze") {
        return;
    }
    let files = render(DEFAULT);
    let unit = watcher_files(&files).into_iter().find(|f| f.kind == Kind::SystemdUnit).expect("a unit");
    let dir = common::temp_dir("watcher-unit");
    // The binary is the one `apply` ships, absent here: verify runs the unit with an executable
    // that exists in its place, everything else as rendered.
    let content = unit.content.replace(hearth_render::watcher::BINARY, "/bin/true");
    let path = dir.join(Path::new(&unit.path).file_name().unwrap());
    std::fs::write(&path, content).unwrap();
    let out = Command::new("systemd-analyze").arg("verify").arg("--man=no").arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "systemd-analyze verify:\n{stderr}");
}

#[test]
fn the_page_port_opens_only_to_the_sources_named() {
    let check = |watcher: &str, expected: &[&str]| {
        let text = SPEC.replace("WATCHER", watcher);
        let loaded = hearth_spec::load_str("watched.yaml", &text);
        let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
        let from: Vec<String> =
            a.model.firewall["mon"].iter().filter(|o| o.port == 9180).flat_map(|o| o.from.clone()).collect();
        assert_eq!(from, expected, "{watcher}");
    };
    check(DEFAULT, &["192.168.60.0/24"]);
    check(r#"{ on: mon, listen: "0.0.0.0:9180", token: "secret:t", from: [edge] }"#, &["192.168.60.20"]);
    // On loopback the port is opened to no one.
    check("{ on: mon }", &[]);
}
