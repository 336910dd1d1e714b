//! The Compose renderer against the real tools: every rendered `compose.yaml` of every example
//! is checked against the Compose specification's JSON schema (`check-jsonschema`) and loaded by
//! Docker Compose v2 (`docker compose config`), with its `env_file`s in place. Structural checks
//! read the files back with a YAML 1.1 parser (PyYAML), the strictest reader an operator's tools
//! may use. Install the tools with `scripts/validators.d/compose.sh`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use hearth_render::{Context, File, Kind, SecretValues};
use serde_json::Value;

const KINDS: [Kind; 2] = [Kind::Compose, Kind::EnvSecret];

/// The Compose specification's JSON schema, under `schemas/`.
const SCHEMA: &str = "compose-spec/compose-spec.json";

/// The compose renderer's files: its kinds under the stacks folder (other renderers write
/// `env-secret` files of their own elsewhere).
fn mine(files: &[File]) -> Vec<File> {
    files.iter().filter(|f| KINDS.contains(&f.kind) && f.path.starts_with("/opt/hearth/stacks/")).cloned().collect()
}

/// Where a file lands in a tree written by `common::write_tree`.
fn on_disk(dir: &Path, f: &File) -> PathBuf {
    dir.join(&f.machine).join(f.path.trim_start_matches('/'))
}

/// Docker Compose v2: the `docker compose` plugin, or a v2 `docker-compose`. Compose v1 (Debian
/// 12's `docker-compose`) rejects the top-level `name:`, so it does not count.
fn compose() -> Option<Vec<&'static str>> {
    let works = |cmd: &[&str]| {
        Command::new(cmd[0])
            .args(&cmd[1..])
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("v2."))
    };
    for cmd in [vec!["docker", "compose"], vec!["docker-compose"]] {
        if works(&cmd) {
            return Some(cmd);
        }
    }
    common::unavailable("Docker Compose v2 is not installed");
    None
}

