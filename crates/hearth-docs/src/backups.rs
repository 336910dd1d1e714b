//! Backups: repositories, policies, what each job backs up (data, method, destination, schedule,
//! retention), the folder copies to rsync and git repositories, whole-guest backups, ZFS snapshots and replication, and the stateful data no
//! backup covers (`Model.backups.uncovered`).

use hearth_model::Model;
use hearth_model::model::{Engine, Policy, Repository};

use crate::md::{self, Table};

pub fn write(model: &Model, out: &mut String) {
    out.push_str("## Backups\n\n");
    let b = &model.backups;
    if b.repositories.is_empty()
        && b.jobs.is_empty()
        && b.copies.is_empty()
        && b.guests.is_empty()
        && b.snapshots.is_empty()
    {
        out.push_str("No backups are declared.\n\n");
    }
    if !b.repositories.is_empty() {
        out.push_str("### Repositories\n\n");
        let mut t = Table::new(&["Repository", "Kind", "Location", "Credentials"]);
        for (name, r) in &b.repositories {
            match r {
                Repository::Restic { url, credentials, .. } => t.row(&[
                    name.clone(),
                    "restic".to_string(),
                    md::code(url),
                    credentials.as_deref().map(reference).unwrap_or_default(),
                ]),
                Repository::Pbs { server, datastore, namespace, .. } => {
                    let loc = match namespace {
                        Some(ns) => format!("{server}, datastore {datastore}, namespace {ns}"),
                        None => format!("{server}, datastore {datastore}"),
                    };
                    t.row(&[name.clone(), "Proxmox Backup Server".to_string(), loc, String::new()])
                }
                Repository::Dir { path } => t.row(&[name.clone(), "folder".to_string(), md::code(path), String::new()]),
                Repository::Rsync { destination, key, port, .. } => t.row(&[
                    name.clone(),
                    port.map_or_else(|| "rsync over SSH".to_string(), |p| format!("rsync over SSH (port {p})")),
                    md::code(destination),
                    key.as_deref().map(reference).unwrap_or_default(),
                ]),
                Repository::Git { url, key, .. } => t.row(&[
                    name.clone(),
                    "git push".to_string(),
                    md::code(url),
                    key.as_deref().map(reference).unwrap_or_default(),
                ]),
            }
        }
        t.write(out);
    }
    if !b.policies.is_empty() {
        out.push_str("### Policies\n\n");
        let mut t = Table::new(&["Policy", "Schedule", "systemd OnCalendar", "Destinations", "Retention", "Check"]);
        for (name, p) in &b.policies {
            t.row(&[
                name.clone(),
                p.at.clone(),
                md::code(&p.on_calendar),
                p.to.join(", "),
                retention(p),
                p.check.as_deref().map(md::code).unwrap_or_default(),
            ]);
        }
        t.write(out);
    }
    if !b.jobs.is_empty() {
        out.push_str("### Service backups\n\n");
        let mut t = Table::new(&["Service", "Machine", "Data", "Method", "Destination", "Schedule", "Retention"]);
        for j in &b.jobs {
            let p = b.policies.get(&j.policy);
            let mut method = method(model, p);
            if !j.dumps.is_empty() {
                let dumps: Vec<String> =
                    j.dumps.iter().map(|d| format!("{} {}", dump_tool(&d.engine), d.database)).collect();
                method = format!("{}, then {method}", dumps.join(", "));
            }
            let paths: Vec<String> = j.paths.iter().map(|p| md::code(p)).collect();
            let service =
                if j.name == j.service { j.service.clone() } else { format!("{} (job `{}`)", j.service, j.name) };
            t.row(&[
                service,
                j.machine.clone(),
                paths.join(", "),
                method,
                p.map(|p| p.to.join(", ")).unwrap_or_default(),
                schedule(&j.policy, p),
                p.map(retention).unwrap_or_default(),
            ]);
        }
        t.write(out);
    }
    if !b.copies.is_empty() {
        out.push_str("### Folder copies\n\n");
        let mut t = Table::new(&["Job", "Machine", "Folders", "Method", "Destination", "Schedule"]);
        for j in &b.copies {
            let p = b.policies.get(&j.policy);
            let paths: Vec<String> = j.paths.iter().map(|p| md::code(p)).collect();
            t.row(&[
                md::code(&format!("hearth-copy-{}", j.name)),
                j.machine.clone(),
                paths.join(", "),
                method(model, p),
                j.repositories.join(", "),
                schedule(&j.policy, p),
            ]);
        }
        t.write(out);
    }
    if !b.guests.is_empty() {
        out.push_str("### Whole guests\n\n");
        let mut t = Table::new(&["Guest", "ID", "Method", "Destination", "Schedule", "Retention"]);
        let mut guests: Vec<&hearth_model::model::GuestBackup> = b.guests.iter().collect();
        guests.sort_by(|x, y| (x.id, &x.guest).cmp(&(y.id, &y.guest)));
        for g in guests {
            let p = b.policies.get(&g.policy);
            let pbs =
                p.is_some_and(|p| p.to.iter().any(|r| matches!(b.repositories.get(r), Some(Repository::Pbs { .. }))));
            let method = if pbs { "Proxmox backup to PBS" } else { "vzdump" };
            t.row(&[
                g.guest.clone(),
                g.id.to_string(),
                method.to_string(),
                p.map(|p| p.to.join(", ")).unwrap_or_default(),
                schedule(&g.policy, p),
                p.map(retention).unwrap_or_default(),
            ]);
        }
        t.write(out);
    }
    if !b.snapshots.is_empty() {
        out.push_str("### ZFS snapshots\n\n");
        let mut t = Table::new(&["Dataset", "Every", "Keep"]);
        for s in &b.snapshots {
            t.row(&[s.dataset.clone(), s.every.clone(), s.keep.to_string()]);
        }
        t.write(out);
    }
    if !b.replication.is_empty() {
        out.push_str("### Replication\n\n");
        let mut t = Table::new(&["Dataset", "To", "At"]);
        for r in &b.replication {
            t.row(&[r.dataset.clone(), r.to.clone(), r.at.clone()]);
        }
        t.write(out);
    }
    maintenance(model, out);
    out.push_str("### Not backed up\n\n");
    if b.uncovered.is_empty() {
        out.push_str(
            "Every stateful volume is covered by a backup policy, or its service opted out with `backup: false`.\n\n",
        );
    } else {
        out.push_str("Stateful data that no backup covers:\n\n");
        let mut t = Table::new(&["Service", "Machine", "Path"]);
        for u in &b.uncovered {
            let machine = model.services.get(&u.service).map(|s| s.on.name().to_string()).unwrap_or_default();
            t.row(&[u.service.clone(), machine, md::code(&u.path)]);
        }
        t.write(out);
    }
}

