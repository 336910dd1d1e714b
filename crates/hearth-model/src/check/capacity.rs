//! One guest or pool against what holds it: a guest with more vCPUs than its host has threads or
//! more memory than it has, a guest disk larger than its pool, a pool larger than its disks, a
//! disk in two pools, a guest with less memory than its services need, and sizes of zero.
//!
//! `budgets` sums all guests of a host; these rules look at one thing at a time, so the message
//! names the guest and points at its own line, where the fix is made.

use std::collections::BTreeMap;

use hearth_catalog::Catalog;
use hearth_spec::units::Size;
use hearth_spec::{Code, Diagnostic, Spec};

use crate::model::{Model, Placement};

pub(super) fn capacity(spec: &Spec, catalog: &Catalog, model: &Model, out: &mut Vec<Diagnostic>) {
    zero_sizes(spec, out);
    cores(spec, model, out);
    memory_on_hosts(spec, model, out);
    disks_on_pools(spec, model, out);
    pools_on_disks(spec, out);
    disks_in_two_pools(spec, out);
    memory(spec, catalog, model, out);
}

/// Zero cores, memory or disk: a machine that cannot boot, written as a size that parses.
/// (`swap: 0` is no swap, and stays allowed.)
fn zero_sizes(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let mut zeros: Vec<(String, hearth_spec::Span)> = Vec::new();
    for e in &spec.guests.entries {
        let Some(size) = &e.value.size else { continue };
        let guest = format!("guest `{}`", e.name);
        zeros.extend(size.cores.iter().filter(|c| c.value == 0).map(|c| (format!("{guest} is given 0 cores"), c.span)));
        zeros.extend(
            size.memory.iter().filter(|m| m.value.bytes == 0).map(|m| (format!("{guest} is given no memory"), m.span)),
        );
        zeros.extend(
            size.disk
                .iter()
                .filter(|d| d.value.bytes == 0)
                .map(|d| (format!("{guest} is given a disk of 0 bytes"), d.span)),
        );
    }
    for e in &spec.hosts.entries {
        let host = format!("host `{}`", e.name);
        if let Some(hw) = &e.value.hardware {
            zeros.extend(hw.cores.iter().filter(|c| c.value == 0).map(|c| (format!("{host} has 0 cores"), c.span)));
            zeros.extend(hw.threads.iter().filter(|c| c.value == 0).map(|c| (format!("{host} has 0 threads"), c.span)));
            zeros.extend(
                hw.memory.iter().filter(|m| m.value.bytes == 0).map(|m| (format!("{host} has no memory"), m.span)),
            );
        }
        for p in &e.value.storage.entries {
            if let Some(size) = p.value.size.as_ref().filter(|s| s.value.bytes == 0) {
                zeros.push((format!("pool `{}` of {host} holds 0 bytes", p.name), size.span));
            }
        }
    }
    for e in &spec.hosts.entries {
        let Some(hw) = &e.value.hardware else { continue };
        if let (Some(cores), Some(threads)) = (&hw.cores, &hw.threads)
            && threads.value < cores.value
            && threads.value > 0
        {
            out.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    threads.span,
                    format!("host `{}` has {} threads but {} cores", e.name, threads.value, cores.value),
                )
                .label("every core runs at least one thread")
                .with(cores.span, "cores")
                .help(
                    "`threads` counts hardware threads (twice the cores with SMT): write at least the number of cores",
                ),
            );
        }
    }
    for (message, span) in zeros {
        out.push(
            Diagnostic::new(Code::ZeroSize, span, message)
                .label("nothing can run in nothing")
                .help("write the real figure, or leave the key out for Hearth's default"),
        );
    }
}

