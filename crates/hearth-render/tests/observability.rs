//! The observability renderers (DNS records, Prometheus, Alertmanager, Grafana, Loki, agents,
//! Homepage) against their upstream validators, for every example and for variants of one
//! example that exercise what no example uses (dnsmasq, Unbound, every notification channel,
//! Promtail).
//!
//! Validators: `promtool check config|rules`, `amtool check-config`, `unbound-checkconf`,
//! `dnsmasq --test`. Loki, Grafana, Alloy, Homepage and AdGuard Home have no validator in Debian
//! or PyPI: their files are parsed with a real parser (PyYAML, serde_json) and their structure
//! asserted, and the snapshots are reviewed by hand.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use hearth_model::Model;
use hearth_model::model::Channel;
use hearth_render::{File, Kind};
use serde_json::Value;

const KINDS: [Kind; 13] = [
    Kind::AdguardHome,
    Kind::Dnsmasq,
    Kind::Unbound,
    Kind::Prometheus,
    Kind::PrometheusRules,
    Kind::Blackbox,
    Kind::Alertmanager,
    Kind::GrafanaProvisioning,
    Kind::Loki,
    Kind::LokiRules,
    Kind::Alloy,
    Kind::Promtail,
    Kind::Homepage,
];

/// This group's files: its kinds plus the Alertmanager secret files.
fn ours(files: &[File]) -> Vec<&File> {
    files
        .iter()
        .filter(|f| {
            KINDS.contains(&f.kind)
                || (f.kind == Kind::EnvSecret && f.sources.iter().any(|s| s.starts_with("notification/")))
        })
        .collect()
}

fn example(name: &str) -> Model {
    common::examples().into_iter().find(|(n, _)| n == name).map(|(_, m)| m).expect("example exists")
}

/// Variants of the richest example covering what no example spec uses.
fn variants() -> Vec<(String, Model)> {
    let base = example("ryzen-tiered-lxc-platform");
    let mut out = Vec::new();

    for app in ["dnsmasq", "unbound"] {
        for form in [hearth_spec::ast::Form::Native, hearth_spec::ast::Form::Docker] {
            let mut m = base.clone();
            let svc = m.services.get_mut("adguard").unwrap();
            svc.app = Some(app.to_string());
            svc.form = form;
            // Built from an existing volume so new model fields keep their values.
            let mut config = svc.volumes[0].clone();
            config.name = "config".into();
            config.source = "/opt/hearth/adguard/config".into();
            config.target = if app == "dnsmasq" { "/etc/dnsmasq.d".into() } else { "/opt/unbound/etc/unbound".into() };
            config.stateful = false;
            config.readonly = true;
            svc.volumes = vec![config];
            m.dns.server_app = Some(app.to_string());
            let mut v6 = m.dns_records[0].clone();
            v6.name = "nas6.onurx.com".into();
            v6.address = "fd00::13".parse().unwrap();
            m.dns_records.push(v6);
            out.push((format!("dns-{app}-{form:?}").to_lowercase(), m));
        }
    }

    let mut m = base.clone();
    m.notifications = BTreeMap::from([
        ("telegram".into(), Channel::Telegram { chat: "-100123456".into(), token: "secret:telegram-token".into() }),
        (
            "ntfy".into(),
            Channel::Ntfy {
                url: "https://ntfy.sh/".into(),
                topic: "homelab".into(),
                token: Some("env:NTFY_TOKEN".into()),
            },
        ),
        ("gotify".into(), Channel::Gotify { url: "http://gotify.lan".into(), token: "secret:gotify".into() }),
        (
            "mail".into(),
            Channel::Email {
                to: "admin@example.com".into(),
                from: None,
                smarthost: "smtp.example.com:587".into(),
                username: Some("lab".into()),
                password: Some("secret:smtp".into()),
            },
        ),
        ("hook".into(), Channel::Webhook { url: "http://192.168.0.21:5678/webhook/alerts".into() }),
    ]);
    m.monitoring.notify.clear();
    out.push(("all-channels".into(), m));

    let mut m = base.clone();
    m.monitoring.notify.clear();
    m.notifications.clear();
    out.push(("no-channels".into(), m));

    let mut m = base;
    m.monitoring.agent = Some("promtail".into());
    out.push(("promtail".into(), m));

    // `monitoring.scrape` with its own interval and scheme, and one probe of each kind, written
    // into the example's own spec: resolved, derived and rendered as an operator's would be.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ryzen-tiered-lxc-platform.yaml");
    let text = std::fs::read_to_string(&path).expect("example 004");
    let anchor = "  exporters: [blackbox, postgres, mongodb, redis]\n";
    assert!(text.contains(anchor), "example 004 names its exporters");
    let text = text.replacen(
        anchor,
        &format!(
            "{anchor}  scrape: [{{ job: smart, targets: [\"nas.onurx.com:9633\", \"lxc8-minio:9100\"], interval: 1m, scheme: https }}]\n  \
             probes: [{{ name: router, icmp: pve }}, {{ name: nas-web, http: \"https://nas.onurx.com:5001\" }}, {{ name: pve-api, tcp: \"pve:8006\" }}]\n"
        ),
        1,
    );
    // The example keeps zones apart: Prometheus's and the Blackbox exporter's zone is let into
    // the new targets' ports, as an operator adding them would be told to (E824).
    let policy = "policy:\n  default: deny\n  allow:\n";
    assert!(text.contains(policy), "example 004 denies between zones");
    let text = text.replacen(
        policy,
        &format!(
            "{policy}    - {{ from: infrastructure, to: data, ports: [9100] }}\n    - {{ from: infrastructure, to: management, ports: [8006] }}\n"
        ),
        1,
    );
    let loaded = hearth_spec::load_str("ryzen-tiered-lxc-platform.yaml", &text);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    let errors: Vec<String> =
        a.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.render_short(&loaded.sources)).collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let m = a.model;
    out.push(("scrape-and-probes".into(), m));
    out
}

