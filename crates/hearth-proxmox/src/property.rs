//! Proxmox's property strings (`name=eth0,bridge=vmbr0,ip=dhcp`, `local-lvm:8`,
//! `local-lvm:vm-101-disk-0,size=8G`) and disk sizes, read the way the node writes them back, so
//! a desired value can be compared with a configured one. Pure.

use serde_json::Value;

use crate::client::scalar;

/// The parts of a property string: `key=value`, or a bare part (a volume, a default key's value
/// such as QEMU's `virtio` model) as `(part, None)`.
pub fn parts(text: &str) -> Vec<(String, Option<String>)> {
    text.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (p.to_string(), None),
        })
        .collect()
}

/// Keys the node adds to a property string by itself: a generated MAC (`hwaddr`, or the value of
/// QEMU's model key), the interface type, a volume's size.
const ADDED_BY_NODE: [&str; 3] = ["hwaddr", "type", "size"];

/// Whether the configured value `actual` is what `desired` asks for. Scalars compare as text
/// (`2048` and `"2048"` are the same); tags as sets; property strings part by part, a bare
/// desired part matching the same key with any value (`virtio` and `virtio=BC:24:11:..`), and
/// parts the node adds itself ignored.
pub fn same(key: &str, desired: &Value, actual: &Value) -> bool {
    let (d, a) = (scalar(desired), scalar(actual));
    if d == a {
        return true;
    }
    if key == "tags" {
        return tag_set(&d) == tag_set(&a);
    }
    if key == "description" {
        return d.trim_end() == a.trim_end();
    }
    if !d.contains(',') && !a.contains(',') && !d.contains('=') && !a.contains('=') {
        return false;
    }
    let (mut dp, ap) = (parts(&d), parts(&a));
    // A disk to create (`tank:500,backup=0`) is the node's volume on that storage
    // (`tank:vm-104-disk-1,backup=0,size=500G`) when the sizes agree.
    if let (Some((store, mib)), Some((volume, None))) = (new_disk(&d), ap.first())
        && volume.strip_prefix(store).is_some_and(|v| v.starts_with(':'))
        && disk_mib(&a) == Some(mib)
        && let Some(first) = dp.first_mut()
    {
        *first = (volume.clone(), None);
    }
    // The node prints a format's default key bare (`agent: 1` for `enabled=1`,
    // `hostpci0: 0000:01:00.0,pcie=1` for `host=...`): a first part `k=v` matches a bare first
    // part `v`.
    let bare_default = |k: &str, v: Option<&String>| {
        dp.first().is_some_and(|f| f.0 == k) && ap.first().is_some_and(|f| f.1.is_none() && Some(&f.0) == v)
    };
    let wanted = dp
        .iter()
        .all(|(k, v)| ap.iter().any(|(ak, av)| ak == k && (v.is_none() || v == av)) || bare_default(k, v.as_ref()));
    let nothing_else = ap.iter().enumerate().all(|(i, (ak, av))| {
        ADDED_BY_NODE.contains(&ak.as_str())
            || dp.iter().any(|(k, _)| k == ak)
            || (i == 0 && av.is_none() && dp.first().is_some_and(|f| f.1.as_ref() == Some(ak)))
    });
    wanted && nothing_else
}

/// The storage and size in MiB of a disk to create, `STORAGE:N` (GiB) as the render writes
/// it; `None` for an existing volume or a path.
pub fn new_disk(text: &str) -> Option<(&str, u64)> {
    let first = text.split(',').next()?;
    let (store, gib) = first.split_once(':')?;
    let gib = gib.parse::<u64>().ok()?;
    // A storage id (`pve-storage-id`): a letter, then letters, digits, `-`, `_` and `.`; so a
    // PCI address (`host=01:00`) is none.
    let id = store.starts_with(|c: char| c.is_ascii_alphabetic())
        && store.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    id.then_some((store, gib * 1024))
}

/// Tags as Proxmox stores them: separated by `;`, `,` or spaces, order not significant.
pub fn tag_set(text: &str) -> std::collections::BTreeSet<String> {
    text.split([';', ',', ' ']).filter(|t| !t.is_empty()).map(str::to_ascii_lowercase).collect()
}

/// A disk's size in MiB: from `size=8G` in a configured volume, or from the `STORAGE:N` (GiB)
/// form of a volume to create. `None` when the value says neither.
pub fn disk_mib(text: &str) -> Option<u64> {
    let parts = parts(text);
    if let Some(size) = parts.iter().find(|(k, _)| k == "size").and_then(|(_, v)| v.as_deref()) {
        return size_mib(size);
    }
    let (first, _) = parts.first()?;
    let (_, gib) = first.split_once(':')?;
    gib.parse::<u64>().ok().map(|g| g * 1024)
}

