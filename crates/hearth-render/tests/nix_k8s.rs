//! NixOS and Kubernetes renderers: every example and the test models rendered, every `.nix`
//! file parsed by `nix-instantiate --parse`, every manifest validated by `kubernetes-validate
//! --strict`, snapshots of seed 000's flake and of a k3s model.

mod common;

use std::process::Command;

use hearth_render::{File, Kind};

/// A k3s cluster of two guests running three services, with a database on a guest, an exposed
/// stateful app, a stateless app with secret environment and limits, and a command probe.
const K3S: &str = r#"
homelab: k3s-lab
domain: example.com
timezone: Europe/Berlin
networks:
  lan: { cidr: 192.168.10.0/24, gateway: 192.168.10.1 }
hosts:
  pve:
    address: 192.168.10.2
    network: lan
    proxmox: { node: pve, api: "https://192.168.10.2:8006" }
    storage:
      local-lvm: { kind: lvm-thin, size: 1TB }
guests:
  k3s-1:
    vm: { on: pve, storage: local-lvm }
    os: debian-12
    network: lan
    size: { cores: 4, memory: 8GiB, disk: 64GiB }
  k3s-2:
    vm: { on: pve, storage: local-lvm }
    os: debian-12
    network: lan
    size: { cores: 4, memory: 8GiB, disk: 64GiB }
  edge:
    lxc: { on: pve, storage: local-lvm }
    os: debian-12
    network: lan
    runtime: docker
    size: { cores: 1, memory: 1GiB, disk: 8GiB }
  db:
    vm: { on: pve, storage: local-lvm }
    os: debian-12
    network: lan
    size: { cores: 2, memory: 4GiB, disk: 32GiB }
clusters:
  k3s:
    kind: k3s
    servers: [k3s-1]
    agents: [k3s-2]
services:
  postgres:
    app: postgresql
    on: db
    form: native
  traefik:
    app: traefik
    on: edge
  n8n:
    app: n8n
    on: k3s
    uses: [postgres]
    expose: { name: n8n, access: internal }
  uptime-kuma:
    app: uptime-kuma
    on: k3s
    expose: status
  whoami:
    image: traefik/whoami:v1.10.3
    on: k3s
    ports: { http: 8080 }
    env: { WHOAMI_PORT_NUMBER: "8080", API_KEY: "secret:whoami-key" }
    healthcheck: { http: { port: http, path: /health } }
    resources: { cpus: 0.5, memory: 64MiB }
    expose: whoami
ingress:
  proxy: traefik
  tls: { acme: { email: admin@example.com, challenge: http } }
secrets:
  whoami-key: { env: WHOAMI_KEY }
"#;

fn load(name: &str, text: &str) -> hearth_model::Model {
    let loaded = hearth_spec::load_str(name, text);
    assert!(!loaded.has_errors(), "{name} does not load: {:?}", loaded.diagnostics);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    let errors: Vec<_> = a.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{name} has errors: {errors:?}");
    a.model
}

