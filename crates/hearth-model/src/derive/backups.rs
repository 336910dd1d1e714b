//! Backup repositories and policies, and the jobs derived from `backup:` on services and guests.

use std::collections::BTreeMap;

use hearth_catalog::{Catalog, Provides};
use hearth_spec::Spec;
use hearth_spec::ast::BackupChoice;

use crate::model::{
    BackupJob, CopyJob, Dump, GuestBackup, GuestKind, Model, PbsJobs, Policy, Replication, Repository, Snapshot,
    Uncovered,
};

/// The name of a restic repository's password secret.
pub fn restic_password_secret(repo: &str) -> String {
    format!("restic-{repo}-password")
}

/// Where a secret Hearth names comes from: its declared source, or the store.
fn secret_reference(spec: &Spec, name: &str) -> String {
    spec.secrets.get(name).and_then(|d| d.source()).map_or_else(|| format!("secret:{name}"), |r| r.to_string())
}

/// Whether ZFS snapshots under `backups.snapshots` cover a dataset (it or a parent is snapshotted).
/// Snapshots live in the same pool, so they protect against mistakes, not against losing the pool;
/// the docs say so, but the data is not "without any protection".
pub fn covered_by_snapshots(spec: &Spec, dataset: Option<&str>) -> bool {
    let Some(ds) = dataset else { return false };
    spec.backups.as_ref().is_some_and(|b| {
        b.snapshots.iter().any(|s| {
            let d = s.dataset.value.as_str();
            ds == d || ds.starts_with(&format!("{d}/"))
        })
    })
}

/// A `keep:` as `keep-<kind>` counts by kind (`daily` -> 7).
fn keep_counts(k: Option<&hearth_spec::ast::Keep>) -> BTreeMap<String, u32> {
    let mut keep = BTreeMap::new();
    if let Some(k) = k {
        for (name, v) in [
            ("last", k.last),
            ("hourly", k.hourly),
            ("daily", k.daily),
            ("weekly", k.weekly),
            ("monthly", k.monthly),
            ("yearly", k.yearly),
        ] {
            if let Some(v) = v {
                keep.insert(name.to_string(), v);
            }
        }
    }
    keep
}

