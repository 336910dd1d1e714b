//! The catalog's homelab apps in one stack, wired to the data tier as a homelab wires them:
//! the spec checks clean, Docker Compose v2 loads the rendered project, each app's health probe is
//! the one its image can run (the catalog comments say which tools each image has, from its
//! Dockerfile), database passwords stay in the secret env file, and the MariaDB consumers get their
//! databases and users. The apps Debian 12 packages also run natively from its archive.

mod common;

use std::process::Command;

use hearth_model::model::Engine;
use hearth_render::{File, Kind};
use serde_json::Value;

const SPEC: &str = "
homelab: t
domain: example.com
networks: { lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1 } }
hosts: { pve: { proxmox: {}, address: 192.168.1.10, network: lan } }
guests:
  docker: { vm: { on: pve }, network: lan, runtime: docker }
services:
  mariadb: { app: mariadb, on: docker }
  postgres: { app: postgresql, on: docker }
  redis: { app: redis, on: docker }
  gitea: { app: gitea, on: docker, uses: [postgres, redis], ports: { ssh: 2222 } }
  paperless: { app: paperless-ngx, on: docker, uses: [mariadb, redis] }
  npm: { app: nginx-proxy-manager, on: docker, uses: [mariadb], ports: { http: 8081, https: 8444 } }
  syncthing: { app: syncthing, on: docker }
  jellyseerr: { app: jellyseerr, on: docker }
  ollama: { app: ollama, on: docker }
  open-webui: { app: open-webui, on: docker, uses: [postgres], ports: { http: 3001 } }
  searxng: { app: searxng, on: docker, uses: [redis], ports: { http: 8082 } }
  changedetection: { app: changedetection, on: docker, ports: { http: 5001 } }
  pihole: { app: pihole, on: docker }
  frigate: { app: frigate, on: docker }
  apt-cacher-ng: { app: apt-cacher-ng, on: docker }
  wg-easy: { app: wg-easy, on: docker }
  bind9: { app: bind9, on: docker, ports: { dns: 5353 } }
  homarr: { app: homarr, on: docker }
  forgejo: { app: forgejo, on: docker, uses: [postgres], ports: { http: 3002, ssh: 2223 } }
  guacamole: { app: guacamole, on: docker, uses: [postgres], ports: { http: 8083 } }
  kopia: { app: kopia, on: docker }
  borgmatic: { app: borgmatic, on: docker }
  teleport: { app: teleport, on: docker }
  wazuh: { app: wazuh-manager, on: docker }
  freeradius: { app: freeradius, on: docker }
  mosquitto: { app: mosquitto, on: docker }
  zigbee2mqtt: { app: zigbee2mqtt, on: docker, uses: [mosquitto], ports: { http: 8084 } }
  node-red: { app: node-red, on: docker, uses: [mosquitto] }
  mealie: { app: mealie, on: docker, uses: [postgres], ports: { http: 9002 } }
";