/// Seed 000 with the "Scaling Services" step the example leaves out: `docker-host-2` and a
/// replica of `myapp`, so the nginx virtual host needs an `upstreams` block.
fn seed_000_scaled() -> hearth_model::Model {
    let path = common::repo().join("examples/nixos-proxmox-five-vms.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let text = text
        .replacen(
            "  database-server:\n",
            "  docker-host-2:\n    vm: { on: pve, storage: local-lvm }\n    os: nixos\n    network: lan\n    address: 192.168.1.105\n    size: { cores: 4, memory: 4GB, disk: 64GB }\n    runtime: docker\n  database-server:\n",
            1,
        )
        .replacen("    image: myapp:1.0.0\n", "    image: myapp:1.0.0\n    also_on: [docker-host-2]\n", 1);
    assert!(text.contains("also_on: [docker-host-2]\n"), "the example changed shape");
    load("seed-000-scaled.yaml", &text)
}

/// Every model these tests render: the examples, the scaled seed 000 and the k3s model.
fn models() -> Vec<(String, hearth_model::Model)> {
    let mut all = common::examples();
    all.push(("seed-000-scaled".into(), seed_000_scaled()));
    all.push(("k3s".into(), load("k3s.yaml", K3S)));
    all
}

fn ours(files: &[File]) -> Vec<&File> {
    files.iter().filter(|f| matches!(f.kind, Kind::Nixos | Kind::Kubernetes)).collect()
}

/// `nix-instantiate` with its state, store and log folders in a temporary folder, so parsing
/// touches nothing under `/nix`.
fn nix_instantiate(state: &std::path::Path) -> Command {
    let mut cmd = Command::new("nix-instantiate");
    cmd.env("NIX_STATE_DIR", state.join("state"))
        .env("NIX_STORE_DIR", state.join("store"))
        .env("NIX_LOG_DIR", state.join("log"))
        .args(["--option", "build-users-group", ""]);
    cmd
}

#[test]
fn nix_files_parse() {
    if !common::have("nix-instantiate") {
        return;
    }
    let mut checked = 0;
    for (name, model) in models() {
        let files = common::render(&model);
        let nix = common::of_kind(&files, Kind::Nixos);
        if nix.is_empty() {
            continue;
        }
        let dir = common::temp_dir(&format!("nix-k8s-nix-{name}"));
        let owned: Vec<File> = nix.iter().map(|f| (*f).clone()).collect();
        common::write_tree(&owned, &dir.join("tree"));
        for f in nix {
            let path = dir.join("tree").join(&f.machine).join(f.path.trim_start_matches('/'));
            common::run_ok(nix_instantiate(&dir.join("nix")).arg("--parse").arg(&path), &format!("{name}: {}", f.path));
            checked += 1;
        }
    }
    // Seed 000: six guests each carrying the flake and six configurations (five, plus
    // docker-host-2 in the scaled variant).
    assert!(checked >= 5 * 6 + 6 * 7, "only {checked} .nix files parsed");
}

#[test]
fn manifests_validate() {
    if !common::have("kubernetes-validate") {
        return;
    }
    let mut checked = 0;
    for (name, model) in models() {
        let files = common::render(&model);
        let manifests = common::of_kind(&files, Kind::Kubernetes);
        if manifests.is_empty() {
            continue;
        }
        let dir = common::temp_dir(&format!("nix-k8s-k8s-{name}"));
        let owned: Vec<File> = manifests.iter().map(|f| (*f).clone()).collect();
        common::write_tree(&owned, &dir);
        for f in manifests {
            let path = dir.join(&f.machine).join(f.path.trim_start_matches('/'));
            common::run_ok(
                Command::new("kubernetes-validate").args(["--strict", "--quiet", "-k", "1.31.0"]).arg(&path),
                &format!("{name}: {}", f.path),
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 3, "the k3s model's three services");
}

/// The manifests' structure, read back with a real YAML parser.
#[test]
fn manifest_structure() {
    if !common::have("python3") {
        return;
    }
    let files = common::render(&load("k3s.yaml", K3S));
    let dir = common::temp_dir("nix-k8s-structure");
    let manifests = common::of_kind(&files, Kind::Kubernetes);
    let owned: Vec<File> = manifests.iter().map(|f| (*f).clone()).collect();
    common::write_tree(&owned, &dir);
    let script = r#"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = [d["kind"] for d in docs]
name = sys.argv[2]
assert kinds[0] == "Service" and kinds[-1] == "Ingress", kinds
work = docs[1]
assert work["kind"] == sys.argv[3], work["kind"]
c = work["spec"]["template"]["spec"]["containers"][0]
assert ":" in c["image"] and not c["image"].endswith(":latest")
assert "readinessProbe" in c and "livenessProbe" in c
if sys.argv[4] == "secret":
    assert c["envFrom"] == [{"secretRef": {"name": "hearth-" + name}}], c.get("envFrom")
ing = docs[-1]
assert ing["spec"]["ingressClassName"] == "traefik"
assert ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == name
"#;
    for (service, kind, secret) in
        [("n8n", "StatefulSet", "secret"), ("uptime-kuma", "StatefulSet", "plain"), ("whoami", "Deployment", "secret")]
    {
        let path = dir.join(format!("k3s-1/var/lib/hearth/k8s/k3s/{service}.yaml"));
        common::run_ok(
            Command::new("python3").arg("-c").arg(script).arg(&path).args([service, kind, secret]),
            &format!("structure of {service}"),
        );
    }
}

#[test]
fn secrets_stay_out() {
    for (name, model) in models() {
        let files = common::render(&model);
        for f in ours(&files) {
            assert!(!f.content.contains("${secret:"), "{name}: {} holds a secret reference", f.path);
            assert!(!f.content.contains("{{secret:"), "{name}: {} holds a secret placeholder", f.path);
        }
        for f in files.iter().filter(|f| f.kind == Kind::EnvSecret) {
            assert_eq!(f.mode, 0o600);
        }
    }
}

#[test]
fn seed_000_nixos_shape() {
    let model = common::examples().into_iter().find(|(n, _)| n == "nixos-proxmox-five-vms").unwrap().1;
    let files = common::render(&model);
    let nix = common::of_kind(&files, Kind::Nixos);
    // Guest names and their hostnames: the configurations are named after the hostnames.
    let guests = [
        ("database-server", "database-server"),
        ("docker-host", "docker-host"),
        ("monitoring", "monitoring-server"),
        ("storage-server", "storage-server"),
        ("web-server", "web-server"),
    ];
    for (g, _) in guests {
        let on: Vec<&str> = nix.iter().filter(|f| f.machine == g).map(|f| f.path.as_str()).collect();
        assert!(on.contains(&"/etc/nixos/flake.nix"), "{g}: {on:?}");
        for (_, other) in guests {
            assert!(on.contains(&format!("/etc/nixos/hosts/{other}/configuration.nix").as_str()), "{g}: {on:?}");
        }
    }
    let flake = &nix.iter().find(|f| f.path == "/etc/nixos/flake.nix").unwrap().content;
    assert!(flake.contains("inputs.nixpkgs.url = \"github:NixOS/nixpkgs/nixos-24.11\";"));
    for (_, h) in guests {
        assert!(flake.contains(&format!("modules = [ ./hosts/{h}/configuration.nix ];")), "{flake}");
    }
    let config = |g: &str| {
        let h = guests.iter().find(|(n, _)| *n == g).unwrap().1;
        nix.iter()
            .find(|f| f.machine == g && f.path == format!("/etc/nixos/hosts/{h}/configuration.nix"))
            .unwrap()
            .content
            .clone()
    };
    let db = config("database-server");
    assert!(db.contains("package = pkgs.postgresql_16;"), "{db}");
    assert!(db.contains("host myapp myapp 192.168.1.101/32 scram-sha-256"), "{db}");
    assert!(db.contains("requirePassFile = \"/etc/hearth/nixos/redis-password\";"), "{db}");
    assert!(db.contains("ip saddr { 192.168.1.101 } tcp dport 5432 accept"), "{db}");
    assert!(db.contains("OnCalendar = \"*-*-* 02:00:00\";"), "{db}");
    let web = config("web-server");
    assert!(web.contains("\"myapp.example.com\" = {\n        enableACME = true;\n        forceSSL = true;"), "{web}");
    assert!(web.contains("allowedTCPPorts = [ 22 80 443 ];"), "{web}");
    let mon = config("monitoring");
    assert!(mon.contains("hostName = \"monitoring-server\""), "{mon}");
    assert!(mon.contains("job_name = \"node\";"), "{mon}");
    assert!(mon.contains("alert: \"ServerDown\""), "{mon}");
    let docker = config("docker-host");
    assert!(docker.contains("virtualisation.oci-containers.containers"), "{docker}");
    assert!(docker.contains("environmentFiles = [ \"/etc/hearth/nixos/ci-runner.env\" ];"), "{docker}");
    // The secret files the configurations name exist, as 0600 files on the right machine.
    for (machine, path) in [
        ("database-server", "/etc/hearth/nixos/redis-password"),
        ("docker-host", "/etc/hearth/nixos/ci-runner.env"),
        ("docker-host", "/etc/hearth/nixos/myapp.env"),
    ] {
        let f = files.iter().find(|f| f.machine == machine && f.path == path);
        assert!(f.is_some_and(|f| f.kind == Kind::EnvSecret && f.mode == 0o600), "{machine}:{path}");
    }
}

#[test]
fn scaled_seed_000_has_an_upstream() {
    let files = common::render(&seed_000_scaled());
    let web = files
        .iter()
        .find(|f| f.machine == "web-server" && f.path == "/etc/nixos/hosts/web-server/configuration.nix")
        .unwrap();
    assert!(web.content.contains("upstreams = {"), "{}", web.content);
    assert!(web.content.contains("\"192.168.1.101:3000\" = { };"), "{}", web.content);
    assert!(web.content.contains("\"192.168.1.105:3000\" = { };"), "{}", web.content);
    assert!(web.content.contains("proxyPass = \"http://myapp-example-com\";"), "{}", web.content);
}

/// Files of our kinds as one text: machine, path and content of each.
fn dump(files: &[&File]) -> String {
    let mut s = String::new();
    for f in files {
        s.push_str(&format!("=== {}:{} ({})\n{}\n", f.machine, f.path, f.kind.as_str(), f.content));
    }
    s
}

#[test]
fn snapshot_seed_000_nixos() {
    let model = common::examples().into_iter().find(|(n, _)| n == "nixos-proxmox-five-vms").unwrap().1;
    let files = common::render(&model);
    // One machine's copy: every guest carries the same flake.
    let nix: Vec<&File> =
        common::of_kind(&files, Kind::Nixos).into_iter().filter(|f| f.machine == "web-server").collect();
    insta::assert_snapshot!("nix-k8s-nixos-proxmox-five-vms", dump(&nix));
}

#[test]
fn snapshot_k3s_kubernetes() {
    let files = common::render(&load("k3s.yaml", K3S));
    insta::assert_snapshot!("nix-k8s-k3s", dump(&common::of_kind(&files, Kind::Kubernetes)));
}

/// The flake's attributes and host folders are the guests' hostnames, which is what
/// `nixos-rebuild switch --flake /etc/nixos` picks on each machine and what the seed deploys
/// (`.#monitoring-server` for the guest `monitoring`); each guest's rebuild names its own.
#[test]
fn flake_attributes_are_hostnames() {
    let model = common::examples().into_iter().find(|(n, _)| n == "nixos-proxmox-five-vms").unwrap().1;
    let files = common::render(&model);
    let flake = files.iter().find(|f| f.machine == "monitoring" && f.path == "/etc/nixos/flake.nix").unwrap();
    assert!(flake.content.contains("      monitoring-server = nixpkgs.lib.nixosSystem {"), "{}", flake.content);
    assert!(flake.content.contains("modules = [ ./hosts/monitoring-server/configuration.nix ];"), "{}", flake.content);
    assert!(!flake.content.contains("      monitoring = "), "{}", flake.content);
    assert!(
        files
            .iter()
            .any(|f| f.machine == "web-server" && f.path == "/etc/nixos/hosts/monitoring-server/configuration.nix"),
        "the configuration's folder is the hostname"
    );
    let hearth_render::Activation::Run { argv } = &flake.activation[0] else { panic!("{:?}", flake.activation) };
    assert_eq!(argv.last().unwrap(), "/etc/nixos#monitoring-server");
}

/// NixOS's `services.redis.servers.<name>` keeps its data in `/var/lib/redis-<name>`, so that
/// is what the backup saves; `/var/lib/redis` is the Debian package's folder.
#[test]
fn nixos_native_data_paths_are_nixos_paths() {
    let model = common::examples().into_iter().find(|(n, _)| n == "nixos-proxmox-five-vms").unwrap().1;
    let job = model.backups.jobs.iter().find(|j| j.service == "redis").unwrap();
    assert_eq!(job.paths, vec!["/var/lib/redis-redis".to_string()]);
    let files = common::render(&model);
    let db = files
        .iter()
        .find(|f| f.machine == "database-server" && f.path == "/etc/nixos/hosts/database-server/configuration.nix")
        .unwrap();
    assert!(db.content.contains("paths = [ \"/var/lib/redis-redis\" ];"), "{}", db.content);
}
