//! The reverse-proxy renderers (Traefik, Caddy, NGINX), checked by the upstream tools:
//! check-jsonschema against SchemaStore's Traefik v3 schemas, `caddy validate`, `nginx -t`.
//!
//! Besides the examples (Traefik, Caddy and NGINX between them), every proxy renders the route
//! sets of several examples: the model's `ingress.proxy_app` is switched to each app, so all
//! three renderers meet SSO (authentik and Authelia), basic auth, replicas, internal and ACME
//! HTTP/DNS certificates, plain HTTP, path prefixes and replicas on real routes, and the route
//! middleware (allow-lists, headers, rate limits, basic-auth users, HTTPS upstreams unchecked or
//! checked against a pinned CA).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use hearth_model::Model;
use hearth_model::model::{Backend, RateLimit, Tls};
use hearth_spec::units::Duration;

/// bcrypt of `hearth`, as `caddy hash-password` prints it.
const TEST_HASH: &str = "$2a$14$Zkx19XLiW6VYouLHR5NmfOFU0z2GTNmpkT/5qqR7hx4IjWJPDhjvG";

/// A self-signed CA certificate (its key thrown away) for the pinned-CA cases.
const TEST_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBiTCCAS+gAwIBAgIUa8kOcm2sXruoVUgOAjW+LL+fEZcwCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOaGVhcnRoLXRlc3QtY2EwIBcNMjYxMTI5MTE1MjQ4WhgPMjEy
NjExMDUxMTUyNDhaMBkxFzAVBgNVBAMMDmhlYXJ0aC10ZXN0LWNhMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAEO3k6AsbmBM7LDyA6Tg28Z8bO/TxqHKkI9C+a/daN
uV7PFXxg8pk7Xw8zN2gehW0fG2uCg2XneEPeLM8Vu1vvSqNTMFEwHQYDVR0OBBYE
FHUtGbWO5e91rKbn9Ln0px4qiupIMB8GA1UdIwQYMBaAFHUtGbWO5e91rKbn9Ln0
px4qiupIMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgIEfMGgRG
WEOXUWMHxnTxihH9Oovz4y6ZNPX2Q/EaV6oCIQDuXMCa9x0CE7ugIZ9Scr0L0+yG
DWfgtTJRdKnG0XeBgw==
-----END CERTIFICATE-----";
use hearth_render::{File, Kind};

const KINDS: [Kind; 4] = [Kind::TraefikStatic, Kind::TraefikDynamic, Kind::Caddyfile, Kind::Nginx];
const APPS: [&str; 3] = ["traefik", "caddy", "nginx"];

fn proxy_files(files: &[File]) -> Vec<&File> {
    files.iter().filter(|f| KINDS.contains(&f.kind)).collect()
}

