//! The provisioning renderers (nftables, Proxmox guests, cloud-init, cloudflared, WireGuard)
//! against their validators, for every example, plus the firewall test the issue asks for: the
//! rendered rulesets loaded into network namespaces wired like an example's guests, showing that
//! each database accepts its consumers and refuses every other guest.
//!
//! Validators: `nft -c -f` (Debian `nftables`), `cloud-init schema --config-file` (Debian
//! `cloud-init`), the Proxmox API schema `pve-apidata.json` (checked here: every key exists for
//! `POST /nodes/{node}/lxc` or `/qemu`, with the schema's type, enum and range, every required
//! parameter present, every `key=value` of a property string known to its format). cloudflared
//! and wg-quick have no offline checker in Debian: their files are parsed (PyYAML, an INI reader)
//! and their structure asserted, and the snapshots are reviewed.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use hearth_model::Model;
use hearth_model::model::Port;
use hearth_render::{File, Kind};
use serde_json::Value;

const KINDS: [Kind; 5] = [Kind::Nftables, Kind::ProxmoxGuest, Kind::CloudInit, Kind::Cloudflared, Kind::Wireguard];

/// Files of this group: its kinds plus the secret files it writes (tunnel token, WireGuard key).
fn ours(files: &[File]) -> Vec<&File> {
    files
        .iter()
        .filter(|f| {
            KINDS.contains(&f.kind)
                || (f.kind == Kind::EnvSecret
                    && (f.path.starts_with("/etc/cloudflared/") || f.path.starts_with("/etc/wireguard/")))
        })
        .collect()
}

fn example(name: &str) -> Model {
    common::examples().into_iter().find(|(n, _)| n == name).map(|(_, m)| m).expect("example exists")
}

/// The richest example with its native `netbird` service turned into a native WireGuard server:
/// no example uses the `wireguard` app.
fn wireguard_variant() -> Model {
    let mut m = example("ryzen-tiered-lxc-platform");
    let s = m.services.get_mut("netbird").unwrap();
    s.app = Some("wireguard".into());
    s.form = hearth_spec::ast::Form::Native;
    s.ports = vec![Port {
        name: "wireguard".into(),
        host: Some(51820),
        container: 51820,
        protocol: hearth_spec::ast::Protocol::Udp,
    }];
    m
}

fn dump(files: &[&File]) -> String {
    files
        .iter()
        .map(|f| format!("=== {}:{} ({}, {:o})\n{}", f.machine, f.path, f.kind.as_str(), f.mode, f.content))
        .collect::<Vec<_>>()
        .join("\n")
}

fn path_of(dir: &Path, f: &File) -> PathBuf {
    dir.join(&f.machine).join(f.path.trim_start_matches('/'))
}

#[test]
fn paths_are_unique_and_have_sources() {
    for (name, model) in common::examples().into_iter().chain([("wireguard".to_string(), wireguard_variant())]) {
        let a = common::render(&model);
        let mut seen = BTreeSet::new();
        for f in ours(&a) {
            assert!(seen.insert((&f.machine, &f.path)), "{name}: {}:{} written twice", f.machine, f.path);
            assert!(!f.sources.is_empty(), "{name}: {} has no sources", f.path);
        }
    }
}

#[test]
fn secrets_only_in_secret_files() {
    for (name, model) in common::examples().into_iter().chain([("wireguard".to_string(), wireguard_variant())]) {
        for f in ours(&common::render(&model)) {
            if f.kind == Kind::EnvSecret {
                assert_eq!(f.mode, 0o600, "{name}: {}", f.path);
                continue;
            }
            for needle in ["{{secret:", "${secret:", "PrivateKey", "TUNNEL_TOKEN="] {
                assert!(!f.content.contains(needle), "{name}: {}:{} contains `{needle}`", f.machine, f.path);
            }
        }
    }
}

#[test]
fn nftables_rulesets_pass_nft_check() {
    let Some(nft) = nft() else { return };
    let mut checked = 0;
    for (name, model) in common::examples() {
        let files = common::render(&model);
        let dir = common::write_tree(&files, &common::temp_dir(&format!("provision-nft-{name}")));
        let rulesets = common::of_kind(&files, Kind::Nftables);
        // Every managed machine with openings gets exactly one ruleset that names every port.
        for (machine, openings) in &model.firewall {
            // NixOS guests get their firewall from the flake instead.
            let managed = model.guests.get(machine).is_none_or(|g| g.managed && !g.os.starts_with("nixos"));
            let file = rulesets.iter().find(|f| &f.machine == machine);
            assert_eq!(file.is_some(), managed, "{name}: ruleset of `{machine}`");
            if let Some(f) = file {
                for o in openings {
                    assert!(f.content.contains(&format!("dport {} ", o.port)), "{name}: {machine} misses {}", o.port);
                }
            }
        }
        for f in rulesets {
            common::run_ok(
                Command::new(&nft).arg("-c").arg("-f").arg(path_of(&dir, f)),
                &format!("nft -c {name} {}", f.machine),
            );
            checked += 1;
        }
    }
    eprintln!("nft -c: {checked} rulesets valid");
    assert!(checked > 0);
}