/// One guest given more memory than its host has: `budgets` sums the host's guests at the host;
/// this names the guest at its own line.
fn memory_on_hosts(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.guests.entries {
        let Some(g) = model.guests.get(&e.name) else { continue };
        let Some(host_memory) = spec.hosts.get(&g.host).and_then(|h| h.hardware.as_ref()?.memory.as_ref()) else {
            continue;
        };
        let Some(given) = e.value.size.as_ref().and_then(|s| s.memory.as_ref()) else { continue };
        if given.value.bytes <= host_memory.value.bytes {
            continue;
        }
        out.push(
            Diagnostic::new(
                Code::GuestMemoryOverHost,
                given.span,
                format!(
                    "guest `{}` is given {} of memory, more than the {} of its host `{}`",
                    e.name, given.value, host_memory.value, g.host
                ),
            )
            .label("more than the host has")
            .with(host_memory.span, format!("`{}` has {}", g.host, host_memory.value))
            .help(format!(
                "give `{}` less than {} (`size.memory`), or move it to a larger host",
                e.name, host_memory.value
            )),
        );
    }
}

/// A physical disk in two pools of its host: each pool would format it.
fn disks_in_two_pools(spec: &Spec, out: &mut Vec<Diagnostic>) {
    for h in &spec.hosts.entries {
        let mut first: Vec<(&str, &str, hearth_spec::Span)> = Vec::new();
        for p in &h.value.storage.entries {
            for disk in &p.value.disks {
                match first.iter().find(|(d, pool, _)| *d == disk.value && *pool != p.name) {
                    Some((_, pool, span)) => out.push(
                        Diagnostic::new(
                            Code::DiskInTwoPools,
                            disk.span,
                            format!(
                                "disk `{}` of `{}` is in pool `{pool}` and in pool `{}`",
                                disk.value, h.name, p.name
                            ),
                        )
                        .label("a disk belongs to one pool")
                        .with(*span, format!("already in `{pool}`"))
                        .help(format!("remove `{}` from one of the pools' `disks:`", disk.value)),
                    ),
                    None => first.push((disk.value.as_str(), p.name.as_str(), disk.span)),
                }
            }
        }
    }
}

fn cores(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.guests.entries {
        let Some(g) = model.guests.get(&e.name) else { continue };
        let Some(hw) = spec.hosts.get(&g.host).and_then(|h| h.hardware.as_ref()) else { continue };
        let Some(threads) = hw.threads.as_ref().or(hw.cores.as_ref()) else { continue };
        let Some(given) = e.value.size.as_ref().and_then(|s| s.cores.as_ref()) else { continue };
        if threads.value == 0 || given.value <= threads.value {
            continue;
        }
        let unit = if hw.threads.is_some() { "threads" } else { "cores" };
        out.push(
            Diagnostic::new(
                Code::GuestCoresOverHost,
                given.span,
                format!(
                    "guest `{}` has {} vCPUs, more than the {} {unit} of its host `{}`",
                    e.name, given.value, threads.value, g.host
                ),
            )
            .label("a guest cannot have more vCPUs than its host has threads")
            .with(threads.span, format!("`{}` has {} {unit}", g.host, threads.value))
            .help(format!("give `{}` at most {} cores", e.name, threads.value))
            .suggest(given.span, threads.value.to_string()),
        );
    }
}

fn disks_on_pools(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.guests.entries {
        let Some(g) = model.guests.get(&e.name) else { continue };
        // The renderer's default, so a guest without `storage:` is held to that pool too.
        let pool_name = g.storage.as_deref().unwrap_or("local-lvm");
        let Some(pool) = spec.hosts.get(&g.host).and_then(|h| h.storage.get(pool_name)) else { continue };
        let Some(pool_size) = &pool.size else { continue };
        if g.disk.bytes <= pool_size.value.bytes {
            continue;
        }
        let disk = e.value.size.as_ref().and_then(|s| s.disk.as_ref());
        let d = Diagnostic::new(
            Code::GuestDiskOverPool,
            disk.map_or(e.key_span, |d| d.span),
            format!("guest `{}` has a {} disk on pool `{pool_name}`, which holds {}", e.name, g.disk, pool_size.value),
        )
        .label("larger than its pool")
        .with(pool_size.span, format!("pool `{pool_name}` on `{}`", g.host))
        .help(format!(
            "give `{}` a disk of at most {} (`size.disk`), or put it on a larger pool",
            e.name, pool_size.value
        ));
        out.push(match disk {
            Some(disk) => d.suggest(disk.span, pool_size.value.to_string()),
            None => d,
        });
    }
}

