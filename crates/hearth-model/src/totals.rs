//! What a host's guests add up to, and the totals a spec states for them (`hosts.NAME.expect`).
//!
//! The sums are computed here once: the docs print them and the checks hold a stated total to
//! them (W880). A stated total matches when the computed one, printed in the stated one's unit
//! family at the docs' precision (the largest unit, one decimal), reads the same: a document's
//! "712 GB" against 692 GB of disks differs, "50GiB" against 50 GiB matches.

use hearth_spec::units::Size;
use serde::Serialize;

use crate::Model;
use crate::model::Guest;

/// Allocated resources of one host's guests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub guests: usize,
    pub cores: u64,
    pub memory: Size,
    pub disk: Size,
}

/// The totals a spec states for a host's guests (`expect:`), in its own units.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stated {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cores: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<Size>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk: Option<Size>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_free: Option<Size>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_free: Option<Size>,
}

impl Stated {
    pub fn is_empty(&self) -> bool {
        *self == Stated::default()
    }
}

/// One stated total beside the computed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// The `expect:` key (`disk`, `memory_free` ...).
    pub key: &'static str,
    /// What it is, in words (`disk allocated to guests`).
    pub what: &'static str,
    pub stated: String,
    /// `None` when the host does not declare what it would be computed from (its memory, its
    /// pools' sizes).
    pub computed: Option<String>,
}

impl Comparison {
    pub fn matches(&self) -> bool {
        self.computed.as_deref() == Some(self.stated.as_str())
    }
}

/// The guests of `host`, by id then name.
pub fn guests_of<'a>(model: &'a Model, host: &str) -> Vec<(&'a String, &'a Guest)> {
    let mut v: Vec<(&String, &Guest)> = model.guests.iter().filter(|(_, g)| g.host == host).collect();
    v.sort_by(|a, b| (a.1.id, a.0).cmp(&(b.1.id, b.0)));
    v
}

/// What a guest is given of its host's storage: its own disk, a VM's data disks, and the host
/// disks passed to it whole. Disks that together make up a pool of the host with a stated size
/// (three HDDs a NAS guest builds its array from) count as that pool's usable size, the way a
/// homelab document counts them; any other passed disk counts its raw size.
pub fn guest_disk(model: &Model, guest: &Guest) -> Size {
    // The sum prints in the unit family of its largest part: a 32GiB system disk beside a 24TB
    // array reads as TB.
    let mut parts: Vec<Size> = vec![guest.disk];
    parts.extend(guest.vm.iter().flat_map(|vm| &vm.disks).map(|d| d.size));
    if let Some(host) = model.hosts.get(&guest.host) {
        let mut counted: Vec<&str> = Vec::new();
        for pool in host.pools.values() {
            let whole = !pool.disks.is_empty() && pool.disks.iter().all(|d| guest.passed_disks.contains(d));
            if let (true, Some(size)) = (whole, pool.size) {
                parts.push(size);
                counted.extend(pool.disks.iter().map(String::as_str));
            }
        }
        parts.extend(
            guest.passed_disks.iter().filter(|d| !counted.contains(&d.as_str())).filter_map(|d| host.disks.get(d)),
        );
    }
    let bytes = parts.iter().fold(0u64, |acc, s| acc.saturating_add(s.bytes));
    let binary = parts.iter().max_by_key(|s| s.bytes).is_some_and(|s| s.binary);
    Size::new(bytes, binary)
}

/// Sums the guests of a host; sizes print in the unit family most of the guests use.
pub fn totals(model: &Model, host: &str) -> Totals {
    let guests: Vec<&Guest> = guests_of(model, host).into_iter().map(|(_, g)| g).collect();
    let family = |sizes: &[Size]| {
        let binary = sizes.iter().filter(|s| s.binary).count();
        binary * 2 >= sizes.len()
    };
    let mem: Vec<Size> = guests.iter().map(|g| g.memory).collect();
    let disk: Vec<Size> = guests.iter().map(|g| guest_disk(model, g)).collect();
    let sum = |sizes: &[Size]| sizes.iter().fold(0u64, |acc, s| acc.saturating_add(s.bytes));
    Totals {
        guests: guests.len(),
        cores: guests.iter().map(|g| u64::from(g.cores)).sum(),
        memory: Size::new(sum(&mem), family(&mem)),
        disk: Size::new(sum(&disk), family(&disk)),
    }
}

/// Each total the spec states for `host`, beside the computed one, in `expect:` key order.
pub fn compare(model: &Model, host: &str) -> Vec<Comparison> {
    let Some(h) = model.hosts.get(host) else { return Vec::new() };
    let t = totals(model, host);
    let pools = h
        .pools
        .values()
        .filter_map(|p| p.size)
        .fold(None, |acc: Option<u64>, s| Some(acc.unwrap_or(0).saturating_add(s.bytes)));
    let as_stated = |bytes: u64, stated: Size| Size::new(bytes, stated.binary).to_string();
    let e = &h.expect;
    let mut out = Vec::new();
    if let Some(c) = e.cores {
        out.push(Comparison {
            key: "cores",
            what: "cores allocated to guests",
            stated: c.to_string(),
            computed: Some(t.cores.to_string()),
        });
    }
    let sizes: [(&'static str, &'static str, Option<Size>, Option<u64>); 4] = [
        ("memory", "memory allocated to guests", e.memory, Some(t.memory.bytes)),
        ("disk", "disk allocated to guests", e.disk, Some(t.disk.bytes)),
        (
            "memory_free",
            "memory left on the host",
            e.memory_free,
            h.memory.map(|m| m.bytes.saturating_sub(t.memory.bytes)),
        ),
        (
            "disk_free",
            "pool space left after the guests' disks",
            e.disk_free,
            pools.map(|p| p.saturating_sub(t.disk.bytes)),
        ),
    ];
    for (key, what, stated, computed) in sizes {
        if let Some(s) = stated {
            out.push(Comparison { key, what, stated: s.to_string(), computed: computed.map(|b| as_stated(b, s)) });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_size_matches_at_the_precision_it_is_printed() {
        let check = |stated: &str, bytes: u64, matches: bool| {
            let s = Size::parse(stated).expect("a size");
            let c = Comparison {
                key: "disk",
                what: "",
                stated: s.to_string(),
                computed: Some(Size::new(bytes, s.binary).to_string()),
            };
            assert_eq!(c.matches(), matches, "{stated} against {bytes}");
        };
        check("712GB", 692_000_000_000, false);
        check("692GB", 692_000_000_000, true);
        check("24.7TB", 24_552_000_000_000, false);
        check("24.6TB", 24_552_000_000_000, true);
        check("50GiB", 50 << 30, true);
    }
}