fn all_models() -> Vec<(String, Model)> {
    let mut v = common::examples();
    v.extend(variants());
    // AdGuard Home answering the LAN with a native Unbound beside it as its upstream (on 5335).
    v.push(("family-proxmox".into(), common::valid("family-proxmox")));
    v
}

/// AdGuard Home `uses` the Unbound on its own container: Unbound listens where the spec's port
/// puts it (Debian's default 53 would collide with AdGuard Home's), and AdGuard Home forwards
/// there and only there.
#[test]
fn adguard_forwards_to_the_unbound_beside_it() {
    let files = common::render(&common::valid("family-proxmox"));
    let unbound = files.iter().find(|f| f.kind == Kind::Unbound).expect("the native Unbound's file");
    assert_eq!(unbound.path, "/etc/unbound/unbound.conf.d/hearth.conf");
    assert!(unbound.content.contains("    port: 5335\n"), "{}", unbound.content);
    assert!(!unbound.content.contains("local-data"), "Unbound is not the DNS server: {}", unbound.content);
    let adguard = files.iter().find(|f| f.kind == Kind::AdguardHome).expect("the AdGuard Home fragment");
    assert!(adguard.content.contains("dns:\n  upstream_dns:\n    - \"192.168.10.2:5335\"\n"), "{}", adguard.content);
}

fn place(dir: &Path, f: &File) -> PathBuf {
    dir.join(&f.machine).join(f.path.trim_start_matches('/'))
}

