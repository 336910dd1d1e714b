//! Whole-guest backups: a guest's own `backup:` names policies (`backups.policies`), and each
//! policy's `to:` repositories that are a Proxmox Backup Server (`pbs:`) or a folder of the host
//! (`dir:`) get a vzdump job of that guest (the model lists these pairs as `Backups::guests`).
//! Rendered on each Proxmox host whose guests go there:
//!
//! - `/etc/hearth/pbs/storage.cfg`: the `pbs:` storage section per PBS repository, for
//!   `/etc/pve/storage.cfg`. The server is the address of the PBS service (or the text given);
//!   the user is `hearth@pbs`. The model has no certificate fingerprint, so the section carries
//!   the placeholder `REPLACE-WITH-PBS-FINGERPRINT` (`proxmox-backup-manager cert info` on the
//!   PBS prints it); Proxmox refuses the storage until it is filled in.
//! - `/etc/pve/priv/storage/<repo>.pw` (secret, mode 0600): that user's password, where Proxmox
//!   reads it from; the secret `pbs-<repo>-password`.
//! - `/etc/hearth/pbs/jobs.cfg`: one `vzdump:` job per policy and repository (PBS, or a folder
//!   of the host as `dumpdir`: vzdump to a directory or a mounted NFS share) for
//!   `/etc/pve/jobs.cfg`: the policy's schedule (Proxmox reads systemd-style calendar events),
//!   snapshot mode, the guests' ids and `prune-backups` from the policy's `keep`. These are the
//!   jobs `hearth apply` makes through the API's `/cluster/backup` (`backup_jobs`, the one source
//!   of both), marked as Hearth's by their `comment` (`JOB_MARK`).
//!
//! Both `.cfg` files are sections to merge, not the whole Proxmox files, which also hold what
//! was set up by hand: `/etc/pve` is the cluster file system and is shared by every node.

use std::collections::BTreeMap;

use hearth_model::model::{Repository, Template};
use serde_json::json;

use crate::{Context, File, Kind, Output, fill};

/// Per (policy, repository): the guests' ids and names.
type Jobs<'a> = BTreeMap<(&'a str, &'a str), Vec<(u32, &'a str)>>;

/// What marks a backup job as Hearth's: its `comment` starts with it. Hearth changes and deletes
/// only jobs it made, as it touches only guests with the `hearth` tag.
pub const JOB_MARK: &str = "Hearth policy ";

/// One `vzdump` backup job: a section of `/etc/pve/jobs.cfg`, and the `/cluster/backup` request
/// `hearth apply` makes. The one source of both.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupJob {
    /// The spec host whose guests it backs up.
    pub host: String,
    /// The job's id: `hearth-<policy>-<repository>`.
    pub id: String,
    /// Its properties, as the API takes them (without `id`).
    pub params: serde_json::Map<String, serde_json::Value>,
    /// The spec guests it backs up, by name.
    pub guests: Vec<String>,
}

/// Per host, (policy, repository) -> the guests' ids and names.
fn by_host(model: &hearth_model::Model) -> BTreeMap<&str, Jobs<'_>> {
    let backups = &model.backups;
    let mut jobs: BTreeMap<&str, Jobs> = BTreeMap::new();
    for g in &backups.guests {
        let Some(guest) = model.guests.get(&g.guest) else { continue };
        let Some(policy) = backups.policies.get(&g.policy) else { continue };
        for repo in &policy.to {
            if matches!(backups.repositories.get(repo), Some(Repository::Pbs { .. } | Repository::Dir { .. })) {
                jobs.entry(guest.host.as_str())
                    .or_default()
                    .entry((g.policy.as_str(), repo.as_str()))
                    .or_default()
                    .push((g.id, g.guest.as_str()));
            }
        }
    }
    jobs
}