fn nft() -> Option<String> {
    if !common::have("nft") {
        return None;
    }
    Some("nft".into())
}

// ----- Proxmox API schema -----

fn pve_schema() -> Value {
    let path = common::schema("proxmox/pve-apidata.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("pve-apidata.json parses")
}

/// The POST parameters of an API path, found anywhere in the schema tree.
fn post_parameters<'a>(nodes: &'a Value, path: &str) -> Option<&'a serde_json::Map<String, Value>> {
    parameters(nodes, path, "POST")
}

/// The parameters of one method of an API path, found anywhere in the schema tree.
fn parameters<'a>(nodes: &'a Value, path: &str, method: &str) -> Option<&'a serde_json::Map<String, Value>> {
    for n in nodes.as_array()? {
        if n["path"] == path {
            return n["info"][method]["parameters"]["properties"].as_object();
        }
        if let Some(found) = n.get("children").and_then(|c| parameters(c, path, method)) {
            return Some(found);
        }
    }
    None
}

/// The schema entry of a key: exact, or `net[n]` for `net0`.
fn property<'a>(props: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    props.get(key).or_else(|| {
        let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
        (base.len() < key.len()).then(|| props.get(&format!("{base}[n]"))).flatten()
    })
}

fn number(v: &Value) -> Option<f64> {
    v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// Problems of one parameter set against one endpoint's schema.
fn check_parameters(props: &serde_json::Map<String, Value>, params: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, spec) in props {
        let optional = spec.get("optional").and_then(Value::as_i64).unwrap_or(0) == 1;
        if !optional && !name.contains("[n]") && !params.contains_key(name) {
            problems.push(format!("required `{name}` missing"));
        }
    }
    for (key, value) in params {
        let Some(spec) = property(props, key) else {
            problems.push(format!("`{key}` is not a parameter"));
            continue;
        };
        let ty = spec["type"].as_str().unwrap_or("string");
        let ok = match ty {
            "integer" => value.as_i64().is_some(),
            "number" => value.is_number(),
            "boolean" => matches!(value.as_i64(), Some(0 | 1)),
            "array" => value.as_array().is_some_and(|items| items.iter().all(Value::is_string)),
            _ => value.is_string(),
        };
        if !ok {
            problems.push(format!("`{key}`: {value} is not a {ty}"));
            continue;
        }
        if let (Some(min), Some(v)) = (spec.get("minimum").and_then(number), value.as_f64())
            && v < min
        {
            problems.push(format!("`{key}`: {v} below {min}"));
        }
        if let (Some(max), Some(v)) = (spec.get("maximum").and_then(number), value.as_f64())
            && v > max
        {
            problems.push(format!("`{key}`: {v} above {max}"));
        }
        let Some(text) = value.as_str() else { continue };
        if let Some(choices) = spec.get("enum").and_then(Value::as_array)
            && !choices.iter().any(|c| c == text)
        {
            problems.push(format!("`{key}`: `{text}` not in {choices:?}"));
        }
        if let Some(max) = spec.get("maxLength").and_then(Value::as_u64)
            && text.len() as u64 > max
        {
            problems.push(format!("`{key}`: longer than {max}"));
        }
        // A property string: every `k=v` key must be one its format names, and a leading value
        // without a key is allowed only where the format has a default key (`[volume=]<volume>`).
        let Some(typetext) = spec.get("typetext").and_then(Value::as_str) else { continue };
        if !typetext.contains('=') {
            continue;
        }
        let known: BTreeSet<String> = typetext
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '='))
            .filter_map(|t| t.split_once('=').map(|(k, _)| k.to_string()))
            .filter(|k| !k.is_empty())
            .collect();
        for (i, part) in text.split(',').enumerate() {
            match part.split_once('=') {
                Some((k, _)) if known.contains(k) => {}
                Some((k, _)) => problems.push(format!("`{key}`: `{k}=` is not in `{typetext}`")),
                None if i == 0 && (typetext.contains("=]") || typetext.starts_with('<')) => {}
                None => problems.push(format!("`{key}`: positional `{part}` not allowed by `{typetext}`")),
            }
        }
    }
    problems
}