/// YAML parsed by PyYAML, as JSON.
fn yaml(path: &Path) -> Value {
    let out = Command::new("python3")
        .args(["-c", "import sys, json, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{} is not YAML: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json from python")
}

#[test]
fn every_file_passes_its_validator() {
    let python = common::have("python3");
    let promtool = common::have("promtool");
    let amtool = common::have("amtool");
    let unbound = common::have("unbound-checkconf");
    let dnsmasq = common::have("dnsmasq");
    let blackbox = common::have("prometheus-blackbox-exporter");
    let mut checked: BTreeMap<&str, usize> = BTreeMap::new();

    for (name, model) in all_models() {
        let files = common::render(&model);
        let mine = ours(&files);
        let dir = common::temp_dir(&format!("observability/{name}"));
        let owned: Vec<File> = mine.iter().map(|f| (*f).clone()).collect();
        common::write_tree(&owned, &dir);
        let test_dir = common::temp_dir(&format!("observability-check/{name}"));
        if name == "scrape-and-probes" {
            // The probe modules the jobs name are written, and the job's own settings kept.
            let text =
                |kind: Kind| mine.iter().filter(|f| f.kind == kind).map(|f| f.content.as_str()).collect::<String>();
            let modules = text(Kind::Blackbox);
            assert!(modules.contains("  tcp_connect:\n") && modules.contains("  icmp:\n"), "{modules}");
            let prometheus = text(Kind::Prometheus);
            for line in [
                "job_name: \"smart\"\n    scrape_interval: \"1m\"\n    scheme: \"https\"",
                "targets: [\"nas.onurx.com:9633\", \"10.0.20.13:9100\"]",
                "module: [\"icmp\"]",
                "targets: [\"10.0.10.10\"]",
                "targets: [\"10.0.10.10:8006\"]",
            ] {
                assert!(prometheus.contains(line), "{line} in {prometheus}");
            }
        }

        for f in &mine {
            let path = place(&dir, f);
            // Secrets only in 0600 secret files; everything else references them by path.
            if f.kind == Kind::EnvSecret {
                assert_eq!(f.mode, 0o600, "{}", f.path);
            } else {
                assert!(!f.content.contains("secret:"), "{name}: {} holds a secret reference", f.path);
            }
            match f.kind {
                Kind::Prometheus if promtool => {
                    // Rule files are absolute paths on the machine: point them at the rendered
                    // tree in a test copy, never in the rendered file.
                    let text = into_tree(f, &dir);
                    let copy = test_dir.join(format!("{}-prometheus.yml", f.machine));
                    std::fs::write(&copy, text).unwrap();
                    common::run_ok(
                        Command::new("promtool").args(["check", "config"]).arg(&copy),
                        &format!("{name}: promtool check config {}", f.path),
                    );
                    *checked.entry("promtool check config").or_default() += 1;
                }
                Kind::PrometheusRules if promtool => {
                    common::run_ok(
                        Command::new("promtool").args(["check", "rules"]).arg(&path),
                        &format!("{name}: promtool check rules {}", f.path),
                    );
                    *checked.entry("promtool check rules").or_default() += 1;
                }
                Kind::Blackbox if blackbox => {
                    common::run_ok(
                        Command::new("prometheus-blackbox-exporter")
                            .arg("--config.check")
                            .arg(format!("--config.file={}", path.display())),
                        &format!("{name}: prometheus-blackbox-exporter --config.check {}", f.path),
                    );
                    *checked.entry("blackbox_exporter --config.check").or_default() += 1;
                }
                Kind::Alertmanager if amtool => {
                    // Debian 12's amtool is 0.25, older than `bot_token_file` (0.26): the test copy
                    // swaps it for an inline dummy token; secret file paths point into the tree.
                    let text: String = into_tree(f, &dir)
                        .lines()
                        .map(|l| match l.split_once("bot_token_file:") {
                            Some((indent, _)) => format!("{indent}bot_token: \"dummy\"\n"),
                            None => format!("{l}\n"),
                        })
                        .collect();
                    let copy = test_dir.join(format!("{}-alertmanager.yml", f.machine));
                    std::fs::write(&copy, text).unwrap();
                    common::run_ok(
                        Command::new("amtool").arg("check-config").arg(&copy),
                        &format!("{name}: amtool check-config {}", f.path),
                    );
                    *checked.entry("amtool check-config").or_default() += 1;
                }
                Kind::Unbound if unbound => {
                    let wrapper = test_dir.join(format!("{}-unbound.conf", f.machine));
                    std::fs::write(
                        &wrapper,
                        format!(
                            "server:\n    chroot: \"\"\n    username: \"\"\n    directory: \"{}\"\n    pidfile: \"\"\ninclude: \"{}\"\n",
                            test_dir.display(),
                            path.display()
                        ),
                    )
                    .unwrap();
                    common::run_ok(
                        Command::new("unbound-checkconf").arg(&wrapper),
                        &format!("{name}: unbound-checkconf {}", f.path),
                    );
                    *checked.entry("unbound-checkconf").or_default() += 1;
                }
                Kind::Dnsmasq if dnsmasq => {
                    common::run_ok(
                        Command::new("dnsmasq").arg("--test").arg(format!("--conf-file={}", path.display())),
                        &format!("{name}: dnsmasq --test {}", f.path),
                    );
                    *checked.entry("dnsmasq --test").or_default() += 1;
                }
                Kind::GrafanaProvisioning if f.path.ends_with(".json") => {
                    let d: Value = serde_json::from_str(&f.content).expect("dashboard JSON");
                    let stem = f.path.rsplit('/').next().unwrap().trim_end_matches(".json");
                    assert_eq!(d["uid"], hearth_render::grafana::uid(stem));
                    assert!(d["uid"].as_str().unwrap().len() <= 40);
                    assert!(!d["title"].as_str().unwrap().is_empty());
                    let panels = d["panels"].as_array().unwrap();
                    assert!(panels.len() >= 4);
                    for p in panels {
                        assert!(p["targets"][0]["expr"].is_string() && p["gridPos"]["w"].is_number());
                    }
                    *checked.entry("grafana dashboard structure").or_default() += 1;
                }
                Kind::GrafanaProvisioning if python => {
                    let y = yaml(&path);
                    assert_eq!(y["apiVersion"], 1);
                    if f.path.contains("/datasources/") {
                        for ds in y["datasources"].as_array().unwrap() {
                            assert!(ds["url"].as_str().unwrap().starts_with("http://"));
                            assert!(["prometheus", "loki"].contains(&ds["type"].as_str().unwrap()));
                        }
                    } else {
                        let p = &y["providers"][0];
                        assert_eq!(p["type"], "file");
                        assert!(p["options"]["path"].as_str().unwrap().ends_with("/dashboards"));
                    }
                    *checked.entry("grafana provisioning structure").or_default() += 1;
                }
                Kind::Loki if python => {
                    let y = yaml(&path);
                    assert_eq!(y["auth_enabled"], false);
                    assert_eq!(y["common"]["ring"]["kvstore"]["store"], "inmemory");
                    assert_eq!(y["schema_config"]["configs"][0]["schema"], "v13");
                    assert_eq!(
                        y["limits_config"]["retention_period"],
                        Value::from(model.monitoring.logs.retention.as_str())
                    );
                    assert_eq!(y["compactor"]["retention_enabled"], true);
                    let object_store = y["schema_config"]["configs"][0]["object_store"].as_str().unwrap();
                    assert_eq!(y["compactor"]["delete_request_store"], object_store);
                    match &model.monitoring.logs.store {
                        Some(store) => {
                            let s3 = &y["common"]["storage"]["s3"];
                            assert_eq!(object_store, "s3");
                            assert_eq!(s3["bucketnames"], Value::from(store.bucket.as_str()));
                            assert_eq!(s3["endpoint"], Value::from(store.endpoint.as_str()));
                            // The key comes from the environment (`-config.expand-env=true`).
                            assert_eq!(s3["secret_access_key"], "${LOKI_S3_SECRET_ACCESS_KEY}");
                        }
                        None => assert_eq!(object_store, "filesystem"),
                    }
                    if !model.monitoring.log_rules.is_empty() {
                        assert_eq!(y["ruler"]["storage"]["type"], "local");
                        assert!(y["ruler"]["alertmanager_url"].as_str().unwrap().starts_with("http://"));
                    }
                    *checked.entry("loki structure").or_default() += 1;
                }
                // LogQL has no validator in Debian or PyPI (Loki is not packaged there): the
                // rules file is held to the Prometheus rules format Loki's ruler reads, and the
                // file to the tenant folder the ruler looks in.
                Kind::LokiRules if python => {
                    let y = yaml(&path);
                    assert!(f.path.ends_with("/rules/fake/hearth.yaml"), "{}", f.path);
                    let rules = y["groups"][0]["rules"].as_array().unwrap();
                    assert_eq!(rules.len(), model.monitoring.log_rules.len());
                    for r in rules {
                        assert!(r["alert"].is_string() && r["expr"].as_str().unwrap().contains('{'));
                        assert!(["critical", "warning", "info"].contains(&r["labels"]["severity"].as_str().unwrap()));
                    }
                    *checked.entry("loki rules structure").or_default() += 1;
                }
                Kind::Promtail if python => {
                    let y = yaml(&path);
                    assert!(y["clients"][0]["url"].as_str().unwrap().ends_with("/loki/api/v1/push"));
                    let jobs: Vec<&str> = y["scrape_configs"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|j| j["job_name"].as_str().unwrap())
                        .collect();
                    assert!(jobs.contains(&"journal"));
                    *checked.entry("promtail structure").or_default() += 1;
                }
                Kind::Homepage if python => {
                    let y = yaml(&path);
                    if f.path.ends_with("services.yaml") {
                        for group in y.as_array().unwrap() {
                            let (_, tiles) = group.as_object().unwrap().iter().next().unwrap();
                            for tile in tiles.as_array().unwrap() {
                                let (_, t) = tile.as_object().unwrap().iter().next().unwrap();
                                assert!(t["href"].as_str().unwrap().starts_with("https://"));
                                if let Some(w) = t.get("widget") {
                                    widget_structure(&model, w);
                                    *checked.entry("homepage widget structure").or_default() += 1;
                                }
                            }
                        }
                    } else {
                        assert!(y["title"].is_string());
                    }
                    *checked.entry("homepage structure").or_default() += 1;
                }
                Kind::AdguardHome if python => {
                    let y = yaml(&path);
                    let rewrites = y["filtering"]["rewrites"].as_array().unwrap();
                    let distinct: std::collections::BTreeSet<_> =
                        model.dns_records.iter().map(|r| (r.name.clone(), r.address)).collect();
                    assert_eq!(rewrites.len(), distinct.len());
                    for r in rewrites {
                        assert!(r["domain"].is_string() && r["answer"].is_string());
                    }
                    *checked.entry("adguard structure").or_default() += 1;
                }
                Kind::Alloy => {
                    alloy_structure(&f.content);
                    *checked.entry("alloy structure").or_default() += 1;
                }
                _ => {}
            }
        }
    }
    eprintln!("observability checks: {checked:?}");
    // The examples render every kind above; with the validators installed each check must
    // have run at least once, so a renderer that stops producing a kind fails here.
    assert!(checked.contains_key("alloy structure"), "the examples render Alloy configs");
    if common::validators_required() {
        let expected = [
            "adguard structure",
            "alloy structure",
            "amtool check-config",
            "dnsmasq --test",
            "grafana dashboard structure",
            "grafana provisioning structure",
            "homepage structure",
            "homepage widget structure",
            "loki rules structure",
            "loki structure",
            "promtail structure",
            "promtool check config",
            "promtool check rules",
            "unbound-checkconf",
        ];
        let missing: Vec<_> = expected.iter().filter(|k| !checked.contains_key(*k)).collect();
        assert!(missing.is_empty(), "checks that never ran: {missing:?}");
    }
}

/// A Homepage widget: a type and an `http(s)` URL; a `{{HOMEPAGE_VAR_…}}` value names a variable
/// the dashboard's environment sets (from the secret store), and no other value looks like a
/// secret.
fn widget_structure(model: &Model, w: &Value) {
    assert!(!w["type"].as_str().unwrap().is_empty());
    assert!(w["url"].as_str().unwrap().starts_with("http"));
    let dashboard = model.monitoring.dashboard.as_deref().and_then(|d| model.services.get(d)).unwrap();
    for (k, v) in w.as_object().unwrap() {
        let v = v.as_str().unwrap_or_default();
        if let Some(var) = v.strip_prefix("{{").and_then(|v| v.strip_suffix("}}")) {
            assert!(var.starts_with("HOMEPAGE_VAR_"), "{k}: {v}");
            assert!(dashboard.env.contains_key(var), "{var} is not in the dashboard's environment");
        } else {
            assert!(!["key", "password"].contains(&k.as_str()), "{k} is written into services.yaml");
        }
    }
}

/// No Alloy parser exists in Debian or PyPI: check the blocks balance, every string closes, and
/// every component reference names a declared component.
fn alloy_structure(text: &str) {
    let mut depth = 0i32;
    let mut declared = Vec::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
        assert_eq!((line.matches('"').count() - line.matches("\\\"").count()) % 2, 0, "unclosed string: {line}");
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        assert!(depth >= 0, "unbalanced: {line}");
        if depth == 1 && line.ends_with('{') && !line.starts_with(' ') {
            let mut parts = line.split('"');
            let kind = parts.next().unwrap().trim();
            let label = parts.next().unwrap();
            declared.push(format!("{kind}.{label}"));
        }
        if let Some(head) = line.strip_suffix("{ }") {
            let mut parts = head.split('"');
            declared.push(format!("{}.{}", parts.next().unwrap().trim(), parts.next().unwrap()));
        }
    }
    assert_eq!(depth, 0);
    for reference in [
        "prometheus.remote_write.hearth",
        "loki.write.hearth",
        "loki.relabel.journal",
        "prometheus.exporter.unix.host",
        "discovery.docker.containers",
        "discovery.relabel.containers",
    ] {
        if text.contains(&format!("{reference}.")) {
            assert!(declared.iter().any(|d| d == reference), "`{reference}` used but not declared: {declared:?}");
        }
    }
}