/// Every whole-guest backup job of the model, by host and id: one per policy and PBS or folder
/// repository its guests on a host go to, in snapshot mode, on the policy's schedule (Proxmox
/// reads systemd-style calendar events), keeping what the policy's `keep` says.
pub fn backup_jobs(model: &hearth_model::Model) -> Vec<BackupJob> {
    let mut out = Vec::new();
    for (host, host_jobs) in by_host(model) {
        for ((policy_name, repo), guests) in host_jobs {
            let Some(policy) = model.backups.policies.get(policy_name) else { continue };
            let mut ids: Vec<u32> = guests.iter().map(|(id, _)| *id).collect();
            ids.sort_unstable();
            let vmid: Vec<String> = ids.iter().map(u32::to_string).collect();
            let names: Vec<&str> = guests.iter().map(|(_, n)| *n).collect();
            let mut params = serde_json::Map::new();
            params.insert("comment".into(), json!(format!("{JOB_MARK}{policy_name}: {}", names.join(", "))));
            params.insert("enabled".into(), json!(1));
            params.insert("mode".into(), json!("snapshot"));
            params.insert("notes-template".into(), json!("{{guestname}}"));
            if !policy.keep.is_empty() {
                let keep: Vec<String> = policy.keep.iter().map(|(k, v)| format!("keep-{k}={v}")).collect();
                params.insert("prune-backups".into(), json!(keep.join(",")));
            }
            params.insert("schedule".into(), json!(policy.on_calendar));
            // A folder repository is a directory of the host (`dumpdir`), not a Proxmox storage.
            match model.backups.repositories.get(repo) {
                Some(Repository::Dir { path }) => params.insert("dumpdir".into(), json!(path)),
                _ => params.insert("storage".into(), json!(repo)),
            };
            params.insert("vmid".into(), json!(vmid.join(",")));
            out.push(BackupJob {
                host: host.to_string(),
                id: format!("hearth-{policy_name}-{repo}"),
                params,
                guests: names.iter().map(|n| (*n).to_string()).collect(),
            });
        }
    }
    out
}

pub fn render(cx: &Context, out: &mut Output) {
    let model = cx.model;
    let backups = &model.backups;
    let jobs = by_host(model);
    let all_jobs = backup_jobs(model);
    for (host, host_jobs) in &jobs {
        let mut storages: Vec<&str> = host_jobs
            .keys()
            .map(|(_, r)| *r)
            .filter(|r| matches!(backups.repositories.get(*r), Some(Repository::Pbs { .. })))
            .collect();
        storages.sort_unstable();
        storages.dedup();

        let mut storage =
            String::from("# Proxmox Backup Server storages, rendered by Hearth: sections for /etc/pve/storage.cfg.\n");
        for repo in &storages {
            let Some(Repository::Pbs { server, datastore, namespace, password, .. }) = backups.repositories.get(*repo)
            else {
                continue;
            };
            let address =
                model.services.get(server).and_then(|s| s.address).map_or_else(|| server.clone(), |a| a.to_string());
            storage.push_str(&format!(
                "\npbs: {repo}\n\
                 \tdatastore {datastore}\n\
                 \tserver {address}\n\
                 \tcontent backup\n\
                 \tusername hearth@pbs\n\
                 \tfingerprint REPLACE-WITH-PBS-FINGERPRINT\n"
            ));
            if let Some(ns) = namespace {
                storage.push_str(&format!("\tnamespace {ns}\n"));
            }
            let password = fill(&Template::secret(password.clone()), cx.secrets);
            out.push(
                File::new(host, format!("/etc/pve/priv/storage/{repo}.pw"), Kind::EnvSecret, format!("{password}\n"))
                    .from("backups"),
            );
        }
        if !storages.is_empty() {
            out.push(
                File::new(host, "/etc/hearth/pbs/storage.cfg", Kind::Pbs, storage)
                    .from("backups")
                    .from(format!("host/{host}")),
            );
        }

        let mut cfg = String::from("# Whole-guest backup jobs, rendered by Hearth: sections for /etc/pve/jobs.cfg.\n");
        let mut file = File::new(host, "/etc/hearth/pbs/jobs.cfg", Kind::Pbs, String::new())
            .from("backups")
            .from(format!("host/{host}"));
        for job in all_jobs.iter().filter(|j| j.host == *host) {
            cfg.push_str(&format!("\nvzdump: {}\n", job.id));
            for (key, value) in &job.params {
                let value = match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                cfg.push_str(&format!("\t{key} {value}\n"));
            }
            for guest in &job.guests {
                file = file.from(format!("guest/{guest}"));
            }
        }
        file.content = cfg;
        out.push(file);
    }
}
