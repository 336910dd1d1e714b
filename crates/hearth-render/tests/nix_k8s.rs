//! NixOS and Kubernetes renderers: every example and the test models rendered, every `.nix`
//! file parsed by `nix-instantiate --parse`, every manifest validated by `kubernetes-validate
//! --strict`, snapshots of seed 000's flake and of a k3s model.

mod common;

use std::process::Command;

use hearth_render::{Activation, File, Kind};

/// A k3s cluster of two guests running seven services: exposed stateful apps, a stateless app
/// with secret environment and limits, a command probe, PostgreSQL and Redis in the cluster used
/// from inside it (`app`) and from a Docker guest (`semaphore`), declared volume paths and a
/// mount; a database on a guest used from the cluster.
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
  pg:
    app: postgresql
    on: k3s
    backup: false
  cache:
    app: redis
    on: k3s
    backup: false
  semaphore:
    app: semaphore
    on: edge
    uses: [pg]
    backup: false
  jellyfin:
    app: jellyfin
    on: k3s
    volumes: { config: /srv/jellyfin/config }
    mounts: { /media/movies: /srv/media/movies }
    expose: jellyfin
    backup: false
  app:
    image: ghcr.io/example/app:1.2.3
    on: k3s
    ports: { http: 3000 }
    uses: [pg, cache]
    volumes: { uploads: /srv/app/uploads }
    healthcheck: { http: { port: http, path: / } }
    backup: false
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

/// The k3s model with NFS shares served from the `db` guest: a job (`schedule:`) writing to one
/// share, a stateless viewer placed on the agent reading the other, and a worker allowed on both
/// nodes.
fn k3s_jobs_and_shares() -> hearth_model::Model {
    let text = K3S.replacen("ingress:\n", JOBS_AND_SHARES, 1);
    assert!(text.contains("photos-sync:"), "the spec changed shape");
    load("k3s-jobs-shares.yaml", &text)
}

/// What [`k3s_jobs_and_shares`] adds to [`K3S`], in front of its `ingress:`.
const JOBS_AND_SHARES: &str = r#"  nfs:
    app: nfs-server
    on: db
    form: native
    backup: false
  photos-sync:
    image: ghcr.io/example/sync:1.0.0
    on: k3s
    schedule: "Sun 03:30"
    command: [sync, --once]
    mounts: { /photos: share:photos }
    backup: false
  viewer:
    image: ghcr.io/example/viewer:2.0.0
    on: k3s
    nodes: [k3s-2]
    ports: { http: 8080 }
    mounts: { /media: share:media }
    expose: viewer
    backup: false
  worker:
    image: ghcr.io/example/worker:1.0.0
    on: k3s
    nodes: [k3s-1, k3s-2]
    backup: false
shares:
  media: { kind: nfs, server: nfs, path: /srv/media, readonly: true }
  photos: { kind: nfs, server: nfs, path: /srv/photos }
ingress:
"#;