#[test]
fn secrets_stay_in_secret_files() {
    let m = variants().into_iter().find(|(n, _)| n == "all-channels").unwrap().1;
    let files = common::render(&m);
    let secrets: Vec<&File> = ours(&files).into_iter().filter(|f| f.kind == Kind::EnvSecret).collect();
    let paths: Vec<&str> = secrets.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/etc/prometheus/alertmanager-secrets/gotify-token",
            "/etc/prometheus/alertmanager-secrets/mail-password",
            "/etc/prometheus/alertmanager-secrets/ntfy-token",
            "/etc/prometheus/alertmanager-secrets/telegram-token",
        ]
    );
    assert!(secrets.iter().all(|f| f.mode == 0o600 && f.content.starts_with("{{")));
    let am = common::of_kind(&files, Kind::Alertmanager)[0];
    for p in paths {
        assert!(am.content.contains(&format!("\"{p}\"")), "{p} not referenced");
    }
    assert!(am.content.contains("chat_id: -100123456"));
}

/// Every file of this group, one after another, for a snapshot.
fn dump(files: &[File]) -> String {
    ours(files)
        .iter()
        .map(|f| format!("==> {}:{} ({}, {:o})\n{}", f.machine, f.path, f.kind.as_str(), f.mode, f.content))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn snapshots() {
    for name in ["ryzen-tiered-lxc-platform", "two-node-docker-pbs"] {
        let files = common::render(&example(name));
        insta::assert_snapshot!(format!("observability-{name}"), dump(&files));
    }
    for (name, m) in variants() {
        if ["all-channels", "dns-unbound-docker", "dns-dnsmasq-native"].contains(&name.as_str()) {
            let files = common::render(&m);
            let wanted: Vec<File> = ours(&files)
                .into_iter()
                .filter(|f| {
                    if name == "all-channels" {
                        matches!(f.kind, Kind::Alertmanager | Kind::EnvSecret)
                    } else {
                        matches!(f.kind, Kind::Unbound | Kind::Dnsmasq)
                    }
                })
                .cloned()
                .collect();
            insta::assert_snapshot!(format!("observability-variant-{name}"), dump(&wanted));
        }
    }
}

/// Every DNS server's file gives each name one answer: a resolver holding two hands out either,
/// so half the lookups of an exposed name would miss its route (`jellyfin.local` in the
/// ZFS example, which also has a record of its own).
#[test]
fn dns_names_have_one_answer() {
    let mut checked = 0;
    for (name, model) in all_models() {
        for f in common::render(&model) {
            let names: Vec<String> = match f.kind {
                Kind::AdguardHome => f
                    .content
                    .lines()
                    .filter_map(|l| l.trim_start().strip_prefix("- domain: "))
                    .map(|d| d.trim_matches('"').to_string())
                    .collect(),
                Kind::Dnsmasq => f
                    .content
                    .lines()
                    .filter_map(|l| l.strip_prefix("address=/"))
                    .filter_map(|l| l.split('/').next())
                    .map(str::to_string)
                    .collect(),
                // A resolver that is not the DNS server (AdGuard Home's upstream) holds no names.
                Kind::Unbound if !f.sources.iter().any(|s| s == "dns") => continue,
                Kind::Unbound => f
                    .content
                    .lines()
                    .filter_map(|l| l.trim_start().strip_prefix("local-data: \""))
                    .filter_map(|l| l.split(' ').next())
                    .map(|n| n.trim_end_matches('.').to_string())
                    .collect(),
                _ => continue,
            };
            assert!(!names.is_empty(), "{name}: {} answers nothing", f.path);
            let mut seen = std::collections::BTreeSet::new();
            for n in &names {
                assert!(seen.insert(n), "{name}: {} answers `{n}` twice:\n{}", f.path, f.content);
            }
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} DNS files");
}

/// A rendered Prometheus or Alertmanager file with its absolute paths (rule files, secret files)
/// pointed into the rendered tree under `dir`, for a test copy; the rendered file keeps them. A
/// container's `/etc/prometheus` is the host folder the file is in.
fn into_tree(f: &File, dir: &Path) -> String {
    let machine_root = dir.join(&f.machine);
    let folder = f.path.rsplit_once('/').map_or("", |(d, _)| d);
    let text = if folder == "/etc/prometheus" {
        f.content.clone()
    } else {
        f.content.replace("\"/etc/prometheus/", &format!("\"{}{folder}/", machine_root.display()))
    };
    let text = text.replace("\"/etc/", &format!("\"{}/etc/", machine_root.display()));
    text.replace("\"/opt/", &format!("\"{}/opt/", machine_root.display()))
}
