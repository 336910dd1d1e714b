//! Storage: per host, the pools (kind, tier, size, path), their datasets and who mounts them, the
//! guest mounts (guest path -> host path -> pool/dataset), the shares (server, clients, where each
//! is mounted), and the service volumes that hold data or live on shared storage.

use hearth_model::Model;
use hearth_model::model::Host;

use crate::md::{self, Table};
use crate::resources::disks_per_pool;

/// `pool` or `pool/dataset` for a host path inside one of the host's pools.
fn locate(host: &Host, path: &str) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    for (pname, pool) in &host.pools {
        let root = pool.path.trim_end_matches('/');
        let mut candidates = vec![(root.to_string(), pname.clone())];
        for d in &pool.datasets {
            candidates.push((format!("{root}/{d}"), format!("{pname}/{d}")));
        }
        for (p, label) in candidates {
            let inside = path == p || path.starts_with(&format!("{p}/"));
            if inside && best.as_ref().is_none_or(|(len, _)| p.len() > *len) {
                best = Some((p.len(), label));
            }
        }
    }
    best.map(|(_, l)| l)
}

pub fn write(model: &Model, out: &mut String) {
    out.push_str("## Storage\n\n");
    if model.hosts.values().all(|h| h.pools.is_empty()) && model.guests.values().all(|g| g.mounts.is_empty()) {
        out.push_str("No storage pools or guest mounts are declared.\n\n");
    }
    for (hname, host) in &model.hosts {
        if host.pools.is_empty() {
            continue;
        }
        out.push_str(&format!("### Pools on {hname}\n\n"));
        let disks = disks_per_pool(model, hname);
        let mut table = Table::new(&["Pool", "Kind", "Tier", "Size", "Path", "Guest disks"]);
        for (pname, pool) in &host.pools {
            let used = match (disks.get(pname), pool.size) {
                (Some((s, n)), Some(cap)) => {
                    format!(
                        "{s} ({}, {})",
                        md::count(*n, "guest", "guests"),
                        md::percent(s.bytes as f64, cap.bytes as f64)
                    )
                }
                (Some((s, n)), None) => format!("{s} ({})", md::count(*n, "guest", "guests")),
                (None, _) => String::new(),
            };
            table.row(&[
                pname.clone(),
                pool.kind.to_string(),
                pool.tier.clone().unwrap_or_default(),
                pool.size.map(|s| s.to_string()).unwrap_or_default(),
                md::code(&pool.path),
                used,
            ]);
        }
        table.write(out);
        let mut ds = Table::new(&["Dataset", "Host path", "Mounted by"]);
        for (pname, pool) in &host.pools {
            for d in &pool.datasets {
                let path = format!("{}/{d}", pool.path.trim_end_matches('/'));
                let mut users = Vec::new();
                for (gname, g) in model.guests.iter().filter(|(_, g)| &g.host == hname) {
                    for (gpath, hpath) in &g.mounts {
                        if hpath == &path {
                            users.push(format!("{gname}:{gpath}"));
                        }
                    }
                }
                ds.row(&[format!("{pname}/{d}"), md::code(&path), users.join(", ")]);
            }
        }
        if !ds.is_empty() {
            ds.write(out);
        }
    }
    let mut mounts = Table::new(&["Guest", "Guest path", "Host path", "Pool / dataset"]);
    for (gname, g) in &model.guests {
        for (gpath, hpath) in &g.mounts {
            let loc = model.hosts.get(&g.host).and_then(|h| locate(h, hpath)).unwrap_or_default();
            mounts.row(&[gname.clone(), md::code(gpath), md::code(hpath), loc]);
        }
    }
    if !mounts.is_empty() {
        out.push_str("### Guest mounts\n\n");
        mounts.write(out);
    }
    shares(model, out);
    volumes(model, out);
}

