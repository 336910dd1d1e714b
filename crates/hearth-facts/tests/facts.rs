//! The facts of every example and of the lab's test homelab, snapshotted as one line per fact
//! (machine, id, where it runs from, the spec location, what it checks, why it is skipped), and
//! data-driven checks of what small specs imply.

use std::path::{Path, PathBuf};

use hearth_facts::{Check, Fact};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The facts of the spec at `path` and their lines as the snapshots show them.
fn facts_of(path: &Path) -> Vec<String> {
    let loaded = hearth_spec::load(path, &hearth_spec::FsFiles);
    assert!(!loaded.has_errors(), "{} does not load", path.display());
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    assert!(!a.diagnostics.iter().any(|d| d.is_error()), "{} has errors", path.display());
    let facts = hearth_facts::facts(&a.model, hearth_catalog::builtin());
    facts.iter().map(|f| line(f, &loaded.sources)).collect()
}

fn line(f: &Fact, sources: &hearth_spec::SourceMap) -> String {
    let at = f.span.map_or_else(
        || "-".to_string(),
        |s| {
            let l = sources.location(s);
            let file = l.path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            format!("{file}:{}:{}", l.line, l.col)
        },
    );
    let from = if f.from == f.machine { String::new() } else { format!(" from {}", f.from) };
    let skip = f.skip.as_ref().map_or_else(String::new, |s| format!(" [skip: {s}]"));
    format!("{} {}{from} @{at}: {}{skip}", f.machine, f.id, f.check.describe())
}

#[test]
fn examples_and_lab_homelab() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .expect("examples")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths.push(repo().join("tests/lab/homelab.yaml"));
    for p in paths {
        let name = p.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        insta::assert_snapshot!(name, facts_of(&p).join("\n"));
    }
}

/// The facts of an inline spec, by id.
fn facts(yaml: &str) -> Vec<Fact> {
    let loaded = hearth_spec::load_str("hearth.yaml", yaml);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    hearth_facts::facts(&a.model, hearth_catalog::builtin())
}

const BASE: &str = "homelab: t
domain: t.home.arpa
networks:
  lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1 }
  data: { cidr: 10.0.2.0/24, gateway: 10.0.2.1 }
hosts:
  pve: { address: 192.168.1.2, network: lan, proxmox: {} }
guests:
  app: { lxc: { on: pve }, network: lan, address: 192.168.1.10, runtime: docker, size: { cores: 1, memory: 1GiB, disk: 8GiB } }
  db: { lxc: { on: pve }, network: data, address: 10.0.2.10, size: { cores: 1, memory: 1GiB, disk: 8GiB } }
  other: { lxc: { on: pve }, network: lan, address: 192.168.1.11, size: { cores: 1, memory: 1GiB, disk: 8GiB } }
";

/// One expected fact: its id, machine, source machine and a part of its skip reason, if skipped.
type Expected = (&'static str, &'static str, &'static str, Option<&'static str>);

/// `(spec services, [expected facts])`: each expected fact exists
/// with that machine and source machine, skipped exactly when a reason part is given.
#[test]
fn derivation() {
    let cases: &[(&str, &[Expected])] = &[
        (
            "services:\n  pg: { app: postgresql, on: db, backup: false }\n  web: { image: nginx:1.27, on: app, ports: { http: 8080 }, uses: [pg], backup: false }\n",
            &[
                ("service/pg/running", "db", "db", None),
                ("service/web/running", "app", "app", None),
                ("uses/web/pg", "db", "app", None),
                ("firewall/db/tcp/5432/from/app", "db", "app", None),
                ("firewall/db/tcp/5432/closed-to/other", "db", "other", None),
                ("firewall/app/tcp/22/from/db", "app", "db", None),
            ],
        ),
        (
            "guests:\n  nix: { vm: { on: pve }, os: nixos-24.11, network: lan, address: 192.168.1.12, size: { cores: 1, memory: 1GiB, disk: 8GiB } }\nservices:\n  r: { app: redis, on: nix, backup: false }\n",
            &[("service/r/running", "nix", "nix", Some("NixOS guest"))],
        ),
        (
            "services:\n  r: { app: redis, on: db, backup: false }\n  web: { image: nginx:1.27, on: app, ports: { http: 8080 }, uses: [r], backup: false }\n",
            &[("uses/web/r", "db", "app", None), ("service/r/running", "db", "db", None)],
        ),
    ];
    for (services, expected) in cases {
        let spec = merge(BASE, services);
        let facts = facts(&spec);
        for (id, machine, from, skip) in *expected {
            let f = facts.iter().find(|f| f.id == *id).unwrap_or_else(|| {
                panic!("no fact `{id}` in:\n{}", facts.iter().map(|f| f.id.as_str()).collect::<Vec<_>>().join("\n"))
            });
            assert_eq!((f.machine.as_str(), f.from.as_str()), (*machine, *from), "{id}");
            match (skip, &f.skip) {
                (None, None) => {}
                (Some(part), Some(reason)) => assert!(reason.contains(part), "{id}: {reason}"),
                (want, got) => panic!("{id}: expected skip {want:?}, got {got:?}"),
            }
        }
    }
}