#[test]
fn proxmox_guests_match_the_api_schema() {
    let schema = pve_schema();
    let lxc = post_parameters(&schema, "/nodes/{node}/lxc").expect("lxc endpoint in schema");
    let qemu = post_parameters(&schema, "/nodes/{node}/qemu").expect("qemu endpoint in schema");
    let resize = parameters(&schema, "/nodes/{node}/qemu/{vmid}/resize", "PUT").expect("resize endpoint in schema");
    let mapping = post_parameters(&schema, "/cluster/mapping/dir").expect("directory mapping endpoint in schema");
    let mut checked = 0;
    // The examples, and appliance VMs with every kind of passthrough and data disks.
    let appliances = ("appliances".to_string(), common::valid("appliances"));
    for (name, model) in common::examples().into_iter().chain([appliances]) {
        let files = common::render(&model);
        let all = common::of_kind(&files, Kind::ProxmoxGuest);
        // Besides one creation request per guest: disk resizes and virtiofs directory mappings.
        for f in all.iter().filter(|f| f.path.ends_with(".resize.json") || f.path.contains("/mapping-dir-")) {
            let params: serde_json::Map<String, Value> = serde_json::from_str(&f.content).expect("JSON object");
            let props = if f.path.ends_with(".resize.json") { resize } else { mapping };
            let problems = check_parameters(props, &params);
            assert!(problems.is_empty(), "{name}: {}:\n{}", f.path, problems.join("\n"));
            checked += 1;
        }
        let guests: Vec<&File> = all
            .into_iter()
            .filter(|f| !f.path.ends_with(".resize.json") && !f.path.contains("/mapping-dir-"))
            .collect();
        assert_eq!(guests.len(), model.guests.len(), "{name}: one file per guest");
        for f in guests {
            let params: serde_json::Map<String, Value> = serde_json::from_str(&f.content).expect("JSON object");
            let vmid = params["vmid"].as_u64().unwrap();
            let (gname, g) = model.guests.iter().find(|(_, g)| u64::from(g.id) == vmid).expect("guest of vmid");
            assert_eq!(f.path, format!("/etc/hearth/proxmox/{vmid}-{gname}.json"));
            assert_eq!(f.machine, g.host);
            let props = if g.kind == hearth_model::model::GuestKind::Lxc { lxc } else { qemu };
            let problems = check_parameters(props, &params);
            assert!(problems.is_empty(), "{name}: {}:\n{}", f.path, problems.join("\n"));
            if let Some(addr) = g.address {
                let net = params.get("ipconfig0").or(params.get("net0")).and_then(Value::as_str).unwrap_or("");
                let pinned = net.contains(&format!("ip={addr}/")) || params.get("ipconfig0").is_none();
                assert!(pinned, "{name}: {} does not carry {addr}", f.path);
            }
            checked += 1;
        }
    }
    eprintln!("pve-apidata: {checked} guest parameter sets valid");
    assert!(checked > 0);
}