/// The most a pool of `disks` (sizes in bytes) can hold under `layout`: an upper bound, since the
/// layout is a free label. Mirrors keep every byte twice; RAID-Z and parity RAID give up one,
/// two or three disks to parity.
fn usable(layout: Option<&str>, disks: &[u64]) -> u64 {
    let sum: u64 = disks.iter().fold(0, |a, b| a.saturating_add(*b));
    let smallest = disks.iter().copied().min().unwrap_or(0);
    let layout = layout.unwrap_or("").to_ascii_lowercase();
    let parity = match layout.as_str() {
        "raidz" | "raidz1" | "raid5" | "raid-5" | "shr" | "shr-1" => 1,
        "raidz2" | "raid6" | "raid-6" | "shr-2" => 2,
        "raidz3" => 3,
        _ => 0,
    };
    if layout.starts_with("mirror") || layout == "raid1" || layout == "raid10" || layout == "raid-10" {
        if disks.len() >= 2 { sum / 2 } else { sum }
    } else if parity > 0 && disks.len() > parity {
        sum.saturating_sub(smallest.saturating_mul(parity as u64))
    } else {
        sum
    }
}

fn pools_on_disks(spec: &Spec, out: &mut Vec<Diagnostic>) {
    for h in &spec.hosts.entries {
        let Some(hw) = &h.value.hardware else { continue };
        for p in &h.value.storage.entries {
            let (Some(size), false) = (&p.value.size, p.value.disks.is_empty()) else { continue };
            let sizes: Option<Vec<u64>> = p
                .value
                .disks
                .iter()
                .map(|name| hw.disks.iter().find(|d| d.name.value == name.value).map(|d| d.size.bytes))
                .collect();
            let Some(sizes) = sizes else { continue };
            let bound = usable(p.value.layout.as_deref(), &sizes);
            // A tenth of slack: `4TB` disks in a pool written as `3.6T` or even `4TiB` is a
            // unit mix-up, not a pool that cannot exist.
            if size.value.bytes <= bound.saturating_add(bound / 10) {
                continue;
            }
            let most = Size::new(bound, size.value.binary);
            let layout = p.value.layout.as_deref().map_or(String::new(), |l| format!(" as `{l}`"));
            out.push(
                Diagnostic::new(
                    Code::PoolOverDisks,
                    size.span,
                    format!(
                        "pool `{}` on `{}` is given {}, but its {} disk{}{layout} hold at most {most}",
                        p.name,
                        h.name,
                        size.value,
                        sizes.len(),
                        if sizes.len() == 1 { "" } else { "s" }
                    ),
                )
                .label("more than its disks can hold")
                .help(format!("write the pool's usable size, at most {most}, or list the disks it is made of"))
                .suggest(size.span, most.to_string()),
            );
        }
    }
}

/// The memory a service needs: its own limit when it sets one, else its app's catalog figure.
fn need(catalog: &Catalog, service: &crate::model::Service) -> Option<Size> {
    service
        .resources
        .as_ref()
        .and_then(|r| r.memory)
        .or_else(|| service.app.as_deref().and_then(|a| catalog.get(a)).and_then(|a| a.resources.as_ref()?.memory))
}

/// A round figure at least `bytes`: whole 512 MiB steps, shown in GiB from 1 GiB up.
fn round_up(bytes: u64) -> Size {
    let step = 512u64 << 20;
    Size::new(bytes.div_ceil(step).saturating_mul(step), true)
}

