//! Backups: stateful data with no backup and no snapshot covering it, policies on services with
//! nothing to back up, repository folders a VM cannot mount.

use hearth_catalog::Catalog;
use hearth_spec::ast::BackupChoice;
use hearth_spec::{Code, Diagnostic, Spec};

use crate::model::{Model, Placement};

/// A job whose restic repository is a folder of the guest's Proxmox host, on a VM whose system
/// Hearth does not configure: nothing would mount the folder, and the backup would stay inside
/// the VM.
pub(super) fn unreachable_repositories(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for (guest, path) in crate::derive::backups::host_repository_paths(model) {
        let Some(g) = model.guests.get(&guest) else { continue };
        if g.mounts.contains_key(&path) || g.mounts.iter().any(|(i, h)| i == h && path.starts_with(&format!("{i}/"))) {
            continue;
        }
        let Some(e) = spec.guests.entry(&guest) else { continue };
        let services: Vec<String> =
            model.backups.jobs.iter().filter(|j| j.machine == guest).map(|j| format!("`{}`", j.service)).collect();
        out.push(
            Diagnostic::new(
                Code::BackupUnreachable,
                e.key_span,
                format!(
                    "the backups of {} run in VM `{guest}`, which cannot mount the repository folder `{path}` of host `{}`",
                    services.join(", "),
                    g.host
                ),
            )
            .label("the backup would land on the VM's own disk")
            .help("send these services' policy to a repository the VM reaches over the network (`sftp:`, `s3:`, `rest:`), or run the VM as `os: debian-12`"),
        );
    }
}

pub(super) fn backups(spec: &Spec, catalog: &Catalog, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.services.entries {
        let Some(s) = model.services.get(&e.name) else { continue };
        if e.value.backup.is_some() {
            continue;
        }
        let guest_backup = match &s.on {
            Placement::Guest(g) => model.guests.get(g).map(|g| g.backup.clone()).unwrap_or_default(),
            _ => Vec::new(),
        };
        if !guest_backup.is_empty() {
            continue;
        }
        let stateful: Vec<&str> = s
            .volumes
            .iter()
            .filter(|v| v.stateful && !crate::derive::backups::covered_by_snapshots(spec, v.dataset.as_deref()))
            .map(|v| v.target.as_str())
            .collect();
        let is_db =
            s.app.as_deref().and_then(|a| catalog.get(a)).is_some_and(|a| a.provides.iter().any(|p| p.is_database()));
        if !stateful.is_empty() {
            out.push(
                Diagnostic::new(
                    Code::NoBackup,
                    e.key_span,
                    format!("service `{}` keeps data in {} with no backup", e.name, stateful.join(", ")),
                )
                .label(if is_db { "a database without a backup" } else { "stateful data" })
                .help("add `backup: <policy>` (see `backups.policies`), or `backup: false` if losing it is fine"),
            );
        }
    }
}

/// A service given a backup policy that has nothing to back up (no stateful volume, no database
/// to dump, no `paths:`): no job is rendered for it, which the operator should know rather than
/// believe the service is backed up.
pub(super) fn nothing_to_back_up(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.services.entries {
        let Some(p) = e.value.backup.as_ref().and_then(|b| b.policies().first()) else { continue };
        if !model.services.contains_key(&e.name) || model.backups.jobs.iter().any(|j| j.service == e.name) {
            continue;
        }
        // On a guest Hearth does not manage no job is made whatever there is to keep (W760).
        if model.guests.get(&e.value.on.value).is_some_and(|g| !g.managed) {
            continue;
        }
        out.push(
            Diagnostic::new(
                Code::BackupWithoutData,
                p.policy.span,
                format!(
                    "service `{}` has `backup: {}` but nothing to back up: no stateful volume, no database and no `paths:`",
                    e.name, p.policy.value
                ),
            )
            .label("no backup job is made for it")
            .help("write `backup: false`, or give the policy the folders to keep (`backup: { policy: …, paths: [/srv/…] }`)")
            .suggest(e.value.spans.value("backup").unwrap_or(p.policy.span), "false"),
        );
    }
}

/// Every service's and guest's `backup:`, by name: what names policies.
pub(super) fn backup_choices(spec: &Spec) -> impl Iterator<Item = (&String, &Option<BackupChoice>)> {
    spec.services
        .entries
        .iter()
        .map(|e| (&e.name, &e.value.backup))
        .chain(spec.guests.entries.iter().map(|e| (&e.name, &e.value.backup)))
}