/// The examples as they are, plus their route sets behind each proxy app and a few variants.
fn cases() -> Vec<(String, Model)> {
    // Seed 000's guests run NixOS, whose flake configures nginx itself (tests/nix_k8s.rs checks
    // that); its routes are still a good test set for the three proxies, so here its guests are
    // treated as Debian.
    let examples: Vec<(String, Model)> = common::examples()
        .into_iter()
        .map(|(n, mut m)| {
            if n == "nixos-proxmox-five-vms" {
                for g in m.guests.values_mut() {
                    g.os = "debian-12".into();
                }
            }
            (n, m)
        })
        .collect();
    let mut cases: Vec<(String, Model)> = examples.clone();
    let get = |name: &str| examples.iter().find(|(n, _)| n == name).map(|(_, m)| m.clone()).expect(name);
    for base in
        ["ryzen-tiered-lxc-platform", "two-node-docker-pbs", "zfs-proxmox-media-cloud", "nixos-proxmox-five-vms"]
    {
        for app in APPS {
            let mut m = get(base);
            m.ingress.proxy_app = Some(app.into());
            cases.push((format!("{base}@{app}"), m));
        }
    }
    for app in APPS {
        let mut m = get("minimal");
        m.ingress.proxy_app = Some(app.into());
        m.ingress.tls = Tls::None;
        cases.push((format!("minimal@{app}-plain-http"), m));

        let mut m = get("zfs-proxmox-media-cloud");
        m.ingress.proxy_app = Some(app.into());
        m.ingress.sso_app = Some("authelia".into());
        cases.push((format!("zfs-proxmox-media-cloud@{app}-authelia"), m));

        // Seed 000's "Scaling Services" step: `also_on: [docker-host-2]` gives myapp a second
        // upstream (the example declares docker-host-2 planned, so the upstream is added here).
        let mut m = get("nixos-proxmox-five-vms");
        m.ingress.proxy_app = Some(app.into());
        for r in m.routes.iter_mut().filter(|r| r.service == "myapp") {
            r.upstreams.push("http://192.168.1.105:3000".into());
        }
        cases.push((format!("nixos-proxmox-five-vms@{app}-replicas"), m));

        // An upstream checked against a pinned CA under a name of its own, and a rate given per
        // minute that NGINX has to round.
        let mut m = get("two-node-docker-pbs");
        m.ingress.proxy_app = Some(app.into());
        for r in m.routes.iter_mut().filter(|r| r.service == "pbs") {
            r.middleware.backend = Some(Backend {
                https: true,
                verify: true,
                ca: Some(TEST_CA.into()),
                server_name: Some("pbs.example.com".into()),
            });
        }
        for r in m.routes.iter_mut().filter(|r| r.service == "vaultwarden") {
            r.middleware.rate_limit = Some(RateLimit { rate: 50, per: Duration::parse("7s").unwrap(), burst: 10 });
        }
        cases.push((format!("two-node-docker-pbs@{app}-pinned-ca"), m));

        let mut m = get("ryzen-tiered-lxc-platform");
        m.ingress.proxy_app = Some(app.into());
        m.ingress.sso = None;
        m.ingress.sso_app = None;
        cases.push((format!("ryzen-tiered-lxc-platform@{app}-no-sso"), m));
    }
    cases
}

#[test]
fn each_case_renders_exactly_the_chosen_proxy() {
    for (name, model) in cases() {
        let files = common::render(&model);
        let kinds: BTreeSet<Kind> = proxy_files(&files).iter().map(|f| f.kind).collect();
        let expected: BTreeSet<Kind> = match model.ingress.proxy_app.as_deref() {
            Some("traefik") => [Kind::TraefikStatic, Kind::TraefikDynamic].into(),
            Some("caddy") => [Kind::Caddyfile].into(),
            Some("nginx") => [Kind::Nginx].into(),
            _ => BTreeSet::new(),
        };
        assert_eq!(kinds, expected, "{name}");
        let proxy = model.ingress.proxy.as_deref().expect("a proxy");
        let machine = model.services[proxy].on.name();
        for f in proxy_files(&files) {
            assert_eq!(f.machine, machine, "{name}: {} is not on the proxy's machine", f.path);
            assert!(f.sources.contains("ingress"), "{name}: {}", f.path);
        }
    }
}

#[test]
fn secrets_stay_in_env_secret_files() {
    for (name, model) in cases() {
        let files = common::render(&model);
        for f in proxy_files(&files) {
            assert!(!f.content.contains("{{secret:"), "{name}: {} holds a secret", f.path);
            assert!(!f.content.contains("${secret:"), "{name}: {} holds a secret", f.path);
        }
        for f in files.iter().filter(|f| f.kind == Kind::EnvSecret) {
            assert_eq!(f.mode, 0o600, "{name}: {}", f.path);
        }
    }
}