/// The health probe `docker compose config` reports for `service`, as one string.
fn probe(config: &Value, service: &str) -> String {
    let test = &config["services"][service]["healthcheck"]["test"];
    test.as_array()
        .unwrap_or_else(|| panic!("{service} has no healthcheck: {}", config["services"][service]))
        .iter()
        .map(|v| v.as_str().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ")
}

fn check(config: &Value, service: &str, expected: &str) {
    let got = probe(config, service);
    assert!(got.contains(expected), "{service}: probe `{got}` lacks `{expected}`");
}

#[test]
fn homelab_apps_render_to_a_project_compose_loads() {
    let loaded = hearth_spec::load_str("apps.yaml", SPEC);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    let errors: Vec<_> = a.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let model = a.model;
    let mysql: Vec<_> = model.databases.iter().filter(|d| d.engine == Engine::Mysql).map(|d| d.name.as_str()).collect();
    assert_eq!(mysql, ["paperless", "npm"], "MariaDB's consumers get a database each");
    let postgres: Vec<_> =
        model.databases.iter().filter(|d| d.engine == Engine::Postgres).map(|d| d.name.as_str()).collect();
    assert_eq!(
        postgres,
        ["gitea", "open_webui", "forgejo", "guacamole", "mealie"],
        "PostgreSQL's consumers get a database each"
    );
    let files = common::render(&model);
    assert!(files.iter().any(|f| f.path == "/etc/hearth/mysql/init.sql"), "MariaDB's init is rendered");
    let compose: Vec<&File> = files.iter().filter(|f| f.kind == Kind::Compose).collect();
    for f in &compose {
        assert!(!f.content.contains("PASSWORD: ") && !f.content.contains("DBPASS: "), "a password in {}", f.path);
    }
    let have_compose = Command::new("docker")
        .args(["compose", "version"])
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("v2."));
    if !have_compose {
        common::unavailable("Docker Compose v2 is not installed");
        return;
    }
    // One project per stack (the catalog category): every project loaded, their services in one map.
    let dir = common::write_tree(&files, &common::temp_dir("catalog-apps"));
    let mut services = serde_json::Map::new();
    for f in &compose {
        let path = dir.join(&f.machine).join(f.path.trim_start_matches('/'));
        let out = Command::new("docker")
            .args(["compose", "config", "--format", "json"])
            .current_dir(path.parent().unwrap())
            .output()
            .expect("run docker compose");
        assert!(
            out.status.success(),
            "{}: docker compose config failed:\n{}",
            f.path,
            String::from_utf8_lossy(&out.stderr)
        );
        let project: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        services.extend(project["services"].as_object().expect("services").clone());
    }
    let config = serde_json::json!({ "services": services });
    // HTTP probes run `wget || curl`: each of these images has one of them.
    for (service, port_path) in [
        ("gitea", "127.0.0.1:3000/api/healthz"),
        ("paperless", "127.0.0.1:8000/"),
        ("syncthing", "127.0.0.1:8384/rest/noauth/health"),
        ("jellyseerr", "127.0.0.1:5055/api/v1/status"),
        ("open-webui", "127.0.0.1:8080/health"),
        ("searxng", "127.0.0.1:8080/healthz"),
        ("frigate", "127.0.0.1:5000/api/version"),
        ("apt-cacher-ng", "127.0.0.1:3142/acng-report.html"),
        ("homarr", "127.0.0.1:7575/"),
        ("forgejo", "127.0.0.1:3000/api/healthz"),
        ("guacamole", "127.0.0.1:8080/"),
        ("zigbee2mqtt", "127.0.0.1:8080/"),
        ("node-red", "127.0.0.1:1880/"),
    ] {
        check(&config, service, &format!("wget -q -O /dev/null 'http://{port_path}'"));
    }
    // Images with neither: bash's /dev/tcp, the image's own script, dig, Python.
    check(&config, "ollama", "exec 3<>/dev/tcp/127.0.0.1/11434");
    check(&config, "bind9", "nc -z 127.0.0.1 53");
    check(&config, "npm", "CMD /usr/bin/check-health");
    check(&config, "pihole", "CMD dig +short +norecurse +retry=0 @127.0.0.1 pi.hole");
    check(&config, "changedetection", "CMD python3 -c import urllib.request");
    check(&config, "wg-easy", "CMD /bin/sh -c wg show | grep -q interface");
    // Kopia's pages all need its login and Wazuh's image has bash but no nc: a TCP connection.
    check(&config, "kopia", "exec 3<>/dev/tcp/127.0.0.1/51515");
    check(&config, "wazuh", "exec 3<>/dev/tcp/127.0.0.1/1514");
    // The apps' own commands: borgmatic's validation, Teleport's readiness (a distroless image),
    // FreeRADIUS's Status-Server over RADIUS, guacd's connection test.
    check(&config, "borgmatic", "grep -q . && borgmatic config validate -c /etc/borgmatic.d");
    check(&config, "teleport", "CMD /usr/local/bin/teleport debug readyz -c /etc/teleport/teleport.yaml");
    check(&config, "freeradius", "radclient -q -r 1 -t 3 127.0.0.1:1812 status testing123");
    check(&config, "guacamole-guacd", "CMD nc -z 127.0.0.1 4822");
    // Mosquitto's own client subscribes (the broker acknowledges only when it serves MQTT), and
    // Mealie's image has neither wget nor curl: its own Python health script.
    check(&config, "mosquitto", "CMD mosquitto_sub -h 127.0.0.1 -p 1883 -t hearth/healthcheck -E -W 5");
    check(&config, "mealie", "CMD python -m mealie.scripts.healthcheck");
    // Mosquitto 2 serves only loopback without a listener: it starts from one it writes, and
    // Zigbee2MQTT finds it at its published port.
    let broker = config["services"]["mosquitto"]["command"].to_string();
    assert!(broker.contains("listener 1883") && broker.contains("exec mosquitto -c /tmp/mosquitto.conf"), "{broker}");
    let z2m = &config["services"]["zigbee2mqtt"]["environment"];
    let server = z2m["ZIGBEE2MQTT_CONFIG_MQTT_SERVER"].as_str().unwrap_or_default();
    assert!(server.starts_with("mqtt://192.168.1.") && server.ends_with(":1883"), "{z2m}");
    // Guacamole's web application finds guacd by its container name in the stack.
    let guac = &config["services"]["guacamole"]["environment"];
    assert_eq!(guac["GUACD_HOSTNAME"], "guacamole-guacd", "{guac}");
    // guacd keeps to its own environment: none of the web application's database settings.
    let guacd = &config["services"]["guacamole-guacd"];
    assert!(guacd["environment"].get("POSTGRESQL_USERNAME").is_none(), "{guacd}");
    let leaked = files.iter().any(|f| f.path.contains("guacamole-guacd") && f.content.contains("POSTGRESQL_PASSWORD"));
    assert!(!leaked, "guacd holds Guacamole's database password");
    // What the catalog asks of the container beyond its image: forwarding for the VPN, shared
    // memory for the video frames.
    let wg = &config["services"]["wg-easy"];
    assert_eq!(wg["sysctls"]["net.ipv4.ip_forward"], "1", "{wg}");
    assert_eq!(config["services"]["frigate"]["shm_size"], "268435456", "{}", config["services"]["frigate"]);
    // Ports a machine's own services hold stay free: Git over SSH on the host port the spec gave.
    let ssh = &config["services"]["gitea"]["ports"];
    assert!(ssh.to_string().contains("\"published\":\"2222\"") && ssh.to_string().contains("\"target\":22"), "{ssh}");
}

