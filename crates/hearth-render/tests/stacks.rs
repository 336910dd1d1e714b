//! Docker stacks that start (issue 9, defect 5): what a rendered stack needs on its machine beyond a
//! compose file that parses. Each test names the failure it guards against: an image reading a
//! config file Hearth did not mount, a non-root image writing to a root-owned folder, a Compose
//! that rejects the file, raw `compose:` keys that break the project. Compose files are loaded by
//! Docker Compose v2 (`docker compose config`) where it is installed.

mod common;

use std::path::Path;
use std::process::Command;

use hearth_render::{File, Kind};
use serde_json::Value;

/// Renders a spec written in the test.
fn render_spec(text: &str) -> Vec<File> {
    let loaded = hearth_spec::load_str("test.yaml", text);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    assert!(!a.diagnostics.iter().any(|d| d.is_error()), "{:?}", a.diagnostics);
    common::render(&a.model)
}

fn example(name: &str) -> hearth_model::Model {
    common::examples().into_iter().find(|(n, _)| n == name).map(|(_, m)| m).expect("example")
}

fn file<'a>(files: &'a [File], machine: &str, path: &str) -> &'a File {
    files
        .iter()
        .find(|f| f.machine == machine && f.path == path)
        .unwrap_or_else(|| panic!("{machine}:{path} is not rendered"))
}

/// `docker compose config` of the stack holding `compose`, as JSON; `None` without Compose v2.
fn compose_config(files: &[File], compose: &File, what: &str) -> Option<Value> {
    let have = Command::new("docker")
        .args(["compose", "version"])
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("v2."));
    if !have {
        common::unavailable("Docker Compose v2 is not installed");
        return None;
    }
    let dir = common::write_tree(files, &common::temp_dir(&format!("stacks-{what}")));
    let path = dir.join(&compose.machine).join(compose.path.trim_start_matches('/'));
    let out = Command::new("docker")
        .args(["compose", "config", "--format", "json"])
        .current_dir(path.parent().unwrap())
        .output()
        .expect("run docker compose");
    assert!(out.status.success(), "{what}: docker compose config failed:\n{}", String::from_utf8_lossy(&out.stderr));
    Some(serde_json::from_slice(&out.stdout).expect("JSON"))
}

const ONE_DOCKER_VM: &str = "
homelab: t
domain: example.com
networks: { lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1 } }
hosts: { pve: { proxmox: {}, address: 192.168.1.10, network: lan } }
guests: { docker: { vm: { on: pve }, network: lan, runtime: docker } }
";