/// What runs on a schedule beside the backups: a PBS server's jobs on a datastore Hearth backs up
/// to, and NixOS guests' own garbage collection and upgrades.
fn maintenance(model: &Model, out: &mut String) {
    let mut t = Table::new(&["Where", "Job", "Schedule", "Settings"]);
    for (name, r) in &model.backups.repositories {
        let Repository::Pbs { server, datastore, jobs, .. } = r else { continue };
        let place = format!("{server}, datastore {datastore} (repository {name})");
        if let Some(gc) = &jobs.gc {
            t.row(&[place.clone(), "PBS garbage collection".into(), md::code(gc), String::new()]);
        }
        if let Some((every, keep)) = &jobs.prune {
            let keep: Vec<String> = keep.iter().map(|(k, v)| format!("{v} {k}")).collect();
            t.row(&[place.clone(), "PBS prune".into(), md::code(every), keep.join(", ")]);
        }
        if let Some(verify) = &jobs.verify {
            t.row(&[place.clone(), "PBS verify".into(), md::code(verify), "re-verify after 30 days".into()]);
        }
    }
    for (name, g) in &model.guests {
        let Some(n) = &g.nixos else { continue };
        if let Some(gc) = &n.gc {
            let older = gc.older_than_days.map(|d| format!("older than {d} days")).unwrap_or_default();
            t.row(&[name.clone(), "Nix garbage collection".into(), md::code(&gc.on_calendar), older]);
        }
        if let Some(u) = &n.upgrade {
            let reboot = if u.reboot { "may reboot" } else { "no reboot" };
            t.row(&[name.clone(), "NixOS upgrade".into(), md::code(&u.on_calendar), reboot.into()]);
        }
    }
    if !t.is_empty() {
        out.push_str("### Scheduled maintenance\n\n");
        t.write(out);
    }
}

fn reference(r: &str) -> String {
    if md::is_reference(r) { md::code(&md::secret_name(r)) } else { "****".to_string() }
}

fn retention(p: &Policy) -> String {
    const ORDER: [&str; 6] = ["last", "hourly", "daily", "weekly", "monthly", "yearly"];
    let mut keys: Vec<(&String, &u32)> = p.keep.iter().collect();
    keys.sort_by_key(|(k, _)| (ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()), k.as_str()));
    keys.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", ")
}

fn schedule(name: &str, p: Option<&Policy>) -> String {
    match p {
        Some(p) => format!("{} ({name})", p.at),
        None => format!("policy `{name}` (undeclared)"),
    }
}

fn method(model: &Model, p: Option<&Policy>) -> String {
    let Some(p) = p else { return "-".to_string() };
    let mut kinds: Vec<&str> =
        p.to.iter()
            .filter_map(|r| model.backups.repositories.get(r))
            .map(|r| match r {
                Repository::Restic { .. } => "restic",
                Repository::Pbs { .. } => "proxmox-backup-client",
                Repository::Dir { .. } => "copy to a dated folder",
                Repository::Rsync { .. } => "rsync",
                Repository::Git { .. } => "git commit and push",
            })
            .collect();
    kinds.sort_unstable();
    kinds.dedup();
    if kinds.is_empty() { "-".to_string() } else { kinds.join(" + ") }
}

fn dump_tool(engine: &Engine) -> &'static str {
    match engine {
        Engine::Postgres => "pg_dump",
        Engine::Mysql => "mysqldump",
        Engine::Mongodb => "mongodump",
    }
}