fn memory(spec: &Spec, catalog: &Catalog, model: &Model, out: &mut Vec<Diagnostic>) {
    // What runs on each guest, in one pass over the services (a homelab may have thousands).
    let mut on_guest: BTreeMap<&str, Vec<(&str, Size)>> = BTreeMap::new();
    for (n, s) in &model.services {
        if s.form == hearth_spec::ast::Form::Appliance {
            continue;
        }
        let Some(need) = need(catalog, s) else { continue };
        let primary = match &s.on {
            Placement::Guest(g) => Some(g.as_str()),
            _ => None,
        };
        for guest in primary.into_iter().chain(s.also_on.iter().map(String::as_str)) {
            on_guest.entry(guest).or_default().push((n.as_str(), need));
        }
    }
    for e in &spec.guests.entries {
        let Some(g) = model.guests.get(&e.name) else { continue };
        let Some(needs) = on_guest.get(e.name.as_str()) else { continue };
        let total: u64 = needs.iter().fold(0, |a, (_, m)| a.saturating_add(m.bytes));
        if total <= g.memory.bytes {
            continue;
        }
        let given = e.value.size.as_ref().and_then(|s| s.memory.as_ref());
        let span = given.map_or(e.key_span, |m| m.span);
        let mut biggest = needs.clone();
        biggest.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.cmp(b.0)));
        let shown: Vec<String> = biggest.iter().take(4).map(|(n, m)| format!("`{n}` {m}")).collect();
        let more = if biggest.len() > 4 { format!(" and {} more", biggest.len() - 4) } else { String::new() };
        let want = round_up(total);
        // Memory the operator gave is an error; the default (no `size.memory`) was Hearth's
        // guess, so it is a warning that asks for the figure.
        let (code, what) = match given {
            Some(_) => (Code::MemoryBelowServices, "has"),
            None => (Code::DefaultMemoryBelowServices, "has no `size.memory`, so it gets the default"),
        };
        let mut d = Diagnostic::new(
            code,
            span,
            format!(
                "guest `{}` {what} {} of memory, but its services need {}: {}{more}",
                e.name,
                g.memory,
                Size::new(total, true),
                shown.join(", ")
            ),
        )
        .label("too little memory for what runs here");
        // The figure is proposed as an edit only when the host has room for it, so the edit
        // cannot trade this error for the host's.
        let others: u64 = model
            .guests
            .iter()
            .filter(|(n, o)| o.host == g.host && **n != e.name)
            .fold(0, |a, (_, o)| a.saturating_add(o.memory.bytes));
        let room = spec
            .hosts
            .get(&g.host)
            .and_then(|h| h.hardware.as_ref()?.memory.as_ref())
            .is_none_or(|m| others.saturating_add(want.bytes) <= m.value.bytes);
        d = match given {
            Some(m) if room => d
                .help(format!("give `{}` at least {want} (`size.memory`), or move services to another guest", e.name))
                .suggest(m.span, want.to_string()),
            Some(_) => d.help(format!(
                "give `{}` at least {want} (`size.memory`) and its host the memory for it, or move services to another guest",
                e.name
            )),
            None => {
                d.help(format!("add `size: {{ memory: {want} }}` to `{}`, or move services to another guest", e.name))
            }
        };
        out.push(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TB: u64 = 1_000_000_000_000;

    fn check(layout: Option<&str>, disks: &[u64], expected: u64) {
        assert_eq!(usable(layout, disks), expected, "{layout:?} {disks:?}");
    }

    #[test]
    fn usable_sizes() {
        check(None, &[4 * TB, 4 * TB], 8 * TB);
        check(Some("mirror"), &[4 * TB, 4 * TB], 4 * TB);
        check(Some("raidz1"), &[12 * TB, 12 * TB, 12 * TB], 24 * TB);
        check(Some("raidz2"), &[4 * TB; 6], 16 * TB);
        check(Some("raid10"), &[2 * TB; 4], 4 * TB);
        check(Some("raidz2"), &[4 * TB], 4 * TB);
    }

    #[test]
    fn round_figures() {
        assert_eq!(round_up(2_415_919_104).to_string(), "2.5GiB");
        assert_eq!(round_up(100 << 20).to_string(), "512MiB");
        assert_eq!(round_up(2 << 30).to_string(), "2GiB");
    }
}