#[test]
fn raw_compose_labels_merge_with_hearths() {
    let files = render_spec(&format!(
        "{ONE_DOCKER_VM}
services:
  app:
    image: ghcr.io/me/app:1.0
    on: docker
    ports: {{ http: 3000 }}
    healthcheck: {{ tcp: http }}
    compose: {{ labels: {{ com.example.team: web, hearth.service: spoofed }} }}
  other:
    image: ghcr.io/me/other:1.0
    on: docker
    ports: {{ http: 3001 }}
    healthcheck: {{ tcp: http }}
    compose: {{ labels: [\"com.example.list=yes\"] }}
"
    ));
    let compose = files.iter().find(|f| f.kind == Kind::Compose).expect("a compose file");
    let Some(config) = compose_config(&files, compose, "labels") else { return };
    let labels = &config["services"]["app"]["labels"];
    assert_eq!(labels["com.example.team"], "web", "{labels}");
    // Hearth's own labels identify the container to deploy and verify: the spec cannot move them.
    assert_eq!(labels["hearth.service"], "app", "{labels}");
    assert_eq!(labels["hearth.stack"], "apps", "{labels}");
    let labels = &config["services"]["other"]["labels"];
    assert_eq!(labels["com.example.list"], "yes", "{labels}");
    assert_eq!(labels["hearth.service"], "other", "{labels}");
}

#[test]
fn raw_compose_network_mode_replaces_hearths_network() {
    let files = render_spec(&format!(
        "{ONE_DOCKER_VM}
services:
  app:
    image: ghcr.io/me/app:1.0
    on: docker
    ports: {{ http: 3000 }}
    healthcheck: {{ tcp: http }}
    compose: {{ network_mode: host }}
"
    ));
    let compose = files.iter().find(|f| f.kind == Kind::Compose).expect("a compose file");
    let Some(config) = compose_config(&files, compose, "network-mode") else { return };
    let app = &config["services"]["app"];
    assert_eq!(app["network_mode"], "host", "{app}");
    assert!(app.get("networks").is_none() && app.get("ports").is_none() && app.get("hostname").is_none(), "{app}");
}

#[test]
fn loki_container_finds_its_config_where_its_image_looks() {
    // The image's command is `-config.file=/etc/loki/local-config.yaml`.
    let model = example("two-node-docker-pbs");
    let files = common::render(&model);
    let loki = &model.services["loki"];
    let config = loki.volumes.iter().find(|v| v.target == "/etc/loki").expect("loki's config volume");
    file(&files, "srv-1", &format!("{}/local-config.yaml", config.source));
}

#[test]
fn pelican_wings_paths_are_the_same_on_the_host_and_in_the_container() {
    // Wings hands these paths to the Docker engine for the game servers' own bind mounts.
    let model = example("zfs-proxmox-media-cloud");
    let wings = &model.services["wings"];
    for name in ["data", "tmp"] {
        let v = wings.volumes.iter().find(|v| v.name == name).expect("wings volume");
        assert_eq!(v.source, v.target, "wings volume {name}");
    }
}

/// The `d` lines of a machine's tmpfiles.d file: path -> (mode, user, group).
fn tmpfiles(files: &[File], machine: &str) -> Vec<(String, String, String, String)> {
    files
        .iter()
        .filter(|f| f.machine == machine && f.kind == Kind::Tmpfiles)
        .flat_map(|f| f.content.lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| l.starts_with("d "))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w[1].to_string(), w[2].to_string(), w[3].to_string(), w[4].to_string())
        })
        .collect()
}

#[test]
fn non_root_images_own_their_writable_bind_mounts() {
    for (name, model) in common::examples() {
        let files = common::render(&model);
        for (sname, s) in model.services.iter().filter(|(_, s)| s.form == hearth_spec::ast::Form::Docker) {
            let Some(user) = s.runs_as.as_deref() else { continue };
            let (uid, gid) = user.split_once(':').unwrap_or((user, user));
            for machine in s.machines() {
                if model.is_nixos(machine) {
                    continue;
                }
                let dirs = tmpfiles(&files, machine);
                for v in s.volumes.iter().filter(|v| v.stateful && !v.readonly && v.source.starts_with('/')) {
                    let line = dirs.iter().find(|d| d.0 == v.source);
                    let Some((_, _, u, g)) = line else {
                        panic!("{name}: {sname}'s {} ({}) is not made for user {user} on {machine}", v.name, v.source)
                    };
                    assert_eq!((u.as_str(), g.as_str()), (uid, gid), "{name}: {sname} {}", v.source);
                }
            }
        }
    }
    // The images the issue names are known to the catalog.
    let cat = hearth_catalog::builtin();
    for (app, uid) in [("prometheus", "65534"), ("grafana", "472"), ("loki", "10001")] {
        let user = cat.get(app).and_then(|a| a.image_user.clone()).unwrap_or_default();
        assert!(user == uid || user.starts_with(&format!("{uid}:")), "{app}: image user {user:?}");
    }
}

#[test]
fn docker_vms_get_compose_v2() {
    let mut checked = 0;
    for (name, model) in common::examples() {
        let files = common::render(&model);
        for (gname, g) in model.guests.iter().filter(|(_, g)| g.runtime == hearth_spec::ast::Runtime::Docker) {
            let Some(f) =
                files.iter().find(|f| f.kind == Kind::CloudInit && f.path.ends_with(&format!("-{gname}.yaml")))
            else {
                continue;
            };
            let what = format!("{name}: {gname} ({})", g.os);
            // Debian 12's `docker-compose` is Compose 1.29, which refuses the top-level `name:`.
            if g.os == "debian-12" {
                assert!(f.content.contains("Pin: release n=trixie"), "{what}: {}", f.content);
                assert!(f.content.contains("deb http://deb.debian.org/debian trixie main"), "{what}");
            }
            assert!(f.content.contains("  - docker-compose") || f.content.contains("docker-compose-v2"), "{what}");
            checked += 1;
        }
    }
    assert!(checked > 0);
}