/// NFS exports and SMB shares: who serves each, who may mount it, and where it is mounted.
fn shares(model: &Model, out: &mut String) {
    if model.shares.is_empty() {
        return;
    }
    let mut table = Table::new(&["Share", "Kind", "Server", "Path", "Access", "Clients", "Mounted at"]);
    for (name, s) in &model.shares {
        let kind = match s.kind {
            hearth_spec::ast::ShareKind::Nfs => "NFS".to_string(),
            hearth_spec::ast::ShareKind::Smb => match &s.time_machine {
                None => format!("SMB `{}`", s.name),
                Some(tm) => match tm.max_size {
                    Some(size) => format!("SMB `{}`, Time Machine (at most {size})", s.name),
                    None => format!("SMB `{}`, Time Machine", s.name),
                },
            },
        };
        let server = match (&s.service, s.address) {
            (Some(svc), Some(a)) => format!("{svc} on {} ({a}:{})", s.machine, s.port),
            (None, Some(a)) => format!("{} ({a}:{})", s.machine, s.port),
            (_, None) => s.machine.clone(),
        };
        let clients: Vec<String> = s.machines.iter().chain(&s.networks).cloned().collect();
        let mounted: Vec<String> = model
            .share_mounts
            .iter()
            .filter(|m| &m.share == name)
            .flat_map(|m| {
                let on_host = format!("{}:{}", m.machine, md::code(&m.path));
                if m.guests.is_empty() {
                    vec![on_host]
                } else {
                    m.guests
                        .iter()
                        .filter_map(|g| {
                            let inside = model.guests.get(g)?.mounts.iter().find(|(_, h)| **h == m.path)?.0;
                            Some(format!("{g}:{} (through {on_host})", md::code(inside)))
                        })
                        .collect()
                }
            })
            // Pods that mount it themselves, through whichever node runs them.
            .chain(model.services.iter().flat_map(|(sname, svc)| {
                svc.volumes
                    .iter()
                    .filter(|v| v.nfs.as_ref().is_some_and(|n| &n.share == name))
                    .map(move |v| format!("{sname}:{} (pods on {})", md::code(&v.target), svc.on.name()))
            }))
            .collect();
        table.row(&[
            name.clone(),
            kind,
            server,
            md::code(&s.path),
            if s.readonly { "read-only" } else { "read-write" }.to_string(),
            clients.join(", "),
            mounted.join(", "),
        ]);
    }
    out.push_str("### Shares\n\n");
    table.write(out);
}

/// Service volumes that hold data (stateful) or sit on a guest mount or a host pool.
fn volumes(model: &Model, out: &mut String) {
    let mut table = Table::new(&["Service", "Machine", "Source", "Container path", "Data", "Backup"]);
    for (sname, s) in &model.services {
        let machine = s.on.name();
        let guest = model.guests.get(machine);
        let host = guest.and_then(|g| model.hosts.get(&g.host)).or_else(|| model.hosts.get(machine));
        for v in &s.volumes {
            let on_mount = guest.and_then(|g| {
                g.mounts.iter().find(|(gp, _)| v.source == **gp || v.source.starts_with(&format!("{gp}/")))
            });
            let shared = match (on_mount, host) {
                (Some((gp, hp)), Some(h)) => {
                    let hostpath = format!("{hp}{}", &v.source[gp.len()..]);
                    Some(locate(h, &hostpath).unwrap_or(hostpath))
                }
                (Some((gp, hp)), None) => Some(format!("{hp}{}", &v.source[gp.len()..])),
                (None, Some(h)) if guest.is_none() => locate(h, &v.source),
                _ => None,
            };
            // A share a pod mounts itself, or a folder under a share the machine mounts itself
            // (a VM's or host's share mount).
            let pod_share = v.nfs.as_ref().map(|n| format!("share {}", n.share));
            let shared = shared.or(pod_share).or_else(|| {
                model
                    .share_mounts
                    .iter()
                    .filter(|m| m.machine == machine && m.guests.is_empty())
                    .find(|m| v.source == m.path || v.source.starts_with(&format!("{}/", m.path)))
                    .map(|m| format!("share {}", m.share))
            });
            if !v.stateful && shared.is_none() {
                continue;
            }
            let source = match &shared {
                Some(loc) => format!("{} (on {loc})", md::code(&v.source)),
                None => md::code(&v.source),
            };
            let mut data = if v.stateful { "stateful".to_string() } else { "shared".to_string() };
            if v.readonly {
                data.push_str(", read-only");
            }
            table.row(&[
                sname.clone(),
                machine.to_string(),
                source,
                md::code(&v.target),
                data,
                match (s.backup.as_slice(), guest.map(|g| g.backup.as_slice()).unwrap_or_default()) {
                    ([], []) => "none".to_string(),
                    ([], whole) => format!("{} (whole guest)", whole.join(", ")),
                    (own, _) => own.join(", "),
                },
            ]);
        }
    }
    if !table.is_empty() {
        out.push_str("### Service volumes\n\n");
        out.push_str("Volumes that hold state, or that live on a pool or a guest mount.\n\n");
        table.write(out);
    }
}
