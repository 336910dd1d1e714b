//! What deploy plans from: every file of every example carries an owner, a mode and the actions a
//! change to it needs, and those actions point at things that exist (a unit of the catalog, a
//! compose project that was rendered, a script that was rendered). Plus a snapshot of one
//! example's activations, and `systemd-sysusers` / `systemd-tmpfiles` on the files of users and
//! folders.

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::Command;

use hearth_render::{Activation, File, Kind};

/// Kinds whose files a running process reads at start: a change restarts or reloads it.
const CONFIGS: &[Kind] = &[
    Kind::TraefikStatic,
    Kind::Caddyfile,
    Kind::Nginx,
    Kind::Dnsmasq,
    Kind::Unbound,
    Kind::Prometheus,
    Kind::PrometheusRules,
    Kind::Blackbox,
    Kind::NodeExporter,
    Kind::Alertmanager,
    Kind::Loki,
    Kind::LokiRules,
    Kind::CrowdsecBouncer,
    Kind::Alloy,
    Kind::Promtail,
    Kind::Homepage,
    Kind::Redis,
    Kind::PostgresConf,
    Kind::MysqlConf,
    Kind::K3sConfig,
    Kind::Mongod,
    Kind::Defaults,
    Kind::Cloudflared,
    Kind::Wireguard,
];

/// Every unit and user the catalog's native services have.
fn catalog_units_and_users() -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut units, mut users) = (BTreeSet::new(), BTreeSet::new());
    for app in &hearth_catalog::builtin().apps {
        if let Some(n) = &app.native {
            units.extend(n.unit.clone());
            users.extend(n.user.clone());
        }
    }
    (units, users)
}

/// What is wrong with one file's owner, mode and activation, given every file of its render.
fn problems(f: &File, all: &[File]) -> Vec<String> {
    let (units, users) = catalog_units_and_users();
    let on_machine = |path: &str| all.iter().find(|o| o.machine == f.machine && o.path == path);
    let mut p = Vec::new();
    let expected_mode = match f.kind {
        Kind::EnvSecret => Some(0o600),
        Kind::Script => Some(0o755),
        Kind::SystemdUnit | Kind::Compose | Kind::Nftables | Kind::Packages | Kind::Sysusers | Kind::Tmpfiles => {
            Some(0o644)
        }
        _ => None,
    };
    if expected_mode.is_some_and(|m| m != f.mode) {
        p.push(format!("mode {:o}", f.mode));
    }
    if f.owner != "root" && !users.contains(&f.owner) && f.owner.parse::<u32>().is_err() {
        p.push(format!("owner `{}` is no service's user", f.owner));
    }
    let name = f.path.rsplit('/').next().unwrap_or_default();
    let dir = f.path.rsplit_once('/').map_or("", |(d, _)| d);
    let only = |a: Activation| f.activation == [a];
    match f.kind {
        // A drop-in (`<unit>.d/*.conf`) changes its unit: daemon-reload and restart it.
        Kind::SystemdUnit if dir.ends_with(".d") => {
            let unit = dir.rsplit('/').next().unwrap_or_default().trim_end_matches(".d");
            if !only(Activation::Unit { unit: unit.to_string(), start: true }) {
                p.push("a drop-in restarts its unit".into());
            }
        }
        Kind::SystemdUnit => {
            let timer =
                name.strip_suffix(".service").is_some_and(|stem| on_machine(&format!("{dir}/{stem}.timer")).is_some());
            if !only(Activation::Unit { unit: name.to_string(), start: !timer }) {
                p.push("a unit file activates its unit (a timer's service is only enabled)".into());
            }
        }
        Kind::Compose if !only(Activation::ComposeUp { dir: dir.to_string(), services: None }) => {
            p.push("not ComposeUp of its folder".into())
        }
        Kind::Nftables if !only(Activation::LoadRuleset) => p.push("not LoadRuleset".into()),
        Kind::Packages if !only(Activation::InstallPackages) => p.push("not InstallPackages".into()),
        Kind::Sysusers if !only(Activation::Sysusers) => p.push("not Sysusers".into()),
        Kind::Tmpfiles if !only(Activation::Tmpfiles) => p.push("not Tmpfiles".into()),
        Kind::Nixos
        | Kind::Kubernetes
        | Kind::PostgresInit
        | Kind::MongoInit
        | Kind::MysqlInit
        | Kind::MinioInit
        | Kind::Zfs
            if f.activation.is_empty() && !f.path.starts_with("/etc/hearth/zfs/") =>
        {
            p.push("no activation".into())
        }
        k if CONFIGS.contains(&k) => {
            let restarts = f
                .activation
                .iter()
                .filter(|a| {
                    matches!(
                        a,
                        Activation::Restart { .. } | Activation::Reload { .. } | Activation::RestartContainer { .. }
                    )
                })
                .count();
            if restarts != 1 {
                p.push("a configuration restarts or reloads exactly one reader".into());
            }
        }
        _ => {}
    }
    for a in &f.activation {
        match a {
            Activation::Restart { unit } | Activation::Reload { unit } if !units.contains(unit) => {
                p.push(format!("`{unit}` is no catalog unit"))
            }
            Activation::RestartContainer { dir, service } => {
                let compose = on_machine(&format!("{dir}/compose.yaml"));
                if !compose.is_some_and(|c| c.content.contains(&format!("\n  {service}:\n"))) {
                    p.push(format!("no container `{service}` in {dir}/compose.yaml"));
                }
            }
            Activation::ComposeUp { dir, .. } if on_machine(&format!("{dir}/compose.yaml")).is_none() => {
                p.push(format!("no compose file in {dir}"))
            }
            Activation::Run { argv } => {
                if !argv.first().is_some_and(|a| a.starts_with('/')) {
                    p.push(format!("`{argv:?}` does not start with an absolute path"));
                }
                if argv.first().is_some_and(|a| a == "/bin/sh")
                    && let Some(script) = argv.get(1).filter(|s| s.starts_with('/'))
                    && on_machine(script).is_none()
                {
                    p.push(format!("runs {script}, which is not rendered"));
                }
            }
            _ => {}
        }
    }
    p
}

