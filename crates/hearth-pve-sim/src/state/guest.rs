//! A guest as the node keeps it: its kind, its config file (key → value, as `pct config` shows
//! it), whether it runs, and the task holding its config lock.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

/// LXC container or QEMU VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Lxc,
    Qemu,
}

impl Kind {
    /// The path segment and the `type` of `/cluster/resources`.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Lxc => "lxc",
            Kind::Qemu => "qemu",
        }
    }

    /// How the real server's messages name the guest (`CT 101`, `VM 101`).
    pub fn short(self) -> &'static str {
        match self {
            Kind::Lxc => "CT",
            Kind::Qemu => "VM",
        }
    }

    /// The task type prefix (`vzcreate`, `qmcreate`).
    pub fn task_prefix(self) -> &'static str {
        match self {
            Kind::Lxc => "vz",
            Kind::Qemu => "qm",
        }
    }
}

/// One guest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Guest {
    pub vmid: u32,
    pub kind: Kind,
    /// The config file's keys and values (no `digest`: it is computed).
    pub config: BTreeMap<String, String>,
    pub running: bool,
    /// The UPID of the task that holds the config file lock, while one runs.
    #[serde(default)]
    pub flock: Option<String>,
    /// What the runtime said when it last started the guest (`simulated only: …`).
    #[serde(default)]
    pub runtime_note: Option<String>,
    /// Changes to a running VM that apply at its next start (the config's `[PENDING]` section).
    #[serde(default)]
    pub pending: BTreeMap<String, String>,
    /// Keys a running VM loses at its next start.
    #[serde(default)]
    pub pending_delete: Vec<String>,
    /// Its snapshots, oldest first (the config file's `[name]` sections on the real node).
    #[serde(default)]
    pub snapshots: Vec<SimSnapshot>,
}

/// One snapshot of a guest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimSnapshot {
    pub name: String,
    pub description: String,
    /// Seconds since the epoch.
    pub snaptime: u64,
    /// The snapshot it was taken after.
    #[serde(default)]
    pub parent: Option<String>,
}

impl Guest {
    /// The config file as the node writes it: the description as `#` lines, then `key: value`
    /// lines in key order.
    pub fn config_text(&self) -> String {
        let mut out = String::new();
        if let Some(d) = self.config.get("description") {
            for line in d.lines() {
                out.push_str(&format!("#{line}\n"));
            }
        }
        for (k, v) in &self.config {
            if k != "description" {
                out.push_str(&format!("{k}: {v}\n"));
            }
        }
        if !self.pending.is_empty() || !self.pending_delete.is_empty() {
            out.push_str("\n[PENDING]\n");
            if !self.pending_delete.is_empty() {
                out.push_str(&format!("delete: {}\n", self.pending_delete.join(",")));
            }
            for (k, v) in &self.pending {
                out.push_str(&format!("{k}: {v}\n"));
            }
        }
        out
    }

    /// The config with the pending changes applied, as `GET …/config` shows it by default.
    pub fn effective_config(&self) -> BTreeMap<String, String> {
        let mut c = self.config.clone();
        for k in &self.pending_delete {
            c.remove(k);
        }
        c.extend(self.pending.iter().map(|(k, v)| (k.clone(), v.clone())));
        c
    }

    /// Applies the pending changes (a VM start does).
    pub fn apply_pending(&mut self) {
        self.config = self.effective_config();
        self.pending.clear();
        self.pending_delete.clear();
    }