pub fn derive(spec: &Spec, catalog: &Catalog, model: &mut Model) {
    if let Some(b) = &spec.backups {
        for e in &b.repositories.entries {
            let r = &e.value;
            let key = r.credentials.as_ref().map(|c| super::reference(spec, c));
            let repo = match (&r.restic, &r.pbs) {
                (None, None) if r.dir.is_some() => {
                    Repository::Dir { path: r.dir.as_ref().map(|d| d.value.clone()).unwrap_or_default() }
                }
                (None, None) if r.rsync.is_some() => {
                    let target = r.rsync.as_ref().map(|t| t.value.clone()).unwrap_or_default();
                    let (destination, machine) = rsync_destination(model, &target);
                    Repository::Rsync { target, destination, machine, key, port: r.port.as_ref().map(|p| p.value) }
                }
                (None, None) if r.git.is_some() => {
                    let url = r.git.as_ref().map(|t| t.value.clone()).unwrap_or_default();
                    let machine = crate::remotes::git_host(&url).and_then(|(host, _)| machine_named(model, host));
                    Repository::Git { url, machine, key }
                }
                (Some(url), _) => Repository::Restic {
                    url: url.value.clone(),
                    password: secret_reference(spec, &restic_password_secret(&e.name)),
                    credentials: r.credentials.as_ref().map(|c| super::reference(spec, c)),
                },
                (None, Some(p)) => Repository::Pbs {
                    server: p.server.value.clone(),
                    datastore: p.datastore.clone(),
                    namespace: p.namespace.clone(),
                    password: secret_reference(spec, &format!("pbs-{}-password", e.name)),
                    jobs: PbsJobs {
                        gc: p.gc.as_ref().map(|s| s.value.on_calendar()),
                        verify: p.verify.as_ref().map(|s| s.value.on_calendar()),
                        prune: p.prune.as_ref().map(|pr| (pr.every.value.on_calendar(), keep_counts(Some(&pr.keep)))),
                    },
                },
                (None, None) => continue,
            };
            model.backups.repositories.insert(e.name.clone(), repo);
        }
        for e in &b.policies.entries {
            let p = &e.value;
            let keep = keep_counts(p.keep.as_ref());
            model.backups.policies.insert(
                e.name.clone(),
                Policy {
                    at: p.at.value.to_string(),
                    on_calendar: p.at.value.on_calendar(),
                    to: p.to.iter().map(|t| t.value.clone()).collect(),
                    keep,
                    check: p.check.as_ref().map(|c| c.on_calendar()),
                    from: p.from.iter().map(|m| m.value.clone()).collect(),
                    paths: p.paths.iter().map(|m| m.value.clone()).collect(),
                },
            );
        }
        copy_jobs(model);
        model.backups.snapshots = b
            .snapshots
            .iter()
            .map(|s| Snapshot { dataset: s.dataset.value.clone(), every: s.every.on_calendar(), keep: s.keep })
            .collect();
        model.backups.replication = b
            .replication
            .iter()
            .map(|r| Replication { dataset: r.dataset.value.clone(), to: r.to.clone(), at: r.at.on_calendar() })
            .collect();
    }
    for e in &spec.services.entries {
        let Some(s) = model.services.get(&e.name) else { continue };
        let stateful: Vec<String> = s.volumes.iter().filter(|v| v.stateful).map(|v| v.source.clone()).collect();
        let unprotected: Vec<String> = s
            .volumes
            .iter()
            .filter(|v| v.stateful && !covered_by_snapshots(spec, v.dataset.as_deref()))
            .map(|v| v.source.clone())
            .collect();
        match &e.value.backup {
            // Hearth writes nothing on a guest it does not manage, so no job would run there
            // (the checks say so, W760).
            Some(BackupChoice::Policies(_)) if model.guests.get(s.on.name()).is_some_and(|g| !g.managed) => {}
            Some(BackupChoice::Policies(policies)) => {
                let is_db = s
                    .app
                    .as_deref()
                    .and_then(|a| catalog.get(a))
                    .is_some_and(|a| a.provides.iter().any(|p| p.is_database() && *p != Provides::S3));
                let dumps: Vec<Dump> = if is_db {
                    model
                        .databases
                        .iter()
                        .filter(|d| d.server == e.name && !d.monitor)
                        .map(|d| Dump { engine: d.engine, database: d.name.clone() })
                        .collect()
                } else {
                    Vec::new()
                };
                for p in policies {
                    // A database's files copied while the server writes them are no consistent
                    // backup; its dumps are. The data directory is backed up only when there is
                    // no dump to take instead.
                    let mut paths = if dumps.is_empty() { stateful.clone() } else { Vec::new() };
                    paths.extend(p.paths.iter().cloned());
                    // A job with nothing to keep would only fail (`restic backup` with no path);
                    // the checks report the policy as having nothing to back up (W642).
                    if paths.is_empty() && dumps.is_empty() {
                        continue;
                    }
                    // One policy keeps the service's name, so its units and restic tags stay what
                    // they were before a second policy was added to some other service.
                    let name =
                        if policies.len() == 1 { e.name.clone() } else { format!("{}-{}", e.name, p.policy.value) };
                    model.backups.jobs.push(BackupJob {
                        name,
                        service: e.name.clone(),
                        machine: s.on.name().to_string(),
                        policy: p.policy.value.clone(),
                        paths,
                        dumps: dumps.clone(),
                    });
                }
            }
            Some(BackupChoice::Disabled(_)) => {}
            None => {
                let guest_covered = model.guests.get(s.on.name()).is_some_and(|g| !g.backup.is_empty());
                if !guest_covered {
                    for p in unprotected {
                        model.backups.uncovered.push(Uncovered { service: e.name.clone(), path: p });
                    }
                }
            }
        }
    }
    for (name, g) in &model.guests {
        for policy in &g.backup {
            model.backups.guests.push(GuestBackup { guest: name.clone(), id: g.id, policy: policy.clone() });
        }
    }
    mount_host_repositories(model);
}