/// YAML files converted to JSON beside them (`<file>.json`); the conversion is the YAML check.
fn yaml_to_json(paths: &[PathBuf]) -> Vec<PathBuf> {
    let script = "import json, sys, yaml\nfor p in sys.argv[1:]:\n    with open(p) as f:\n        doc = yaml.safe_load(f)\n    with open(p + '.json', 'w') as f:\n        json.dump(doc, f)\n";
    common::run_ok(Command::new("python3").arg("-c").arg(script).args(paths), "YAML -> JSON");
    paths.iter().map(|p| PathBuf::from(format!("{}.json", p.display()))).collect()
}

fn dest(dir: &Path, f: &File) -> PathBuf {
    dir.join(&f.machine).join(f.path.trim_start_matches('/'))
}

#[test]
fn traefik_files_match_the_schemas() {
    if !common::have("check-jsonschema") || !common::have("python3") {
        return;
    }
    let mut checked = 0;
    for (name, model) in cases() {
        let files = common::render(&model);
        if common::of_kind(&files, Kind::TraefikStatic).is_empty() {
            continue;
        }
        let dir = common::temp_dir(&format!("proxy-traefik-{name}"));
        common::write_tree(&files, &dir);
        for (kind, schema) in [
            (Kind::TraefikStatic, "traefik/traefik-v3.json"),
            (Kind::TraefikDynamic, "traefik/traefik-v3-file-provider.json"),
        ] {
            let paths: Vec<PathBuf> = common::of_kind(&files, kind).iter().map(|f| dest(&dir, f)).collect();
            if paths.is_empty() {
                continue;
            }
            let json = yaml_to_json(&paths);
            common::run_ok(
                Command::new("check-jsonschema").arg("--schemafile").arg(common::schema(schema)).args(&json),
                &format!("{name}: check-jsonschema {schema}"),
            );
            if kind == Kind::TraefikDynamic {
                let compose: Vec<PathBuf> =
                    common::of_kind(&files, Kind::Compose).iter().map(|f| dest(&dir, f)).collect();
                let labelled = label_routers(&yaml_to_json(&compose));
                for j in &json {
                    dynamic_is_consistent(&name, &model, j, &labelled);
                }
            }
            checked += paths.len();
        }
    }
    eprintln!("check-jsonschema: {checked} Traefik files valid");
    assert!(checked > 0);
}

/// The routers that compose files carry as Traefik labels (`ingress.discover.docker`), as the
/// file provider would state them: `{rule, service, middlewares}` with the `@file` suffixes
/// dropped, since they must name what the file provider defines.
fn label_routers(compose: &[PathBuf]) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    for path in compose {
        let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for svc in doc["services"].as_object().into_iter().flat_map(|m| m.values()) {
            for (k, v) in svc["labels"].as_object().into_iter().flatten() {
                let Some(rest) = k.strip_prefix("traefik.http.routers.") else { continue };
                let Some((router, field)) = rest.split_once('.') else { continue };
                let v = v.as_str().unwrap();
                let entry = out.entry(router.to_string()).or_insert_with(|| serde_json::json!({}));
                let file = |n: &str| {
                    n.strip_suffix("@file").unwrap_or_else(|| panic!("{router}: {n} is not @file")).to_string()
                };
                match field {
                    "rule" => entry["rule"] = v.into(),
                    "service" => entry["service"] = file(v).into(),
                    "middlewares" => entry["middlewares"] = v.split(',').map(file).collect::<Vec<_>>().into(),
                    _ => {}
                }
            }
        }
    }
    out
}