    /// The `digest` the API returns and checks: the SHA-1 of the config file.
    pub fn digest(&self) -> String {
        let hash = Sha1::digest(self.config_text().as_bytes());
        hash.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The config lock file the real node uses, named in lock timeout messages.
    pub fn lock_file(&self) -> String {
        match self.kind {
            Kind::Lxc => format!("/run/lock/lxc/pve-config-{}.conf", self.vmid),
            Kind::Qemu => format!("/var/lock/qemu-server/lock-{}.conf", self.vmid),
        }
    }

    /// The guest's name (`hostname` for LXC, `name` for QEMU), or the real default.
    pub fn name(&self) -> String {
        let key = if self.kind == Kind::Lxc { "hostname" } else { "name" };
        self.config.get(key).cloned().unwrap_or_else(|| format!("{}{}", self.kind.short(), self.vmid))
    }

    /// Memory in MiB (QEMU's `memory` may be a property string `current=N`).
    pub fn memory_mib(&self) -> u64 {
        let raw = self.config.get("memory").map(String::as_str).unwrap_or("512");
        let v = raw.strip_prefix("current=").unwrap_or(raw);
        v.split(',').next().and_then(|n| n.parse().ok()).unwrap_or(512)
    }

    /// Cores (LXC: unlimited when unset, reported as the node's; QEMU: 1).
    pub fn cores(&self) -> Option<u32> {
        self.config.get("cores").and_then(|c| c.parse().ok())
    }

    /// The tags as a list.
    pub fn tags(&self) -> Vec<String> {
        self.config
            .get("tags")
            .map(|t| normalize_tags(t))
            .unwrap_or_default()
            .split(';')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The disk keys of this guest's config (`rootfs`, `mp0`, `scsi0`, `efidisk0`, …).
    pub fn disk_keys(&self) -> Vec<String> {
        self.config.keys().filter(|k| is_disk_key(self.kind, k)).cloned().collect()
    }

    /// The root disk's size in bytes.
    pub fn root_disk_size(&self) -> u64 {
        let key = match self.kind {
            Kind::Lxc => Some("rootfs".to_string()),
            Kind::Qemu => {
                self.disk_keys().into_iter().find(|k| !k.starts_with("efidisk") && !k.starts_with("tpmstate"))
            }
        };
        key.and_then(|k| self.config.get(&k)).and_then(|v| size_of(v)).unwrap_or(0)
    }
}

/// Whether a config key holds a disk.
pub fn is_disk_key(kind: Kind, key: &str) -> bool {
    let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
    match kind {
        Kind::Lxc => key == "rootfs" || (base == "mp" && base.len() < key.len()),
        Kind::Qemu => {
            matches!(base, "scsi" | "virtio" | "sata" | "ide" | "efidisk" | "tpmstate") && base.len() < key.len()
        }
    }
}

/// The `size=` of a disk property string, in bytes.
pub fn size_of(value: &str) -> Option<u64> {
    value.split(',').find_map(|p| p.strip_prefix("size=")).and_then(crate::schema::parse_disk_size)
}

/// Tags as the node stores them: split on `;`, `,` and spaces, joined with `;`, duplicates
/// dropped, order kept.
pub fn normalize_tags(tags: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for t in tags.split([';', ',', ' ']).filter(|t| !t.is_empty()) {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out.join(";")
}

/// A size in bytes as the node writes it (`8G`, `512M`, `1536K`).
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)];
    for (unit, factor) in UNITS {
        if bytes >= factor && bytes.is_multiple_of(factor) {
            return format!("{}{unit}", bytes / factor);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_sha1_of_the_config_file() {
        let mut g = Guest {
            vmid: 101,
            kind: Kind::Lxc,
            config: BTreeMap::new(),
            running: false,
            flock: None,
            runtime_note: None,
            pending: BTreeMap::new(),
            pending_delete: Vec::new(),
            snapshots: Vec::new(),
        };
        g.config.insert("memory".into(), "512".into());
        g.config.insert("description".into(), "a\nb".into());
        assert_eq!(g.config_text(), "#a\n#b\nmemory: 512\n");
        // printf '#a\n#b\nmemory: 512\n' | sha1sum
        assert_eq!(g.digest().len(), 40);
        let before = g.digest();
        g.config.insert("memory".into(), "1024".into());
        assert_ne!(g.digest(), before);
    }

    #[test]
    fn sizes_print_like_the_node() {
        assert_eq!(format_size(8 << 30), "8G");
        assert_eq!(format_size(4 << 20), "4M");
        assert_eq!(format_size(1536 << 20), "1536M");
        assert_eq!(normalize_tags("hearth,db;hearth"), "hearth;db");
    }
}