#[test]
fn a_tunnel_container_reads_the_rendered_ingress() {
    // cloudflared looks for `config.yml` in `/etc/cloudflared` (among its default folders); with a
    // token it runs the tunnel the token names, with these ingress rules for a locally managed one.
    let model = example("two-node-docker-pbs");
    let files = common::render(&model);
    let tunnel = model.ingress.tunnel.as_deref().expect("a tunnel");
    let s = &model.services[tunnel];
    assert_eq!(s.form, hearth_spec::ast::Form::Docker);
    let config = files.iter().find(|f| f.kind == Kind::Cloudflared).expect("cloudflared config");
    let mount = s.volumes.iter().find(|v| v.target == "/etc/cloudflared").expect("the config folder is mounted");
    assert!(mount.readonly, "{mount:?}");
    assert_eq!(config.path, format!("{}/config.yml", mount.source));
    let compose = files
        .iter()
        .find(|f| {
            f.kind == Kind::Compose && f.machine == config.machine && f.content.contains(&format!("\n  {tunnel}:\n"))
        })
        .expect("the tunnel's stack");
    assert!(compose.content.contains(&format!("{}:/etc/cloudflared:ro", mount.source)), "{}", compose.content);
}

#[test]
fn https_upstreams_are_proxied_without_verifying_their_self_signed_certificate() {
    // Portainer answers on https://<address>:9443 with a self-signed certificate for no name.
    let base = example("zfs-proxmox-media-cloud");
    assert!(base.routes.iter().any(|r| r.upstreams.iter().any(|u| u.starts_with("https://"))));
    for (app, needle) in [
        ("traefik", "insecureSkipVerify: true"),
        ("caddy", "tls_insecure_skip_verify"),
        ("nginx", "proxy_ssl_verify off;"),
    ] {
        let mut m = base.clone();
        m.ingress.proxy_app = Some(app.into());
        let files = common::render(&m);
        let text: String = files
            .iter()
            .filter(|f| matches!(f.kind, Kind::TraefikDynamic | Kind::Caddyfile | Kind::Nginx))
            .map(|f| f.content.as_str())
            .collect();
        assert!(text.contains(needle), "{app}: no `{needle}`");
    }
    let files = common::render(&base);
    let dynamic =
        files.iter().find(|f| f.kind == Kind::TraefikDynamic && f.path.ends_with("/dynamic/hearth.yml")).unwrap();
    let portainer =
        dynamic.content.split("    portainer-local:\n      loadBalancer:").nth(1).expect("portainer service");
    let portainer: Vec<&str> = portainer.lines().take_while(|l| l.is_empty() || l.starts_with("      ")).collect();
    assert!(portainer.contains(&"        serversTransport: hearth-upstream-tls"), "{portainer:?}");
}

#[test]
fn portainer_probes_itself_with_a_tool_its_image_has() {
    // The plain image is built FROM scratch: no shell for CMD-SHELL, no wget or curl. Its
    // `-alpine` variant has busybox.
    let p = hearth_catalog::builtin().get("portainer").expect("portainer");
    assert!(p.image.ends_with("-alpine"), "{}", *p.image);
}

/// Secret values: awkward characters, different per secret.
struct Values;

impl hearth_render::SecretValues for Values {
    fn get(&self, reference: &str) -> Option<String> {
        Some(format!("p'w\"$\\ `{}` #x", reference.len()))
    }
}