/// What the schema cannot see: every router's service and middlewares exist, and every exposed
/// name has a router (in the file, or as labels on a discovered container).
fn dynamic_is_consistent(
    name: &str,
    model: &Model,
    json: &Path,
    labelled: &serde_json::Map<String, serde_json::Value>,
) {
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    let http = &doc["http"];
    let mut routers = http["routers"].as_object().cloned().unwrap_or_default();
    routers.extend(labelled.clone());
    assert!(!routers.is_empty(), "{name}: no routers");
    let mut hosts = BTreeSet::new();
    for (r, router) in &routers {
        let service = router["service"].as_str().unwrap();
        assert!(http["services"].get(service).is_some(), "{name}: router {r} -> missing service {service}");
        for m in router["middlewares"].as_array().into_iter().flatten() {
            let m = m.as_str().unwrap();
            assert!(http["middlewares"].get(m).is_some(), "{name}: router {r} -> missing middleware {m}");
        }
        let rule = router["rule"].as_str().unwrap();
        let host = rule.strip_prefix("Host(`").and_then(|s| s.split('`').next()).unwrap();
        hosts.insert(host.to_string());
    }
    let fqdns: BTreeSet<String> = model.routes.iter().map(|r| r.fqdn.clone()).collect();
    assert_eq!(hosts, fqdns, "{name}");
}

#[test]
fn caddyfiles_validate() {
    if !common::have("caddy") {
        return;
    }
    let mut checked = 0;
    for (name, model) in cases() {
        let files = common::render(&model);
        let caddyfiles = common::of_kind(&files, Kind::Caddyfile);
        if caddyfiles.is_empty() {
            continue;
        }
        let dir = common::temp_dir(&format!("proxy-caddy-{name}"));
        common::write_tree(&files, &dir);
        for f in caddyfiles {
            // Debian's Caddy has no DNS-provider modules: the test copy drops `acme_dns`, the
            // rendered file keeps it.
            let copy = dir.join("Caddyfile.test");
            // Files the Caddyfile reads (the users file, pinned CAs) are read from the written
            // tree instead of their place on the machine.
            let text: String = f
                .content
                .lines()
                .filter(|l| !l.trim_start().starts_with("acme_dns "))
                .map(|l| {
                    let t = l.trim_start();
                    match t.split_whitespace().collect::<Vec<_>>().as_slice() {
                        ["import" | "tls_trusted_ca_certs", p] if p.starts_with('/') => {
                            let moved = dir.join(&f.machine).join(p.trim_start_matches('/'));
                            // The rendered file of that name (a container sees it under its
                            // volume's path), where the users file holds stand-in hashes for
                            // the placeholders it has without secrets.
                            let name = p.rsplit('/').next().unwrap_or(p);
                            let read = files
                                .iter()
                                .find(|r| r.machine == f.machine && r.path.rsplit('/').next() == Some(name))
                                .expect("the file the Caddyfile reads is rendered");
                            let content = if read.kind == Kind::EnvSecret {
                                read.content
                                    .lines()
                                    .map(|u| format!("{} {TEST_HASH}\n", u.split(' ').next().unwrap_or("admin")))
                                    .collect()
                            } else {
                                read.content.clone()
                            };
                            std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
                            std::fs::write(&moved, content).unwrap();
                            format!("{}\n", l.replacen(p, &moved.display().to_string(), 1))
                        }
                        _ => format!("{l}\n"),
                    }
                })
                .collect();
            std::fs::write(&copy, text).unwrap();
            let home = dir.join("home");
            std::fs::create_dir_all(&home).unwrap();
            common::run_ok(
                Command::new("caddy")
                    .args(["validate", "--adapter", "caddyfile", "--config"])
                    .arg(&copy)
                    .env("HOME", &home)
                    .env("XDG_DATA_HOME", home.join("data"))
                    .env("XDG_CONFIG_HOME", home.join("config"))
                    .env("HEARTH_BASIC_AUTH_USER", "admin")
                    .env("HEARTH_BASIC_AUTH_HASH", TEST_HASH)
                    .env("ACME_DNS_TOKEN", "test"),
                &format!("{name}: caddy validate {}", f.path),
            );
            checked += 1;
        }
    }
    eprintln!("caddy validate: {checked} Caddyfiles valid");
    assert!(checked > 0);
}

/// A self-signed certificate and key for the paths the NGINX configuration references.
fn test_cert(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("test.crt"), dir.join("test.key"));
    common::run_ok(
        Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=hearth.test",
                "-keyout",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&cert),
        "openssl req",
    );
    (cert, key)
}

