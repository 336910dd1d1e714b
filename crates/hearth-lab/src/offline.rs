//! Which containers the lab can start when some images are not available offline: a container
//! starts when its image is on its machine and every container it needs starts too.
//!
//! Pure: works on the rendered stacks ([`hearth_render::compose::containers`]) and the list of
//! missing images. The lab cannot pull (its networks do not reach a registry), so a stack is
//! brought up with only its startable containers, and what is left out is reported, with the
//! image it waits for, instead of failing the whole `docker compose up`.

use std::collections::{BTreeMap, BTreeSet};

use hearth_model::Model;
use hearth_render::compose::{StackContainer, containers};
use hearth_render::{Activation, File};
use serde::Serialize;

use crate::machines::{OfflineImage, SkippedFile};

/// What the lab starts of one stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackStart {
    pub machine: String,
    pub dir: String,
    /// The containers to start, by Compose service name.
    pub start: Vec<String>,
}

/// A spec service (some container of it) the lab cannot start, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotStarted {
    pub machine: String,
    pub service: String,
    pub reason: String,
}

/// The images each machine's containers need, one entry per service and image.
pub(crate) fn images(model: &Model, docker_machines: &BTreeSet<&str>) -> Vec<OfflineImage> {
    let mut out: Vec<OfflineImage> = containers(model)
        .into_iter()
        .filter(|c| docker_machines.contains(c.machine.as_str()))
        .map(|c| OfflineImage { service: c.service, machine: c.machine, image: c.image })
        .collect();
    out.sort_by(|a, b| (&a.machine, &a.service, &a.image).cmp(&(&b.machine, &b.service, &b.image)));
    out.dedup();
    out
}

/// Given the images missing on their machines, the containers each stack can start and the
/// services left out with their reason (the first missing image found along their needs).
pub fn startable(model: &Model, missing: &[OfflineImage]) -> (Vec<StackStart>, Vec<NotStarted>) {
    let all = containers(model);
    let absent: BTreeSet<(&str, &str)> = missing.iter().map(|m| (m.machine.as_str(), m.image.as_str())).collect();
    let by_key: BTreeMap<(&str, &str), &StackContainer> =
        all.iter().map(|c| ((c.machine.as_str(), c.key.as_str()), c)).collect();
    // Why each container cannot start, found by following its needs; a cycle (which Compose
    // refuses anyway) ends the search without blocking.
    fn blocked<'a>(
        c: &'a StackContainer,
        by_key: &BTreeMap<(&str, &str), &'a StackContainer>,
        absent: &BTreeSet<(&str, &str)>,
        seen: &mut BTreeSet<&'a str>,
    ) -> Option<String> {
        if absent.contains(&(c.machine.as_str(), c.image.as_str())) {
            return Some(format!("image `{}` is not available offline", c.image));
        }
        if !seen.insert(c.key.as_str()) {
            return None;
        }
        c.needs.iter().find_map(|n| {
            let dep = by_key.get(&(c.machine.as_str(), n.as_str()))?;
            let why = blocked(dep, by_key, absent, seen)?;
            Some(if why.starts_with("needs") { why } else { format!("needs `{}`, whose {why}", dep.key) })
        })
    }
    let mut stacks: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
    let mut left: BTreeMap<(&str, &str), String> = BTreeMap::new();
    for c in &all {
        let start = stacks.entry((c.machine.as_str(), c.dir.as_str())).or_default();
        match blocked(c, &by_key, &absent, &mut BTreeSet::new()) {
            None => start.push(c.key.clone()),
            Some(why) => {
                left.entry((c.machine.as_str(), c.service.as_str())).or_insert(why);
            }
        }
    }
    // A service is all its containers or none: a companion that cannot start keeps its
    // service's own container down too, and the reverse.
    for ((machine, dir), start) in stacks.iter_mut() {
        start.retain(|key| {
            let c = by_key[&(*machine, key.as_str())];
            debug_assert_eq!(c.dir, *dir);
            !left.contains_key(&(*machine, c.service.as_str()))
        });
    }
    let starts = stacks
        .into_iter()
        .map(|((machine, dir), start)| StackStart { machine: machine.to_string(), dir: dir.to_string(), start })
        .collect();
    let not_started = left
        .into_iter()
        .map(|((machine, service), reason)| NotStarted {
            machine: machine.to_string(),
            service: service.to_string(),
            reason,
        })
        .collect();
    (starts, not_started)
}