#[test]
fn every_file_has_a_sensible_owner_mode_and_activation() {
    let mut checked = 0;
    let mut kinds = BTreeSet::new();
    for (name, model) in common::examples() {
        let files = common::render(&model);
        for f in &files {
            let p = problems(f, &files);
            assert!(p.is_empty(), "{name} {}:{} ({}): {}", f.machine, f.path, f.kind.as_str(), p.join("; "));
            kinds.insert(f.kind);
            checked += 1;
        }
    }
    eprintln!("{checked} files checked");
    for k in [Kind::SystemdUnit, Kind::Compose, Kind::Nftables, Kind::Packages, Kind::Script, Kind::Redis] {
        assert!(kinds.contains(&k), "the examples render no {}", k.as_str());
    }
}

/// 0600 files a non-root daemon reads, by what reads them: the daemon's user owns them.
#[test]
fn private_files_belong_to_their_daemon() {
    let check = |files: &[File], path_end: &str, owner: &str| {
        let found: Vec<&File> = files.iter().filter(|f| f.path.ends_with(path_end)).collect();
        assert!(!found.is_empty(), "no {path_end}");
        for f in found {
            assert_eq!((f.mode, f.owner.as_str(), f.group.as_str()), (0o600, owner, owner), "{}:{}", f.machine, f.path);
        }
    };
    let model = example("ryzen-tiered-lxc-platform");
    let files = common::render(&model);
    check(&files, "/etc/redis/secret.conf", "redis");
    check(&files, "/etc/hearth/postgres/passwords.env", "postgres");
    // In a container: the uid the image's process runs as.
    let files = common::render(&example("zfs-proxmox-media-cloud"));
    check(&files, "/opt/hearth/redis/config/secret.conf", "999");
}

fn example(name: &str) -> hearth_model::Model {
    common::examples().into_iter().find(|(n, _)| n == name).map(|(_, m)| m).expect("example")
}

fn describe(a: &Activation) -> String {
    match a {
        Activation::InstallPackages => "install-packages".into(),
        Activation::Sysusers => "sysusers".into(),
        Activation::Tmpfiles => "tmpfiles".into(),
        Activation::Unit { unit, start } => format!("unit {unit}{}", if *start { " start" } else { "" }),
        Activation::Restart { unit } => format!("restart {unit}"),
        Activation::Reload { unit } => format!("reload {unit}"),
        Activation::ComposeUp { dir, .. } => format!("compose-up {dir}"),
        Activation::RestartContainer { dir, service } => format!("restart-container {dir} {service}"),
        Activation::LoadRuleset => "load-ruleset".into(),
        Activation::Run { argv } => format!("run {}", argv.join(" ")),
    }
}

#[test]
fn snapshot_activations() {
    let files = common::render(&example("ryzen-tiered-lxc-platform"));
    let mut s = String::new();
    for f in &files {
        let acts: Vec<String> = f.activation.iter().map(describe).collect();
        let _ = writeln!(s, "{}:{} {}:{} {:o} [{}]", f.machine, f.path, f.owner, f.group, f.mode, acts.join(", "));
    }
    insta::assert_snapshot!("activations-ryzen-tiered-lxc-platform", s);
}

/// The users and folders files, through systemd's own tools in a scratch root.
#[test]
fn sysusers_and_tmpfiles_pass_systemd() {
    if !common::have("systemd-sysusers") || !common::have("systemd-tmpfiles") {
        return;
    }
    let mut checked = 0;
    for (name, model) in common::examples() {
        let files = common::render(&model);
        for f in files.iter().filter(|f| matches!(f.kind, Kind::Sysusers | Kind::Tmpfiles)) {
            let root = common::temp_dir(&format!("activation-{name}-{}", f.machine));
            let etc = root.join("etc");
            std::fs::create_dir_all(&etc).unwrap();
            // The users the folders name, as the packages (or the sysusers file) create them.
            let (_, users) = catalog_units_and_users();
            let (mut passwd, mut group) = ("root:x:0:0::/root:/bin/sh\n".to_string(), "root:x:0:\n".to_string());
            for (i, u) in users.iter().enumerate() {
                let _ = writeln!(passwd, "{u}:x:{}:{}::/:/usr/sbin/nologin", 900 + i, 900 + i);
                let _ = writeln!(group, "{u}:x:{}:", 900 + i);
            }
            std::fs::write(etc.join("passwd"), passwd).unwrap();
            std::fs::write(etc.join("group"), group).unwrap();
            let conf = root.join("hearth.conf");
            std::fs::write(&conf, &f.content).unwrap();
            let mut cmd = if f.kind == Kind::Sysusers {
                let mut c = Command::new("systemd-sysusers");
                c.arg("--dry-run");
                c
            } else {
                let mut c = Command::new("systemd-tmpfiles");
                c.arg("--create");
                c
            };
            common::run_ok(
                cmd.arg(format!("--root={}", root.display())).arg(&conf),
                &format!("{name} {}:{}", f.machine, f.path),
            );
            checked += 1;
        }
    }
    eprintln!("systemd-sysusers / systemd-tmpfiles: {checked} files valid");
}
