//! Resources: per host, the cores, memory and disk of every guest, the totals (in the unit family
//! the guests are written in), the share of the host's capacity, the CPU oversubscription ratio
//! against cores and threads, and the guest disks per storage pool.

use std::collections::BTreeMap;

use hearth_model::Model;
use hearth_model::model::{Host, HostKind};
use hearth_spec::units::Size;

use crate::machines::{guests_of, kind_label};
use crate::md::{self, Table};

pub use hearth_model::totals::{Totals, totals};

/// `36 vCPU : 12 cores = 3.0:1, : 24 threads = 1.5:1`, or `None` when the host's CPU is not
/// declared.
pub fn oversubscription(vcpus: u64, host: &Host) -> Option<String> {
    let ratio = |n: u32| format!("{:.1}:1", vcpus as f64 / f64::from(n));
    match (host.cores.filter(|c| *c > 0), host.threads.filter(|t| *t > 0)) {
        (Some(c), Some(t)) if c != t => {
            Some(format!("{vcpus} vCPU : {c} cores = {}, : {t} threads = {}", ratio(c), ratio(t)))
        }
        (Some(c), _) => Some(format!("{vcpus} vCPU : {c} cores = {}", ratio(c))),
        (None, Some(t)) => Some(format!("{vcpus} vCPU : {t} threads = {}", ratio(t))),
        (None, None) => None,
    }
}

/// Guest disk bytes per pool of a host (guests without a storage pool under `-`).
pub fn disks_per_pool(model: &Model, host: &str) -> BTreeMap<String, (Size, usize)> {
    let mut per: BTreeMap<String, (Size, usize)> = BTreeMap::new();
    for (_, g) in guests_of(model, host) {
        let pool = g.storage.clone().unwrap_or_else(|| "-".to_string());
        let e = per.entry(pool).or_insert((Size::new(0, g.disk.binary), 0));
        e.0 = e.0 + g.disk;
        e.1 += 1;
    }
    per
}