/// Rewrites `files` for the containers the lab starts (`starts`): each stack's `docker compose
/// up` names only those (`Activation::ComposeUp.services`), a restart of a container
/// left stopped is dropped from its file's activations, and a script run once the stack is up
/// (a database's init through `docker exec`) that works with a service left stopped on its
/// machine is left out, and returned.
pub fn limit_files(model: &Model, starts: &[StackStart], files: &mut Vec<File>) -> Vec<SkippedFile> {
    let started: BTreeSet<(&str, &str, &str)> = starts
        .iter()
        .flat_map(|s| s.start.iter().map(move |k| (s.machine.as_str(), s.dir.as_str(), k.as_str())))
        .collect();
    let stacks: BTreeSet<(&str, &str)> = starts.iter().map(|s| (s.machine.as_str(), s.dir.as_str())).collect();
    let stopped_services: BTreeSet<(String, String)> = containers(model)
        .into_iter()
        .filter(|c| !started.contains(&(c.machine.as_str(), c.dir.as_str(), c.key.as_str())))
        .map(|c| (c.machine, c.service))
        .collect();
    let start: BTreeMap<(&str, &str), &Vec<String>> =
        starts.iter().map(|s| ((s.machine.as_str(), s.dir.as_str()), &s.start)).collect();
    for f in files.iter_mut() {
        let machine = f.machine.clone();
        for a in &mut f.activation {
            if let Activation::ComposeUp { dir, services } = a
                && let Some(only) = start.get(&(machine.as_str(), dir.as_str()))
            {
                *services = Some((*only).clone());
            }
        }
        f.activation.retain(|a| match a {
            Activation::RestartContainer { dir, service } => {
                !stacks.contains(&(machine.as_str(), dir.as_str()))
                    || started.contains(&(machine.as_str(), dir.as_str(), service.as_str()))
            }
            _ => true,
        });
    }
    let mut left_out = Vec::new();
    files.retain(|f| {
        if !f.activation.iter().any(|a| matches!(a, Activation::Run { .. })) {
            return true;
        }
        let here: Vec<&str> = f
            .sources
            .iter()
            .filter_map(|s| s.strip_prefix("service/"))
            .filter(|o| model.services.get(*o).is_some_and(|s| s.machines().contains(&f.machine.as_str())))
            .collect();
        let stopped = |o: &&str| stopped_services.contains(&(f.machine.clone(), o.to_string()));
        // A script cannot run half: one stopped container it works with is enough.
        match here.iter().find(|o| stopped(o)) {
            Some(first) => {
                left_out.push(SkippedFile {
                    machine: f.machine.clone(),
                    path: f.path.clone(),
                    what: format!("service `{first}`"),
                    reason: "its container is not started in the lab".into(),
                });
                false
            }
            _ => true,
        }
    });
    left_out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resolves `spec` and compares what the lab starts when `missing` images are absent:
    /// `machine dir: a b` per stack, then `machine service: reason` per service left out.
    fn check(spec: &str, missing: &[(&str, &str)], expected: &[&str]) {
        let loaded = hearth_spec::load_str("hearth.yaml", spec);
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let analysis =
            hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &hearth_model::Allocations::default());
        let missing: Vec<OfflineImage> = missing
            .iter()
            .map(|(m, i)| OfflineImage { service: String::new(), machine: m.to_string(), image: i.to_string() })
            .collect();
        let (starts, left) = startable(&analysis.model, &missing);
        let mut got: Vec<String> =
            starts.iter().map(|s| format!("{} {}: {}", s.machine, s.dir, s.start.join(" "))).collect();
        got.extend(left.iter().map(|n| format!("{} {}: {}", n.machine, n.service, n.reason)));
        assert_eq!(got, expected);
    }

    const SPEC: &str = "homelab: t\nnetworks: { lan: { cidr: 192.168.1.0/24 } }\n\
        hosts: { box: { address: 192.168.1.10, network: lan, runtime: docker } }\n\
        services:\n\
        \x20 vpn: { app: gluetun, on: box, stack: media }\n\
        \x20 qbit: { app: qbittorrent, on: box, via: vpn, stack: media }\n\
        \x20 whoami: { image: 'traefik/whoami:v1.10', on: box, stack: web, ports: { http: 80 } }\n";

    #[test]
    fn every_container_starts_when_every_image_is_there() {
        check(SPEC, &[], &["box /opt/hearth/stacks/media: qbit vpn", "box /opt/hearth/stacks/web: whoami"]);
    }

    #[test]
    fn a_missing_image_keeps_what_needs_it_down() {
        let vpn = hearth_catalog::builtin().get("gluetun").map(|a| a.image.value.clone()).unwrap_or_default();
        check(
            SPEC,
            &[("box", vpn.as_str())],
            &[
                "box /opt/hearth/stacks/media: ",
                "box /opt/hearth/stacks/web: whoami",
                &format!("box qbit: needs `vpn`, whose image `{vpn}` is not available offline"),
                &format!("box vpn: image `{vpn}` is not available offline"),
            ],
        );
    }

    #[test]
    fn an_image_missing_on_another_machine_does_not_count() {
        check(
            SPEC,
            &[("elsewhere", "traefik/whoami:v1.10")],
            &["box /opt/hearth/stacks/media: qbit vpn", "box /opt/hearth/stacks/web: whoami"],
        );
    }

    /// Resolves and renders `spec`, marks the images `missing`, and lists the files
    /// [`limit_files`] leaves out and the container restarts left in.
    fn check_files(spec: &str, missing: &[(&str, &str)], expected: &[&str]) {
        let loaded = hearth_spec::load_str("hearth.yaml", spec);
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let catalog = hearth_catalog::builtin();
        let analysis = hearth_model::analyze(&loaded.spec, catalog, &hearth_model::Allocations::default());
        let mut files =
            hearth_render::render(&hearth_render::Context { model: &analysis.model, catalog, secrets: None });
        let missing: Vec<OfflineImage> = missing
            .iter()
            .map(|(m, i)| OfflineImage { service: String::new(), machine: m.to_string(), image: i.to_string() })
            .collect();
        let (starts, _) = startable(&analysis.model, &missing);
        let left = limit_files(&analysis.model, &starts, &mut files);
        let mut got: Vec<String> = left.iter().map(|l| format!("left out {} ({})", l.path, l.what)).collect();
        for f in &files {
            for a in &f.activation {
                if let Activation::RestartContainer { service, .. } = a {
                    got.push(format!("restart {service} for {}", f.path));
                }
            }
        }
        assert_eq!(got, expected);
    }

    const DATA: &str = "homelab: t\nnetworks: { lan: { cidr: 192.168.1.0/24 } }\n\
        hosts: { box: { address: 192.168.1.10, network: lan, runtime: docker } }\n\
        services:\n\
        \x20 db: { app: postgresql, on: box, backup: false }\n\
        \x20 n8n: { app: n8n, on: box, uses: [db], backup: false }\n";

    #[test]
    fn a_stopped_databases_init_leaves_with_it() {
        let image = hearth_catalog::builtin().get("postgresql").map(|a| a.image.value.clone()).unwrap_or_default();
        check_files(DATA, &[], &["restart db for /etc/hearth/postgres/pg_hba.conf"]);
        check_files(
            DATA,
            &[("box", image.as_str())],
            &[
                "left out /etc/hearth/postgres/apply.sh (service `db`)",
                "left out /etc/hearth/postgres/init.sql (service `db`)",
                "left out /etc/hearth/postgres/passwords.env (service `db`)",
            ],
        );
    }
}
