//! Which packages the lab cannot install: those that come from outside Debian's archive (an
//! upstream apt repository or release download), which the lab's networks do not reach, and
//! those whose service needs the host's kernel (the NFS server). Their
//! services are left out of the lab: the package leaves the machine's package list, the files
//! that only serve them are not placed, and verify skips their checks, naming the repository.
//!
//! Pure: works on the catalog and the rendered files.

use std::collections::BTreeMap;

use hearth_catalog::Catalog;
use hearth_model::Model;
use hearth_render::{Activation, File, Kind};
use hearth_spec::ast::Form;

use crate::machines::SkippedFile;
use crate::offline::NotStarted;

/// Packages whose service needs what a lab container cannot have, and why.
const NEEDS_THE_KERNEL: &[(&str, &str)] = &[(
    "nfs-kernel-server",
    "the kernel NFS server needs the host's `nfsd` module and its file system, which a lab container cannot load or mount",
)];

/// Why the lab cannot install `package`, if it cannot: it comes from outside Debian's archive,
/// or its service needs the kernel.
fn why_not(catalog: &Catalog, package: &str) -> Option<String> {
    if let Some((_, why)) = NEEDS_THE_KERNEL.iter().find(|(p, _)| *p == package) {
        return Some(format!("package `{package}`: {why}"));
    }
    let repository = third_party(catalog, package)?;
    Some(format!("package `{package}` comes from {repository}, which the lab cannot reach"))
}

/// Where `package` comes from when it is not Debian's: the catalog's `repository` of the app
/// whose native package it is (a `{{ version }}` package is Debian's at `debian_version`).
pub(crate) fn third_party(catalog: &Catalog, package: &str) -> Option<String> {
    catalog.names().filter_map(|n| catalog.get(n)).find_map(|app| {
        let native = app.native.as_ref()?;
        let repository = native.repository.as_deref()?;
        let version = version_of(native.package.as_deref()?, package)?;
        let debian = native.debian_version.as_deref();
        (version.is_none() || version != debian).then(|| repository.to_string())
    })
}

/// Whether the catalog package `pattern` (`postgresql-{{ version }}`) names `package`, and with
/// which version: `Some(None)` for a pattern without one, `None` when it does not name it.
fn version_of<'p>(pattern: &str, package: &'p str) -> Option<Option<&'p str>> {
    match pattern.split_once("{{ version }}") {
        None => (pattern == package).then_some(None),
        Some((before, after)) => {
            let v = package.strip_prefix(before)?.strip_suffix(after)?;
            (!v.is_empty()).then_some(Some(v))
        }
    }
}

/// The catalog's native form of service `name`'s app, if it has one.
fn native_of<'c>(model: &Model, catalog: &'c Catalog, name: &str) -> Option<&'c hearth_catalog::Native> {
    catalog.get(model.services.get(name)?.app.as_deref()?)?.native.as_ref()
}

/// `content` with only the lines `keep` accepts, each ending in a newline.
fn keep_lines(content: &str, mut keep: impl FnMut(&str) -> bool) -> String {
    content.lines().filter(|l| keep(l)).flat_map(|l| [l, "\n"]).collect()
}

/// What the lab changes so that a machine installs only what it can: the package lists without
/// the packages it cannot reach, the files that only serve those packages' services (left out),
/// and the services left out with why.
pub struct Plan {
    pub left_out: Vec<SkippedFile>,
    pub not_started: Vec<NotStarted>,
}

