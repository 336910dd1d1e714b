//! Storages of the node: their type, content types, size and the volumes on them, so listings,
//! usage and allocation behave like the real node's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::guest::Kind;

/// One volume.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Volume {
    pub content: String,
    pub size: u64,
    pub format: String,
    #[serde(default)]
    pub vmid: Option<u32>,
}

/// One storage.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Storage {
    /// `dir`, `zfspool`, `lvmthin`, `lvm`.
    #[serde(rename = "type")]
    pub kind: String,
    pub content: Vec<String>,
    pub total: u64,
    /// Volume name (after `STORAGE:`) → volume.
    #[serde(default)]
    pub volumes: BTreeMap<String, Volume>,
}

/// Why a storage spec (`rpool=zfspool:images,rootdir:2T`) is refused.
#[derive(Debug, thiserror::Error)]
#[error("storage `{0}` is not `ID=TYPE:CONTENT[,CONTENT…]:SIZE` (for example `local-lvm=lvmthin:images,rootdir:500G`)")]
pub struct StorageSpecError(pub String);

impl Storage {
    /// Parses `ID=TYPE:CONTENT,…:SIZE`.
    pub fn parse_spec(spec: &str) -> Result<(String, Storage), StorageSpecError> {
        let bad = || StorageSpecError(spec.to_string());
        let (id, rest) = spec.split_once('=').ok_or_else(bad)?;
        let mut parts = rest.split(':');
        let (Some(kind), Some(content), Some(size), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if !matches!(kind, "dir" | "zfspool" | "lvmthin" | "lvm") || id.is_empty() {
            return Err(bad());
        }
        let total = crate::schema::parse_disk_size(size).ok_or_else(bad)?;
        let content = content.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect();
        Ok((id.to_string(), Storage { kind: kind.to_string(), content, total, volumes: BTreeMap::new() }))
    }

    /// Bytes in use.
    pub fn used(&self) -> u64 {
        self.volumes.values().map(|v| v.size).sum()
    }

    /// Bytes free.
    pub fn avail(&self) -> u64 {
        self.total.saturating_sub(self.used())
    }

    /// The real plugin's name of the `n`th disk of a guest on this storage.
    fn disk_name(&self, kind: Kind, vmid: u32, n: u32) -> String {
        match (self.kind.as_str(), kind) {
            ("zfspool", Kind::Lxc) => format!("subvol-{vmid}-disk-{n}"),
            ("dir", Kind::Lxc) => format!("{vmid}/vm-{vmid}-disk-{n}.raw"),
            ("dir", Kind::Qemu) => format!("{vmid}/vm-{vmid}-disk-{n}.qcow2"),
            _ => format!("vm-{vmid}-disk-{n}"),
        }
    }

    /// Allocates a new disk of `size` bytes for a guest: its volume name, or the real error.
    pub fn allocate(&mut self, id: &str, kind: Kind, vmid: u32, size: u64) -> Result<String, String> {
        let wanted = if kind == Kind::Lxc { "rootdir" } else { "images" };
        if !self.content.iter().any(|c| c == wanted) {
            return Err(format!("storage '{id}' does not support content-type '{wanted}'"));
        }
        if size > self.avail() {
            return Err(format!(
                "unable to allocate {} on storage '{id}': not enough free space ({} available)",
                super::guest::format_size(size),
                super::guest::format_size(self.avail())
            ));
        }
        let n = (0..).find(|n| !self.volumes.contains_key(&self.disk_name(kind, vmid, *n))).unwrap_or(0);
        let name = self.disk_name(kind, vmid, n);
        let format = match (self.kind.as_str(), kind) {
            ("zfspool", Kind::Lxc) => "subvol",
            ("dir", Kind::Qemu) => "qcow2",
            _ => "raw",
        };
        self.volumes
            .insert(name.clone(), Volume { content: wanted.into(), size, format: format.into(), vmid: Some(vmid) });
        Ok(name)
    }
}

/// The storages a node starts with when none are given: `local` (a directory) and `local-lvm`
/// (LVM-thin), as a default installation on ext4 has.
pub fn default_storages() -> BTreeMap<String, Storage> {
    let mut out = BTreeMap::new();
    out.insert(
        "local".to_string(),
        Storage {
            kind: "dir".into(),
            content: ["backup", "import", "iso", "snippets", "vztmpl"].map(String::from).to_vec(),
            total: 100 << 30,
            volumes: BTreeMap::new(),
        },
    );
    out.insert(
        "local-lvm".to_string(),
        Storage {
            kind: "lvmthin".into(),
            content: ["images", "rootdir"].map(String::from).to_vec(),
            total: 800 << 30,
            volumes: BTreeMap::new(),
        },
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        let (id, s) = Storage::parse_spec("rpool=zfspool:images,rootdir:2T").unwrap();
        assert_eq!(id, "rpool");
        assert_eq!(s.total, 2 << 40);
        assert!(Storage::parse_spec("rpool=zfs:images:2T").is_err());
        assert!(Storage::parse_spec("rpool").is_err());
    }

    #[test]
    fn allocation_names_and_space() {
        let (_, mut s) = Storage::parse_spec("rpool=zfspool:images,rootdir:10G").unwrap();
        assert_eq!(s.allocate("rpool", Kind::Lxc, 101, 8 << 30).unwrap(), "subvol-101-disk-0");
        assert!(s.allocate("rpool", Kind::Lxc, 101, 8 << 30).unwrap_err().contains("not enough free space"));
        assert_eq!(s.allocate("rpool", Kind::Qemu, 102, 1 << 30).unwrap(), "vm-102-disk-0");
    }
}