/// The rsync destination of a target (a machine's name replaced by its address) and the machine
/// it names.
fn rsync_destination(model: &Model, target: &str) -> (String, Option<String>) {
    let Some(t) = crate::remotes::rsync_target(target) else { return (target.to_string(), None) };
    let Some(machine) = machine_named(model, t.host) else { return (target.to_string(), None) };
    let host = match model.machine_address(&machine) {
        Some(std::net::IpAddr::V6(a)) => format!("[{a}]"),
        Some(a) => a.to_string(),
        None => t.host.to_string(),
    };
    let user = t.user.map(|u| format!("{u}@")).unwrap_or_default();
    (format!("{user}{host}:{}", t.path), Some(machine))
}

/// The guest or host a host name or address names: by name, hostname or address.
pub(crate) fn machine_named(model: &Model, host: &str) -> Option<String> {
    if model.guests.contains_key(host) || model.hosts.contains_key(host) {
        return Some(host.to_string());
    }
    let address: Option<std::net::IpAddr> = host.trim_start_matches('[').trim_end_matches(']').parse().ok();
    model
        .guests
        .iter()
        .find(|(_, g)| g.hostname == host || (address.is_some() && g.address == address))
        .map(|(n, _)| n.clone())
        .or_else(|| model.hosts.keys().find(|n| address.is_some() && model.machine_address(n) == address).cloned())
}

/// One copy job per policy and `from` machine, to the policy's `rsync:` and `git:` repositories.
/// A machine that does not resolve is left out (the checks report it, E866).
fn copy_jobs(model: &mut Model) {
    let mut jobs = Vec::new();
    for (name, p) in &model.backups.policies {
        let repositories: Vec<String> = p
            .to
            .iter()
            .filter(|r| {
                matches!(model.backups.repositories.get(*r), Some(Repository::Rsync { .. } | Repository::Git { .. }))
            })
            .cloned()
            .collect();
        if repositories.is_empty() || p.paths.is_empty() {
            continue;
        }
        for machine in &p.from {
            let known = model.guests.get(machine).is_some_and(|g| g.managed) || model.hosts.contains_key(machine);
            if !known {
                continue;
            }
            jobs.push(CopyJob {
                name: name.clone(),
                machine: machine.clone(),
                policy: name.clone(),
                paths: p.paths.clone(),
                repositories: repositories.clone(),
            });
        }
    }
    jobs.sort_by(|a, b| (&a.machine, &a.name).cmp(&(&b.machine, &b.name)));
    model.backups.copies = jobs;
}

/// The restic repositories a job writes to that are folders of its guest's Proxmox host, not of
/// the guest: `(guest, path)`. A restic path is read where restic runs, so without a mount the
/// backup would land inside the guest's own disk.
pub fn host_repository_paths(model: &Model) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for job in &model.backups.jobs {
        let Some(g) = model.guests.get(&job.machine) else { continue };
        let Some(host) = model.hosts.get(&g.host) else { continue };
        let Some(policy) = model.backups.policies.get(&job.policy) else { continue };
        for repo in &policy.to {
            let Some(Repository::Restic { url, .. }) = model.backups.repositories.get(repo) else { continue };
            let on_host = url.starts_with('/')
                && host.pools.values().any(|p| *url == p.path || url.starts_with(&format!("{}/", p.path)));
            if on_host && !out.contains(&(job.machine.clone(), url.clone())) {
                out.push((job.machine.clone(), url.clone()));
            }
        }
    }
    out
}

/// Mounts each host repository folder into the guests whose jobs write there, at the same path:
/// a bind mount for a container, virtiofs for a VM whose system Hearth configures. Other VMs
/// cannot get it mounted; the check refuses them (E643).
fn mount_host_repositories(model: &mut Model) {
    for (guest, path) in host_repository_paths(model) {
        let Some(g) = model.guests.get_mut(&guest) else { continue };
        let mountable = g.kind == GuestKind::Lxc || g.cloud_image().is_some();
        let covered = g
            .mounts
            .iter()
            .any(|(inside, host)| (path == *inside || path.starts_with(&format!("{inside}/"))) && (inside == host));
        if mountable && !covered {
            g.mounts.insert(path.clone(), path);
        }
    }
}
