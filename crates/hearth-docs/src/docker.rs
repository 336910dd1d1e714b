//! Docker: each machine's daemon settings (`docker:` — storage driver, log rotation, pruning) and
//! its Docker networks with the services attached to them (static addresses, aliases). Absent
//! when no machine sets any.

use hearth_model::Model;

use crate::md::{self, Table};

pub fn write(model: &Model, out: &mut String) {
    let daemons: Vec<_> = model.docker.iter().filter(|(_, d)| d.has_settings() || d.prune.is_some()).collect();
    let networks: Vec<_> =
        model.docker.iter().flat_map(|(m, d)| d.networks.iter().map(move |(k, n)| (m, k, n))).collect();
    if daemons.is_empty() && networks.is_empty() {
        return;
    }
    out.push_str("## Docker\n\n");
    if !daemons.is_empty() {
        out.push_str("### Daemons\n\n");
        let mut t = Table::new(&["Machine", "Storage driver", "Logs", "Prune"]);
        for (machine, d) in daemons {
            let mut logs = Vec::new();
            logs.extend(d.log_driver.clone());
            logs.extend(d.log_max_size.map(|s| format!("{s} per file")));
            logs.extend(d.log_max_files.map(|n| md::count(n as usize, "file", "files")));
            let prune = d.prune.as_ref().map_or_else(
                || "-".to_string(),
                |p| {
                    let mut what = vec![if p.all { "all unused images" } else { "dangling images" }.to_string()];
                    if p.volumes {
                        what.push("volumes".into());
                    }
                    let older = p.older_than.map(|o| format!(", older than {o}")).unwrap_or_default();
                    format!("{}: {}{older}", p.every, what.join(", "))
                },
            );
            t.row(&[
                machine.clone(),
                d.storage_driver.clone().unwrap_or_else(|| "Docker's default".into()),
                if logs.is_empty() { "Docker's default".into() } else { logs.join(", ") },
                prune,
            ]);
        }
        t.write(out);
    }
    if !networks.is_empty() {
        out.push_str("### Docker networks\n\n");
        let mut t = Table::new(&["Machine", "Network", "Docker name", "Subnet", "Services"]);
        for (machine, key, n) in networks {
            let members: Vec<String> = model
                .services
                .iter()
                .filter(|(_, s)| s.machines().contains(&machine.as_str()))
                .filter_map(|(name, s)| {
                    let a = s.docker.networks.iter().find(|a| &a.network == key)?;
                    let mut label = name.clone();
                    let mut extra: Vec<String> = a.address.iter().map(|x| x.to_string()).collect();
                    if !a.aliases.is_empty() {
                        extra.push(format!("aliases {}", a.aliases.join(", ")));
                    }
                    if !extra.is_empty() {
                        label.push_str(&format!(" ({})", extra.join("; ")));
                    }
                    Some(label)
                })
                .collect();
            let name = if n.external { format!("{} (external)", md::code(&n.name)) } else { md::code(&n.name) };
            t.row(&[
                machine.clone(),
                key.clone(),
                name,
                n.subnet.as_ref().map_or_else(|| "Docker's choice".into(), |c| c.to_string()),
                if members.is_empty() { "-".into() } else { members.join(", ") },
            ]);
        }
        t.write(out);
    }
}