/// Several policies on one service or guest (E860 for a policy named twice), folder repositories
/// (E861: a folder keeps a service job's newest runs, so only `keep.last` means something there;
/// E862: an absolute path).
pub(super) fn policies_and_folders(spec: &Spec, out: &mut Vec<Diagnostic>) {
    for (name, choice) in backup_choices(spec) {
        let policies = choice.as_ref().map(|c| c.policies()).unwrap_or_default();
        for (i, p) in policies.iter().enumerate() {
            if !policies[..i].iter().any(|q| q.policy.value == p.policy.value) {
                continue;
            }
            let mut d = Diagnostic::new(
                Code::BackupPolicyTwice,
                p.policy.span,
                format!("`{name}` names backup policy `{}` twice", p.policy.value),
            )
            .label("a second job would back up the same data at the same time")
            .help("remove this entry; to keep more folders, add them to the first entry's `paths:`");
            // Only a bare name can be cut out of the list without leaving a broken entry.
            if p.spans.key("policy") == Some(p.policy.span) {
                d = d.suggest_removal(p.policy.span);
            }
            out.push(d);
        }
    }
    let Some(b) = &spec.backups else { return };
    let folders: Vec<&str> = b
        .repositories
        .entries
        .iter()
        .filter_map(|e| {
            let dir = e.value.dir.as_ref()?;
            if !dir.value.starts_with('/') {
                out.push(
                    Diagnostic::new(
                        Code::FolderNotAbsolute,
                        dir.span,
                        format!("folder repository `{}` is `{}`, which is not an absolute path", e.name, dir.value),
                    )
                    .label("the job's working folder would decide where backups land")
                    .help(format!("write the folder from the root: `/{}`", dir.value))
                    .suggest(dir.span, format!("/{}", dir.value)),
                );
            }
            Some(e.name.as_str())
        })
        .collect();
    // Whole-guest backups to a folder are vzdump jobs, which prune by every `keep` kind; only the
    // runs of service jobs are kept by count.
    let service_policies: Vec<&str> = spec
        .services
        .entries
        .iter()
        .flat_map(|e| e.value.backup.as_ref().map(|b| b.policies()).unwrap_or_default())
        .map(|p| p.policy.value.as_str())
        .collect();
    for e in &b.policies.entries {
        if !service_policies.contains(&e.name.as_str()) {
            continue;
        }
        let Some(keep) = &e.value.keep else { continue };
        let Some(folder) = e.value.to.iter().find(|t| folders.contains(&t.value.as_str())) else { continue };
        let others: Vec<(&str, u32)> = [
            ("hourly", keep.hourly),
            ("daily", keep.daily),
            ("weekly", keep.weekly),
            ("monthly", keep.monthly),
            ("yearly", keep.yearly),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
        if others.is_empty() {
            continue;
        }
        let runs = keep.last.unwrap_or(0).max(others.iter().map(|(_, v)| *v).max().unwrap_or(0));
        let written: Vec<String> = others.iter().map(|(k, _)| format!("`{k}`")).collect();
        let span = e.value.spans.value("keep").unwrap_or(folder.span);
        out.push(
            Diagnostic::new(
                Code::FolderKeep,
                span,
                format!(
                    "policy `{}` writes to folder repository `{}`, which keeps its newest runs and cannot honour {}",
                    e.name,
                    folder.value,
                    written.join(", ")
                ),
            )
            .label("a folder holds one dated copy per run")
            .help(format!("keep a number of runs: `keep: {{ last: {runs} }}`"))
            .suggest(span, format!("{{ last: {runs} }}")),
        );
    }
}

/// `gc`, `verify` or `prune` on a PBS repository whose server is not a service of the spec (an
/// address or a DNS name): Hearth runs nothing there, so the schedules would be set nowhere.
pub(super) fn pbs_jobs_elsewhere(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let Some(b) = &spec.backups else { return };
    for e in &b.repositories.entries {
        let Some(p) = &e.value.pbs else { continue };
        if spec.services.is_declared(&p.server.value) {
            continue;
        }
        let Some(span) = ["gc", "verify", "prune"].iter().find_map(|k| p.spans.key(k)) else { continue };
        out.push(
            Diagnostic::new(
                Code::PbsJobsUnrendered,
                span,
                format!(
                    "repository `{}` sets the datastore's schedules, but its server `{}` is not a service of this spec",
                    e.name, p.server.value
                ),
            )
            .label("nothing sets these on that server")
            .help("set them in the PBS web UI and remove them here, or name the `proxmox-backup-server` service as `server`"),
        );
    }
}