/// `docker compose config` in a stack folder, as JSON.
fn compose_config(cmd: &[&str], stack_dir: &Path) -> Value {
    let out = Command::new(cmd[0])
        .args(&cmd[1..])
        .args(["config", "--format", "json"])
        .current_dir(stack_dir)
        .output()
        .expect("run docker compose");
    assert!(
        out.status.success(),
        "docker compose config in {} failed:\n{}",
        stack_dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("compose config prints JSON")
}

/// A YAML file read by PyYAML (YAML 1.1: `80:80` would be a number, `no` a boolean) as JSON.
fn yaml11(path: &Path) -> Option<Value> {
    let have = Command::new("python3").args(["-c", "import yaml"]).output().is_ok_and(|o| o.status.success());
    if !have {
        common::unavailable("PyYAML is not installed");
        return None;
    }
    let out = Command::new("python3")
        .args(["-c", "import json,sys,yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)"])
        .arg(path)
        .output()
        .expect("run python3");
    assert!(out.status.success(), "{} does not parse: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    Some(serde_json::from_slice(&out.stdout).expect("JSON"))
}

#[test]
fn every_example_passes_the_schema_and_docker_compose() {
    let compose = compose();
    let jsonschema = common::have("check-jsonschema");
    let (mut schema_ok, mut config_ok, mut stacks) = (0, 0, 0);
    for (name, model) in common::examples() {
        let files = mine(&common::render(&model));
        let composes: Vec<&File> = files.iter().filter(|f| f.kind == Kind::Compose).collect();
        // NixOS guests run their containers through the flake (virtualisation.oci-containers).
        let docker_outside_nixos =
            model.guests.values().any(|g| g.runtime == hearth_spec::ast::Runtime::Docker && !g.os.starts_with("nixos"))
                || model.hosts.values().any(|h| h.runtime == Some(hearth_spec::ast::Runtime::Docker));
        assert_eq!(!composes.is_empty(), docker_outside_nixos, "{name}: compose files on Docker machines only");
        if composes.is_empty() {
            continue;
        }
        let dir = common::write_tree(&files, &common::temp_dir(&format!("compose-{name}")));
        stacks += composes.len();
        if jsonschema {
            let mut cmd = Command::new("check-jsonschema");
            cmd.arg("--schemafile").arg(common::schema(SCHEMA));
            for f in &composes {
                cmd.arg(on_disk(&dir, f));
            }
            common::run_ok(&mut cmd, &format!("check-jsonschema on the stacks of {name}"));
            schema_ok += composes.len();
        }
        if let Some(cmd) = &compose {
            for f in &composes {
                let path = on_disk(&dir, f);
                let stack_dir = path.parent().unwrap();
                common::run_ok(
                    Command::new(cmd[0]).args(&cmd[1..]).args(["config", "-q"]).current_dir(stack_dir),
                    &format!("docker compose config -q for {}:{}", f.machine, f.path),
                );
                let config = compose_config(cmd, stack_dir);
                check_invariants(&format!("{name} {}:{}", f.machine, f.path), &config);
                config_ok += 1;
            }
        }
    }
    eprintln!(
        "compose: {stacks} stacks; check-jsonschema passed {schema_ok}, docker compose config passed {config_ok}"
    );
    assert!(stacks > 0, "the examples render compose stacks");
    if common::validators_required() {
        assert_eq!((schema_ok, config_ok), (stacks, stacks), "every stack went through both validators");
    }
}

/// What every rendered service promises, read from Compose's own view of the project.
fn check_invariants(what: &str, config: &Value) {
    let services = config["services"].as_object().unwrap_or_else(|| panic!("{what}: no services"));
    for (key, s) in services {
        assert_eq!(s["restart"], "unless-stopped", "{what} {key}");
        assert_eq!(s["container_name"], key.as_str(), "{what} {key}");
        assert!(s["labels"]["hearth.service"].is_string(), "{what} {key}: no `hearth.service` label");
        let image = s["image"].as_str().unwrap_or_default();
        assert!(hearth_catalog::image_tag(image).is_some_and(|t| t != "latest"), "{what} {key}: unpinned {image}");
        if let Some(mode) = s.get("network_mode") {
            assert!(s.get("ports").is_none(), "{what} {key}: `network_mode: {mode}` with ports");
            assert!(s.get("networks").is_none(), "{what} {key}: `network_mode: {mode}` with networks");
            assert!(s.get("hostname").is_none(), "{what} {key}: `network_mode: {mode}` with a hostname");
        } else {
            assert!(s["networks"].is_object(), "{what} {key}: no network");
        }
    }
}

#[test]
fn yaml_11_readers_see_strings_where_compose_wants_strings() {
    for (name, model) in common::examples() {
        let files = mine(&common::render(&model));
        let dir = common::write_tree(&files, &common::temp_dir(&format!("compose-yaml11-{name}")));
        for f in files.iter().filter(|f| f.kind == Kind::Compose) {
            let Some(doc) = yaml11(&on_disk(&dir, f)) else { return };
            let what = format!("{name} {}:{}", f.machine, f.path);
            assert!(doc["name"].is_string(), "{what}");
            for (key, s) in doc["services"].as_object().unwrap() {
                for p in s["ports"].as_array().into_iter().flatten() {
                    assert!(p.is_string(), "{what} {key}: port {p} is not a string");
                }
                for (var, v) in s["environment"].as_object().into_iter().flatten() {
                    assert!(v.is_string(), "{what} {key}: {var}={v} is not a string");
                }
                for (label, v) in s["labels"].as_object().unwrap() {
                    assert!(v.is_string(), "{what} {key}: label {label}={v} is not a string");
                }
                for t in s["healthcheck"]["test"].as_array().into_iter().flatten() {
                    assert!(t.is_string(), "{what} {key}: healthcheck {t}");
                }
            }
        }
    }
}

/// Secret values from a fake store, recognisable anywhere they leak.
struct Fake;

impl SecretValues for Fake {
    fn get(&self, reference: &str) -> Option<String> {
        Some(format!("LEAKED-{reference}"))
    }
}

#[test]
fn secrets_appear_only_in_their_own_0600_env_files() {
    for (name, model) in common::examples() {
        let files =
            hearth_render::render(&Context { model: &model, catalog: hearth_catalog::builtin(), secrets: Some(&Fake) });
        let files = mine(&files);
        for f in &files {
            let what = format!("{name} {}:{}", f.machine, f.path);
            if f.kind == Kind::EnvSecret {
                assert_eq!(f.mode, 0o600, "{what}");
                assert!(f.path.ends_with(".secrets.env"), "{what}");
                assert!(f.content.contains("LEAKED-"), "{what}: a secret env file without secrets");
                assert!(!f.content.contains("{{secret:"), "{what}: placeholder although values were given");
            } else {
                assert!(!f.content.contains("LEAKED-"), "{what}: secret value outside an env-secret file");
                assert!(!f.content.contains("${secret:"), "{what}: secret reference in a plain file");
            }
        }
        // Every `env_file:` names a file rendered beside the compose file, and every secret file
        // is referenced.
        for c in files.iter().filter(|f| f.kind == Kind::Compose) {
            let dir = c.path.trim_end_matches("compose.yaml");
            let referenced: Vec<&str> = c
                .content
                .lines()
                .filter(|l| l.trim_start().starts_with("- ") && l.trim_end().ends_with(".secrets.env"))
                .map(|l| l.trim_start().trim_start_matches("- "))
                .collect();
            for r in &referenced {
                let path = format!("{dir}{r}");
                assert!(
                    files.iter().any(|f| f.machine == c.machine && f.path == path && f.kind == Kind::EnvSecret),
                    "{name} {}: `env_file` {path} is not rendered",
                    c.machine
                );
            }
            let secret_files = files
                .iter()
                .filter(|f| f.machine == c.machine && f.kind == Kind::EnvSecret && f.path.starts_with(dir))
                .count();
            assert_eq!(secret_files, referenced.len(), "{name} {}:{}", c.machine, c.path);
        }
    }
}

/// A secret value with every character an env file treats specially.
struct Awkward;

const AWKWARD: &str = "a$b ${HOME} \"c\" 'd' \\e #f=g";

impl SecretValues for Awkward {
    fn get(&self, _reference: &str) -> Option<String> {
        Some(AWKWARD.to_string())
    }
}

#[test]
fn awkward_secret_values_reach_the_container_unchanged() {
    let Some(cmd) = compose() else { return };
    let (_, model) = common::examples().into_iter().find(|(n, _)| n == "minimal").expect("minimal example");
    let files = mine(&hearth_render::render(&Context {
        model: &model,
        catalog: hearth_catalog::builtin(),
        secrets: Some(&Awkward),
    }));
    let dir = common::write_tree(&files, &common::temp_dir("compose-awkward"));
    let stack = files.iter().find(|f| f.path.ends_with("/vaultwarden.secrets.env")).expect("vaultwarden secrets");
    let config = compose_config(&cmd, on_disk(&dir, stack).parent().unwrap());
    // `config` prints values ready to be read again, with `$` escaped as `$$`.
    let token = config["services"]["vaultwarden"]["environment"]["ADMIN_TOKEN"].as_str().unwrap().replace("$$", "$");
    assert_eq!(token, AWKWARD);
}

#[test]
fn via_joins_the_vpn_namespace_and_moves_its_ports_there() {
    let (_, model) = common::examples().into_iter().find(|(n, _)| n == "zfs-proxmox-media-cloud").expect("example");
    let files = mine(&common::render(&model));
    let dir = common::write_tree(&files, &common::temp_dir("compose-via"));
    let media = files.iter().find(|f| f.machine == "vm-media" && f.path.ends_with("/stacks/media/compose.yaml"));
    let vpn = files.iter().find(|f| f.machine == "vm-media" && f.path.ends_with("/stacks/vpn/compose.yaml"));
    let (Some(media), Some(vpn)) = (media, vpn) else { panic!("media and vpn stacks on vm-media") };
    let (Some(media), Some(vpn)) = (yaml11(&on_disk(&dir, media)), yaml11(&on_disk(&dir, vpn))) else { return };
    for client in ["prowlarr", "radarr", "sonarr"] {
        let s = &media["services"][client];
        // gluetun is in another stack, so the container is named rather than the service.
        assert_eq!(s["network_mode"], "container:gluetun", "{client}");
        assert!(s.get("ports").is_none() && s.get("hostname").is_none() && s.get("networks").is_none());
    }
    let ports: Vec<&str> =
        vpn["services"]["gluetun"]["ports"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for p in ["9696:9696/tcp", "7878:7878/tcp", "8989:8989/tcp"] {
        assert!(ports.contains(&p), "gluetun publishes {p}: {ports:?}");
    }
    assert_eq!(vpn["services"]["gluetun"]["cap_add"], serde_json::json!(["NET_ADMIN"]));
}

#[test]
fn companions_share_the_entry_volumes_and_the_stack_network() {
    let (_, model) = common::examples().into_iter().find(|(n, _)| n == "zfs-proxmox-media-cloud").expect("example");
    let files = mine(&common::render(&model));
    let apps = files.iter().find(|f| f.machine == "vm-apps" && f.path.ends_with("/stacks/apps/compose.yaml")).unwrap();
    let dir = common::write_tree(&files, &common::temp_dir("compose-companions"));
    let Some(doc) = yaml11(&on_disk(&dir, apps)) else { return };
    let ml = &doc["services"]["immich-machine-learning"];
    assert_eq!(ml["image"], "ghcr.io/immich-app/immich-machine-learning:v1.120.2");
    assert_eq!(ml["networks"], serde_json::json!(["hearth-apps"]));
    let server_cache = doc["services"]["immich"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v.as_str().is_some_and(|v| v.ends_with(":/cache")))
        .cloned();
    assert_eq!(ml["volumes"].as_array().and_then(|v| v.first()).cloned(), server_cache);
    assert_eq!(ml["labels"]["hearth.service"], "immich");
    assert_eq!(
        doc["services"]["immich"]["environment"]["IMMICH_MACHINE_LEARNING_URL"],
        "http://immich-machine-learning:3003"
    );
}

#[test]
fn uses_and_via_within_a_stack_become_depends_on_and_service_mode() {
    use hearth_model::model::Use;
    let (_, mut model) = common::examples().into_iter().find(|(n, _)| n == "zfs-proxmox-media-cloud").expect("example");
    // Put the VPN into the media stack and let sonarr use prowlarr: both edges now stay inside
    // one Compose project.
    model.services.get_mut("gluetun").unwrap().stack = "media".into();
    model.services.get_mut("sonarr").unwrap().uses.push(Use {
        service: "prowlarr".into(),
        kind: "http".into(),
        database: None,
        user: None,
        db: None,
        bucket: None,
        url: None,
    });
    // And limit it: no example sets `resources:`.
    model.services.get_mut("sonarr").unwrap().resources = Some(hearth_model::model::Resources {
        cpus: Some(1.5),
        memory: Some(hearth_spec::units::Size { bytes: 512 << 20, binary: true }),
    });
    let files = mine(&common::render(&model));
    let media =
        files.iter().find(|f| f.machine == "vm-media" && f.path.ends_with("/stacks/media/compose.yaml")).unwrap();
    assert!(!files.iter().any(|f| f.path.contains("/stacks/vpn/")), "the vpn stack is gone");
    let dir = common::write_tree(&files, &common::temp_dir("compose-depends"));
    let path = on_disk(&dir, media);
    if common::have("check-jsonschema") {
        common::run_ok(
            Command::new("check-jsonschema").arg("--schemafile").arg(common::schema(SCHEMA)).arg(&path),
            "check-jsonschema",
        );
    }
    if let Some(cmd) = compose() {
        let config = compose_config(&cmd, path.parent().unwrap());
        assert_eq!(config["services"]["sonarr"]["cpus"], 1.5);
        assert_eq!(config["services"]["sonarr"]["mem_limit"], "536870912");
    }
    let Some(doc) = yaml11(&path) else { return };
    let sonarr = &doc["services"]["sonarr"];
    assert_eq!(sonarr["network_mode"], "service:gluetun");
    assert_eq!((sonarr["cpus"].as_f64(), sonarr["mem_limit"].as_str()), (Some(1.5), Some("512m")));
    assert_eq!(
        sonarr["depends_on"],
        serde_json::json!({"gluetun": {"condition": "service_healthy"}, "prowlarr": {"condition": "service_healthy"}})
    );
    let ports = doc["services"]["gluetun"]["ports"].as_array().unwrap();
    assert!(ports.contains(&Value::from("8989:8989/tcp")), "{ports:?}");
}

fn snapshot_text(files: &[File]) -> String {
    files
        .iter()
        .map(|f| format!("=== {}:{} ({}, {:o}) ===\n{}", f.machine, f.path, f.kind.as_str(), f.mode, f.content))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn snapshots() {
    for (name, model) in common::examples() {
        if name == "minimal" || name == "zfs-proxmox-media-cloud" {
            insta::assert_snapshot!(format!("compose-{name}"), snapshot_text(&mine(&common::render(&model))));
        }
    }
}

/// Renders a spec written in the test.
fn render_spec(text: &str) -> Vec<File> {
    let loaded = hearth_spec::load_str("test.yaml", text);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    assert!(!a.diagnostics.iter().any(|d| d.is_error()), "{:?}", a.diagnostics);
    common::render(&a.model)
}

#[test]
fn spec_overrides_and_the_acme_token_reach_the_containers() {
    let files = render_spec(
        "
homelab: t
domain: example.com
networks: { lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1 } }
hosts: { pve: { proxmox: {}, address: 192.168.1.10, network: lan } }
guests: { docker: { vm: { on: pve }, network: lan, runtime: docker } }
secrets: { cf-token: { env: CF_TOKEN } }
ingress:
  proxy: traefik
  tls: { acme: { email: a@example.com, challenge: dns, provider: cloudflare, token: \"secret:cf-token\" } }
services:
  traefik: { app: traefik, on: docker, backup: false }
  app:
    image: ghcr.io/me/app:1.0
    on: docker
    stack: proxy
    ports: { http: 3000 }
    healthcheck: { tcp: http }
    after: [traefik]
    command: [serve, --verbose]
    cap_add: [SYS_PTRACE]
    compose: { stop_grace_period: 30s, restart: always }
",
    );
    let compose = files.iter().find(|f| f.kind == Kind::Compose).expect("a compose file");
    let y = &compose.content;
    assert!(y.contains("- serve\n") && y.contains("- \"--verbose\"\n"), "{y}");
    assert!(y.contains("- SYS_PTRACE"), "{y}");
    assert!(y.contains("stop_grace_period: 30s") && y.contains("restart: always"), "{y}");
    assert!(
        y.contains("container_name: app\n    hostname: app\n    restart: always\n"),
        "raw keys replace Hearth's: {y}"
    );
    assert!(y.contains("depends_on:\n      traefik:"), "{y}");
    // The DNS token is the proxy's environment, in its 0600 file and nowhere else.
    let secret = files
        .iter()
        .find(|f| f.kind == Kind::EnvSecret && f.content.contains("CF_DNS_API_TOKEN"))
        .expect("the token's secret file");
    assert_eq!(secret.mode, 0o600);
    assert!(secret.content.contains("{{env:CF_TOKEN}}"), "{}", secret.content);
    assert!(!y.contains("CF_DNS_API_TOKEN"), "{y}");
}