/// The spec text with `extra` sections added, extra `guests:` entries merged into the base's.
fn merge(base: &str, extra: &str) -> String {
    match extra.strip_prefix("guests:\n") {
        Some(rest) => {
            let (guests, others) = rest.split_at(rest.find("\nservices:").map_or(rest.len(), |i| i + 1));
            format!("{base}{guests}{others}").replacen("guests:\n", "guests:\n", 1)
        }
        None => format!("{base}{extra}"),
    }
}

#[test]
fn credentials_are_references() {
    let spec = merge(
        BASE,
        "services:\n  pg: { app: postgresql, on: db, backup: false }\n  web: { image: nginx:1.27, on: app, ports: { http: 8080 }, uses: [pg], backup: false }\n",
    );
    let f = facts(&spec).into_iter().find(|f| f.id == "uses/web/pg").expect("uses fact");
    match f.check {
        Check::Postgres { user, database, password, port, .. } => {
            assert_eq!(
                (user.as_str(), database.as_str(), password.as_str(), port),
                ("web", "web", "secret:pg-web-password", 5432)
            );
        }
        other => panic!("{other:?}"),
    }
}

/// A database exporter's scrape target and the alert rules on its series need the exporter
/// running: where it is not (the lab leaves it out with its database), they are skipped with
/// it, not failed.
#[test]
fn exporter_series_need_the_exporter() {
    let spec = merge(
        BASE,
        "monitoring: { prometheus: prom, exporters: [postgres], alerts: { rules: [{ name: DatabaseDown, expr: \"pg_up == 0\", for: 5m, severity: critical, summary: down }] } }\n\
         services:\n  pg: { app: postgresql, on: db, backup: false }\n  \
         prom: { app: prometheus, on: app, backup: false }\n",
    );
    let facts = facts(&spec);
    let needs = |prefix: &str| {
        let f = facts.iter().find(|f| f.id.starts_with(prefix)).unwrap_or_else(|| {
            panic!("no fact `{prefix}…` in:\n{}", facts.iter().map(|f| f.id.as_str()).collect::<Vec<_>>().join("\n"))
        });
        f.needs.clone()
    };
    assert!(needs("scrape/postgres/").contains(&"pg-exporter".to_string()), "{:?}", needs("scrape/postgres/"));
    assert!(needs("alert/DatabaseDown/").contains(&"pg-exporter".to_string()), "{:?}", needs("alert/DatabaseDown/"));
}

/// A copy job's timer is checked on each machine of its policy's `from` (skipped on a NixOS
/// guest, as every check there is), and a cluster's job is its CronJob on the cluster's first
/// server, in place of a `running` fact: a job does not run between its schedules.
#[test]
fn copies_and_cluster_jobs_are_scheduled() {
    let spec = merge(
        BASE,
        "guests:
  nix: { vm: { on: pve }, os: nixos-24.11, network: lan, address: 192.168.1.12, size: { cores: 1, memory: 1GiB, disk: 8GiB } }
  kube: { vm: { on: pve }, network: lan, address: 192.168.1.13, size: { cores: 2, memory: 4GiB, disk: 16GiB } }
clusters:
  k3s: { kind: k3s, servers: [kube] }
services:
  sync: { image: ghcr.io/example/sync:1.0.0, on: k3s, schedule: \"Sun 03:30\", command: [sync], backup: false }
backups:
  repositories:
    mirror: { rsync: \"root@other:/srv/copies/\" }
  policies:
    copies: { at: \"03:00\", to: [mirror], from: [app, nix], paths: [/etc/] }
",
    );
    let facts = facts(&spec);
    let find = |id: &str| {
        facts.iter().find(|f| f.id == id).unwrap_or_else(|| {
            panic!("no fact `{id}` in:\n{}", facts.iter().map(|f| f.id.as_str()).collect::<Vec<_>>().join("\n"))
        })
    };
    let on_app = find("copy/copies/on/app");
    assert_eq!(
        (on_app.machine.as_str(), on_app.from.as_str(), on_app.source.as_str()),
        ("app", "app", "policy/copies")
    );
    assert_eq!(
        on_app.check,
        Check::Timer { timer: "hearth-copy-copies.timer".into(), unit: "hearth-copy-copies.service".into() }
    );
    assert!(on_app.skip.is_none(), "{:?}", on_app.skip);
    let on_nix = find("copy/copies/on/nix");
    assert!(on_nix.skip.as_deref().is_some_and(|s| s.contains("NixOS guest")), "{:?}", on_nix.skip);
    let job = find("service/sync/scheduled");
    assert_eq!((job.machine.as_str(), job.from.as_str(), job.source.as_str()), ("kube", "kube", "service/sync"));
    assert_eq!(job.check, Check::CronJob { name: "sync".into(), namespace: "default".into() });
    assert!(job.skip.is_none(), "{:?}", job.skip);
    assert!(!facts.iter().any(|f| f.id.starts_with("service/sync/running")), "a job has no `running` fact");
}