/// Seed 000 with the "Scaling Services" step the example plans: `docker-host-2` made active and a
/// replica of `myapp` on it, so the nginx virtual host needs an `upstreams` block.
fn seed_000_scaled() -> hearth_model::Model {
    let path = common::repo().join("examples/nixos-proxmox-five-vms.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let planned = "    runtime: docker\n    status: planned\n";
    assert!(text.contains(planned), "the example changed shape");
    let text = text.replacen(planned, "    runtime: docker\n", 1).replacen(
        "    image: myapp:1.0.0\n",
        "    image: myapp:1.0.0\n    also_on: [docker-host-2]\n",
        1,
    );
    assert!(text.contains("also_on: [docker-host-2]\n"), "the example changed shape");
    // Upgrades too, and garbage collection with an age, so both NixOS options are parsed.
    let profile = "nixos: &server-profile { gc: weekly }";
    assert!(text.contains(profile), "the example changed shape");
    let text = text.replacen(
        profile,
        "nixos: &server-profile { gc: { every: weekly, older_than: 2w }, upgrade: { every: monthly, reboot: true } }",
        1,
    );
    load("seed-000-scaled.yaml", &text)
}

/// Seed 000 with route middleware on its nginx: the header preset and a rate limit on every
/// route, and myapp reached over HTTPS checked against a pinned CA under a name of its own.
fn seed_000_middleware() -> hearth_model::Model {
    let path = common::repo().join("examples/nixos-proxmox-five-vms.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let expose = "    expose: { name: myapp, port: http, access: public, auth: none }\n";
    assert!(text.contains(expose) && text.contains("\ningress:\n  proxy: nginx\n"), "the example changed shape");
    let text = text
        .replacen(
            expose,
            "    expose:\n      name: myapp\n      port: http\n      access: public\n      auth: none\n      \
             allow: [lan]\n      backend:\n        server_name: myapp.internal\n        ca: |\n          \
             -----BEGIN CERTIFICATE-----\n          MIIB\n          -----END CERTIFICATE-----\n",
            1,
        )
        .replacen(
            "\ningress:\n  proxy: nginx\n",
            "\ningress:\n  proxy: nginx\n  headers: secure\n  rate_limit: { rate: 30, per: 1m }\n",
            1,
        );
    load("seed-000-middleware.yaml", &text)
}

/// Every model these tests render: the examples, the scaled seed 000 and the k3s model.
fn models() -> Vec<(String, hearth_model::Model)> {
    let mut all = common::examples();
    all.push(("seed-000-scaled".into(), seed_000_scaled()));
    all.push(("seed-000-middleware".into(), seed_000_middleware()));
    all.push(("k3s".into(), load("k3s.yaml", K3S)));
    all.push(("k3s-jobs-shares".into(), k3s_jobs_and_shares()));
    all
}

fn ours(files: &[File]) -> Vec<&File> {
    files.iter().filter(|f| matches!(f.kind, Kind::Nixos | Kind::Kubernetes)).collect()
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
            common::run_ok(
                common::nix_instantiate(&dir.join("nix")).arg("--parse").arg(&path),
                &format!("{name}: {}", f.path),
            );
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
    assert_eq!(checked, 7 + 10, "the k3s model's seven services, and ten with jobs and shares");
}

/// A `hostPath` volume: its name, path and type.
type HostPath = (String, String, &'static str);

/// The manifests' structure, read back with a real YAML parser: a Service (NodePort when reached
/// from outside the cluster) and a Deployment, every object in `default`, no Ingress (the
/// homelab's proxy routes to the NodePorts), and every volume a `hostPath` at the model's path.
#[test]
fn manifest_structure() {
    if !common::have("python3") {
        return;
    }
    let model = load("k3s.yaml", K3S);
    let files = common::render(&model);
    let dir = common::temp_dir("nix-k8s-structure");
    let manifests = common::of_kind(&files, Kind::Kubernetes);
    let owned: Vec<File> = manifests.iter().map(|f| (*f).clone()).collect();
    common::write_tree(&owned, &dir);
    let script = r#"
import sys, json, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
name, service_type, secret = sys.argv[2], sys.argv[3], sys.argv[4]
volumes = json.loads(sys.argv[5])
assert [d["kind"] for d in docs] == ["Service", "Deployment"], [d["kind"] for d in docs]
assert all(d["metadata"]["namespace"] == "default" for d in docs)
svc, work = docs
assert svc["spec"]["type"] == service_type, svc["spec"]
assert all(("nodePort" in p) == (service_type == "NodePort") for p in svc["spec"]["ports"])
pod = work["spec"]["template"]["spec"]
c = pod["containers"][0]
assert ":" in c["image"] and not c["image"].endswith(":latest")
assert "readinessProbe" in c and "livenessProbe" in c
if secret == "secret":
    assert c["envFrom"] == [{"secretRef": {"name": "hearth-" + name}}], c.get("envFrom")
got = {v["name"]: v["hostPath"] for v in pod.get("volumes", [])}
assert got == volumes, (got, volumes)
assert "volumeClaimTemplates" not in work["spec"]
if volumes:
    assert pod["nodeSelector"] == {"kubernetes.io/hostname": "k3s-1"}
    assert work["spec"]["strategy"] == {"type": "Recreate"}
"#;
    let own = |svc: &str, vol: &str| (vol.to_string(), format!("/opt/hearth/{svc}/{vol}"), "DirectoryOrCreate");
    let cases: Vec<(&str, &str, &str, Vec<HostPath>)> = vec![
        ("n8n", "NodePort", "secret", vec![own("n8n", "data")]),
        ("uptime-kuma", "NodePort", "plain", vec![own("uptime-kuma", "data")]),
        ("whoami", "NodePort", "secret", vec![]),
        // Used from a Docker guest: reached at its NodePort.
        ("pg", "NodePort", "secret", vec![own("pg", "data")]),
        // Used only from inside the cluster.
        ("cache", "ClusterIP", "secret", vec![own("cache", "config"), own("cache", "data")]),
        (
            "jellyfin",
            "NodePort",
            "plain",
            vec![
                own("jellyfin", "cache"),
                ("config".into(), "/srv/jellyfin/config".into(), "DirectoryOrCreate"),
                own("jellyfin", "media"),
                // A mount is data brought in from elsewhere: it must exist, never be created empty.
                ("media-movies".into(), "/srv/media/movies".into(), "Directory"),
            ],
        ),
        ("app", "ClusterIP", "secret", vec![("uploads".into(), "/srv/app/uploads".into(), "DirectoryOrCreate")]),
    ];
    for (service, service_type, secret, volumes) in cases {
        let volumes: serde_json::Map<String, serde_json::Value> =
            volumes.into_iter().map(|(n, p, t)| (n, serde_json::json!({ "path": p, "type": t }))).collect();
        let path = dir.join(format!("k3s-1/var/lib/hearth/k8s/k3s/{service}.yaml"));
        common::run_ok(
            Command::new("python3").arg("-c").arg(script).arg(&path).args([
                service,
                service_type,
                secret,
                &serde_json::Value::Object(volumes).to_string(),
            ]),
            &format!("structure of {service}"),
        );
    }
}

/// Every file lands on a machine that exists (never on the cluster's name), and what the
/// cluster's services need is wired for where it runs: in-cluster consumers use the Service's
/// DNS name, consumers elsewhere a node's address and the NodePort; the proxy routes to the
/// NodePorts; PostgreSQL's init runs through `kubectl exec`; Redis's config lands on the node
/// its pod is pinned to, at the path its volume mounts.
#[test]
fn cluster_files_land_on_the_control_plane() {
    let model = load("k3s.yaml", K3S);
    let files = common::render(&model);
    for f in &files {
        assert!(
            model.guests.contains_key(&f.machine) || model.hosts.contains_key(&f.machine),
            "{}:{} is on no machine",
            f.machine,
            f.path
        );
    }
    let file = |machine: &str, path: &str| {
        files
            .iter()
            .find(|f| f.machine == machine && f.path == path)
            .unwrap_or_else(|| panic!("no {machine}:{path}"))
            .clone()
    };
    let env = file("k3s-1", "/var/lib/hearth/k8s/k3s/app.secrets.env").content;
    assert!(env.contains("@pg.default.svc.cluster.local:5432/app\n"), "{env}");
    assert!(env.contains("@cache.default.svc.cluster.local:6379/0\n"), "{env}");
    let pg_port = model.services["pg"].node_ports["postgres"];
    let compose = files.iter().find(|f| f.machine == "edge" && f.content.contains("SEMAPHORE_DB_HOST")).unwrap();
    assert!(compose.content.contains("SEMAPHORE_DB_HOST: \"192.168.10.5\"\n"), "{}", compose.content);
    assert!(compose.content.contains(&format!("SEMAPHORE_DB_PORT: \"{pg_port}\"")), "{}", compose.content);
    let apply = file("k3s-1", "/etc/hearth/postgres/apply.sh").content;
    assert!(apply.contains("/usr/local/bin/kubectl exec -i --namespace=default deployment/pg --"), "{apply}");
    assert!(!apply.contains("docker"), "{apply}");
    let redis = file("k3s-1", "/opt/hearth/cache/config/redis.conf");
    assert!(redis.activation.iter().all(|a| matches!(a, hearth_render::Activation::Run { argv } if argv.join(" ") == "/usr/local/bin/kubectl rollout restart --namespace default deployment/cache")), "{:?}", redis.activation);
    let kuma_port = model.services["uptime-kuma"].node_ports["http"];
    let traefik = file("edge", "/opt/hearth/traefik/config/dynamic/hearth.yml").content;
    assert!(traefik.contains(&format!("url: \"http://192.168.10.5:{kuma_port}\"")), "{traefik}");
    assert!(traefik.contains(&format!("url: \"http://192.168.10.6:{kuma_port}\"")), "{traefik}");
    for f in common::of_kind(&files, Kind::Kubernetes) {
        assert!(!f.content.contains("Ingress"), "{}: the homelab's proxy routes, not an Ingress", f.path);
    }
    // A backup of a cluster service runs on the node holding its hostPath folders, as units
    // that are still enabled there.
    let text = K3S.replacen("    on: k3s\n    backup: false\n", "    on: k3s\n    backup: nightly\n", 1)
        + "backups:\n  repositories: { usb: { restic: /mnt/usb/restic } }\n  policies: { nightly: { at: \"03:00\", to: [usb], keep: { daily: 7 } } }\n";
    let files = common::render(&load("k3s-backup.yaml", &text));
    let timer = files.iter().find(|f| f.path.ends_with("/hearth-backup-pg.timer")).expect("a backup timer for pg");
    assert_eq!(timer.machine, "k3s-1");
    let script = files.iter().find(|f| f.machine == "k3s-1" && f.path == "/etc/hearth/backup/pg.sh").unwrap();
    assert!(
        script.content.contains("/usr/local/bin/kubectl exec --namespace=default deployment/pg -- pg_dump "),
        "{}",
        script.content
    );
    assert!(!script.content.contains("docker exec"), "{}", script.content);
    assert!(
        matches!(&timer.activation[..], [hearth_render::Activation::Unit { start: true, .. }]),
        "{:?}",
        timer.activation
    );
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
    // postgresqlBackup at 02:00 into /mnt/backup/postgresql: the folder repository's job.
    assert!(db.contains("startAt = \"*-*-* 02:00:00\";"), "{db}");
    assert!(db.contains("copy_to /mnt/backup/postgresql 7 || failed=1"), "{db}");
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
    assert!(db.content.contains("-C / -- var/lib/redis-redis || return 1"), "{}", db.content);
}

/// A cluster whose server runs NixOS still gets its manifests and their Secret files: the flake
/// supersedes the other renderers' service files there, not what `kubectl` applies.
#[test]
fn nixos_cluster_servers_keep_their_manifests() {
    let text = K3S.replacen(
        "  k3s-1:\n    vm: { on: pve, storage: local-lvm }\n    os: debian-12\n",
        "  k3s-1:\n    vm: { on: pve, storage: local-lvm }\n    os: nixos\n",
        1,
    );
    assert!(text.contains("os: nixos"), "the spec changed shape");
    let files = common::render(&load("k3s-nixos.yaml", &text));
    let on = |path: &str| files.iter().any(|f| f.machine == "k3s-1" && f.path == path);
    assert!(on("/var/lib/hearth/k8s/k3s/whoami.yaml"));
    assert!(on("/var/lib/hearth/k8s/k3s/whoami.secrets.env"));
}

#[test]
fn middleware_reaches_the_flake() {
    let files = common::render(&seed_000_middleware());
    let nix: String = ours(&files).iter().map(|f| f.content.as_str()).collect();
    for needle in [
        "limit_req_zone $binary_remote_addr zone=hearth_rate_limit:10m rate=30r/m;",
        "limit_req zone=hearth_rate_limit burst=30 nodelay;",
        "add_header X-Content-Type-Options \"nosniff\" always;",
        "allow 192.168.1.0/24;",
        "proxy_ssl_verify on;",
        "proxy_ssl_trusted_certificate /etc/hearth/ca/myapp-example-com.pem;",
        "proxy_ssl_name myapp.internal;",
        "-----BEGIN CERTIFICATE-----",
    ] {
        assert!(nix.contains(needle), "the flake lacks `{needle}`");
    }
}

/// `traefik: false` on a k3s cluster: a k3s config drop-in on each server (not on agents, which
/// deploy no add-ons) disabling the bundled Traefik, read back as YAML; k3s's default renders none.
#[test]
fn k3s_bundled_traefik_is_disabled_by_a_drop_in() {
    const DROP_IN: &str = "/etc/rancher/k3s/config.yaml.d/hearth.yaml";
    let files = common::render(&load("k3s.yaml", K3S));
    assert!(!files.iter().any(|f| f.path == DROP_IN), "k3s's defaults need no drop-in");
    let text = K3S.replacen("    agents: [k3s-2]\n", "    agents: [k3s-2]\n    traefik: false\n", 1);
    assert!(text.contains("traefik: false"), "the spec changed shape");
    let files = common::render(&load("k3s-no-traefik.yaml", &text));
    let drop_ins: Vec<&File> = files.iter().filter(|f| f.path == DROP_IN).collect();
    assert_eq!(drop_ins.iter().map(|f| f.machine.as_str()).collect::<Vec<_>>(), ["k3s-1"]);
    let f = drop_ins[0];
    assert_eq!(f.kind, Kind::K3sConfig);
    assert_eq!(f.activation, [Activation::Restart { unit: "k3s.service".into() }]);
    if !common::have("python3") {
        common::unavailable("python3 (to read the drop-in as YAML)");
        return;
    }
    let dir = common::write_tree(&files, &common::temp_dir("k3s-drop-in"));
    let path = dir.join("k3s-1").join(DROP_IN.trim_start_matches('/'));
    let read = common::run_ok(
        Command::new("python3")
            .args(["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"])
            .arg(&path),
        "the drop-in is YAML",
    );
    assert_eq!(read.trim(), r#"{"disable": ["traefik"]}"#);
}

/// Seed 000's deploy (`--target-host admin@… --use-remote-sudo`) and its server profile: every
/// configuration declares the admin account with sudo, `nix.gc` and, in the scaled variant,
/// `system.autoUpgrade` from the guest's own flake attribute.
#[test]
fn nixos_admin_gc_and_upgrades() {
    let example = common::examples().into_iter().find(|(n, _)| n == "nixos-proxmox-five-vms").unwrap().1;
    for (model, upgrades) in [(example, false), (seed_000_scaled(), true)] {
        let files = common::render(&model);
        let config = files
            .iter()
            .find(|f| f.machine == "monitoring" && f.path == "/etc/nixos/hosts/monitoring-server/configuration.nix")
            .expect("monitoring-server's configuration");
        let c = &config.content;
        assert!(c.contains("users.users.admin = {") && c.contains("\"wheel\""), "{c}");
        assert!(c.contains("security.sudo.wheelNeedsPassword = false;"), "{c}");
        assert!(c.contains("nix.gc = {") && c.contains("automatic = true;"), "{c}");
        assert_eq!(c.contains("options = \"--delete-older-than 14d\";"), upgrades, "{c}");
        assert_eq!(c.contains("flake = \"/etc/nixos#monitoring-server\";"), upgrades, "{c}");
        assert_eq!(c.contains("allowReboot = true;"), upgrades, "{c}");
    }
}

/// Jobs, NFS volumes and placement, read back with a real YAML parser: the job is a CronJob in
/// cron syntax and the homelab's timezone, never overlapping, with no Service; every share
/// mount is an `nfs` volume at the server's address with the share's `readOnly`; `nodes:` is a
/// `nodeSelector` for one node and a node affinity for several. The export and the server's
/// firewall admit the nodes the pods may run on, and those nodes get `nfs-common`.
#[test]
fn jobs_shares_and_placement() {
    let model = k3s_jobs_and_shares();
    let db = model.guests["db"].address.unwrap().to_string();
    let files = common::render(&model);
    let manifests = common::of_kind(&files, Kind::Kubernetes);
    insta::assert_snapshot!(
        "nix-k8s-k3s-jobs-shares",
        dump(
            &manifests
                .iter()
                .copied()
                .filter(|f| ["photos-sync", "viewer", "worker"].iter().any(|s| f.path.ends_with(&format!("/{s}.yaml"))))
                .collect::<Vec<_>>()
        )
    );
    let nodes: Vec<String> = ["k3s-1", "k3s-2"].iter().map(|g| model.guests[*g].address.unwrap().to_string()).collect();
    let exports = files.iter().find(|f| f.kind == Kind::NfsExports).expect("the NFS server's exports");
    for line in ["/srv/media", "/srv/photos"] {
        let export =
            exports.content.lines().find(|l| l.starts_with(line)).unwrap_or_else(|| panic!("{}", exports.content));
        // The viewer runs only on k3s-2; the job anywhere.
        let want: &[&String] = if line == "/srv/media" { &[&nodes[1]] } else { &[&nodes[0], &nodes[1]] };
        for n in &nodes {
            assert_eq!(export.contains(&format!("{n}(")), want.contains(&n), "{export}");
        }
    }
    let firewall = files.iter().find(|f| f.machine == "db" && f.kind == Kind::Nftables).expect("db's ruleset");
    let nfs =
        firewall.content.lines().find(|l| l.contains("dport 2049")).unwrap_or_else(|| panic!("{}", firewall.content));
    assert!(nodes.iter().all(|n| nfs.contains(n.as_str())), "{nfs}");
    for node in ["k3s-1", "k3s-2"] {
        let p = files.iter().find(|f| f.machine == node && f.kind == Kind::Packages).expect("packages");
        assert!(p.content.lines().any(|l| l == "nfs-common"), "{node}: {}", p.content);
    }
    if !common::have("python3") {
        common::unavailable("python3 (to read the manifests as YAML)");
        return;
    }
    let dir = common::temp_dir("nix-k8s-jobs-shares");
    common::write_tree(&manifests.iter().map(|f| (*f).clone()).collect::<Vec<_>>(), &dir);
    let script = r#"
import sys, yaml
dir, db = sys.argv[1], sys.argv[2]
def docs(name):
    return [d for d in yaml.safe_load_all(open(f"{dir}/k3s-1/var/lib/hearth/k8s/k3s/{name}.yaml")) if d]
job, = docs("photos-sync")
assert job["kind"] == "CronJob" and job["apiVersion"] == "batch/v1", job
s = job["spec"]
assert s["schedule"] == "30 3 * * 0" and s["timeZone"] == "Europe/Berlin", s
assert s["concurrencyPolicy"] == "Forbid"
assert s["successfulJobsHistoryLimit"] == 3 and s["failedJobsHistoryLimit"] == 1
pod = s["jobTemplate"]["spec"]["template"]["spec"]
assert pod["restartPolicy"] == "OnFailure"
assert pod["volumes"] == [{"name": "photos", "nfs": {"server": db, "path": "/srv/photos", "readOnly": False}}], pod["volumes"]
assert "nodeSelector" not in pod and "affinity" not in pod, pod
c = pod["containers"][0]
assert c["volumeMounts"] == [{"name": "photos", "mountPath": "/photos"}], c
assert "readinessProbe" not in c and "livenessProbe" not in c
svc, dep = docs("viewer")
assert svc["kind"] == "Service" and dep["kind"] == "Deployment"
pod = dep["spec"]["template"]["spec"]
assert pod["nodeSelector"] == {"kubernetes.io/hostname": "k3s-2"}, pod
assert pod["volumes"] == [{"name": "media", "nfs": {"server": db, "path": "/srv/media", "readOnly": True}}]
assert pod["containers"][0]["volumeMounts"] == [{"name": "media", "mountPath": "/media", "readOnly": True}]
assert "strategy" not in dep["spec"], "no hostPath: rolling updates"
dep, = docs("worker")
terms = dep["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
assert terms == [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["k3s-1", "k3s-2"]}]}], terms
"#;
    common::run_ok(Command::new("python3").arg("-c").arg(script).arg(&dir).arg(&db), "jobs, shares and placement");
}
