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
            Placement::Guest(g) => model.guests.get(g).and_then(|g| g.backup.clone()),
            _ => None,
        };
        if guest_backup.is_some() {
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
        let Some(BackupChoice::Policy(p)) = &e.value.backup else { continue };
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