/// A router VM at the gateway with a WAN side, a managed VM and an LXC with a storage network:
/// no seed has a router guest, and the examples' multi-network machines are hosts.
const MULTI_NETWORK: &str = "homelab: lab
domain: home.arpa
admin: { ssh_keys: [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0u4Wn8u6i3dBq3aZ3YcYx1mQv2m5m3gk0h2v7xH1x5 op@laptop\"] }
networks:
  wan: { cidr: 192.168.100.0/24, bridge: vmbr1 }
  lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1, router: opnsense }
  storage: { cidr: 10.0.40.0/24, vlan: 40 }
hosts: { pve: { address: 192.168.1.10, network: lan, proxmox: {}, interfaces: [{ network: storage, address: 10.0.40.10 }] } }
guests:
  opnsense: { vm: { on: pve }, os: opnsense, network: lan, address: 192.168.1.1, managed: false, interfaces: [{ network: wan, address: 192.168.100.2 }] }
  docker: { vm: { on: pve }, os: debian-12, network: lan, address: 192.168.1.20, runtime: docker, size: { memory: 2GiB }, interfaces: [{ network: storage }] }
  nas: { lxc: { on: pve }, network: lan, address: 192.168.1.21, interfaces: [{ network: storage, address: 10.0.40.21, bridge: vmbr2 }] }
";

#[test]
fn guests_on_several_networks_match_the_api_schema() {
    let loaded = hearth_spec::load_str("multi.yaml", MULTI_NETWORK);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    let errors: Vec<String> = a.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.message.clone()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let schema = pve_schema();
    let lxc = post_parameters(&schema, "/nodes/{node}/lxc").expect("lxc endpoint in schema");
    let qemu = post_parameters(&schema, "/nodes/{node}/qemu").expect("qemu endpoint in schema");
    let files = common::render(&a.model);
    let params = |guest: &str| -> serde_json::Map<String, Value> {
        let f = common::of_kind(&files, Kind::ProxmoxGuest)
            .into_iter()
            .find(|f| f.path.ends_with(&format!("-{guest}.json")))
            .expect("guest file");
        serde_json::from_str(&f.content).expect("JSON object")
    };
    let text = |p: &serde_json::Map<String, Value>, k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let router = params("opnsense");
    let docker = params("docker");
    let nas = params("nas");
    for (p, props) in [(&router, qemu), (&docker, qemu), (&nas, lxc)] {
        let problems = check_parameters(props, p);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
    assert_eq!(text(&router, "net0"), "virtio,bridge=vmbr0");
    assert_eq!(text(&router, "net1"), "virtio,bridge=vmbr1");
    assert!(!text(&router, "description").contains("managed by Hearth"));
    assert_eq!(text(&docker, "net1"), "virtio,bridge=vmbr0,tag=40");
    assert_eq!(text(&docker, "ipconfig0"), "ip=192.168.1.20/24,gw=192.168.1.1");
    // The allocated storage address, without a gateway: the default route stays on `lan`.
    assert_eq!(text(&docker, "ipconfig1"), "ip=10.0.40.1/24");
    assert_eq!(text(&nas, "net1"), "name=eth1,bridge=vmbr2,tag=40,ip=10.0.40.21/24");
    assert_eq!(a.allocations.get("guest/docker/address/storage"), Some("10.0.40.1"));
}

#[test]
fn the_schema_check_catches_mistakes() {
    let schema = pve_schema();
    let lxc = post_parameters(&schema, "/nodes/{node}/lxc").unwrap();
    let bad: serde_json::Map<String, Value> = serde_json::from_str(
        r#"{"node": "pve", "vmid": 5, "memory": "512", "unprivileged": true, "net0": "name=eth0,bridgee=vmbr0", "color": "red"}"#,
    )
    .unwrap();
    let problems = check_parameters(lxc, &bad).join("\n");
    for expected in ["`ostemplate` missing", "`vmid`: 5 below", "`memory`", "`unprivileged`", "`bridgee=`", "`color`"] {
        assert!(problems.contains(expected), "missed {expected}:\n{problems}");
    }
}

// ----- cloud-init -----

#[test]
fn cloud_init_user_data_is_valid() {
    let have = common::have("cloud-init");
    let mut checked = 0;
    for (name, model) in common::examples() {
        let files = common::render(&model);
        let dir = common::write_tree(&files, &common::temp_dir(&format!("provision-ci-{name}")));
        for (gname, g) in &model.guests {
            let debianish = g.os.starts_with("debian-") || g.os.starts_with("ubuntu-");
            let expected = g.kind == hearth_model::model::GuestKind::Vm && g.managed && debianish;
            let path = format!("/var/lib/vz/snippets/hearth-{gname}.yaml");
            let file = files.iter().find(|f| f.kind == Kind::CloudInit && f.path == path);
            assert_eq!(file.is_some(), expected, "{name}: cloud-init of `{gname}` ({})", g.os);
            let Some(f) = file else { continue };
            assert!(f.content.starts_with("#cloud-config\n"));
            assert!(f.content.contains(&format!("hostname: {}\n", g.hostname)));
            assert!(f.content.contains("qemu-guest-agent"));
            assert_eq!(
                f.content.contains("docker.io"),
                g.runtime == hearth_spec::ast::Runtime::Docker,
                "{name}: {gname}"
            );
            // The VM's API parameters point at this snippet.
            let vm = files.iter().find(|v| v.path == format!("/etc/hearth/proxmox/{}-{gname}.json", g.id)).unwrap();
            assert!(vm.content.contains(&format!("user=local:snippets/hearth-{gname}.yaml")), "{name}: {gname}");
            if have {
                common::run_ok(
                    Command::new("cloud-init").arg("schema").arg("--config-file").arg(path_of(&dir, f)),
                    &format!("cloud-init schema {name} {gname}"),
                );
            }
            checked += 1;
        }
    }
    eprintln!("cloud-init: {checked} user-data files checked");
    assert!(checked > 0);
}

// ----- cloudflared -----

/// YAML to JSON with PyYAML.
fn yaml_to_json(path: &Path) -> Value {
    let out = Command::new("python3")
        .arg("-c")
        .arg("import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))")
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn cloudflared_config_routes_every_tunnel_name() {
    if !common::have("python3") {
        return;
    }
    let mut checked = 0;
    for (name, model) in common::examples() {
        let files = common::render(&model);
        let configs = common::of_kind(&files, Kind::Cloudflared);
        let Some(tunnel) = model.ingress.tunnel.as_ref() else {
            assert!(configs.is_empty(), "{name}: no tunnel, no config");
            continue;
        };
        let svc = &model.services[tunnel];
        assert_eq!(configs.len(), 1, "{name}");
        let f = configs[0];
        let path = match svc.form {
            hearth_spec::ast::Form::Docker => {
                let v = svc.volumes.iter().find(|v| v.target == "/etc/cloudflared").expect("config volume");
                format!("{}/config.yml", v.source)
            }
            _ => "/etc/cloudflared/config.yml".to_string(),
        };
        assert_eq!((f.machine.as_str(), f.path.as_str()), (svc.on.name(), path.as_str()));
        let dir = common::write_tree(&files, &common::temp_dir(&format!("provision-cf-{name}")));
        let doc = yaml_to_json(&path_of(&dir, f));
        assert!(doc["tunnel"].is_string(), "{name}: tunnel id");
        assert!(doc.get("credentials-file").is_none(), "{name}: the token carries the credentials");
        let ingress = doc["ingress"].as_array().expect("ingress list");
        assert_eq!(
            ingress.last().unwrap(),
            &serde_json::json!({"service": "http_status:404"}),
            "{name}: catch-all last"
        );
        let names: Vec<&str> = ingress[..ingress.len() - 1].iter().map(|r| r["hostname"].as_str().unwrap()).collect();
        let expected: Vec<&str> = model
            .routes
            .iter()
            .filter(|r| r.access == hearth_spec::ast::Access::Tunnel)
            .map(|r| r.fqdn.as_str())
            .collect();
        assert_eq!(names, expected, "{name}: one rule per tunnel route");
        let proxy = &model.services[model.ingress.proxy.as_ref().unwrap()];
        for rule in &ingress[..ingress.len() - 1] {
            let service = rule["service"].as_str().unwrap();
            assert!(service.starts_with(&format!("https://{}:", proxy.address.unwrap())), "{name}: {service}");
            assert_eq!(rule["originRequest"]["originServerName"], rule["hostname"], "{name}");
        }
        // A native tunnel gets its token in a 0600 env file; a Docker one from compose.
        let token = files.iter().find(|t| t.machine == f.machine && t.path == "/etc/cloudflared/tunnel.env");
        assert_eq!(token.is_some(), svc.form == hearth_spec::ast::Form::Native, "{name}");
        if let Some(t) = token {
            assert_eq!((t.kind, t.mode), (Kind::EnvSecret, 0o600));
            assert!(t.content.contains("TUNNEL_TOKEN={{"), "{name}: {}", t.content);
        }
        checked += 1;
    }
    eprintln!("cloudflared: {checked} configs checked");
    assert!(checked > 0);
}

// ----- WireGuard -----

/// `section -> [(key, value)]` of an INI file (wg-quick's format), comments dropped.
fn ini(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push((section.to_string(), Vec::new()));
        } else {
            let (k, v) = line.split_once('=').expect("key = value");
            out.last_mut().expect("a section first").1.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

#[test]
fn wireguard_skeleton_keeps_the_key_apart() {
    for (name, model) in common::examples() {
        assert!(common::of_kind(&common::render(&model), Kind::Wireguard).is_empty(), "{name}: no wireguard app");
    }
    let files = common::render(&wireguard_variant());
    let conf = common::of_kind(&files, Kind::Wireguard);
    assert_eq!(conf.len(), 1);
    assert_eq!((conf[0].machine.as_str(), conf[0].path.as_str()), ("lxc3-netbird", "/etc/wireguard/wg0.conf"));
    let sections = ini(&conf[0].content);
    assert_eq!(sections.len(), 1, "only [Interface] while the spec has no peers");
    let (section, keys) = &sections[0];
    assert_eq!(section, "Interface");
    let keys: BTreeMap<&str, &str> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(keys.get("ListenPort"), Some(&"51820"));
    assert!(keys["Address"].parse::<String>().unwrap().contains('/'));
    assert_eq!(keys["PostUp"], "wg set %i private-key /etc/wireguard/private.key");
    assert!(!keys.contains_key("PrivateKey"));
    let key = files.iter().find(|f| f.path == "/etc/wireguard/private.key").expect("key file");
    assert_eq!((key.kind, key.mode, key.machine.as_str()), (Kind::EnvSecret, 0o600, "lxc3-netbird"));
    assert_eq!(key.content.lines().count(), 1, "the key alone, as `wg set` reads it");
}

// ----- snapshots -----

#[test]
fn snapshots() {
    for name in ["ryzen-tiered-lxc-platform", "two-node-docker-pbs", "lxc-media-apps-tunnel"] {
        let files = common::render(&example(name));
        let mut mine = ours(&files);
        if name == "lxc-media-apps-tunnel" {
            // Sixteen alike containers: the tunnel and two rulesets are enough to review.
            mine.retain(|f| {
                f.path.starts_with("/etc/cloudflared/")
                    || (f.kind == Kind::Nftables && ["ct-cloudflared", "ct-postgresql"].contains(&f.machine.as_str()))
            });
        }
        insta::assert_snapshot!(format!("provision-{name}"), dump(&mine));
    }
    let files = common::render(&wireguard_variant());
    let wg: Vec<&File> = ours(&files).into_iter().filter(|f| f.path.starts_with("/etc/wireguard/")).collect();
    insta::assert_snapshot!("provision-variant-wireguard", dump(&wg));
}

// ----- the firewall, live in network namespaces -----

use common::netns::{Lab, can_use_namespaces, ip, listen, probe_all};

/// One connection attempt: from a machine to a server's address and port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Attempt {
    from: String,
    server: String,
    target: String,
    allowed: bool,
}

/// The attempts the firewall must decide for one example, from the `uses` graph (not from the
/// firewall the renderer read): for every database-like server, every other machine tries the
/// port its consumers' connection strings name; consumers must get through, and so must
/// Prometheus where that port is also the server's metrics port (MinIO's S3 API), and the
/// machines whose backup jobs write to a restic repository at that address and port.
fn attempts(model: &Model, machines: &BTreeMap<String, String>) -> Vec<Attempt> {
    let catalog = hearth_catalog::builtin();
    let mut out = Vec::new();
    for (name, s) in &model.services {
        let is_db =
            s.app.as_deref().and_then(|a| catalog.get(a)).is_some_and(|a| a.provides.iter().any(|p| p.is_database()));
        let Some(server_addr) = machines.get(s.on.name()) else { continue };
        if !is_db {
            continue;
        }
        let metrics_port = s
            .app
            .as_deref()
            .and_then(|a| catalog.get(a))
            .and_then(|a| a.metrics.as_ref())
            .and_then(|m| s.ports.iter().find(|p| p.name == m.port).and_then(|p| p.host));
        let prometheus = model.monitoring.prometheus.as_ref().and_then(|p| model.services.get(p)).map(|p| p.on.name());
        let mut ports = BTreeSet::new();
        let mut consumers = BTreeSet::new();
        for c in model.services.values() {
            for u in c.uses.iter().filter(|u| &u.service == name) {
                consumers.insert(c.on.name().to_string());
                consumers.extend(c.also_on.iter().cloned());
                // The port the consumer will connect to, from its connection string.
                let url = u.url.as_ref().map(|t| t.to_string()).unwrap_or_default();
                let after = url.rsplit('@').next().unwrap_or(&url);
                let hostport = after.split("://").last().unwrap_or(after).split('/').next().unwrap_or("");
                if let Some(port) = hostport.rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok()) {
                    ports.insert(port);
                }
            }
        }
        for port in ports {
            // Backup jobs whose policy writes to a restic repository served at this address.
            let endpoint = format!("{server_addr}:{port}");
            let backs_up: BTreeSet<String> = model
                .backups
                .jobs
                .iter()
                .filter(|j| {
                    model.backups.policies.get(&j.policy).is_some_and(|p| {
                        p.to.iter().any(|r| {
                            matches!(model.backups.repositories.get(r),
                                Some(hearth_model::model::Repository::Restic { url, .. }) if url.contains(&endpoint))
                        })
                    })
                })
                .map(|j| j.machine.clone())
                .collect();
            for machine in machines.keys().filter(|m| *m != s.on.name()) {
                let scrapes = Some(port) == metrics_port && prometheus == Some(machine.as_str());
                out.push(Attempt {
                    from: machine.clone(),
                    server: name.clone(),
                    target: format!("{server_addr}:{port}"),
                    allowed: consumers.contains(machine) || scrapes || backs_up.contains(machine),
                });
            }
        }
    }
    out.sort();
    out
}

#[test]
fn databases_accept_their_consumers_and_refuse_every_other_guest() {
    if !can_use_namespaces() {
        return;
    }
    for name in ["ryzen-tiered-lxc-platform", "lxc-media-apps-tunnel"] {
        let model = example(name);
        let files = common::render(&model);
        let dir = common::write_tree(&files, &common::temp_dir(&format!("provision-netns-{name}")));
        // Every managed guest with an address, and every host with an address (the Proxmox host
        // is one more machine that must be refused).
        let mut machines: BTreeMap<String, String> = BTreeMap::new();
        for (n, g) in model.guests.iter().filter(|(_, g)| g.managed) {
            if let Some(a) = g.address.filter(|a| a.is_ipv4()) {
                machines.insert(n.clone(), a.to_string());
            }
        }
        for (n, h) in &model.hosts {
            if let Some(a) = h.address.filter(|a| a.is_ipv4()) {
                machines.insert(n.clone(), a.to_string());
            }
        }
        let attempts = attempts(&model, &machines);
        let servers: BTreeSet<&str> = attempts.iter().map(|a| a.server.as_str()).collect();
        if name == "ryzen-tiered-lxc-platform" {
            let tier = BTreeSet::from(["minio", "mongodb", "postgresql", "redis"]);
            assert!(
                servers.is_superset(&tier),
                "{name}: the data tier is PostgreSQL, MongoDB, Redis, MinIO: {servers:?}"
            );
        }
        assert!(attempts.iter().any(|a| a.allowed) && attempts.iter().any(|a| !a.allowed));

        // One namespace per machine, all on one bridge in a namespace of its own. The example's
        // addresses get a /8 so every subnet is on-link: no routes, and nothing on the host.
        let mut lab = Lab::new();
        let bridge = lab.ns("br");
        ip(&["-n", &bridge, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &bridge, "link", "set", "br0", "up"]);
        let mut ns_of = BTreeMap::new();
        for (i, (machine, addr)) in machines.iter().enumerate() {
            let ns = lab.ns(&i.to_string());
            let port = format!("v{i}");
            ip(&["-n", &bridge, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns]);
            ip(&["-n", &bridge, "link", "set", &port, "master", "br0", "up"]);
            ip(&["-n", &ns, "addr", "add", &format!("{addr}/8"), "dev", "eth0"]);
            ip(&["-n", &ns, "link", "set", "eth0", "up"]);
            ns_of.insert(machine.clone(), ns);
        }
        // Listeners on every tested port of every server.
        let mut listening: BTreeMap<&str, BTreeSet<u16>> = BTreeMap::new();
        for a in &attempts {
            let server_machine = model.services[&a.server].on.name();
            listening.entry(server_machine).or_default().insert(a.target.rsplit(':').next().unwrap().parse().unwrap());
        }
        for (machine, ports) in &listening {
            listen(&mut lab, &ns_of[*machine], &ports.iter().copied().collect::<Vec<_>>());
        }

        // Control: without rulesets every attempt connects, so refusals below are the firewall's.
        let pairs: Vec<(String, String)> = attempts.iter().map(|a| (a.from.clone(), a.target.clone())).collect();
        let open = probe_all(&ns_of, &pairs);
        let failed: Vec<_> = open.iter().filter(|(_, o)| *o != "ok").collect();
        assert!(failed.is_empty(), "{name}: the wiring is broken before any firewall: {failed:?}");

        // Load each machine's rendered ruleset in its namespace.
        let mut loaded = 0;
        for f in common::of_kind(&files, Kind::Nftables) {
            if let Some(ns) = ns_of.get(&f.machine) {
                common::run_ok(
                    Command::new("ip").args(["netns", "exec", ns, "nft", "-f"]).arg(path_of(&dir, f)),
                    &format!("nft -f in {} ({})", ns, f.machine),
                );
                loaded += 1;
            }
        }
        assert!(loaded >= 4, "{name}: rulesets loaded: {loaded}");

        let results = probe_all(&ns_of, &pairs);
        let mut wrong = Vec::new();
        for a in &attempts {
            let outcome = &results[&(a.from.clone(), a.target.clone())];
            if (outcome == "ok") != a.allowed {
                wrong.push(format!(
                    "{} -> {} ({}): {outcome}, expected {}",
                    a.from,
                    a.target,
                    a.server,
                    if a.allowed { "connect" } else { "refused" }
                ));
            }
        }
        let allowed = attempts.iter().filter(|a| a.allowed).count();
        eprintln!(
            "{name}: {} attempts across {} namespaces: {allowed} consumers connected, {} others refused",
            attempts.len(),
            machines.len(),
            attempts.len() - allowed
        );
        assert!(wrong.is_empty(), "{name}: the firewall disagrees with the `uses` graph:\n{}", wrong.join("\n"));
        let prefix = format!("{}-", lab.prefix);
        drop(lab);
        let left: Vec<String> =
            String::from_utf8_lossy(&Command::new("ip").args(["netns", "list"]).output().unwrap().stdout)
                .lines()
                .filter(|l| l.starts_with(&prefix))
                .map(str::to_string)
                .collect();
        assert!(left.is_empty(), "namespaces left behind: {left:?}");
    }
}

/// The `forward` chain of a Docker machine, with Docker's DNAT imitated in a namespace: a
/// published port the spec opens only to the proxy (Portainer's 9443 on `vm3-docker`, mapped to
/// another container port as Docker does) must refuse a LAN client and admit the proxy, and a
/// port the spec opens to the homelab's networks must admit the LAN client. The chain must test
/// the `dnat` bit of `ct status`: an exact comparison (`ct status != dnat`) lets every DNATed
/// connection through, since their status has other bits set too.
#[test]
fn docker_published_ports_refuse_sources_the_spec_does_not_name() {
    if !can_use_namespaces() {
        return;
    }
    let model = example("ryzen-tiered-lxc-platform");
    let files = common::render(&model);
    let dir = common::write_tree(&files, &common::temp_dir("provision-netns-dnat"));
    let ruleset = files.iter().find(|f| f.machine == "vm3-docker" && f.kind == Kind::Nftables).expect("ruleset");
    let docker = model.machine_address("vm3-docker").unwrap().to_string();
    let proxy = model.machine_address(model.services["traefik"].on.name()).unwrap().to_string();
    // A client on the Docker machine's own network (the apps zone): the example denies between
    // zones, so a port for the homelab's networks opens to its zones, not to the trusted LAN.
    let lan_client = "10.0.40.250";
    assert!(
        model.guests.values().all(|g| g.address.is_none_or(|a| a.to_string() != lan_client)),
        "the client's address is free"
    );
    // Portainer (behind the proxy) and Tdarr's server port (not exposed: the homelab's networks).
    // Plex's ports are not used: Plex runs on the host's network, so Docker never DNATs them.
    let (portainer, companion) = (9443, 8266);
    assert!(ruleset.content.contains(&format!("ct original proto-dst {portainer} ")), "{}", ruleset.content);
    assert!(ruleset.content.contains(&format!("ct original proto-dst {companion} ")), "{}", ruleset.content);

    let mut lab = Lab::new();
    let bridge = lab.ns("br");
    ip(&["-n", &bridge, "link", "add", "br0", "type", "bridge"]);
    ip(&["-n", &bridge, "link", "set", "br0", "up"]);
    let mut ns_of = BTreeMap::new();
    for (i, (machine, addr)) in
        [("vm3-docker", docker.as_str()), ("traefik", &proxy), ("lan-client", lan_client)].into_iter().enumerate()
    {
        let ns = lab.ns(&i.to_string());
        let port = format!("v{i}");
        ip(&["-n", &bridge, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns]);
        ip(&["-n", &bridge, "link", "set", &port, "master", "br0", "up"]);
        ip(&["-n", &ns, "addr", "add", &format!("{addr}/8"), "dev", "eth0"]);
        ip(&["-n", &ns, "link", "set", "eth0", "up"]);
        ns_of.insert(machine.to_string(), ns);
    }
    // The container: a namespace behind `docker0`, reached only through the host's DNAT.
    let host = ns_of["vm3-docker"].clone();
    let container = lab.ns("ctr");
    ip(&["-n", &host, "link", "add", "docker0", "type", "veth", "peer", "name", "eth0", "netns", &container]);
    ip(&["-n", &host, "addr", "add", "172.17.0.1/16", "dev", "docker0"]);
    ip(&["-n", &host, "link", "set", "docker0", "up"]);
    ip(&["-n", &container, "addr", "add", "172.17.0.2/16", "dev", "eth0"]);
    ip(&["-n", &container, "link", "set", "eth0", "up"]);
    ip(&["-n", &container, "route", "add", "default", "via", "172.17.0.1"]);
    common::run_ok(
        Command::new("ip").args(["netns", "exec", &host, "sysctl", "-qw", "net.ipv4.ip_forward=1"]),
        "ip_forward",
    );
    let nat = format!(
        "table ip dockernat {{ chain prerouting {{ type nat hook prerouting priority dstnat; policy accept; \
         tcp dport {portainer} dnat to 172.17.0.2:8443; tcp dport {companion} dnat to 172.17.0.2:{companion}; }}; }}"
    );
    common::run_ok(Command::new("ip").args(["netns", "exec", &host, "nft", &nat]), "Docker's DNAT");
    listen(&mut lab, &container, &[8443, companion]);

    let target = |port: u16| format!("{docker}:{port}");
    let cases = [
        ("traefik", target(portainer), true),
        ("lan-client", target(portainer), false),
        ("lan-client", target(companion), true),
    ];
    let pairs: Vec<(String, String)> = cases.iter().map(|(f, t, _)| (f.to_string(), t.clone())).collect();
    let open = probe_all(&ns_of, &pairs);
    assert!(open.values().all(|o| o == "ok"), "the DNAT wiring is broken before any firewall: {open:?}");

    common::run_ok(
        Command::new("ip").args(["netns", "exec", &host, "nft", "-f"]).arg(path_of(&dir, ruleset)),
        "nft -f vm3-docker",
    );
    let results = probe_all(&ns_of, &pairs);
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(f, t, allowed)| (results[&(f.to_string(), t.clone())] == "ok") != *allowed)
        .map(|(f, t, allowed)| format!("{f} -> {t}: {}, expected {}", results[&(f.to_string(), t.clone())], allowed))
        .collect();
    assert!(wrong.is_empty(), "the Docker forward chain disagrees with the spec:\n{}", wrong.join("\n"));
}