#[test]
fn nginx_configs_pass_nginx_t() {
    if !common::have("nginx") || !common::have("openssl") {
        return;
    }
    let mut checked = 0;
    let base = common::temp_dir("proxy-nginx-certs");
    let (cert, key) = test_cert(&base);
    for (name, model) in cases() {
        let files = common::render(&model);
        let confs = common::of_kind(&files, Kind::Nginx);
        if confs.is_empty() {
            continue;
        }
        let prefix = common::temp_dir(&format!("proxy-nginx-{name}"));
        for f in confs {
            // The test copy: every file path the configuration reads moved under the prefix, with
            // a certificate, key, users file or folder there. The rendered file is unchanged.
            let mut copy = String::new();
            for line in f.content.lines() {
                let t = line.trim_start();
                let directive = t.split_whitespace().next().unwrap_or("");
                let arg = t.split_whitespace().nth(1).map(|a| a.trim_end_matches(';'));
                match (directive, arg) {
                    // A pinned CA, rendered at its place on the machine (a container sees it
                    // under its volume's path); the system's roots are read where they are.
                    ("proxy_ssl_trusted_certificate", Some(p)) if !Path::new(p).exists() => {
                        let name = p.rsplit('/').next().unwrap_or(p);
                        let pem = files
                            .iter()
                            .find(|r| r.kind == Kind::Certificate && r.path.ends_with(&format!("/{name}")))
                            .map(|r| r.content.clone())
                            .expect("the pinned CA is rendered");
                        let moved = prefix.join(p.trim_start_matches('/'));
                        std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
                        std::fs::write(&moved, pem).unwrap();
                        copy.push_str(&line.replacen(p, &moved.display().to_string(), 1));
                    }
                    ("ssl_certificate" | "ssl_certificate_key" | "auth_basic_user_file" | "root", Some(p))
                        if p.starts_with('/') =>
                    {
                        let moved = prefix.join(p.trim_start_matches('/'));
                        std::fs::create_dir_all(if directive == "root" { &moved } else { moved.parent().unwrap() })
                            .unwrap();
                        match directive {
                            "ssl_certificate" => drop(std::fs::copy(&cert, &moved).unwrap()),
                            "ssl_certificate_key" => drop(std::fs::copy(&key, &moved).unwrap()),
                            "auth_basic_user_file" => {
                                std::fs::write(&moved, "admin:$apr1$hearth$0Yx3Xr9a4oWkk4GZ4iR2e/\n").unwrap()
                            }
                            _ => {}
                        }
                        copy.push_str(&line.replacen(p, &moved.display().to_string(), 1));
                    }
                    _ => copy.push_str(line),
                }
                copy.push('\n');
            }
            std::fs::create_dir_all(prefix.join("conf.d")).unwrap();
            std::fs::create_dir_all(prefix.join("tmp")).unwrap();
            std::fs::write(prefix.join("conf.d/hearth.conf"), copy).unwrap();
            let p = prefix.display();
            let wrapper = format!(
                "pid {p}/nginx.pid;\nerror_log {p}/error.log;\nevents {{}}\nhttp {{\n    access_log off;\n    \
                 client_body_temp_path {p}/tmp/body;\n    proxy_temp_path {p}/tmp/proxy;\n    fastcgi_temp_path {p}/tmp/fastcgi;\n    \
                 uwsgi_temp_path {p}/tmp/uwsgi;\n    scgi_temp_path {p}/tmp/scgi;\n    include {p}/conf.d/hearth.conf;\n}}\n"
            );
            std::fs::write(prefix.join("nginx.conf"), wrapper).unwrap();
            common::run_ok(
                Command::new("nginx").arg("-t").arg("-p").arg(&prefix).arg("-c").arg(prefix.join("nginx.conf")),
                &format!("{name}: nginx -t {}", f.path),
            );
            checked += 1;
        }
    }
    eprintln!("nginx -t: {checked} configurations valid");
    assert!(checked > 0);
}