#[test]
fn a_bouncers_key_is_generated_and_registered_on_its_crowdsec() {
    use hearth_render::SecretValues as _;
    let model = example("two-node-docker-pbs");
    let bouncer = &model.services["cf-bouncer"];
    let key = bouncer.env.get("LAPI_KEY").expect("LAPI_KEY");
    assert!(key.is_secret());
    let reference = key.to_string();
    let reference = reference.trim_start_matches("${").trim_end_matches('}').to_string();
    assert!(!model.external_secrets.iter().any(|s| reference.ends_with(&s.name)), "{reference} is generated");
    let files = hearth_render::render(&hearth_render::Context {
        model: &model,
        catalog: hearth_catalog::builtin(),
        secrets: Some(&Values),
    });
    let crowdsec = &model.services["crowdsec"];
    let script = file(&files, crowdsec.on.name(), "/etc/hearth/crowdsec/bouncers.sh");
    let env = file(&files, crowdsec.on.name(), "/etc/hearth/crowdsec/bouncers.env");
    assert_eq!(env.mode, 0o600);
    // Run it against a fake cscli that records its arguments.
    let dir = common::write_tree(&files, &common::temp_dir("stacks-crowdsec")).join(crowdsec.on.name());
    let log = dir.join("cscli.log");
    let fake = dir.join("cscli");
    std::fs::write(&fake, format!("#!/bin/sh\nprintf '%s\\n' \"$*\" >> {}\n", log.display())).unwrap();
    common::run_ok(Command::new("chmod").arg("+x").arg(&fake), "chmod");
    common::run_ok(
        Command::new("sh")
            .arg(dir.join("etc/hearth/crowdsec/bouncers.sh"))
            .env("HEARTH_CROWDSEC_DIR", dir.join("etc/hearth/crowdsec"))
            .env("HEARTH_CSCLI", &fake),
        &format!("bouncers.sh: {}", script.content),
    );
    let expected = Values.get(&reference).unwrap();
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(calls.contains(&format!("bouncers add cf-bouncer --key {expected}\n")), "{calls}");
}

#[test]
fn the_cloudflare_bouncer_gets_its_config_file_at_its_mount() {
    let model = example("two-node-docker-pbs");
    let files = common::render(&model);
    let b = &model.services["cf-bouncer"];
    let mount = b.volumes.iter().find(|v| v.name == "config").expect("config volume");
    assert_eq!(mount.target, "/etc/crowdsec/bouncers/crowdsec-cloudflare-bouncer.yaml");
    let f = file(&files, b.on.name(), &mount.source);
    assert_eq!(f.kind, Kind::CrowdsecBouncer);
    // Same Compose project as CrowdSec: the Local API by container name and container port.
    assert!(f.content.contains("crowdsec_lapi_url: \"http://crowdsec:8080/\"\n"), "{}", f.content);
    assert!(f.content.contains("crowdsec_lapi_key: ${LAPI_KEY}\n"), "{}", f.content);
    assert!(!f.content.contains("{{secret:"), "the file holds no secret");
    let dir = common::write_tree(&files, &common::temp_dir("stacks-bouncer"));
    let path = dir.join(&f.machine).join(f.path.trim_start_matches('/'));
    if common::have("python3") {
        common::run_ok(
            Command::new("python3").args(["-c", "import sys,yaml; yaml.safe_load(open(sys.argv[1]))"]).arg(&path),
            "the bouncer's config is YAML",
        );
    }
}