/// The apps with a Debian 12 package run natively from it: the machine's package list names
/// Debian's `freeradius` and `borgmatic` (which pulls `borgbackup`), both from Debian's archive.
#[test]
fn debian_packages_run_the_native_forms() {
    let spec = "
homelab: t
networks: { lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1 } }
hosts: { pve: { proxmox: {}, address: 192.168.1.10, network: lan } }
guests:
  radius: { lxc: { on: pve }, network: lan, runtime: native }
services:
  freeradius: { app: freeradius, on: radius, form: native, backup: false }
  borgmatic: { app: borgmatic, on: radius, form: native, backup: false }
";
    let loaded = hearth_spec::load_str("native.yaml", spec);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    let errors: Vec<_> = a.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let files = common::render(&a.model);
    let list = files
        .iter()
        .find(|f| f.machine == "radius" && f.path == "/etc/hearth/packages.list")
        .unwrap_or_else(|| panic!("no package list: {:?}", files.iter().map(|f| &f.path).collect::<Vec<_>>()));
    let packages: Vec<&str> = list.content.lines().filter(|l| !l.starts_with('#')).collect();
    for p in ["freeradius", "borgmatic"] {
        assert!(packages.iter().any(|l| l.split_whitespace().next() == Some(p)), "{p} in:\n{}", list.content);
    }
}