/// All proxy files of a case (and the proxy's env-secret files), for a snapshot.
fn snapshot_of(model: &Model) -> String {
    let files = common::render(model);
    let proxy = model.ingress.proxy.as_deref().unwrap();
    let mut s = String::new();
    for f in &files {
        let mine = KINDS.contains(&f.kind)
            || (f.kind == Kind::EnvSecret
                && f.sources.contains(&format!("service/{proxy}"))
                && f.sources.contains("ingress"));
        if mine {
            s.push_str(&format!("===== {}:{} ({}, {:o})\n{}\n", f.machine, f.path, f.kind.as_str(), f.mode, f.content));
        }
    }
    s
}

#[test]
fn snapshots() {
    let cases = cases();
    for name in [
        "two-node-docker-pbs",
        "minimal",
        "nixos-proxmox-five-vms",
        "nixos-proxmox-five-vms@caddy-replicas",
        "nixos-proxmox-five-vms@traefik-replicas",
        "ryzen-tiered-lxc-platform@caddy",
        "ryzen-tiered-lxc-platform@nginx",
        "zfs-proxmox-media-cloud@traefik-authelia",
        "zfs-proxmox-media-cloud@nginx-authelia",
        "two-node-docker-pbs@caddy-pinned-ca",
        "two-node-docker-pbs@nginx-pinned-ca",
        "two-node-docker-pbs@traefik-pinned-ca",
    ] {
        let model = &cases.iter().find(|(n, _)| n == name).expect(name).1;
        insta::assert_snapshot!(format!("proxy-{}", name.replace('@', "-at-")), snapshot_of(model));
    }
}

/// `ingress.discover.docker` (seed 004's Traefik reading VM 3's Docker socket): Traefik's Docker
/// provider points at the socket proxy, each exposure on that machine is a router in its
/// container's labels and not in the file provider, and every other route stays in the file.
#[test]
fn discovered_routers_are_container_labels() {
    let model = common::examples().into_iter().find(|(n, _)| n == "ryzen-tiered-lxc-platform").expect("example").1;
    let files = common::render(&model);
    let content = |machine: &str, path: &str| {
        files
            .iter()
            .find(|f| f.machine == machine && f.path == path)
            .unwrap_or_else(|| panic!("{machine}:{path}"))
            .content
            .clone()
    };
    let traefik = content("lxc1-traefik", "/etc/traefik/traefik.yml");
    assert!(
        traefik.contains("  docker:\n    endpoint: \"tcp://10.0.40.10:2375\"\n    exposedByDefault: false\n"),
        "{traefik}"
    );
    let dynamic = content("lxc1-traefik", "/etc/traefik/dynamic/hearth.yml");
    let media = content("vm3-docker", "/opt/hearth/stacks/media/compose.yaml");
    let check = |router: &str, labelled: bool| {
        let in_file = dynamic.contains(&format!("\n    {router}:\n      rule:"));
        let label = format!("traefik.http.routers.{router}.service: {router}@file");
        assert_eq!(in_file, !labelled, "{router} in the file provider:\n{dynamic}");
        assert!(dynamic.contains(&format!("\n    {router}:\n      loadBalancer:")), "{router}'s service:\n{dynamic}");
        if labelled {
            assert!(media.contains(&label), "{router}'s labels:\n{media}");
        }
    };
    check("plex-onurx-com", true);
    check("overseerr-onurx-com", true);
    // AdGuard runs on LXC 2, not on the discovered machine.
    check("adguard-onurx-com", false);
    let infra = content("vm3-docker", "/opt/hearth/stacks/infrastructure/compose.yaml");
    for line in ["CONTAINERS: \"1\"", "POST: \"0\"", "/var/run/docker.sock:/var/run/docker.sock:ro"] {
        assert!(infra.contains(line), "{line}:\n{infra}");
    }
}
