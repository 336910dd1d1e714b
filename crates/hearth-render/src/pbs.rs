//! Whole-guest backups (`backups.guests`) to a Proxmox Backup Server, on each Proxmox host whose
//! guests go there:
//!
//! - `/etc/hearth/pbs/storage.cfg`: the `pbs:` storage section per PBS repository, for
//!   `/etc/pve/storage.cfg`. The server is the address of the PBS service (or the text given);
//!   the user is `hearth@pbs`. The model has no certificate fingerprint, so the section carries
//!   the placeholder `REPLACE-WITH-PBS-FINGERPRINT` (`proxmox-backup-manager cert info` on the
//!   PBS prints it); Proxmox refuses the storage until it is filled in.
//! - `/etc/pve/priv/storage/<repo>.pw` (secret, mode 0600): that user's password, where Proxmox
//!   reads it from; the secret `pbs-<repo>-password`.
//! - `/etc/hearth/pbs/jobs.cfg`: one `vzdump:` job per policy and repository for
//!   `/etc/pve/jobs.cfg`: the policy's schedule (Proxmox reads systemd-style calendar events),
//!   snapshot mode, the guests' ids and `prune-backups` from the policy's `keep`.
//!
//! Both `.cfg` files are sections to merge, not the whole Proxmox files, which also hold what
//! was set up by hand: `/etc/pve` is the cluster file system and is shared by every node.

use std::collections::BTreeMap;

use hearth_model::model::{Repository, Template};

use crate::{Context, File, Kind, Output, fill};

/// Per (policy, repository): the guests' ids and names.
type Jobs<'a> = BTreeMap<(&'a str, &'a str), Vec<(u32, &'a str)>>;

pub fn render(cx: &Context, out: &mut Output) {
    let model = cx.model;
    let backups = &model.backups;
    // host -> (policy, repository) -> guest ids and names
    let mut jobs: BTreeMap<&str, Jobs> = BTreeMap::new();
    for g in &backups.guests {
        let Some(guest) = model.guests.get(&g.guest) else { continue };
        let Some(policy) = backups.policies.get(&g.policy) else { continue };
        for repo in &policy.to {
            if matches!(backups.repositories.get(repo), Some(Repository::Pbs { .. })) {
                jobs.entry(guest.host.as_str())
                    .or_default()
                    .entry((g.policy.as_str(), repo.as_str()))
                    .or_default()
                    .push((g.id, g.guest.as_str()));
            }
        }
    }
    for (host, host_jobs) in &jobs {
        let mut storages: Vec<&str> = host_jobs.keys().map(|(_, r)| *r).collect();
        storages.sort_unstable();
        storages.dedup();

        let mut storage =
            String::from("# Proxmox Backup Server storages, rendered by Hearth: sections for /etc/pve/storage.cfg.\n");
        for repo in &storages {
            let Some(Repository::Pbs { server, datastore, namespace, password }) = backups.repositories.get(*repo)
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
        out.push(
            File::new(host, "/etc/hearth/pbs/storage.cfg", Kind::Pbs, storage)
                .from("backups")
                .from(format!("host/{host}")),
        );

        let mut cfg = String::from("# Whole-guest backup jobs, rendered by Hearth: sections for /etc/pve/jobs.cfg.\n");
        let mut file = File::new(host, "/etc/hearth/pbs/jobs.cfg", Kind::Pbs, String::new())
            .from("backups")
            .from(format!("host/{host}"));
        for ((policy_name, repo), guests) in host_jobs {
            let Some(policy) = backups.policies.get(*policy_name) else { continue };
            let mut ids: Vec<u32> = guests.iter().map(|(id, _)| *id).collect();
            ids.sort_unstable();
            let vmid: Vec<String> = ids.iter().map(u32::to_string).collect();
            let names: Vec<&str> = guests.iter().map(|(_, n)| *n).collect();
            cfg.push_str(&format!(
                "\nvzdump: hearth-{policy_name}-{repo}\n\
                 \tcomment Hearth policy {policy_name}: {}\n\
                 \tenabled 1\n\
                 \tmode snapshot\n\
                 \tnotes-template {{{{guestname}}}}\n",
                names.join(", ")
            ));
            if !policy.keep.is_empty() {
                let keep: Vec<String> = policy.keep.iter().map(|(k, v)| format!("keep-{k}={v}")).collect();
                cfg.push_str(&format!("\tprune-backups {}\n", keep.join(",")));
            }
            cfg.push_str(&format!("\tschedule {}\n\tstorage {repo}\n\tvmid {}\n", policy.on_calendar, vmid.join(",")));
            for (_, guest) in guests {
                file = file.from(format!("guest/{guest}"));
            }
        }
        file.content = cfg;
        out.push(file);
    }
}