pub fn write(model: &Model, out: &mut String) {
    out.push_str("## Resources\n\n");
    if model.hosts.is_empty() {
        out.push_str("The spec declares no hosts.\n\n");
        return;
    }
    for (name, host) in &model.hosts {
        out.push_str(&format!("### {name}\n\n"));
        let guests = guests_of(model, name);
        if guests.is_empty() {
            let what = match host.kind {
                HostKind::Proxmox => "No guests.",
                HostKind::BareMetal => "No guests: this host runs its services itself.",
            };
            out.push_str(&format!("{what} Capacity: {}.\n\n", capacity(host)));
            continue;
        }
        let t = totals(model, name);
        let mut table = Table::new(&["Guest", "Type", "Cores", "Memory", "Disk", "Disk on"]);
        for (gname, g) in &guests {
            // A VM's data disks and the host disks it is given whole count in its disk, and
            // its `Disk on` names where they are.
            let mut on: Vec<String> = g.storage.iter().cloned().collect();
            for d in g.vm.iter().flat_map(|vm| &vm.disks) {
                if !on.contains(&d.storage) {
                    on.push(d.storage.clone());
                }
            }
            if !g.passed_disks.is_empty() {
                on.push(format!("{} passed through", g.passed_disks.join(", ")));
            }
            table.row(&[
                gname.to_string(),
                kind_label(g),
                g.cores.to_string(),
                g.memory.to_string(),
                hearth_model::totals::guest_disk(model, g).to_string(),
                on.join("; "),
            ]);
        }
        table.row(&[
            "**Total**".to_string(),
            md::count(t.guests, "guest", "guests"),
            format!("**{}**", t.cores),
            format!("**{}**", t.memory),
            format!("**{}**", t.disk),
            String::new(),
        ]);
        let cpu = match (host.cores, host.threads) {
            (Some(c), Some(t)) if c != t => format!("{c} cores / {t} threads"),
            (Some(c), _) => format!("{c} cores"),
            (None, Some(t)) => format!("{t} threads"),
            (None, None) => "not declared".to_string(),
        };
        let mem = host.memory.map(|m| m.to_string()).unwrap_or_else(|| "not declared".to_string());
        let pool_size = host.pools.values().filter_map(|p| p.size).fold(None, |acc: Option<Size>, s| {
            Some(match acc {
                Some(a) => a + s,
                None => s,
            })
        });
        table.row(&[
            "Host capacity".to_string(),
            String::new(),
            cpu,
            mem,
            pool_size.map(|s| format!("{s} in pools")).unwrap_or_else(|| "-".to_string()),
            String::new(),
        ]);
        let cpu_share = match (host.cores, host.threads) {
            (Some(c), Some(th)) if c != th => format!(
                "{} of cores, {} of threads",
                md::percent(t.cores as f64, f64::from(c)),
                md::percent(t.cores as f64, f64::from(th))
            ),
            (Some(c), _) => format!("{} of cores", md::percent(t.cores as f64, f64::from(c))),
            (None, Some(th)) => format!("{} of threads", md::percent(t.cores as f64, f64::from(th))),
            (None, None) => "-".to_string(),
        };
        table.row(&[
            "Share of host".to_string(),
            String::new(),
            cpu_share,
            host.memory.map(|m| md::percent(t.memory.bytes as f64, m.bytes as f64)).unwrap_or_else(|| "-".into()),
            pool_size.map(|p| md::percent(t.disk.bytes as f64, p.bytes as f64)).unwrap_or_else(|| "-".into()),
            String::new(),
        ]);
        table.write(out);
        out.push_str(&format!("Allocated to guests: **{} memory, {} cores, {} disk**.\n\n", t.memory, t.cores, t.disk));
        stated(model, name, out);
        match oversubscription(t.cores, host) {
            Some(r) => out.push_str(&format!("- CPU oversubscription: {r}.\n")),
            None => out.push_str("- CPU oversubscription: the host's cores and threads are not declared.\n"),
        }
        if let Some(m) = host.memory {
            let left = m.bytes.saturating_sub(t.memory.bytes);
            let over = t.memory.bytes.saturating_sub(m.bytes);
            if over > 0 {
                out.push_str(&format!(
                    "- Memory: {} of {m} ({}), **overcommitted by {}**.\n",
                    t.memory,
                    md::percent(t.memory.bytes as f64, m.bytes as f64),
                    Size::new(over, t.memory.binary)
                ));
            } else {
                out.push_str(&format!(
                    "- Memory: {} of {m} ({}); {} left for the host and new guests.\n",
                    t.memory,
                    md::percent(t.memory.bytes as f64, m.bytes as f64),
                    Size::new(left, t.memory.binary)
                ));
            }
        } else {
            out.push_str("- Memory: the host's memory is not declared.\n");
        }
        for (pool, (size, n)) in disks_per_pool(model, name) {
            let cap = host.pools.get(&pool).and_then(|p| p.size);
            let line = match cap {
                Some(c) => format!(
                    "- Disk on `{pool}`: {size} for {} of {c} ({})",
                    md::count(n, "guest", "guests"),
                    md::percent(size.bytes as f64, c.bytes as f64)
                ),
                None if pool == "-" => {
                    format!("- Disk with no storage pool named: {size} for {}", md::count(n, "guest", "guests"))
                }
                None => format!(
                    "- Disk on `{pool}`: {size} for {} (pool size not declared)",
                    md::count(n, "guest", "guests")
                ),
            };
            out.push_str(&line);
            out.push_str(".\n");
        }
        out.push('\n');
    }
}

/// The totals the spec states for the host's guests (`expect:`), each beside the computed one:
/// a document's own arithmetic, kept visible where it is wrong.
fn stated(model: &Model, host: &str, out: &mut String) {
    let comparisons = hearth_model::totals::compare(model, host);
    if comparisons.is_empty() {
        return;
    }
    out.push_str("Stated in the spec, against what the guests add up to:\n\n");
    for c in comparisons {
        let verdict = match &c.computed {
            Some(computed) if c.matches() => format!("computed {computed}, matches"),
            Some(computed) => format!("computed **{computed}**, differs"),
            None => "cannot be computed: the host does not declare it".to_string(),
        };
        out.push_str(&format!("- `{}` ({}): stated {}; {verdict}.\n", c.key, c.what, c.stated));
    }
    out.push('\n');
}

fn capacity(host: &Host) -> String {
    let mut parts = Vec::new();
    if let Some(c) = host.cores {
        parts.push(format!("{c} cores"));
    }
    if let Some(t) = host.threads {
        parts.push(format!("{t} threads"));
    }
    if let Some(m) = host.memory {
        parts.push(format!("{m} memory"));
    }
    if parts.is_empty() { "not declared".to_string() } else { parts.join(", ") }
}