/// Rewrites `files` for the lab: removes unreachable packages from each package list, drops the
/// files that serve only services (or agents) of such packages, and says which and why.
pub fn limit_to_debian(model: &Model, catalog: &Catalog, files: &mut Vec<File>) -> Plan {
    // Packages the lab cannot install, per machine, with why.
    let mut unreachable: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for f in files.iter_mut().filter(|f| f.kind == Kind::Packages) {
        let missing = unreachable.entry(f.machine.clone()).or_default();
        f.content = keep_lines(&f.content, |line| {
            let package = line.trim();
            match (!package.is_empty() && !package.starts_with('#')).then(|| why_not(catalog, package)).flatten() {
                Some(why) => {
                    missing.insert(package.to_string(), why);
                    false
                }
                None => true,
            }
        });
    }
    // Native services whose package is unreachable on their machine.
    let mut services: BTreeMap<(String, String), String> = BTreeMap::new();
    for (name, s) in model.services.iter().filter(|(_, s)| s.form == Form::Native) {
        let Some(native) = native_of(model, catalog, name) else { continue };
        for machine in s.machines() {
            // No package at all: Hearth installs nothing (W621), and nobody does in the lab.
            if native.package.is_none() && !model.is_nixos(machine) {
                let why = format!("`{name}` has no Debian package Hearth installs, and nothing installs it in the lab");
                services.insert((machine.to_string(), name.clone()), why);
                continue;
            }
            let Some(missing) = unreachable.get(machine) else { continue };
            let found =
                missing.iter().find(|(p, _)| native.package.as_deref().is_some_and(|n| version_of(n, p).is_some()));
            if let Some((_, why)) = found {
                services.insert((machine.to_string(), name.clone()), why.clone());
            }
        }
    }
    // A native service that uses a left-out service on its own machine cannot work without it
    // (a database's exporter, whose login file belongs to the database's user, which nothing
    // creates): it leaves the lab too, with its package, until nothing more follows.
    loop {
        let mut more = Vec::new();
        for (name, s) in model.services.iter().filter(|(_, s)| s.form == Form::Native) {
            for machine in s.machines() {
                let key = (machine.to_string(), name.clone());
                if services.contains_key(&key) {
                    continue;
                }
                let needed = s.uses.iter().find_map(|u| {
                    let why = services.get(&(machine.to_string(), u.service.clone()))?;
                    Some(if why.starts_with("needs") {
                        why.clone()
                    } else {
                        format!("needs `{}`, whose {why}", u.service)
                    })
                });
                if let Some(why) = needed {
                    more.push((key, why));
                }
            }
        }
        if more.is_empty() {
            break;
        }
        for ((machine, name), why) in more {
            if let Some(package) = native_of(model, catalog, &name).and_then(|n| n.package.as_deref()) {
                for f in files.iter_mut().filter(|f| f.kind == Kind::Packages && f.machine == machine) {
                    f.content = keep_lines(&f.content, |l| version_of(package, l.trim()).is_none());
                }
            }
            services.insert((machine, name), why);
        }
    }
    // The units of the left-out services, by machine and unit name.
    let units: BTreeMap<(String, String), String> = services
        .keys()
        .filter_map(|(machine, name)| {
            let unit = native_of(model, catalog, name)?.unit.clone()?;
            Some(((machine.clone(), unit), name.clone()))
        })
        .collect();
    // The users and data folders made for those services: the package's user does not exist,
    // so `systemd-tmpfiles` would refuse the folder.
    for f in files.iter_mut().filter(|f| matches!(f.kind, Kind::Sysusers | Kind::Tmpfiles)) {
        let gone =
            |text: &str| services.keys().any(|(m, s)| *m == f.machine && text.contains(&format!("Hearth service {s}")));
        let mut skip_next = false;
        f.content = keep_lines(&f.content, |line| {
            if std::mem::take(&mut skip_next) {
                return false;
            }
            // tmpfiles: a `# Hearth service NAME…` comment, then its line; sysusers: one line.
            if line.starts_with('#') && gone(line) {
                skip_next = true;
                return false;
            }
            !(line.starts_with("u ") && gone(line))
        });
    }
    // Agents installed as tools (not services): their configuration goes with the package.
    let tool = |kind: Kind| match kind {
        Kind::Alloy => Some("alloy"),
        Kind::Promtail => Some("promtail"),
        _ => None,
    };
    let mut left_out = Vec::new();
    files.retain(|f| {
        let why = tool(f.kind)
            .and_then(|t| unreachable.get(&f.machine)?.get(t).map(|why| (format!("agent `{t}`"), why.clone())))
            .or_else(|| {
                // A file that restarts, reloads or enables a left-out service's unit serves it.
                f.activation.iter().find_map(|a| {
                    let unit = match a {
                        Activation::Restart { unit } | Activation::Reload { unit } | Activation::Unit { unit, .. } => {
                            unit
                        }
                        _ => return None,
                    };
                    let service = units.get(&(f.machine.clone(), unit.clone()))?;
                    Some((format!("service `{service}`"), services[&(f.machine.clone(), service.clone())].clone()))
                })
            })
            .or_else(|| {
                // A file of a left-out service of this machine, unless another service here
                // reads it too (the proxy's configuration names the services it fronts).
                let shared = matches!(f.kind, Kind::Packages | Kind::Sysusers | Kind::Tmpfiles | Kind::Nftables);
                let here =
                    |o: &&str| model.services.get(*o).is_some_and(|s| s.machines().contains(&f.machine.as_str()));
                let owners: Vec<&str> =
                    f.sources.iter().filter_map(|s| s.strip_prefix("service/")).filter(here).collect();
                let gone = |o: &&str| services.contains_key(&(f.machine.clone(), o.to_string()));
                let first = owners.iter().find(|o| gone(o))?;
                (!shared && owners.iter().all(gone))
                    .then(|| (format!("service `{first}`"), services[&(f.machine.clone(), first.to_string())].clone()))
            });
        match why {
            Some((what, reason)) => {
                left_out.push(SkippedFile { machine: f.machine.clone(), path: f.path.clone(), what, reason });
                false
            }
            None => true,
        }
    });
    let mut not_started: Vec<NotStarted> =
        services.into_iter().map(|((machine, service), reason)| NotStarted { machine, service, reason }).collect();
    // The agents left out, by their name (the series they ship are missing too).
    for t in ["alloy", "promtail"] {
        if let Some((machine, why)) = unreachable.iter().find_map(|(m, p)| p.get(t).map(|r| (m.clone(), r.clone()))) {
            not_started.push(NotStarted { machine, service: t.to_string(), reason: why });
        }
    }
    Plan { left_out, not_started }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_from_outside_debian() {
        let catalog = hearth_catalog::builtin();
        for (package, expected) in [
            ("redis-server", None),
            ("grafana", Some("https://apt.grafana.com")),
            // Debian's `loki` is another program: Grafana's comes from its repository.
            ("loki", Some("https://apt.grafana.com")),
            ("postgresql-15", None),
            ("postgresql-16", Some("https://apt.postgresql.org/pub/repos/apt")),
            ("prometheus-node-exporter", None),
        ] {
            assert_eq!(third_party(catalog, package).as_deref(), expected, "{package}");
        }
    }

    /// Renders `spec` and lists what the lab leaves out: `machine service: reason`, then
    /// `machine path (what)`, then each package list as left.
    fn check(spec: &str, expected: &[&str]) {
        let loaded = hearth_spec::load_str("hearth.yaml", spec);
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let catalog = hearth_catalog::builtin();
        let analysis = hearth_model::analyze(&loaded.spec, catalog, &hearth_model::Allocations::default());
        let mut files =
            hearth_render::render(&hearth_render::Context { model: &analysis.model, catalog, secrets: None });
        let plan = limit_to_debian(&analysis.model, catalog, &mut files);
        let mut got: Vec<String> =
            plan.not_started.iter().map(|n| format!("{} {}: {}", n.machine, n.service, n.reason)).collect();
        got.extend(plan.left_out.iter().map(|s| format!("{} {} ({})", s.machine, s.path, s.what)));
        got.extend(files.iter().filter_map(|f| {
            let what = match f.kind {
                Kind::Packages => "packages",
                Kind::Tmpfiles => "tmpfiles",
                Kind::Sysusers => "sysusers",
                _ => return None,
            };
            Some(format!("{} {what}: {}", f.machine, f.content.lines().skip(1).collect::<Vec<_>>().join(" ")))
        }));
        assert_eq!(got, expected);
    }

    #[test]
    fn grafanas_loki_leaves_the_lab_with_its_folder() {
        check(
            "homelab: t\nnetworks: { lan: { cidr: 192.168.1.0/24 } }\n\
             hosts: { box: { address: 192.168.1.10, network: lan, runtime: native } }\n\
             services:\n\
             \x20 logs: { app: loki, on: box, form: native, backup: false }\n\
             \x20 cache: { app: redis, on: box, form: native, backup: false }\n\
             \x20 flows: { app: n8n, on: box, form: native, backup: false }\n",
            &[
                "box flows: `flows` has no Debian package Hearth installs, and nothing installs it in the lab",
                "box logs: package `loki` comes from https://apt.grafana.com, which the lab cannot reach",
                "box /etc/default/loki (service `logs`)",
                "box packages: nftables redis-server",
                "box tmpfiles: ",
            ],
        );
    }

    #[test]
    fn a_database_exporter_leaves_the_lab_with_its_database() {
        check(
            "homelab: t\nnetworks: { lan: { cidr: 192.168.1.0/24 } }\n\
             hosts: { box: { address: 192.168.1.10, network: lan, runtime: native } }\n\
             monitoring: { exporters: [postgres] }\n\
             services:\n\
             \x20 db: { app: postgresql, version: \"16\", on: box, form: native, backup: false }\n",
            &[
                "box db: package `postgresql-16` comes from https://apt.postgresql.org/pub/repos/apt, which the lab cannot reach",
                "box db-exporter: needs `db`, whose package `postgresql-16` comes from https://apt.postgresql.org/pub/repos/apt, which the lab cannot reach",
                "box /etc/default/prometheus-postgres-exporter (service `db-exporter`)",
                "box /etc/hearth/postgres/apply.sh (service `db`)",
                "box /etc/hearth/postgres/init.sql (service `db`)",
                "box /etc/hearth/postgres/passwords.env (service `db`)",
                "box /etc/hearth/postgres/pg_hba.conf (service `db`)",
                "box /etc/postgresql/16/main/conf.d/hearth.conf (service `db`)",
                "box packages: nftables",
            ],
        );
    }
}