/// `8G`, `512M`, `1T`, `100K`, or bytes, in MiB (rounded up).
pub fn size_mib(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len()));
    let n: f64 = number.parse().ok()?;
    let mib = match unit.to_ascii_uppercase().as_str() {
        "" => n / 1024.0 / 1024.0,
        "K" => n / 1024.0,
        "M" => n,
        "G" => n * 1024.0,
        "T" => n * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(mib.ceil() as u64)
}

/// A size in MiB as Proxmox writes it: whole GiB as `8G`, else `512M`.
pub fn show_mib(mib: u64) -> String {
    if mib.is_multiple_of(1024) { format!("{}G", mib / 1024) } else { format!("{mib}M") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_same(key: &str, desired: Value, actual: Value, expected: bool) {
        assert_eq!(same(key, &desired, &actual), expected, "{key}: {desired} vs {actual}");
    }

    #[test]
    fn comparisons() {
        check_same("memory", json!(2048), json!(2048), true);
        check_same("memory", json!("2048"), json!(2048), true);
        check_same("memory", json!("2048"), json!("4096"), false);
        check_same("tags", json!("hearth;media"), json!("media;hearth"), true);
        check_same("tags", json!("hearth;media"), json!("hearth"), false);
        check_same("description", json!("web: managed by Hearth"), json!("web: managed by Hearth\n"), true);
        check_same(
            "net0",
            json!("name=eth0,bridge=vmbr0,tag=20,ip=10.0.20.5/24,gw=10.0.20.1"),
            json!("name=eth0,bridge=vmbr0,gw=10.0.20.1,hwaddr=BC:24:11:00:00:01,ip=10.0.20.5/24,tag=20,type=veth"),
            true,
        );
        check_same(
            "net0",
            json!("name=eth0,bridge=vmbr0,ip=dhcp"),
            json!("name=eth0,bridge=vmbr0,ip=dhcp,tag=20,type=veth"),
            false,
        );
        check_same("net0", json!("virtio,bridge=vmbr0"), json!("virtio=BC:24:11:00:00:02,bridge=vmbr0"), true);
        check_same("net0", json!("virtio,bridge=vmbr1"), json!("virtio=BC:24:11:00:00:02,bridge=vmbr0"), false);
        check_same("mp0", json!("/tank/media,mp=/media"), json!("/tank/media,mp=/media"), true);
        check_same("mp0", json!("/tank/media,mp=/media"), json!("/tank/media,mp=/srv"), false);
        check_same("onboot", json!(1), json!(1), true);
        // A format's default key, printed bare by the node.
        check_same("agent", json!("enabled=1"), json!("1"), true);
        check_same("agent", json!("enabled=1"), json!("0"), false);
        check_same("hostpci0", json!("host=0000:01:00.0,pcie=1"), json!("0000:01:00.0,pcie=1"), true);
        check_same("hostpci0", json!("host=0000:01:00.0,pcie=1"), json!("0000:02:00.0,pcie=1"), false);
        check_same("usb0", json!("host=1234:5678"), json!("1234:5678"), true);
        check_same("hostname", json!("web"), json!("www"), false);
        // A data disk to create and the volume the node made of it.
        check_same(
            "sata0",
            json!("tank:500,discard=on,backup=0"),
            json!("tank:vm-104-disk-1,discard=on,backup=0,size=500G"),
            true,
        );
        check_same(
            "sata0",
            json!("tank:600,discard=on,backup=0"),
            json!("tank:vm-104-disk-1,discard=on,backup=0,size=500G"),
            false,
        );
        check_same(
            "sata0",
            json!("tank:500,discard=on"),
            json!("tank:vm-104-disk-1,discard=on,backup=0,size=500G"),
            false,
        );
        check_same("scsi1", json!("local-lvm:500"), json!("tank:vm-104-disk-1,size=500G"), false);
        assert_eq!(new_disk("tank:500,backup=0"), Some(("tank", 500 * 1024)));
        assert_eq!(new_disk("host=01:00,pcie=1"), None);
        assert_eq!(new_disk("tank:vm-104-disk-1"), None);
    }

    fn check_size(input: &str, expected: Option<u64>) {
        assert_eq!(disk_mib(input), expected, "{input}");
    }

    #[test]
    fn disk_sizes() {
        check_size("local-lvm:8", Some(8192));
        check_size("local-lvm:vm-101-disk-0,size=8G", Some(8192));
        check_size("local-zfs:subvol-101-disk-0,size=512M", Some(512));
        check_size("local-lvm:vm-9-disk-1,discard=on,iothread=1,size=1T", Some(1024 * 1024));
        check_size("local-lvm:0,import-from=local:import/debian-12-genericcloud-amd64.qcow2", Some(0));
        check_size("/dev/disk/by-id/ata-X", None);
        assert_eq!(show_mib(8192), "8G");
        assert_eq!(show_mib(600), "600M");
    }
}