/// Runs `sh -c script` in the test image as `user` with `host` mounted at `target`.
fn run_as(user: &str, host: &Path, target: &str, script: &str) -> bool {
    Command::new("docker")
        .args(["run", "--rm", "--network", "none", "--user", user, "--entrypoint", "/bin/sh"])
        .arg("-v")
        .arg(format!("{}:{target}", host.display()))
        .args([TEST_IMAGE, "-c", script])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The image `crates/hearth/tests/cli/lab.rs` builds from the lab's Debian image (it has `sh`).
const TEST_IMAGE: &str = "hearth-lab/whoami:1";

#[test]
fn a_non_root_container_writes_to_the_data_folder_tmpfiles_made() {
    let have = Command::new("docker").args(["image", "inspect", TEST_IMAGE]).output().is_ok_and(|o| o.status.success());
    if !have || !common::have("systemd-tmpfiles") {
        eprintln!("skipping: no {TEST_IMAGE} image (the CLI lab test builds it) or no systemd-tmpfiles");
        return;
    }
    let dir = common::temp_dir("stacks-owner");
    let data = dir.join("data");
    let files = render_spec(&format!(
        "{ONE_DOCKER_VM}
services:
  app:
    image: {TEST_IMAGE}
    on: docker
    ports: {{ http: 8000 }}
    healthcheck: {{ tcp: http }}
    backup: false
    volumes: {{ data: {} }}
    compose: {{ user: \"65534:65534\" }}
",
        data.display()
    ));
    let tmpfiles = files.iter().find(|f| f.kind == Kind::Tmpfiles && f.machine == "docker").expect("tmpfiles.d");
    let conf = dir.join("hearth.conf");
    std::fs::write(&conf, &tmpfiles.content).unwrap();
    common::run_ok(Command::new("systemd-tmpfiles").arg("--create").arg(&conf), "systemd-tmpfiles --create");
    assert!(run_as("65534:65534", &data, "/data/data", "echo ok > /data/data/probe"), "65534 cannot write");
    // Without it Docker makes the folder, root's, and the same write fails.
    let missing = dir.join("made-by-docker");
    assert!(!run_as("65534:65534", &missing, "/data/data", "echo ok > /data/data/probe"), "the test proves nothing");
}

/// `ONE_DOCKER_VM` in block style, so a test can add keys to the guest.
const DOCKER_VM_BLOCK: &str = "
homelab: t
domain: example.com
networks: { lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1 } }
hosts: { pve: { proxmox: {}, address: 192.168.1.10, network: lan } }
guests:
  docker:
    vm: { on: pve }
    network: lan
    runtime: docker
";

/// The Docker fields of issue 13, each checked in what `docker compose config` makes of the
/// rendered stack: Compose must accept every key, and read it as Hearth meant.
#[test]
fn docker_fields_reach_compose_as_compose_reads_them() {
    let files = render_spec(&format!(
        "{DOCKER_VM_BLOCK}    docker:
      networks:
        iot: {{ subnet: 172.30.0.0/24 }}
        proxy: {{ external: true, name: traefik_proxy }}
services:
  mqtt:
    image: eclipse-mosquitto:2.0.18
    on: docker
    user: \"1883:1883\"
    ports: {{ mqtt: 1883, ws: {{ container: 9001, publish: false }} }}
    docker_networks: {{ iot: {{ address: 172.30.0.10, aliases: [broker] }} }}
    healthcheck: {{ tcp: mqtt }}
  app:
    image: ghcr.io/me/app:1.0
    on: docker
    ports: {{ http: 3000 }}
    healthcheck: {{ tcp: http }}
    env: {{ MQTT_URL: \"mqtt://{{{{ service.mqtt.address }}}}:{{{{ service.mqtt.port.mqtt }}}}\" }}
    docker_networks: {{ iot: {{}}, proxy: {{}} }}
    gpus: 2
    shm_size: 1GiB
    sysctls: {{ net.core.somaxconn: \"1024\" }}
    init: true
    group_add: [video, \"109\"]
  hass:
    image: ghcr.io/home-assistant/home-assistant:2024.6.0
    on: docker
    network_mode: host
    ports: {{ http: 8123 }}
    healthcheck: {{ tcp: http }}
"
    ));
    let compose = files.iter().find(|f| f.kind == Kind::Compose).expect("a compose file");
    // The static text holds what Compose would otherwise have to be trusted with.
    assert!(compose.content.contains("MQTT_URL: mqtt://192.168.1.2:1883"), "{}", compose.content);
    let Some(config) = compose_config(&files, compose, "docker-fields") else { return };
    let (mqtt, app, hass) = (&config["services"]["mqtt"], &config["services"]["app"], &config["services"]["hass"]);
    assert_eq!(mqtt["user"], "1883:1883");
    assert_eq!(mqtt["networks"]["iot"]["ipv4_address"], "172.30.0.10", "{mqtt}");
    assert_eq!(mqtt["networks"]["iot"]["aliases"][0], "broker", "{mqtt}");
    // Only the published port is on the machine; 9001 stays inside the stack.
    let published: Vec<&Value> = mqtt["ports"].as_array().expect("ports").iter().map(|p| &p["published"]).collect();
    assert_eq!(published, ["1883"], "{mqtt}");
    let device = &app["deploy"]["resources"]["reservations"]["devices"][0];
    assert_eq!((device["driver"].as_str(), device["count"].as_i64()), (Some("nvidia"), Some(2)), "{app}");
    assert_eq!(device["capabilities"][0], "gpu");
    assert_eq!(app["shm_size"], "1073741824", "{app}");
    assert_eq!(app["sysctls"]["net.core.somaxconn"], "1024", "{app}");
    assert_eq!(app["init"], true);
    assert_eq!(app["group_add"], serde_json::json!(["video", "109"]));
    assert!(app["networks"].get("proxy").is_some() && app["networks"].get("hearth-apps").is_some(), "{app}");
    assert_eq!(config["networks"]["proxy"]["external"], true, "{config}");
    assert_eq!(config["networks"]["proxy"]["name"], "traefik_proxy", "{config}");
    assert_eq!(config["networks"]["iot"]["ipam"]["config"][0]["subnet"], "172.30.0.0/24", "{config}");
    assert_eq!(hass["network_mode"], "host", "{hass}");
    assert!(hass.get("ports").is_none() && hass.get("networks").is_none(), "{hass}");
    // Home Assistant listens on the machine itself: `input` opens 8123, and the chain for
    // Docker's DNATed ports has no rule for it, while the published MQTT port keeps its rule.
    let nft = files.iter().find(|f| f.kind == Kind::Nftables && f.machine == "docker").expect("a ruleset");
    let forward = nft.content.split("chain forward").nth(1).expect("a forward chain");
    assert!(nft.content.contains("tcp dport 8123"), "{}", nft.content);
    assert!(!forward.contains("proto-dst 8123") && forward.contains("proto-dst 1883"), "{}", nft.content);
}

/// A service bound to one network publishes on each of its machines' address on that network:
/// the replica (`also_on`) on its own machine's, not on every interface.
#[test]
fn a_replica_publishes_on_its_own_address_on_the_service_network() {
    let files = render_spec(
        "
homelab: t
domain: example.com
networks:
  lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1 }
  apps: { cidr: 192.168.20.0/24, gateway: 192.168.20.1 }
hosts: { pve: { proxmox: {}, address: 192.168.1.10, network: lan } }
guests:
  d1: { vm: { on: pve }, network: lan, interfaces: [{ network: apps, address: 192.168.20.11 }], runtime: docker }
  d2: { vm: { on: pve }, network: lan, interfaces: [{ network: apps, address: 192.168.20.12 }], runtime: docker }
services:
  web:
    image: traefik/whoami:v1.10
    on: d1
    also_on: [d2]
    network: apps
    ports: { http: 8080 }
    healthcheck: { tcp: http }
",
    );
    for (machine, address) in [("d1", "192.168.20.11"), ("d2", "192.168.20.12")] {
        let compose = files.iter().find(|f| f.kind == Kind::Compose && f.machine == machine).expect("a stack");
        assert!(compose.content.contains(&format!("- \"{address}:8080:8080/tcp\"")), "{machine}: {}", compose.content);
        compose_config(&files, compose, &format!("replica-{machine}"));
    }
}

/// A machine's `docker:` block becomes `daemon.json` (restarting Docker on change) and a prune
/// timer, with sizes in Docker's binary units.
#[test]
fn docker_daemon_settings_and_prune_timer() {
    let files = render_spec(&format!(
        "{DOCKER_VM_BLOCK}    docker:
      storage_driver: overlay2
      log: {{ driver: json-file, max_size: 10MiB, max_files: 3 }}
      prune: {{ every: \"Sun 03:00\", all: true, volumes: true, older_than: 2d }}
"
    ));
    let daemon = file(&files, "docker", "/etc/docker/daemon.json");
    let json: Value = serde_json::from_str(&daemon.content).expect("daemon.json is JSON");
    assert_eq!(
        json,
        serde_json::json!({ "storage-driver": "overlay2", "log-driver": "json-file",
            "log-opts": { "max-size": "10m", "max-file": "3" } })
    );
    assert!(daemon.activation.contains(&hearth_render::Activation::Restart { unit: "docker.service".into() }));
    let unit = file(&files, "docker", "/etc/systemd/system/hearth-docker-prune.service");
    assert!(
        unit.content.contains("ExecStart=/usr/bin/docker system prune --force --all --volumes --filter=until=48h\n"),
        "{}",
        unit.content
    );
    let timer = file(&files, "docker", "/etc/systemd/system/hearth-docker-prune.timer");
    assert!(timer.content.contains("OnCalendar=Sun *-*-* 03:00:00\n"), "{}", timer.content);
}
